/**
 * Aggregating upstream (§4): one `mqtt` connection for the whole gateway.
 * Reconnects with exponential backoff; QoS 1/2 messages published while the broker is away are kept
 * and sent when it returns, bounded by `maxQueued`.
 *
 * The per-message path bypasses mqtt.js's publish(): a turn's QoS 0 and QoS 1 messages are encoded into
 * one buffer and written to mqtt.js's own stream as one chunk at the turn's end (publish-batch.ts; mqtt.js
 * still owns the connection, keep-alive, reconnects and everything else). QoS 1 packet ids come from a
 * space shared with mqtt.js (packet-ids.ts); the broker's PUBACKs for them are read off the connection
 * before mqtt.js's parser (puback-reader.ts, puback-tap.ts), and any that reach mqtt.js all the same are
 * taken from its 'packetreceive' (mqtt.js ignores a PUBACK for an id it did not issue). Measured in bench/
 * (`upstream`, `alloc`, README's Benchmarks). QoS 2 (rare from sensors) and publishes at QoS 0 while the
 * broker is away go through mqtt.js's publish(), after the batch.
 */
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import { Backoff } from '../../common/backoff.js';
import { RecentMap } from '../../common/recent-map.js';
import type { BrokerSection } from '../config/config-types.js';
import type { BrokerReceiver, InProcessSubscriber } from './aedes-subscriptions.js';
import { publishResult } from './mqtt-results.js';
import { InFlight } from './in-flight.js';
import { PacketIds } from './packet-ids.js';
import { PINGREQ_PACKET, PromptAck } from './prompt-ack.js';
import { PubackReader } from './puback-reader.js';
import { readPubacksFirst, tapConnections } from './puback-tap.js';
import { PublishBatch } from './publish-batch.js';
import { ACCEPTED, reportPublished, type BrokerQoS, type PublishDone, type PublishResult, type Upstream, type UpstreamSink } from './upstream.js';

export interface MqttUpstreamOptions {
  url: string;
  /** Opens each connection instead of dialing `url` (the embedded broker, in memory); `url` then only names it in logs. */
  connect?: () => Duplex;
  /**
   * With `connect`: hands a QoS 0 or QoS 1 message to the broker on that connection in process, without
   * encoding it (the embedded broker); false = not taken, written to the connection as usual. QoS 1:
   * `accepted` is called where the broker would send its PUBACK (with an error if it refused the message).
   */
  publishInProcess?: (connection: Duplex, topic: string, payload: Buffer, retain: boolean, qos?: 0 | 1, accepted?: (refused?: Error) => void) => boolean;
  /**
   * Why the broker would answer a PUBLISH to `topic` by closing the connection (the embedded broker:
   * `$SYS/…`); undefined = it takes it. Such a message is refused here, as MQTT 5's 0x90 (topic name invalid).
   */
  refusesPublish?: (topic: string) => string | undefined;
  /**
   * With `connect`: the broker's subscriptions are registered with it in process (the embedded broker,
   * aedes-subscriptions.ts), not as SUBSCRIBE/UNSUBSCRIBE packets on the connection.
   */
  subscriber?: (receive: BrokerReceiver, clientId: string, log: (message: string) => void) => InProcessSubscriber;
  broker: BrokerSection;
  maxQueued: number;
  /**
   * Sessions are kept across restarts: the gateway's broker session is kept too (CleanSession=0, MQTT 5
   * Session Expiry `expiry` s, 0 = never), so the broker holds what it did not see acknowledged and
   * queues messages for the gateway's subscriptions while it is down.
   */
  persistentSession?: { expiry: number };
  /**
   * The gateway's own status topic: `online` (retained) on every connection, `offline` through the
   * connection's MQTT will when the gateway dies, and published by stop() when it ends cleanly.
   */
  statusTopic?: string;
}

/** MQTT 5 reason code 0x90: Topic Name invalid. */
const TOPIC_NAME_INVALID = 0x90;

/** Online/offline payloads of the status topic. */
export const ONLINE = 'online';
export const OFFLINE = 'offline';

