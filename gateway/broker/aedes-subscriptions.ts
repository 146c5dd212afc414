/**
 * The gateway's broker subscriptions registered with the embedded aedes broker in process, through its documented
 * `subscribe(topic, func, done)` / `unsubscribe(topic, func, done)`, instead of SUBSCRIBE packets over the gateway's
 * in-memory connection (issue 13): aedes built, per filter, a closure and its context, a Subscription, a slot in the
 * client's subscriptions and (the gateway's broker session is kept) an entry in the persistence, about 250 B per
 * sensor. Here a filter costs its entry in the emitter's matcher, nothing more: every filter shares one of a few
 * delivery functions (by granted QoS, and whether `$` topics are kept out), and which one a filter has (if any) is
 * read back from the matcher.
 *
 * What the gateway receives stays as it was (test/broker/embedded-subscriptions.test.ts):
 * - a subscription, new or repeated, gets the broker's matching retained messages (from its persistence, as
 *   aedes's SUBSCRIBE handler reads them) with retain = 1, right after it is granted; live messages come with
 *   retain = 0, at the lower of the QoS published and the QoS granted;
 * - a `$` topic never reaches a filter that starts with a wildcard [MQTT-4.7.2-1];
 * - a message matching several filters arrives once (aedes dropped the copies for a client by its broker counter);
 * - a subscription or unsubscription takes effect once everything the gateway's connection wrote before it has
 *   reached the broker's subscribers (a message of the gateway's own still in the connection is not delivered to a
 *   subscription made after it), in the order they were asked for;
 * - the broker's `$SYS/<id>/new/subscribes` and `…/new/unsubscribes` announcements, as for a SUBSCRIBE packet.
 *
 * Acknowledgement: aedes answers a QoS 2 PUBLISH with PUBREC once every subscriber's function called back (a QoS 1
 * PUBLISH it acknowledges with PUBACK before routing it: lib/handlers/publish.js, as before this change). A QoS 2
 * message the gateway stores before it may be acknowledged (the receiver returns a promise) calls back only when
 * that is done, so the publisher's PUBREC follows the store's commit. Such waits hold a slot of the
 * broker's emitter (`concurrency` messages at once, for every client): at most half of them are held, and none
 * longer than `holdLimitMs` (a failing store never resolves); past either, the message is acknowledged at once.
 */
import type { Aedes } from 'aedes';
import type mqemitter from 'mqemitter';
import type { BrokerQoS } from './upstream.js';

/** Where the gateway's subscriptions deliver: a returned promise holds the broker's acknowledgement until it resolves. */
export type BrokerReceiver = (topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean) => Promise<void> | undefined;

/** The gateway's subscriptions on a broker in this process (the embedded one). */
export interface InProcessSubscriber {
  /** `done` with the QoS granted (0x80 = refused) once registered; then the filter's retained messages come. */
  subscribe(filter: string, qos: BrokerQoS, done?: (granted: number) => void): void;
  unsubscribe(filter: string): void;
  /**
   * Nothing is delivered any more (the upstream stops). The filters stay in the broker's matcher, delivering to
   * nothing: the upstream stops only when the gateway does, right before its broker closes.
   */
  close(): void;
}

export interface AedesSubscriptionsOptions {
  /** Who the broker's `$SYS/…/new/subscribes` announcements name: the gateway's broker ClientId. */
  clientId: string;
  /** The listeners the broker's emitter holds for `filter` itself (lean-mqemitter.ts listenersOf). */
  registered: (filter: string) => readonly unknown[];
  /** Runs `fn` once what the gateway's connection wrote so far has reached the broker's subscribers. */
  whenSettled: (fn: () => void) => void;
  /** The broker's retained messages matching `filter` (its persistence's, as aedes's createRetainedStreamCombi reads them). */
  retained: (filter: string) => readonly RetainedPacket[];
  /** The broker emitter's concurrency: at most half of it is held by acknowledgements waiting for the store. */
  concurrency: number;
  /** Longest wait for the store before a message is acknowledged all the same. */
  holdLimitMs?: number;
  log: (message: string) => void;
}

type Delivery = (message: mqemitter.Message, done: () => void) => void;

