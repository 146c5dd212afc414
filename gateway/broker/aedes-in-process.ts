/**
 * The gateway's QoS 0 and QoS 1 publishes handed to the embedded aedes broker as objects, in process, instead
 * of being encoded, pushed through the in-memory pipe and parsed again by mqtt-packet (issue 13: the pipe
 * and the parser were about 40% of the busy CPU at 1,000 msg/s; for QoS 1, aedes's PUBACK written, read and
 * matched too). A QoS 1 message is acknowledged when aedes's PUBLISH handler would write its PUBACK: once
 * authorised, before routing. The gateway's subscriptions are registered in process too
 * (aedes-subscriptions.ts); everything else (CONNECT, QoS 2, keep-alive) still travels the pipe as MQTT.
 *
 * What outside clients see stays the same:
 * - the checks aedes's PUBLISH handler makes: a topic it would refuse (empty, with a wildcard, too many
 *   levels, `$SYS/`) is not taken here but sent over the pipe, where aedes refuses it as before;
 *   its `authorizePublish` hook is asked as on the wire;
 * - order: aedes hands a message to its subscribers' queues when it emits it on its `mq` (mqemitter), so
 *   a publish is taken here only when every PUBLISH of this ClientId that aedes took (counted at its
 *   `authorizePublish` hook) has been emitted (counted on the `mq`, which aedes takes as an option), and
 *   nothing the connection wrote is still in the pipe; otherwise it goes down the pipe behind the others.
 *   A count that never evens out (a QoS 2 duplicate aedes drops) only sends QoS 0 and 1 down the pipe, as
 *   before, until the next connection. The upstream adds its own condition for QoS 1: no QoS 1 message of
 *   its own still owed a PUBACK (one written to a connection since lost goes again first).
 *
 * aedes's documented `publish(packet, callback)` publishes as the broker itself (no client); its PUBLISH
 * handler calls `publish(packet, client, callback)` so that the `publish` event, the `published` hook and
 * MQTT 5's no-local see who sent it (and the ClientId on the emitted message counted above). That
 * three-argument form is not in aedes's typings: it is used here only, and
 * test/broker/embedded-in-process.test.ts fails if aedes stops reporting our client for it.
 */
import type { Aedes, Client, PublishPacket } from 'aedes';
import type mqemitter from 'mqemitter';
import { hasWildcard } from '../core/topics.js';
import { leanMqEmitter } from './lean-mqemitter.js';

/** aedes's PUBLISH handler's call, with the sender (see above). */
type PublishAsClient = (packet: PublishPacket, client: Client, callback: (error?: Error) => void) => void;

/** PUBLISH packets of one ClientId that aedes took (authorised) and emitted to its subscribers. */
interface Progress { taken: number; emitted: number }

/**
 * Why aedes's PUBLISH handler or its default authorizePublish (lib/handlers/publish.js, aedes.js) would refuse a
 * client's PUBLISH to `topic`, which aedes answers by closing the connection; undefined = it takes it.
 */
export function aedesRefusal(topic: string, maxTopicLevels: number): string | undefined {
  if (topic.length === 0) return 'an empty topic';
  if (hasWildcard(topic)) return 'a wildcard in a topic name';
  if (topic.startsWith('$SYS/')) return '$SYS/ topics are the broker\'s own';
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 47) levels++;
  return levels > maxTopicLevels ? `more than ${maxTopicLevels} topic levels` : undefined;
}

export class AedesInProcess {
  /** Give this to aedes as its `mq` option (aedes's default emitter, counted). */
  readonly mq: mqemitter.MQEmitter;
  /** By ClientId of a connection from track(), since it connected. */
  private readonly progress = new Map<string, Progress>();
  private readonly tracked = new WeakSet<Client>();
  private aedes: Aedes | undefined;
  private publishAsClient: PublishAsClient | undefined;
  /** QoS 0 and 1 messages handed over in process (the rest of the connection's PUBLISH packets went down the pipe). */
  published = 0;

  constructor(private readonly maxTopicLevels: number, concurrency: number) {
    // As aedes builds its own when given none (aedes.js), with exact filters kept leaner (lean-mqemitter.ts).
    this.mq = leanMqEmitter({ concurrency, matchEmptyLevels: true });
    const emit = this.mq.emit.bind(this.mq);
    this.mq.emit = (message, callback) => {
      const progress = typeof message.clientId === 'string' ? this.progress.get(message.clientId) : undefined;
      if (progress) progress.emitted++;
      emit(message, callback);
    };
  }

  /** The broker built with `mq`. */
  attach(aedes: Aedes): void {
    this.aedes = aedes;
    this.publishAsClient = (aedes.publish as unknown as PublishAsClient).bind(aedes);
    const authorize = aedes.authorizePublish;
    aedes.authorizePublish = (client, packet, callback) => {
      const progress = client?.id ? this.progress.get(client.id) : undefined;
      if (!progress) return authorize.call(aedes, client, packet, callback);
      authorize.call(aedes, client, packet, (error) => {
        if (!error) progress.taken++;
        callback(error);
      });
    };
    aedes.on('client', (client) => {
      if (this.tracked.has(client)) this.progress.set(client.id, { taken: 0, emitted: 0 });
    });
  }

  /** Follows a connection of the gateway's (from `aedes.handle`), so that it can publish in process once connected. */
  track(client: Client): void {
    this.tracked.add(client);
  }

  /**
   * Whether everything `client` wrote has reached aedes's subscribers: nothing in the pipe (`pipeEmpty`), and
   * every PUBLISH aedes took from it emitted. A connection that is gone has nothing on its way; one aedes has
   * not marked connected yet may have PUBLISH packets waiting in aedes's queue, not yet counted: not settled.
   */
  settled(client: Client, pipeEmpty: boolean): boolean {
    if (client.closed) return true;
    if (!client.connected) return false;
    const progress = this.progress.get(client.id);
    return pipeEmpty && (progress === undefined || progress.taken === progress.emitted);
  }

  /** PUBLISH packets of `client`'s connection aedes took, and emitted, since it connected. */
  progressOf(client: Client): Readonly<Progress> | undefined {
    return this.progress.get(client.id);
  }

  /**
   * Publishes a QoS 0 or QoS 1 message as `client`, in process, when that keeps order and aedes's checks
   * (see above); false = not taken: write it to the connection as usual. `pipeEmpty`: nothing the client
   * wrote is still on its way to aedes. QoS 1: `accepted` is called when aedes's PUBLISH handler would
   * write its PUBACK (authorised, before routing: lib/handlers/publish.js), maybe before this returns;
   * with an error when aedes would close the connection instead (it is closed here too).
   */
  publish(client: Client, pipeEmpty: boolean, topic: string, payload: Buffer, retain: boolean, qos: 0 | 1 = 0, accepted?: (refused?: Error) => void): boolean {
    const aedes = this.aedes;
    if (!aedes || !pipeEmpty || !client.connected || client.closed || !this.tracked.has(client)) return false;
    const progress = this.progress.get(client.id);
    if (!progress || progress.taken !== progress.emitted || aedesRefusal(topic, this.maxTopicLevels) !== undefined) return false;
    const packet: PublishPacket = { cmd: 'publish', topic, payload, qos, retain, dup: false };
    aedes.authorizePublish(client, packet, (refused) => {
      // As aedes does for a refused PUBLISH on the wire: the connection ends (the gateway reconnects).
      if (refused) {
        client.conn.destroy(refused);
        accepted?.(refused);
        return;
      }
      accepted?.();
      this.publishAsClient!(packet, client, () => {});
    });
    this.published++;
    return true;
  }
}
