/**
 * What-if experiments: small changes applied from outside to a running gateway, to measure a suspected
 * bottleneck before anyone changes the gateway's code. Off by default; `--what-if=a,b` turns them on and
 * the output says so, because the figures are then not those of the gateway as shipped.
 * They reach into private fields (the upstream's mqtt.js client, the UDP radio's socket): bench-only.
 */
import type dgram from 'node:dgram';
import type { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import { UdpPeerNames } from '../../common/udp-peer-names.js';
import type { RateLimiter } from '../../gateway/core/rate-limiter.js';
import type { Session } from '../../gateway/core/session.js';
import type { LimitsSection } from '../../gateway/config/config-types.js';
import type { Gateway } from '../../gateway/gateway.js';
import { ACCEPTED, reportPublished, type Upstream } from '../../gateway/broker/upstream.js';
import type { MqttUpstreamOptions } from '../../gateway/broker/mqtt-upstream.js';

export const WHAT_IFS = {
  /** One writev per event-loop turn to the broker instead of one per message: cork until setImmediate. */
  'batch-writes': (gateway: Gateway) => {
    const stream = brokerSocket(gateway);
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    let corked = false;
    const flush = (): void => {
      corked = false;
      stream.uncork();
    };
    stream.write = ((...args: unknown[]) => {
      if (!corked) {
        corked = true;
        stream.cork();
        setImmediate(flush);
      }
      return write(...args);
    }) as typeof stream.write;
  },
  /** TCP_NODELAY on the broker connection (mqtt.js leaves Nagle on). */
  nodelay: (gateway: Gateway) => {
    brokerSocket(gateway).setNoDelay(true);
  },
  /** A 4 MiB receive buffer on the gateway's UDP socket instead of the kernel default (about 200 KB). */
  rcvbuf: (gateway: Gateway) => {
    udpSocket(gateway).setRecvBufferSize(4 * 1024 * 1024);
  },
  /** mqtt.js calls its `debug` logger several times per packet even when disabled: replace it with a no-op. */
  'quiet-mqtt-log': (gateway: Gateway) => {
    (mqttClient(gateway) as unknown as { log: (...args: unknown[]) => void }).log = () => {};
  },
  /** The broker socket stays corked 1 ms (not one event-loop turn) after the first publish: writes coalesce across turns. */
  'cork-1ms': (gateway: Gateway) => corkFor(gateway, 1),
  /** No per-sender token bucket before decoding (`limits.frameRate: 0`): what the flood limit costs per frame. */
  'no-rate-limit': (gateway: Gateway) => {
    const core = gateway.core as unknown as { limits: LimitsSection };
    if (!shippedLimits.has(gateway)) shippedLimits.set(gateway, core.limits);
    core.limits = { ...core.limits, frameRate: 0 };
  },
  /** As cork-1ms, for 5 ms. */
  'cork-5ms': (gateway: Gateway) => corkFor(gateway, 5),
  /**
   * Fewer wake-ups than datagrams: after a burst of datagrams the UDP socket stops reading for 2 ms (the
   * kernel queues meanwhile), so at low rates several datagrams share one wake-up, at up to 2 ms latency.
   * Uses the socket's private handle (recvStop/recvStart): a measurement, not a candidate as written.
   */
  'udp-pause-2ms': (gateway: Gateway) => pauseReads(gateway, 2),
  /** As udp-pause-2ms, for 5 ms. */
  'udp-pause-5ms': (gateway: Gateway) => pauseReads(gateway, 5),
  /** As cork-1ms, for 50 ms. */
  'cork-50ms': (gateway: Gateway) => corkFor(gateway, 50),
  /** Publishes are accepted and dropped, never written to the broker: what the broker path costs, by difference. */
  'drop-publishes': (gateway: Gateway) => {
    gateway.upstream.publish = (_topic, _payload, _qos, _retain, done) => {
      reportPublished(done, ACCEPTED);
      return true;
    };
  },
  /**
   * Against the embedded broker: QoS 0 encoded and sent through the in-memory connection, parsed again by
   * aedes, as before the in-process path (gateway/broker/aedes-in-process.ts). For before/after runs.
   */
  'wire-qos0': (gateway: Gateway) => inProcessExcept(gateway, 0),
  /**
   * Against the embedded broker: QoS 1 encoded and sent through the in-memory connection, aedes's PUBACK read
   * back, as before QoS 1 was taken in process too. For before/after runs.
   */
  'wire-qos1': (gateway: Gateway) => inProcessExcept(gateway, 1),
  /**
   * Against the embedded broker: the gateway's broker subscriptions as SUBSCRIBE packets over the in-memory
   * connection, as before they were registered in process (gateway/broker/aedes-subscriptions.ts). Applied
   * before any sensor subscribes. For before/after runs.
   */
  'wire-subscriptions': (gateway: Gateway) => {
    (gateway.upstream as unknown as { inProcessSubscriber: unknown }).inProcessSubscriber = undefined;
  },
  /**
   * The per-message path as it was before pre-encoded packets: every publish through mqtt.js's publish()
   * (its packet ids, its store, mqtt-packet's writes), corked per event-loop turn. For before/after runs.
   */
  'mqttjs-publish': (gateway: Gateway) => {
    gateway.upstream.publish = publishThroughMqttJs(gateway.upstream);
  },
  /**
   * No PINGREQ to carry the gateway's TCP acknowledgement when it has nothing else to write
   * (gateway/broker/prompt-ack.ts): the broker's held PUBACKs wait for the delayed ACK, as before.
   */
  'no-prompt-ack': (gateway: Gateway) => {
    (gateway.upstream as unknown as { promptAck: { awaitingAnswers: () => boolean } }).promptAck.awaitingAnswers = () => false;
  },
  /**
   * The flood limit's buckets all in the limiter's maps, as before they were kept in sessions: a frame from
   * a connected sensor takes its token by address (two misses, a new bucket and an insert when it speaks
   * less often than the refill period). Bench-only: the sessions' own buckets are left behind meanwhile.
   */
  'rate-limit-maps': (gateway: Gateway) => {
    for (const limiter of rateLimitersOf(gateway)) {
      limiter.takeHeld = (holder, now) => limiter.take((holder as unknown as Session).link.address, now);
    }
  },
  /** few-names and rate-limit-maps at once: a connected sensor's frame as before both (issue 13, `crowd`). */
  'old-sender-path': (gateway: Gateway) => {
    WHAT_IFS['few-names'](gateway);
    WHAT_IFS['rate-limit-maps'](gateway);
  },
  /** The UDP radio's sender names kept for the last 1,024 peers, as before SENDER_NAMES_KEPT (radios/udp.ts). */
  'few-names': (gateway: Gateway) => {
    const radio = gateway.radios[0] as unknown as { names: UdpPeerNames };
    if (!shippedNames.has(gateway)) shippedNames.set(gateway, radio.names);
    radio.names = new UdpPeerNames(1024);
  },
} satisfies Record<string, (gateway: Gateway) => void>;

/** The aggregating upstream's publish() as it was before pre-encoded packets (bench/lib/upstream-path.ts compares the two). */
export function publishThroughMqttJs(target: Upstream): Upstream['publish'] {
  const upstream = target as unknown as { client: MqttClient; inFlight: number; options: { maxQueued: number } };
  let corked = false;
  return (topic, payload, qos, retain, done) => {
    const client = upstream.client;
    if (upstream.inFlight >= upstream.options.maxQueued) return false;
    upstream.inFlight++;
    // As the upstream did then: the socket corked until the turn's end, so mqtt.js's writes coalesce.
    const stream = client.stream as unknown as Socket;
    if (!corked) {
      corked = true;
      stream.cork();
      setImmediate(() => {
        corked = false;
        stream.uncork();
      });
    }
    client.publish(topic, payload, { qos, retain }, (err) => {
      upstream.inFlight--;
      reportPublished(done, err ? { error: err } : ACCEPTED);
    });
    return true;
  };
}

/** Replaces the upstream's cork-until-setImmediate with cork-for-`ms`. */
function corkFor(gateway: Gateway, ms: number): void {
  const upstream = gateway.upstream as unknown as { batchWrites: (client: MqttClient) => void; flushBatch: (client: MqttClient) => void };
  let waiting = false;
  upstream.batchWrites = (client: MqttClient) => {
    if (waiting || !client.connected) return;
    waiting = true;
    setTimeout(() => {
      waiting = false;
      upstream.flushBatch(client);
    }, ms);
  };
}

export type WhatIf = keyof typeof WHAT_IFS;

export function parseWhatIfs(argv: string[]): WhatIf[] {
  const chosen = argv.filter((a) => a.startsWith('--what-if=')).flatMap((a) => a.slice('--what-if='.length).split(','));
  const unknown = chosen.filter((w) => !(w in WHAT_IFS));
  if (unknown.length) throw new Error(`unknown --what-if ${unknown.join(', ')}; choose from ${Object.keys(WHAT_IFS).join(', ')}`);
  return chosen as WhatIf[];
}

export function applyWhatIfs(gateway: Gateway, whatIfs: WhatIf[]): void {
  for (const w of whatIfs) WHAT_IFS[w](gateway);
}

/** What-ifs that only replace the upstream's methods on the instance, and so can be taken back (`--ab`). */
export const UNDOABLE: WhatIf[] = ['few-names', 'rate-limit-maps', 'old-sender-path', 'wire-qos0', 'wire-qos1', 'no-rate-limit', 'cork-1ms', 'cork-5ms', 'cork-50ms', 'drop-publishes', 'mqttjs-publish', 'udp-pause-2ms', 'udp-pause-5ms'];

/** The upstream's in-process publishing as shipped, but never for `qos`: those go through the in-memory connection. */
function inProcessExcept(gateway: Gateway, qos: 0 | 1): void {
  type PublishInProcess = NonNullable<MqttUpstreamOptions['publishInProcess']>;
  const upstream = gateway.upstream as unknown as { publishInProcess: PublishInProcess | undefined; options: MqttUpstreamOptions };
  const shipped = upstream.options.publishInProcess;
  if (!shipped) throw new Error(`what-if wire-qos${qos}: the gateway has no embedded broker (--broker=embedded)`);
  upstream.publishInProcess = (connection, topic, payload, retain, messageQos, accepted) =>
    (messageQos ?? 0) !== qos && shipped(connection, topic, payload, retain, messageQos, accepted);
}

/** Takes back the UNDOABLE what-ifs: the upstream's own methods (from its prototype) are in force again. */
export function undoWhatIfs(gateway: Gateway): void {
  const upstream = gateway.upstream as unknown as Record<string, unknown>;
  delete upstream.batchWrites;
  delete upstream.publish;
  upstream.publishInProcess = (upstream.options as { publishInProcess?: unknown }).publishInProcess;
  if (shippedLimits.has(gateway)) (gateway.core as unknown as { limits: LimitsSection }).limits = shippedLimits.get(gateway)!;
  for (const limiter of rateLimitersOf(gateway)) delete (limiter as Partial<RateLimiter>).takeHeld;
  if (shippedNames.has(gateway)) (gateway.radios[0] as unknown as { names: UdpPeerNames }).names = shippedNames.get(gateway)!;
  const pause = readPauses.get(gateway);
  if (pause) pause.ms = 0;
}

function rateLimitersOf(gateway: Gateway): RateLimiter[] {
  return [...(gateway.core as unknown as { rateLimiters: Map<string, RateLimiter> }).rateLimiters.values()];
}

/** Per gateway: its UDP radio's sender names as shipped, before few-names. */
const shippedNames = new WeakMap<Gateway, UdpPeerNames>();

/** Per gateway: its core's limits as configured, before no-rate-limit set frameRate to 0. */
const shippedLimits = new WeakMap<Gateway, LimitsSection>();

/** Per gateway: how long its UDP socket stops reading after a burst (0 = off). */
const readPauses = new WeakMap<Gateway, { ms: number }>();

function pauseReads(gateway: Gateway, ms: number): void {
  let pause = readPauses.get(gateway);
  if (pause) {
    pause.ms = ms;
    return;
  }
  pause = { ms };
  readPauses.set(gateway, pause);
  const socket = udpSocket(gateway);
  const handle = (socket as unknown as { _handle: { recvStop(): number; recvStart(): number } })._handle;
  let paused = false;
  const state = pause;
  socket.on('message', () => {
    if (paused || state.ms === 0) return;
    paused = true;
    handle.recvStop();
    setTimeout(() => {
      paused = false;
      handle.recvStart();
    }, state.ms);
  });
}

function mqttClient(gateway: Gateway): MqttClient {
  const client = (gateway.upstream as unknown as { client: MqttClient | undefined }).client;
  if (!client) throw new Error('what-if: the upstream has no mqtt.js client');
  return client;
}

function brokerSocket(gateway: Gateway): Socket {
  return mqttClient(gateway).stream as unknown as Socket;
}

function udpSocket(gateway: Gateway): dgram.Socket {
  const socket = (gateway.radios[0] as unknown as { socket: dgram.Socket | undefined }).socket;
  if (!socket) throw new Error('what-if: the UDP radio has no socket');
  return socket;
}