/** A store wait holding an emitter slot. */
interface Hold { done: () => void; since: number }

const REFUSED = 0x80;

function noop(): void {}

export class AedesSubscriptions implements InProcessSubscriber {
  /** The shared delivery functions: [QoS granted][0 = every topic, 1 = no `$` topics]. */
  private readonly deliveries: Delivery[][];
  /** The QoS granted of each delivery function. */
  private readonly grantOf = new Map<unknown, BrokerQoS>();
  /** Filters registered. */
  private count = 0;
  /** Filters whose removal the emitter has not done yet (it removes a turn later): subscribed again meanwhile, they are added again. */
  private readonly removing = new Map<string, number>();
  /** Subscriptions and unsubscriptions waiting for the connection to be through, in order. */
  private waiting: (() => void)[] = [];
  /** The message delivered last: the emitter hands it to each matching filter in turn, one after another. */
  private lastMessage: unknown;
  /** Store waits holding an emitter slot, oldest first. */
  private readonly holds = new Set<Hold>();
  private holdTimer: NodeJS.Timeout | undefined;
  private readonly maxHeld: number;
  private readonly holdLimitMs: number;
  private closed = false;
  /** Messages acknowledged before the store resolved (too many waiting, or waited too long). */
  acknowledgedEarly = 0;

  constructor(private readonly aedes: Aedes, private readonly receive: BrokerReceiver, private readonly options: AedesSubscriptionsOptions) {
    this.maxHeld = Math.max(1, Math.floor(options.concurrency / 2));
    this.holdLimitMs = options.holdLimitMs ?? 10_000;
    this.deliveries = [0, 1, 2].map((granted) => {
      const every: Delivery = (message, done) => this.deliver(message, granted as BrokerQoS, done);
      // '$' is 36.
      const noDollar: Delivery = (message, done) => (message.topic.charCodeAt(0) === 36 ? done() : this.deliver(message, granted as BrokerQoS, done));
      this.grantOf.set(every, granted as BrokerQoS).set(noDollar, granted as BrokerQoS);
      return [every, noDollar];
    });
  }

  /** Filters registered with the broker. */
  get size(): number {
    return this.count;
  }

  subscribe(filter: string, qos: BrokerQoS, done?: (granted: number) => void): void {
    this.inOrder(() => {
      const before = this.grantedFor(filter);
      if (before === qos) return this.granted(filter, qos, done);
      if (before !== undefined) this.remove(filter, before);
      this.count++;
      // The emitter adds it now (aedes answers a turn later): a second subscribe meanwhile finds it.
      this.aedes.subscribe(filter, this.deliveryFor(filter, qos), (err?: Error) => {
        if (!err) return this.granted(filter, qos, done);
        this.count--;
        this.options.log(`subscribe ${filter}: ${err.message}`);
        done?.(REFUSED);
      });
    });
  }

  unsubscribe(filter: string): void {
    this.inOrder(() => {
      const qos = this.grantedFor(filter);
      if (qos === undefined) return;
      this.remove(filter, qos);
      this.announce('unsubscribes', { clientId: this.options.clientId, subs: [filter] });
    });
  }

  close(): void {
    this.closed = true;
    this.waiting = [];
  }

  /** Runs `op` once the connection is through, after the operations asked for before it. */
  private inOrder(op: () => void): void {
    if (this.closed) return;
    this.waiting.push(op);
    if (this.waiting.length === 1) this.options.whenSettled(this.runWaiting);
  }

  private readonly runWaiting = (): void => {
    // Operations asked for meanwhile run too: the connection is through now, with what was written before them.
    for (let i = 0; i < this.waiting.length; i++) this.waiting[i]!();
    this.waiting = [];
  };

  /** The QoS a registered filter was granted; undefined = not registered (or its removal is under way). */
  private grantedFor(filter: string): BrokerQoS | undefined {
    const listeners = this.options.registered(filter);
    let pendingRemovals = this.removing.get(filter) ?? 0;
    for (let i = listeners.length - 1; i >= 0; i--) {
      const granted = this.grantOf.get(listeners[i]);
      if (granted === undefined) continue;
      // The emitter removes the last occurrence of a listener: the ones still to be removed are the latest.
      if (pendingRemovals > 0) {
        pendingRemovals--;
        continue;
      }
      return granted;
    }
    return undefined;
  }

