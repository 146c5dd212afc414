/**
 * The embedded broker's persistence (aedes's `persistence` option): aedes-persistence's in-memory store,
 * with its retained messages and subscriptions kept leaner (issue 13: with the shipped config each
 * sensor's retained status message and the gateway's subscription for its filter live in the gateway's
 * own process). Outgoing and incoming QoS 1/2 packets and wills stay the parent's. Same documented
 * interface; test/broker/lean-persistence.test.ts runs aedes-persistence's own abstract suite on it.
 *
 * Retained messages: one Map, topic → message, the topic kept only as the key. aedes's own QoS 0 packets
 * are kept as their payload alone, as a latin1 string (one byte a byte, exact for any bytes): no Buffer
 * object and no share of an 8 KB Buffer pool slab, which one small live payload keeps whole. What is
 * read back is a new PUBLISH packet with the fields aedes reads from it (cmd, topic, payload, qos, retain);
 * the sender's ClientId, the broker's counter and id are not kept. Any other packet is kept whole, as
 * the parent does. A filter without wildcards is looked up by topic; one with wildcards scans every
 * retained topic, as the parent does for every filter (10,000 status topics made each SUBSCRIBE scan).
 *
 * Subscriptions, kept once (the parent keeps each twice: per client, and in a topic trie with an object,
 * a Map and a generator closure per subscription): filter → its client and options (packed in a small
 * integer), one object shared by all the filters a client holds alike, or a Map of its clients; filters
 * with wildcards, only those, also in a topic matcher (topic-matcher.ts): subscriptionsByTopic lists them in
 * the parent's order. A client's own list is a pass over the filters, made only when aedes restores or
 * cleans a session of a client that has subscriptions (a clean CONNECT without any costs a lookup).
 *
 * A RetainedSource (retained-source.ts) may own some topics: those are never stored, and read back as the
 * source renders them (the gateway's status topics: see status/retained-status.ts).
 */
import { Readable } from 'node:stream';
import MemoryPersistence from 'aedes-persistence/asyncPersistence.js';
import { QlobberTrue } from 'qlobber';
import { hasWildcard } from '../core/topics.js';
import type { RetainedSource } from './retained-source.js';
import { TopicMatcher } from './topic-matcher.js';

/** subscriptionsByTopic's answer when nobody holds a QoS > 0 subscription; aedes only reads it. */
const NO_SUBSCRIPTIONS: Promise<never[]> = Promise.resolve(Object.freeze([]) as unknown as never[]);
const NOTHING_TO_DO: Promise<void> = Promise.resolve();

/** aedes-persistence's trie options: MQTT's separator and wildcards. */
const QLOBBER_OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/' };

interface RetainedPacket { cmd: string; topic: string; payload: Buffer; qos: number; retain?: boolean; [field: string]: unknown }

/** The own fields of aedes-packet's Packet (what aedes stores); a packet with any other is kept whole. */
const AEDES_PACKET_FIELDS = new Set(['cmd', 'brokerId', 'brokerCounter', 'topic', 'payload', 'qos', 'retain', 'dup', 'clientId', 'messageId', 'nl']);

/** A retained QoS 1/2 message of aedes's: its payload as latin1 and its QoS. */
class RetainedAtQos {
  constructor(readonly payload: string, readonly qos: number) {}
}

/** A retained message as kept: a QoS 0 payload (latin1), a QoS 1/2 one, or a packet kept whole. */
type Retained = string | RetainedAtQos | RetainedPacket;

function isAedesPacket(packet: RetainedPacket): boolean {
  if (packet.cmd !== 'publish' || !Buffer.isBuffer(packet.payload)) return false;
  for (const field in packet) if (!AEDES_PACKET_FIELDS.has(field)) return false;
  return true;
}

function kept(packet: RetainedPacket): Retained {
  if (!isAedesPacket(packet)) return { ...packet };
  const payload = packet.payload.toString('latin1');
  return packet.qos === 0 ? payload : new RetainedAtQos(payload, packet.qos);
}

