/**
 * The aggregating gateway's broker subscriptions (§4): one per filter, shared and reference-counted
 * across clients, subscribed again after a broker reconnect; and the routing of retained messages to
 * the client whose SUBSCRIBE caused them.
 */
import type { Session } from './session.js';
import { SubscriptionTree } from './subscription-tree.js';
import { topicMatches } from './topics.js';
import type { BrokerQoS, Upstream } from '../broker/upstream.js';

/**
 * A SUBSCRIBE sent to the broker. The broker re-sends retained messages after each SUBSCRIBE, flagged
 * retain=1 (MQTT 3.1.1 §3.3.1.3), right behind its SUBACK: they are for the client(s) that caused it.
 * mqtt.js may surface them just before the subscribe callback, so a request counts from when it is
 * sent; it stops counting once a later request's SUBACK proves the broker moved on, or when a new
 * request is sent after its own SUBACK (its retained messages, right behind that SUBACK, are in).
 */
interface SubscribeRequest { filter: string; sessions: Set<Session>; answered: boolean }

export interface Recipients {
  /** Each matching client once, with the highest QoS among its matching subscriptions. */
  clients: Map<Session, number>;
  /** The message was re-sent because of a new subscription: deliver it flagged retained. */
  retained: boolean;
}

export class SharedSubscriptions {
  readonly tree = new SubscriptionTree<Session>();
  /** Filters clients subscribed to while the broker was away: their retained messages come on reconnect. */
  private readonly offlineSubscribers = new Map<string, Set<Session>>();
  /** Requests whose retained messages may still arrive, oldest first. */
  private requests: SubscribeRequest[] = [];

  constructor(private readonly upstream: Upstream) {}

  /**
   * Adds a client's subscription; `done` runs once the broker granted it (0x80 = refused), or at once
   * while the broker is away.
   */
  add(session: Session, filter: string, qos: 0 | 1 | 2, done: (granted: number) => void): void {
    this.tree.add(filter, session, qos);
    if (!this.upstream.connected) {
      let waiting = this.offlineSubscribers.get(filter);
      if (!waiting) this.offlineSubscribers.set(filter, (waiting = new Set()));
      waiting.add(session);
      done(qos);
      return;
    }
    // Subscribing again even when the filter is already held: the broker then re-sends retained
    // messages, which go to this client only.
    this.request(filter, new Set([session]), done);
  }

  /**
   * Every filter is subscribed at QoS 2, whatever the clients asked: the broker then sends each message at
   * the QoS it was published with, and deliver() lowers it per client. Subscribing at a lower QoS lets a
   * broker that merges one connection's overlapping subscriptions (aedes does) send a message at the QoS
   * of another filter, below what a client asked for.
   */
  private request(filter: string, sessions: Set<Session>, done?: (granted: number) => void): void {
    const qos: BrokerQoS = 2;
    const request: SubscribeRequest = { filter, sessions, answered: false };
    this.requests = this.requests.filter((r) => !r.answered);
    this.requests.push(request);
    this.upstream.subscribe(filter, qos, (granted) => {
      request.answered = true;
      // Every request sent before this one has had its retained messages delivered by now.
      const i = this.requests.indexOf(request);
      if (i > 0) this.requests.splice(0, i);
      done?.(granted);
    });
  }

  /** The broker connection went away: answers to requests in flight will not come. */
  connectionLost(): void {
    this.requests = [];
  }

  /** Removes a client's subscription; the broker's goes with the last client on that filter. */
  drop(session: Session, filter: string): void {
    const remaining = this.tree.remove(filter, session);
    this.offlineSubscribers.get(filter)?.delete(session);
    if (remaining === 0) {
      this.offlineSubscribers.delete(filter);
      this.upstream.unsubscribe(filter);
    }
  }

  /** The broker connection is back: every filter is subscribed again (the gateway's broker session is clean). */
  resubscribeAll(sessions: Iterable<Session>): void {
    const filters = new Set<string>();
    for (const session of sessions) {
      for (const sub of session.subscriptions.values()) filters.add(sub.filter);
    }
    for (const filter of filters) {
      this.request(filter, this.offlineSubscribers.get(filter) ?? new Set<Session>());
    }
    this.offlineSubscribers.clear();
  }

  /** Who gets a broker message (§6.10), and whether it goes out flagged retained. */
  recipients(topic: string, retain: boolean): Recipients {
    const clients = new Map<Session, number>();
    const matches = this.tree.match(topic);
    if (matches.length === 0) return { clients, retained: false };
    let onlyFor: Set<Session> | undefined;
    if (retain) {
      for (const request of this.requests) {
        if (!topicMatches(request.filter, topic)) continue;
        onlyFor ??= new Set();
        for (const session of request.sessions) onlyFor.add(session);
      }
    }
    for (const m of matches) {
      if (onlyFor && !onlyFor.has(m.subscriber)) continue;
      const prev = clients.get(m.subscriber);
      if (prev === undefined || m.qos > prev) clients.set(m.subscriber, m.qos);
    }
    // A retain=1 message matching no pending subscription is treated as live, flag kept as the broker set it.
    return { clients, retained: onlyFor !== undefined || retain };
  }
}