  private remove(filter: string, qos: BrokerQoS): void {
    this.count--;
    this.removing.set(filter, (this.removing.get(filter) ?? 0) + 1);
    this.aedes.unsubscribe(filter, this.deliveryFor(filter, qos), () => {
      const left = this.removing.get(filter)! - 1;
      if (left === 0) this.removing.delete(filter);
      else this.removing.set(filter, left);
    });
  }

  private deliveryFor(filter: string, qos: BrokerQoS): Delivery {
    // [MQTT-4.7.2-1]: '+' is 43, '#' is 35.
    const first = filter.charCodeAt(0);
    return this.deliveries[qos]![first === 43 || first === 35 ? 1 : 0]!;
  }

  /**
   * Answers the subscription, then hands over its retained messages, all in one turn, as aedes writes a SUBACK
   * with the retained messages behind it (the core counts those as for the sensors that asked: shared-subscriptions.ts).
   */
  private granted(filter: string, qos: BrokerQoS, done: ((granted: number) => void) | undefined): void {
    this.announce('subscribes', { clientId: this.options.clientId, subs: [{ topic: filter, qos }] });
    const retained = this.options.retained(filter);
    done?.(qos);
    if (this.closed) return;
    for (const packet of retained) {
      this.receive(packet.topic, asBuffer(packet.payload), Math.min(packet.qos ?? 0, qos) as BrokerQoS, true);
    }
  }

  private announce(what: 'subscribes' | 'unsubscribes', body: unknown): void {
    this.aedes.publish({ cmd: 'publish', topic: `$SYS/${this.aedes.id}/new/${what}`, payload: Buffer.from(JSON.stringify(body)), qos: 0, retain: false, dup: false }, () => {});
  }

  private deliver(message: mqemitter.Message, granted: BrokerQoS, done: () => void): void {
    // Matched by another filter of ours just before: taken once.
    if (message === this.lastMessage || this.closed) return done();
    this.lastMessage = message;
    const qos = Math.min((message.qos as number | undefined) ?? 0, granted) as BrokerQoS;
    const stored = this.receive(message.topic, asBuffer(message.payload), qos, false);
    // Only a QoS 2 publisher waits for this callback (its PUBREC); aedes answers QoS 1 with PUBACK before routing it.
    if (stored === undefined || qos === 0 || message.qos !== 2) return done();
    if (this.holds.size >= this.maxHeld) {
      this.acknowledgedEarly++;
      return done();
    }
    this.hold(stored, done);
  }

  /** Calls `done` once `stored` resolves, or after holdLimitMs. */
  private hold(stored: Promise<void>, done: () => void): void {
    const hold: Hold = { done, since: Date.now() };
    this.holds.add(hold);
    const release = (): void => this.release(hold);
    stored.then(release, release);
    this.holdTimer ??= setTimeout(this.expire, this.holdLimitMs).unref();
  }

  private release(hold: Hold): void {
    if (!this.holds.delete(hold)) return;
    hold.done();
  }

  /** Acknowledges the waits older than holdLimitMs; runs again while any is left. */
  private readonly expire = (): void => {
    this.holdTimer = undefined;
    const cutoff = Date.now() - this.holdLimitMs;
    for (const hold of this.holds) {
      if (hold.since > cutoff) {
        this.holdTimer = setTimeout(this.expire, Math.max(1, hold.since - cutoff)).unref();
        return;
      }
      this.acknowledgedEarly++;
      this.options.log(`a message waited ${this.holdLimitMs} ms for the session store: acknowledged to its publisher all the same`);
      this.release(hold);
    }
  };
}

/** A retained message as the persistence hands it over. */
export interface RetainedPacket { topic: string; payload: unknown; qos?: number }

/** aedes's own messages (and `aedes.publish` callers) may carry a string payload; the gateway takes bytes. */
function asBuffer(payload: unknown): Buffer {
  return Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : String(payload ?? ''));
}