function readBack(topic: string, value: Retained): RetainedPacket {
  if (typeof value === 'string') return { cmd: 'publish', topic, payload: Buffer.from(value, 'latin1'), qos: 0, retain: true };
  if (value instanceof RetainedAtQos) return { cmd: 'publish', topic, payload: Buffer.from(value.payload, 'latin1'), qos: value.qos, retain: true };
  return value;
}

/** A source's retained message, as a QoS 0 PUBLISH (the gateway publishes its status topics at QoS 0). */
function rendered(topic: string, payload: Buffer): RetainedPacket {
  return { cmd: 'publish', topic, payload, qos: 0, retain: true };
}

/** A subscription's options as aedes hands them (MQTT 5's rh, rap, nl undefined under 3.1.1). */
interface SubscriptionOptions { qos: number; rh?: number; rap?: boolean; nl?: boolean; subscriptionIdentifier?: number }

/**
 * qos (bits 0-1), rh + 1 (bits 2-3, 0 = undefined), rap and nl (2 bits each: 0 = undefined, 1 = false, 2 = true).
 * Options that do not fit (an identifier, an unexpected value) are kept as an object.
 */
function pack(sub: SubscriptionOptions): number | SubscriptionOptions {
  const flag = (v: unknown): number => (v === undefined ? 0 : v === false ? 1 : v === true ? 2 : -1);
  const rh = sub.rh === undefined ? 0 : sub.rh === 0 || sub.rh === 1 || sub.rh === 2 ? sub.rh + 1 : -1;
  const rap = flag(sub.rap);
  const nl = flag(sub.nl);
  if (sub.subscriptionIdentifier !== undefined || rh < 0 || rap < 0 || nl < 0 || !(sub.qos === 0 || sub.qos === 1 || sub.qos === 2)) {
    const record: SubscriptionOptions = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl };
    if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier;
    return record;
  }
  return sub.qos | (rh << 2) | (rap << 4) | (nl << 6);
}

function unpack(options: number | SubscriptionOptions): SubscriptionOptions {
  if (typeof options !== 'number') return { ...options };
  const flag = (bits: number): boolean | undefined => (bits === 0 ? undefined : bits === 2);
  const rh = (options >> 2) & 3;
  return { qos: options & 3, rh: rh === 0 ? undefined : rh - 1, rap: flag((options >> 4) & 3), nl: flag((options >> 6) & 3) };
}

const qosOf = (options: number | SubscriptionOptions): number => (typeof options === 'number' ? options & 3 : options.qos);

/** A client's subscription to a filter: one object shared by all the filters it holds with the same options. */
class Holding {
  constructor(readonly clientId: string, readonly options: number | SubscriptionOptions) {}
}

/** What the store knows of a client with stored subscriptions. */
interface ClientEntry {
  /** Filters it holds. */
  count: number;
  /** Its Holdings by packed options (interned: the gateway's connection holds thousands of filters, all alike). */
  holdings: Map<number, Holding>;
}

export class LeanMemoryPersistence extends MemoryPersistence {
  private retained = new Map<string, Retained>();
  /** Filter → its one client's Holding, inline, or its clients' options by ClientId. */
  private readonly byFilter = new Map<string, Holding | Map<string, number | SubscriptionOptions>>();
  /** Clients with stored subscriptions (or an empty SUBSCRIBE stored, as the parent counts them). */
  private readonly clients = new Map<string, ClientEntry>();
  /** Filters with wildcards (each value is the filter itself), for subscriptionsByTopic, in aedes-persistence's trie's order. */
  private readonly wildcards = new TopicMatcher<string>({ separator: '/', wildcardOne: '+', wildcardSome: '#', matchEmptyLevels: false });
  /** Subscriptions with QoS > 0 (what countOffline reports, as the parent's trie counts them). */
  private qosSubscriptions = 0;
  /** createRetainedStream(Combi) calls with a wildcard filter, which scan every retained topic. */
  retainedScans = 0;
  /** Topics whose retained messages are rendered when read, not stored. */
  private source: RetainedSource | undefined;

  /** Retained messages stored (a source's are not). */
  get retainedStored(): number {
    return this.retained.size;
  }

