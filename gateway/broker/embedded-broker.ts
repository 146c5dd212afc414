/**
 * The embedded MQTT broker (aedes, in memory), started when gateway.yaml names no broker URL,
 * so a first run works with nothing else installed. Listens on loopback by default, for outside
 * clients; the gateway's own connection reaches it in memory (`connect()`), without TCP, and the gateway's
 * broker subscriptions are registered with it in process (`subscriber()`), not sent as SUBSCRIBE packets.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Client } from 'aedes';
import { AedesInProcess, aedesRefusal } from './aedes-in-process.js';
import { AedesSubscriptions, type BrokerReceiver, type InProcessSubscriber } from './aedes-subscriptions.js';
import { duplexPair, type PairEnd } from './duplex-pair.js';
import { listenersOf } from './lean-mqemitter.js';
import { LeanMemoryPersistence } from './lean-persistence.js';
import type { RetainedSource } from './retained-source.js';

export interface EmbeddedBrokerOptions {
  /** Address to listen on; 127.0.0.1 by default. */
  host?: string;
  /** TCP port; 0 picks a free one (tests). */
  port: number;
  /**
   * TCP_NODELAY on clients' connections (default true). false leaves Nagle's algorithm on, as aedes does: a
   * small message then waits for the acknowledgement of the one before, which a subscriber that only reads
   * delays by up to 40 ms (bench/subscriber-delivery.ts compares the two).
   */
  tcpNoDelay?: boolean;
}

export interface EmbeddedBroker {
  /** mqtt://host:port, ready for the upstream connection. */
  url: string;
  port: number;
  /**
   * A new connection to the broker inside this process: the client's end of an in-memory stream pair
   * whose other end the broker serves as it serves a TCP connection (for mqtt.js, a stream builder).
   */
  connect(): Duplex;
  /**
   * Publishes a QoS 0 or QoS 1 message on a connection from `connect()` in process, as an object, without
   * MQTT's encoding and parsing (aedes-in-process.ts); false = not taken (it must keep its place behind
   * what is still on its way, or aedes would refuse its topic): write it to the connection as usual.
   * QoS 1: `accepted` is called where aedes would write the PUBACK, maybe before this returns.
   */
  publishInProcess(connection: Duplex, topic: string, payload: Buffer, retain: boolean, qos?: 0 | 1, accepted?: (refused?: Error) => void): boolean;
  /**
   * Why the broker would refuse a PUBLISH to `topic` by closing the connection that sent it (aedes, MQTT
   * 3.1.1: `$SYS/…`, too many levels); undefined = it takes it. The gateway refuses such a message itself,
   * so that one sensor's topic does not cut every sensor's messages off while its connection comes back.
   */
  refusesPublish(topic: string): string | undefined;
  /**
   * The gateway's broker subscriptions, registered with the broker in process (aedes-subscriptions.ts), not as
   * SUBSCRIBE packets on its connection; their messages go to `receive`.
   */
  subscriber(receive: BrokerReceiver, clientId: string, log: (message: string) => void): InProcessSubscriber;
  /** Filters registered by the subscribers that have not closed. */
  readonly subscriptionsInProcess: number;
  /** QoS 0 and 1 messages taken by publishInProcess. */
  readonly publishedInProcess: number;
  /**
   * QoS 2 messages from the broker's clients acknowledged to their publisher (PUBREC) before the gateway's
   * session store resolved them: more than half of aedes's emitter was waiting, or one waited 10 s.
   */
  readonly acknowledgedEarly: number;
  close(): Promise<void>;
  /** SUBSCRIBEs whose retained messages needed a scan of every retained topic (filters with wildcards). */
  readonly retainedScans: number;
  /** Retained messages the broker keeps in memory (those a RetainedSource renders are not among them). */
  readonly retainedStored: number;
  /**
   * The retained messages of the topics `source` owns are rendered by it when a subscriber asks, never
   * stored (the gateway's status topics: status/retained-status.ts).
   */
  serveRetained(source: RetainedSource): void;
}

/** aedes's default and ceiling (its topic router's limit); given explicitly so the in-process path checks the same. */
const MAX_TOPIC_LEVELS = 100;
/** aedes's default: messages its emitter delivers at once. */
const CONCURRENCY = 100;
/**
 * Turns a subscription waits for the gateway's connection to be through (aedes-in-process.ts settled()): a
 * count that never evens out (a QoS 2 duplicate aedes drops) must not hold subscriptions back for good.
 */