/** A QoS 1 message of ours awaiting its PUBACK: encoded when written (again, after a reconnection). */
interface OwnPublish {
  topic: string;
  payload: Buffer;
  retain: boolean;
  id: number;
  /** Publish order: a resend after reconnecting goes in it. */
  seq: number;
  done: PublishDone | undefined;
  /** Written to a connection at least once: a resend carries DUP (MQTT 3.1.1 §3.3.1.1). */
  written: boolean;
  sentAt: number;
}

export class MqttUpstream implements Upstream {
  private client: MqttClient | undefined;
  private sink: UpstreamSink | undefined;
  private inFlight = 0;
  private readonly backoff: Backoff;
  private stopping = false;
  private wasConnected = false;
  /** A flush of `batch` is scheduled for the end of this turn, to this client's connection. */
  private flushing: MqttClient | undefined;
  /** This event-loop turn's QoS 0/1 publishes, written to the connection as one chunk at the turn's end. */
  private readonly batch = new PublishBatch();
  private connectionCount = 0;
  private readonly packetIds = new PacketIds();
  /** Our QoS 1 publishes by packet id (resent in publish order, by `seq`). */
  private readonly awaitingAck = new InFlight<OwnPublish>();
  private published = 0;
  /** PUBACKs read off the connection before mqtt.js's parser (puback-reader.ts); the rest come through 'packetreceive'. */
  pubacksReadFirst = 0;
  /** Acknowledges the broker's packets when we have nothing to write (prompt-ack.ts); over TCP only, not in process. */
  readonly promptAck = new PromptAck(() => this.inFlight > 0, () => this.writePing());
  /** The broker's subscriptions in process (options.subscriber), from start() to stop(). */
  private inProcessSubscriber: InProcessSubscriber | undefined;
  /** options.publishInProcess (a field, so that bench/ can measure without it). */
  private publishInProcess: MqttUpstreamOptions['publishInProcess'];
  /** Seconds from publish to the broker's acknowledgement (QoS 1: PUBACK, QoS 2: PUBCOMP); set to measure. */
  onAcknowledged: ((seconds: number) => void) | undefined;

  constructor(private readonly options: MqttUpstreamOptions) {
    this.publishInProcess = options.publishInProcess;
    this.backoff = new Backoff({
      initialMs: options.broker.reconnectMin * 1000,
      maxMs: options.broker.reconnectMax * 1000,
    });
  }

  /** Topics refused by options.refusesPublish lately, and logged: each once while it keeps coming. */
  private readonly refusedTopicsLogged = new RecentMap<string, true>(1000);

  /** A publish the broker would end the connection for: refused here, logged once per topic. */
  private refuseTopic(topic: string, why: string, done: PublishDone | undefined): void {
    if (this.refusedTopicsLogged.get(topic) === undefined) {
      this.refusedTopicsLogged.set(topic, true);
      this.sink?.log('warn', `broker: not publishing to ${JSON.stringify(topic)}: ${why} (the broker would close the gateway's connection)`);
    }
    // Reported later, as a broker's answer would be: the caller records the message after publish() returns.
    queueMicrotask(() => reportPublished(done, { error: new Error(`topic refused: ${why}`), refused: TOPIC_NAME_INVALID }));
  }

  /** Times the broker connection came up, the first one included. */
  get connections(): number {
    return this.connectionCount;
  }