  /**
   * From now on `source` renders the retained messages of the topics it owns; any stored for them before
   * are dropped (the source's word replaces them).
   */
  serveRetained(source: RetainedSource): void {
    this.source = source;
    for (const topic of this.retained.keys()) if (source.owns(topic)) this.retained.delete(topic);
  }

  override async storeRetained(packet: RetainedPacket): Promise<void> {
    if (packet.payload.length === 0 || this.source?.owns(packet.topic)) this.retained.delete(packet.topic);
    else this.retained.set(packet.topic, kept(packet));
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.retainedMatching(patterns));
  }

  override createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern]);
  }

  /**
   * Each pattern's matches in turn (a message matching two patterns comes twice, as from the parent): what
   * createRetainedStreamCombi streams, as an array, for a caller in this process (aedes-subscriptions.ts).
   */
  retainedMatching(patterns: string[]): RetainedPacket[] {
    const found: RetainedPacket[] = [];
    let scanned = false;
    const source = this.source;
    for (const pattern of patterns) {
      if (!hasWildcard(pattern)) {
        if (source?.owns(pattern)) {
          const payload = source.payload(pattern);
          if (payload !== undefined) found.push(rendered(pattern, payload));
          continue;
        }
        const value = this.retained.get(pattern);
        if (value !== undefined) found.push(readBack(pattern, value));
        continue;
      }
      scanned = true;
      const matcher = new QlobberTrue(QLOBBER_OPTIONS).add(pattern);
      for (const [topic, value] of this.retained) if (matcher.test(topic)) found.push(readBack(topic, value));
      if (source?.mayMatch(pattern)) {
        for (const topic of source.topics()) {
          if (!matcher.test(topic)) continue;
          const payload = source.payload(topic);
          if (payload !== undefined) found.push(rendered(topic, payload));
        }
      }
    }
    if (scanned) this.retainedScans++;
    return found;
  }

  override async addSubscriptions(client: { id: string }, subs: (SubscriptionOptions & { topic: string })[]): Promise<void> {
    let entry = this.clients.get(client.id);
    if (!entry) this.clients.set(client.id, (entry = { count: 0, holdings: new Map() }));
    for (const sub of subs) {
      const before = this.optionsOf(sub.topic, client.id);
      if (before !== undefined && qosOf(before) > 0) this.qosSubscriptions--;
      if (sub.qos > 0) this.qosSubscriptions++;
      this.hold(sub.topic, client.id, entry, pack(sub), before === undefined);
    }
  }

  override async removeSubscriptions(client: { id: string }, topics: string[]): Promise<void> {
    const entry = this.clients.get(client.id);
    if (!entry) return;
    for (const topic of topics) this.release(topic, client.id, entry);
    if (entry.count === 0) this.clients.delete(client.id);
  }

  override async cleanSubscriptions(client: { id: string }): Promise<void> {
    const entry = this.clients.get(client.id);
    if (!entry) return;
    if (entry.count > 0) for (const topic of this.filtersOf(client.id)) this.release(topic, client.id, entry);
    this.clients.delete(client.id);
  }

  /** In the order the filters were first subscribed (by any client); aedes restores them all, order aside. */
  override async subscriptionsByClient(client: { id: string }): Promise<(SubscriptionOptions & { topic: string })[]> {
    if (!this.clients.get(client.id)?.count) return [];
    return this.filtersOf(client.id).map((topic) => ({ topic, ...unpack(this.optionsOf(topic, client.id)!) }));
  }

  override async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return { subsCount: this.qosSubscriptions, clientsCount: this.clients.size };
  }

  /**
   * The QoS > 0 subscriptions matching a topic: for aedes, who gets a QoS 1/2 message queued. aedes asks for
   * every QoS 1/2 message; with no QoS > 0 subscription anywhere the answer is the same empty list, shared.
   */
  override subscriptionsByTopic(topic: string): Promise<(SubscriptionOptions & { clientId: string; topic: string })[]> {
    if (this.qosSubscriptions === 0) return NO_SUBSCRIPTIONS;
    return this.matchingSubscriptions(topic);
  }

  /** What aedes queues a QoS 1/2 message for: nothing, when subscriptionsByTopic found nobody. */
  override outgoingEnqueueCombi(subs: { clientId: string }[], packet: object): Promise<void> {
    return subs.length === 0 ? NOTHING_TO_DO : super.outgoingEnqueueCombi(subs, packet);
  }

  private async matchingSubscriptions(topic: string): Promise<(SubscriptionOptions & { clientId: string; topic: string })[]> {
    const found: (SubscriptionOptions & { clientId: string; topic: string })[] = [];
    const add = (filter: string): void => {
      for (const [clientId, options] of this.holdersOf(filter)) {
        if (qosOf(options) === 0) continue;
        const { subscriptionIdentifier: _identifier, ...rest } = unpack(options);
        found.push({ clientId, topic: filter, ...rest });
      }
    };
    // The filter equal to the topic (in byFilter only, unless it has a wildcard character) comes where the parent's trie lists it.
    const exactElsewhere = (filters: string[]): void => { if (!hasWildcard(topic) && this.byFilter.has(topic)) filters.push(topic); };
    for (const filter of this.wildcards.match(topic, exactElsewhere)) add(filter);
    return found;
  }

  override getClientList(topic: string): Readable {
    return Readable.from(this.holdersOf(topic).map(([clientId]) => clientId));
  }

  override async destroy(): Promise<void> {
    await super.destroy();
    this.retained.clear();
    this.byFilter.clear();
    this.clients.clear();
  }

  private holdersOf(filter: string): [string, number | SubscriptionOptions][] {
    const held = this.byFilter.get(filter);
    if (held === undefined) return [];
    return held instanceof Holding ? [[held.clientId, held.options]] : [...held];
  }

  private optionsOf(filter: string, clientId: string): number | SubscriptionOptions | undefined {
    const held = this.byFilter.get(filter);
    if (held === undefined) return undefined;
    return held instanceof Holding ? (held.clientId === clientId ? held.options : undefined) : held.get(clientId);
  }

  /** A client's filters: a pass over every filter, for the rare calls that list them (its reconnect, a clean session). */
  private filtersOf(clientId: string): string[] {
    const filters: string[] = [];
    for (const [filter, held] of this.byFilter) if (held instanceof Holding ? held.clientId === clientId : held.has(clientId)) filters.push(filter);
    return filters;
  }

  private holding(clientId: string, entry: ClientEntry, options: number | SubscriptionOptions): Holding {
    if (typeof options !== 'number') return new Holding(clientId, options);
    let holding = entry.holdings.get(options);
    if (!holding) entry.holdings.set(options, (holding = new Holding(clientId, options)));
    return holding;
  }

  private hold(filter: string, clientId: string, entry: ClientEntry, options: number | SubscriptionOptions, isNew: boolean): void {
    if (isNew) entry.count++;
    const held = this.byFilter.get(filter);
    if (held === undefined) {
      // The first client holds the filter alone, inline: the common case (one gateway connection) needs no Map.
      this.byFilter.set(filter, this.holding(clientId, entry, options));
      if (hasWildcard(filter)) this.wildcards.add(filter, filter);
    } else if (held instanceof Holding) {
      if (held.clientId === clientId) this.byFilter.set(filter, this.holding(clientId, entry, options));
      else this.byFilter.set(filter, new Map([[held.clientId, held.options], [clientId, options]]));
    } else {
      held.set(clientId, options);
    }
  }

  private release(filter: string, clientId: string, entry: ClientEntry): void {
    const options = this.optionsOf(filter, clientId);
    if (options === undefined) return;
    if (qosOf(options) > 0) this.qosSubscriptions--;
    entry.count--;
    const held = this.byFilter.get(filter)!;
    if (!(held instanceof Holding)) {
      held.delete(clientId);
      if (held.size > 1) return;
      // Down to one client: held inline again.
      const [[other, otherOptions]] = [...held];
      const otherEntry = this.clients.get(other)!;
      this.byFilter.set(filter, this.holding(other, otherEntry, otherOptions));
      return;
    }
    this.byFilter.delete(filter);
    if (hasWildcard(filter)) this.wildcards.remove(filter, filter);
  }
}