const SETTLE_TURNS = 1000;

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  // Leaner than aedes-persistence's own store for what each sensor adds: a subscription, a retained status message.
  const persistence = new LeanMemoryPersistence();
  // aedes is an ES module and the daemon's build is CommonJS (scripts/build.mjs): import(), not the require()
  // a static import would become there, which Node 20 can do only from 20.19 on.
  const { Aedes } = await import('aedes');
  const inProcess = new AedesInProcess(MAX_TOPIC_LEVELS, CONCURRENCY);
  const aedes = await Aedes.createBroker({ persistence, maxTopicLevels: MAX_TOPIC_LEVELS, concurrency: CONCURRENCY, mq: inProcess.mq });
  inProcess.attach(aedes);
  /** The broker's client of each in-memory connection, by the gateway's end of it. */
  const clients = new WeakMap<Duplex, { client: Client; end: PairEnd }>();
  /** The latest in-memory connection: the gateway's (it has one at a time). */
  let latest: { client: Client; end: PairEnd } | undefined;
  /**
   * Runs `fn` once what the gateway's connection wrote so far has reached aedes's subscribers: aedes has read
   * those bytes, and emitted as many PUBLISH packets as it had taken by then (later traffic does not hold it up).
   */
  const whenSettled = (fn: () => void): void => {
    const connection = latest;
    if (!connection || inProcess.settled(connection.client, connection.end.delivered)) return fn();
    const { client, end } = connection;
    const bytes = end.written;
    let taken: number | undefined;
    let turns = 0;
    const check = (): void => {
      if (client.closed || ++turns > SETTLE_TURNS) return fn();
      // Not yet connected (aedes marks it at the end of its CONNECT handling): PUBLISH packets read meanwhile
      // may still be waiting in aedes's queue, uncounted. Once connected, aedes has handled them.
      if (client.connected) {
        if (taken === undefined && (end.readByPeer >= bytes || end.delivered)) taken = inProcess.progressOf(client)?.taken ?? 0;
        if (taken !== undefined && (inProcess.progressOf(client)?.emitted ?? taken) >= taken) return fn();
      }
      setImmediate(check);
    };
    check();
  };
  const subscribers = new Set<AedesSubscriptions>();
  /** acknowledgedEarly of the subscribers that closed. */
  let earlyOfClosed = 0;
  const noDelay = options.tcpNoDelay ?? true;
  const server = createServer((socket) => {
    // Messages to subscribers are small and each is written once per tick: Nagle's algorithm would only hold
    // one back until the subscriber acknowledges the last (up to 40 ms), not gather anything worth the wait.
    if (noDelay) socket.setNoDelay(true);
    aedes.handle(socket);
  });
  try {
    await listen(server, options.port, host);
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? `; another broker may be running there (a system Mosquitto?): use it with broker.url: mqtt://${host.includes(':') ? `[${host}]` : host}:${options.port}, or move this one with broker.embedded.port`
      : '';
    throw new Error(`embedded MQTT broker cannot listen on ${host}:${options.port}: ${(err as Error).message}${inUse}`);
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${urlHost}:${port}`,
    port,
    get retainedScans() {
      return persistence.retainedScans;
    },
    get retainedStored() {
      return persistence.retainedStored;
    },
    serveRetained: (source) => persistence.serveRetained(source),
    get publishedInProcess() {
      return inProcess.published;
    },
    connect() {
      const [end, broker] = duplexPair();
      const client = aedes.handle(broker);
      inProcess.track(client);
      latest = { client, end };
      clients.set(end, latest);
      return end;
    },
    subscriber(receive, clientId, log) {
      const subscriber = new AedesSubscriptions(aedes, receive, {
        clientId, whenSettled, concurrency: CONCURRENCY, log, registered: (filter) => listenersOf(inProcess.mq, filter), retained: (filter) => persistence.retainedMatching([filter]),
      });
      subscribers.add(subscriber);
      return {
        subscribe: (filter, qos, done) => subscriber.subscribe(filter, qos, done),
        unsubscribe: (filter) => subscriber.unsubscribe(filter),
        close: () => {
          subscriber.close();
          if (subscribers.delete(subscriber)) earlyOfClosed += subscriber.acknowledgedEarly;
        },
      };
    },
    get acknowledgedEarly() {
      let count = earlyOfClosed;
      for (const subscriber of subscribers) count += subscriber.acknowledgedEarly;
      return count;
    },
    get subscriptionsInProcess() {
      let count = 0;
      for (const subscriber of subscribers) count += subscriber.size;
      return count;
    },
    refusesPublish: (topic) => aedesRefusal(topic, MAX_TOPIC_LEVELS),
    publishInProcess(connection, topic, payload, retain, qos, accepted) {
      const known = clients.get(connection);
      return known !== undefined && inProcess.publish(known.client, known.end.delivered, topic, payload, retain, qos, accepted);
    },
    close() {
      // Stop accepting first, then let aedes end the open connections so server.close() can finish.
      closing ??= Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => aedes.close(() => resolve())),
      ]).then(() => undefined);
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