  get url(): string {
    return this.options.url;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  get pending(): number {
    return this.inFlight;
  }

  start(sink: UpstreamSink): Promise<void> {
    this.sink = sink;
    const b = this.options.broker;
    this.inProcessSubscriber = this.options.subscriber?.(
      (topic, payload, qos, retain) => sink.message(topic, payload, qos, retain),
      b.clientId,
      (message) => sink.log('warn', `broker: ${message}`),
    );
    const clientOptions: IClientOptions = {
      clientId: b.clientId,
      username: b.username,
      password: b.password,
      protocolVersion: b.protocolVersion,
      keepalive: b.keepalive,
      clean: !this.options.persistentSession,
      // Reconnects are ours (with backoff); resubscription is the core's, which knows who asked.
      reconnectPeriod: 0,
      resubscribe: false,
      connectTimeout: 10_000,
      queueQoSZero: true,
      // mqtt.js formats a debug line per packet even with debugging off: a few % of the gateway's CPU.
      log: () => {},
      messageIdProvider: this.packetIds.forMqttJs,
      // mqtt.js would clear and re-arm its keep-alive timer on every packet (a quarter of the per-message
      // CPU in the upstream's profile); without, it sends PINGREQ every keepalive even under traffic,
      // and a PINGRESP re-arms it: one small packet a minute.
      reschedulePings: false,
      // Without it mqtt-packet pre-builds a Buffer for each of the 65,536 two-byte numbers: 6 MB of heap
      // (issue 13); building the two bytes when they are written costs nothing measurable (README, Benchmarks).
      writeCache: false,
    };
    const kept = this.options.persistentSession;
    if (kept && b.protocolVersion === 5) {
      clientOptions.properties = { sessionExpiryInterval: kept.expiry === 0 ? 0xffffffff : kept.expiry };
    }
    if (this.options.statusTopic) {
      clientOptions.will = { topic: this.options.statusTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true };
    }
    if (b.tls) {
      clientOptions.ca = b.tls.ca ? readFileSync(b.tls.ca) : undefined;
      clientOptions.cert = b.tls.cert ? readFileSync(b.tls.cert) : undefined;
      clientOptions.key = b.tls.key ? readFileSync(b.tls.key) : undefined;
      clientOptions.rejectUnauthorized = b.tls.rejectUnauthorized;
    }
    // Every connection's PUBACKs for our own publishes are read before mqtt.js parses the rest (issue 13).
    const newReader = (): PubackReader => {
      this.pingrespsOwed = 0; // a new connection: the old one's answers never come
      return new PubackReader(this.isAwaitingAck, this.readAcknowledged, this.takeOwnPingresp);
    };
    const connect = this.options.connect;
    let client: MqttClient;
    if (connect) client = new MqttClient(() => readPubacksFirst(connect(), newReader()), clientOptions);
    else {
      client = mqtt.connect(this.options.url, { ...clientOptions, manualConnect: true });
      tapConnections(client, newReader);
      client.connect();
    }
    this.client = client;
    this.gateAcks(client);
    client.on('connect', () => {
      // Nagle's algorithm holds small packets for the peer's delayed ACK (~40 ms): off, for PUBACK latency.
      (client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
      // The broker's side may keep Nagle on (Mosquitto does): our acknowledgements must not wait.
      if (!this.options.connect) client.stream.on('data', this.promptAck.read);
      this.backoff.reset();
      this.resendAwaitingAck(client);
      this.wasConnected = true;
      this.connectionCount++;
      if (this.options.statusTopic) client.publish(this.options.statusTopic, ONLINE, { qos: 1, retain: true });
      // In-process (the embedded broker): no socket, though outside clients reach that broker on its URL.
      sink.log('info', `broker: connected to ${this.options.url}${this.options.connect ? ' (in process)' : ''}`);
      sink.connectionChanged(true);
    });
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'puback' && packet.messageId !== undefined) this.acknowledged(packet.messageId, packet.reasonCode);
    });
    const persistent = this.options.persistentSession !== undefined;
    client.on('message', (topic, payload, packet) => {
      // Kept sessions take QoS 2 at PUBLISH (below): mqtt.js would hand it over only at PUBREL, after its
      // PUBREC gave the broker's copy up, and it keeps the message in memory meanwhile.
      if (persistent && packet.qos === 2) {
        this.qos2Taken.delete(packet.messageId!); // PUBREL: the broker has released the id
        return;
      }
      this.received(topic, payload, packet);
    });
    if (persistent) {
      client.on('packetreceive', (packet) => {
        if (packet.cmd !== 'publish' || packet.qos !== 2 || packet.messageId === undefined) return;
        // The broker sends it again (DUP) until our PUBREC arrives: taken once.
        if (this.qos2Taken.has(packet.messageId)) return;
        this.qos2Taken.add(packet.messageId);
        this.received(packet.topic, packet.payload as Buffer, packet);
      });
    }
    client.on('error', (err) => {
      sink.log('warn', `broker: ${this.options.url}: ${err.message}`);
    });
    client.on('close', () => {
      if (this.wasConnected) {
        this.wasConnected = false;
        if (!this.stopping) sink.log('warn', `broker: connection to ${this.options.url} lost; messages are held until it returns`);
        sink.connectionChanged(false);
      }
      if (this.stopping) return;
      const delay = this.backoff.schedule(() => {
        // Hand mqtt.js its own stores back: reconnect() without them starts empty ones and the
        // QoS 1/2 messages held during the outage would be lost.
        if (!this.stopping) client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
      });
      sink.log('debug', `broker: reconnecting in ${delay} ms`);
    });
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.backoff.cancel();
    this.promptAck.stop();
    this.inProcessSubscriber?.close();
    this.inProcessSubscriber = undefined;
    const client = this.client;
    if (!client) return;
    this.flushBatch(client); // what was published this turn goes before the end
    // Say `offline` ourselves, waiting (briefly) for the broker to take it; a clean DISCONNECT then
    // discards the will. With messages still in flight the connection is cut instead (the will repeats it).
    const statusTopic = this.options.statusTopic;
    if (statusTopic && client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        client.publish(statusTopic, OFFLINE, { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const graceful = statusTopic !== undefined && client.connected && this.inFlight === 0;
    await new Promise<void>((resolve) => client.end(!graceful, {}, () => resolve()));
  }

  /** Broker message ids whose PUBACK (QoS 1) / PUBREC (QoS 2) waits until the core stored the message. */
  private readonly ackAfter = new Map<number, Promise<void>>();
  /** QoS 2 messages taken at PUBLISH whose PUBREL has not come yet. */
  private readonly qos2Taken = new Set<number>();

  private received(topic: string, payload: Buffer, packet: { qos: number; retain: boolean; dup: boolean; messageId?: number }): void {
    const id = packet.messageId;
    const delivery = packet.qos > 0 && id !== undefined ? { id, dup: packet.dup } : undefined;
    const stored = this.sink!.message(topic, payload, packet.qos as BrokerQoS, packet.retain, delivery);
    if (stored && id !== undefined) this.ackAfter.set(id, stored);
  }

  /**
   * mqtt.js acknowledges a message as soon as its handlers ran, and reads the next packet only after
   * that (its handleMessage hook would hold every later message behind each store commit). So the ack
   * packet itself is held back until the message is stored, while mqtt.js reads on.
   */
  private gateAcks(client: MqttClient): void {
    const internals = client as unknown as { _sendPacket: (packet: { cmd: string; messageId?: number }, cb?: () => void, ...rest: unknown[]) => void };
    const send = internals._sendPacket.bind(client);
    internals._sendPacket = (packet, cb, ...rest) => {
      const stored = (packet.cmd === 'puback' || packet.cmd === 'pubrec') && packet.messageId !== undefined ? this.ackAfter.get(packet.messageId) : undefined;
      if (!stored) return send(packet, cb, ...rest);
      this.ackAfter.delete(packet.messageId!);
      cb?.();
      // Not acknowledged if the connection went meanwhile: the broker sends it again (CleanSession=0).
      void stored.then(() => {
        if (client.connected) send(packet, undefined, ...rest);
      });
    };
  }

  publish(topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean, done?: PublishDone): boolean {
    const refusal = this.options.refusesPublish?.(topic);
    if (refusal !== undefined) {
      this.refuseTopic(topic, refusal, done);
      return true;
    }
    const client = this.client;
    if (!client || this.inFlight >= this.options.maxQueued) return false;
    if (qos === 1) {
      // In process only behind nothing: no batch of this turn, no QoS 1 message still owed its PUBACK
      // (one written to a connection since lost goes again, first).
      if (this.publishInProcess && this.awaitingAck.size === 0 && this.batch.size === 0 && this.publishQos1InProcess(client, topic, payload, retain, done)) return true;
      return this.publishOwnQos1(client, topic, payload, retain, done);
    }
    const stream = this.writableStream(client);
    if (qos === 0 && stream) {
      // In process only when nothing of this turn's batch waits to be written: it must not overtake that.
      if (this.batch.size > 0 || !this.publishInProcess?.(stream as unknown as Duplex, topic, payload, retain)) {
        this.batchWrites(client);
        this.batch.add(topic, payload, 0, retain, 0, this.mqtt5, false);
      }
      reportPublished(done, ACCEPTED);
      return true;
    }
    // QoS 2, and QoS 0 while the broker is away (mqtt.js queues it: queueQoSZero). After ours, in order.
    this.flushBatch(client);
    this.inFlight++;
    const measure = qos > 0 ? this.onAcknowledged : undefined;
    const sentAt = measure ? performance.now() : 0;
    client.publish(topic, payload, { qos, retain }, (err) => {
      this.inFlight--;
      if (measure && !err) measure((performance.now() - sentAt) / 1000);
      reportPublished(done, publishResult(err));
    });
    return true;
  }

  private get mqtt5(): boolean {
    return this.options.broker.protocolVersion === 5;
  }

  /** The connection's stream while it can take a packet; undefined while the broker is away. */
  private writableStream(client: MqttClient): MqttClient['stream'] | undefined {
    const stream = client.stream;
    return client.connected && stream && !stream.destroyed && stream.writable ? stream : undefined;
  }

  /**
   * A method of its own so that publish() holds no closure: V8 would allocate a context for one on every
   * call, embedded broker or not (test/e2e/02-publish-allocation.test.ts).
   */
  private publishQos1InProcess(client: MqttClient, topic: string, payload: Buffer, retain: boolean, done: PublishDone | undefined): boolean {
    const stream = this.writableStream(client);
    return stream !== undefined && this.publishInProcess!(stream as unknown as Duplex, topic, payload, retain, 1, (refused) => this.acceptedInProcess(client, topic, payload, retain, done, refused));
  }

  /**
   * The embedded broker took a QoS 1 message in process, at the moment it would have written its PUBACK.
   * Reported on a microtask, as a broker's answer would come after publish() returns (the caller records
   * the message then). Refused (aedes would have closed the connection): it waits for the connection
   * again like one sent on it, as on the wire.
   */
  private acceptedInProcess(client: MqttClient, topic: string, payload: Buffer, retain: boolean, done: PublishDone | undefined, refused: Error | undefined): void {
    if (refused) {
      this.publishOwnQos1(client, topic, payload, retain, done);
      return;
    }
    this.onAcknowledged?.(0);
    queueMicrotask(() => reportPublished(done, ACCEPTED));
  }

  /** QoS 1 under a packet id of ours; held (and counted in `pending`) until its PUBACK, written now or on reconnect. */
  private publishOwnQos1(client: MqttClient, topic: string, payload: Buffer, retain: boolean, done: PublishDone | undefined): boolean {
    const id = this.packetIds.allocate();
    if (id === undefined) return false; // 65,535 in flight: congestion
    this.inFlight++;
    const own: OwnPublish = { topic, payload, retain, id, seq: this.published++, done, written: false, sentAt: 0 };
    this.awaitingAck.set(id, own);
    if (this.writableStream(client)) this.write(client, own);
    return true;
  }

  /** Into this turn's batch; a message written before (to a connection since lost) goes with DUP. */
  private write(client: MqttClient, own: OwnPublish): void {
    this.batchWrites(client);
    this.batch.add(own.topic, own.payload, 1, own.retain, own.id, this.mqtt5, own.written);
    own.written = true;
    if (this.onAcknowledged) own.sentAt = performance.now();
  }

  /** After (re)connecting: every QoS 1 message of ours not yet acknowledged goes (again), in publish order. */
  private resendAwaitingAck(client: MqttClient): void {
    if (!this.writableStream(client)) return;
    const inOrder = [...this.awaitingAck.entries()].map(([, own]) => own).sort((a, b) => a.seq - b.seq);
    for (const own of inOrder) this.write(client, own);
  }

  /**
   * Writes this turn's batch now, before mqtt.js writes a packet of its own that must not overtake it
   * (a QoS 2 publish, the status topic, a subscription). Dropped if the connection is gone: QoS 1
   * messages in it are still awaiting their PUBACK and go again on reconnection; QoS 0 ones are lost,
   * as they would be in a closing socket's buffer.
   */
  private flushBatch(client: MqttClient): void {
    const packets = this.batch.take();
    if (!packets) return;
    this.writableStream(client)?.write(packets);
    this.promptAck.wrote();
  }

  /** A PINGREQ whose only purpose is the TCP acknowledgement it carries (prompt-ack.ts). */
  private writePing(): void {
    const client = this.client;
    const stream = client && this.writableStream(client);
    if (!stream) return;
    this.flushBatch(client);
    stream.write(PINGREQ_PACKET);
    this.pingrespsOwed++;
  }

  /** PINGRESPs due for our own PINGREQs; the reader takes that many (in order, so mqtt.js still gets one per PINGREQ of its own). */
  private pingrespsOwed = 0;

  private readonly takeOwnPingresp = (): boolean => {
    if (this.pingrespsOwed === 0) return false;
    this.pingrespsOwed--;
    return true;
  };

  private readonly isAwaitingAck = (id: number): boolean => this.awaitingAck.has(id);

  private readonly readAcknowledged = (id: number, reasonCode: number | undefined): void => {
    this.pubacksReadFirst++;
    this.acknowledged(id, reasonCode);
  };

  /** A PUBACK from the broker; ids that are not ours are mqtt.js's (it handles those). */
  private acknowledged(id: number, reasonCode: number | undefined): void {
    const own = this.awaitingAck.get(id);
    if (!own) return;
    this.awaitingAck.delete(id);
    this.packetIds.release(id);
    this.inFlight--;
    // MQTT 5: 0x00 success, 0x10 no matching subscribers (accepted); anything else is a refusal (>= 0x80).
    const refused = reasonCode !== undefined && reasonCode !== 0 && reasonCode !== 0x10;
    if (!refused && this.onAcknowledged) this.onAcknowledged((performance.now() - own.sentAt) / 1000);
    reportPublished(own.done, refused ? { error: new Error(`publish refused by the broker (reason 0x${reasonCode.toString(16)})`), refused: reasonCode } : ACCEPTED);
  }

  /**
   * Publishes made while handling one batch of datagrams go to the broker in one TCP write, not one
   * write each: the batch is written once the event loop has handled the I/O at hand. (The stream is not
   * corked meanwhile: one chunk a turn needs no coalescing, and a corked stream keeps an entry per write.)
   */
  private batchWrites(client: MqttClient): void {
    if (this.flushing !== undefined) return;
    this.flushing = client;
    setImmediate(this.flushTurn);
  }

  private readonly flushTurn = (): void => {
    const client = this.flushing!;
    this.flushing = undefined;
    this.flushBatch(client);
  };

  subscribe(filter: string, qos: BrokerQoS, done?: (granted: number) => void): void {
    if (this.client) this.flushBatch(this.client);
    // In process: it takes effect once what was just written has reached the broker (aedes-subscriptions.ts).
    if (this.inProcessSubscriber) return this.inProcessSubscriber.subscribe(filter, qos, done);
    this.client?.subscribe(filter, { qos }, (err, granted) => {
      if (err) this.sink?.log('warn', `broker: subscribe ${filter}: ${err.message}`);
      done?.(err ? 0x80 : (granted?.[0]?.qos ?? 0x80));
    });
  }

  unsubscribe(filter: string): void {
    if (this.client) this.flushBatch(this.client);
    if (this.inProcessSubscriber) return this.inProcessSubscriber.unsubscribe(filter);
    this.client?.unsubscribe(filter);
  }
}
