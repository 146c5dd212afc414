/**
 * Unit tests of the gateway core's state machine (issue #3), beside the end-to-end tests: a MemoryRadio
 * carries real encoded MQTT-SN frames, a RecordingUpstream stands in for the broker and answers only when
 * the test says so, and a ManualClock drives the once-a-second sweep. No real timers, no sockets.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import type { GatewaySection, TopicsSection } from '../../gateway/config/config-types.js';
import { ENDED_SESSION_KEPT_MS, GatewayCore } from '../../gateway/core/core.js';
import { registerTopic, type ClientState } from '../../gateway/core/session.js';
import type { BrokerQoS } from '../../gateway/broker/upstream.js';
import type { PublishMessage, QoS, SnMessage, SnMessageOf, SnMessageType } from '../../sn-codec/types.js';
import { shortTopicId } from '../../sn-codec/index.js';
import { MemoryRadio } from '../support/memory-radio.js';
import { RecordingUpstream } from '../support/recording-upstream.js';

const DEFAULT_CONFIG = parseConfig('');

interface World {
  clock: ManualClock;
  radio: MemoryRadio;
  upstream: RecordingUpstream;
  core: GatewayCore;
  /** Every 'clientState' event as "clientId:from→to". */
  states: string[];
  /** Every 'messageDropped' event as "clientId:topic". */
  drops: string[];
}

/** Defaults from parseConfig(''), with advertising off unless a test asks for it. */
function world(gateway: Partial<GatewaySection> = {}, topics: TopicsSection = DEFAULT_CONFIG.topics): World {
  const clock = new ManualClock();
  const radio = new MemoryRadio();
  const upstream = new RecordingUpstream();
  const core = new GatewayCore({ gateway: { ...DEFAULT_CONFIG.gateway, advertiseInterval: 0, ...gateway }, topics, upstream, clock });
  core.addRadio(radio);
  void radio.start(core.radioSink);
  void upstream.start(core.upstreamSink);
  core.start();
  const states: string[] = [];
  core.events.on('clientState', (id, from, to) => states.push(`${id}:${from}→${to}`));
  const drops: string[] = [];
  core.events.on('messageDropped', (id, topic) => drops.push(`${id}:${topic}`));
  return { clock, radio, upstream, core, states, drops };
}

let nextPort = 50_000;

interface WillSpec { topic: string; message: string; qos?: QoS; retain?: boolean }

/** One sensor on the memory radio: sends real frames, reads what the gateway sent to its address. */
class Sensor {
  readonly address: string;
  constructor(readonly w: World, readonly clientId: string) {
    this.address = `udp:127.0.0.1:${nextPort++}`;
  }

  send(message: SnMessage): void {
    this.w.radio.inject(this.address, message);
  }

  /** Everything the gateway sent to this sensor since the last take. */
  take(): SnMessage[] {
    return this.w.radio.take(this.address);
  }

  /** Exactly one message, of this type, was sent since the last take. */
  one<T extends SnMessageType>(type: T): SnMessageOf<T> {
    const got = this.take();
    expect(got.map((m) => m.type)).toEqual([type]);
    return got[0] as SnMessageOf<T>;
  }

  get state(): ClientState | undefined {
    return this.w.core.client(this.clientId)?.state;
  }

  /** §6.2 CONNECT, with the will handshake when a will is given; expects CONNACK accepted. */
  connect(options: { duration?: number; cleanSession?: boolean; will?: WillSpec } = {}): void {
    const { duration = 60, cleanSession = true, will } = options;
    this.send({ type: 'CONNECT', will: will !== undefined, cleanSession, duration, clientId: this.clientId });
    if (will) {
      this.one('WILLTOPICREQ');
      this.send({ type: 'WILLTOPIC', qos: will.qos ?? 0, retain: will.retain ?? false, willTopic: will.topic });
      this.one('WILLMSGREQ');
      this.send({ type: 'WILLMSG', willMsg: Buffer.from(will.message) });
    }
    expect(this.one('CONNACK').returnCode).toBe(0);
  }

  /** §6.9 SUBSCRIBE by name; the upstream grants it at once when connected. Returns the SUBACK. */
  subscribe(topicName: string, qos: 0 | 1 | 2 = 1, msgId = 1): SnMessageOf<'SUBACK'> {
    this.send({ type: 'SUBSCRIBE', dup: false, qos, msgId, topic: { topicIdType: 'normal', topicName } });
    if (this.w.upstream.connected) this.w.upstream.grantAll();
    const suback = this.one('SUBACK');
    expect(suback).toMatchObject({ msgId, returnCode: 0 });
    return suback;
  }

  /** §6.5 REGISTER a topic name; returns the topic id from REGACK. */
  register(topicName: string, msgId = 1): number {
    this.send({ type: 'REGISTER', topicId: 0, msgId, topicName });
    const regack = this.one('REGACK');
    expect(regack).toMatchObject({ msgId, returnCode: 0 });
    return regack.topicId;
  }

  publish(topicId: number, payload: string, qos: QoS, msgId: number, dup = false): void {
    this.send({ type: 'PUBLISH', dup, qos, retain: false, topicIdType: 'normal', topicId, msgId, payload: Buffer.from(payload) });
  }

  /** §6.14 DISCONNECT with Duration: the gateway answers DISCONNECT and the client sleeps. */
  sleep(duration: number): void {
    this.send({ type: 'DISCONNECT', duration });
    this.one('DISCONNECT');
  }

  /** §6.14 PINGREQ with the ClientId: a sleeping client wakes. */
  wake(): void {
    this.send({ type: 'PINGREQ', clientId: this.clientId });
  }

  puback(p: PublishMessage, returnCode = 0): void {
    this.send({ type: 'PUBACK', topicId: p.topicId, msgId: p.msgId, returnCode });
  }
}

function payloadOf(m: SnMessage): string {
  if (m.type !== 'PUBLISH') throw new Error(`expected PUBLISH, got ${m.type}`);
  return m.payload.toString();
}

function deliver(w: World, topic: string, payload: string, qos: BrokerQoS = 1, retain = false): void {
  w.upstream.deliver(topic, payload, qos, retain);
}

// ------------------------------------------------------------------------------------------------

describe('§6.14 client states and the clientState events', () => {
  it('§6.2 connecting → active on CONNACK; connecting until the will handshake ends', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.send({ type: 'CONNECT', will: true, cleanSession: true, duration: 60, clientId: 'c1' });
    s.one('WILLTOPICREQ');
    expect(s.state).toBe('connecting');
    s.send({ type: 'WILLTOPIC', qos: 1, retain: false, willTopic: 'wills/c1' });
    s.one('WILLMSGREQ');
    expect(s.state).toBe('connecting');
    s.send({ type: 'WILLMSG', willMsg: Buffer.from('gone') });
    expect(s.one('CONNACK').returnCode).toBe(0);
    expect(s.state).toBe('active');
    expect(w.states).toEqual(['c1:connecting→active']);
    expect(w.core.connectedCount).toBe(1);
    expect(w.core.client('c1')?.hasWill).toBe(true);
  });

  it('§6.14 active → asleep on DISCONNECT with Duration, answered by DISCONNECT', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.sleep(30);
    expect(s.state).toBe('asleep');
    expect(w.states).toEqual(['c1:connecting→active', 'c1:active→asleep']);
    expect(w.core.connectedCount).toBe(1);
  });

  it('§6.14 asleep → awake on PINGREQ with ClientId → asleep again after PINGRESP', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.sleep(30);
    s.wake();
    // Nothing buffered: PINGRESP at once, and back to sleep.
    s.one('PINGRESP');
    expect(s.state).toBe('asleep');
    expect(w.states).toEqual(['c1:connecting→active', 'c1:active→asleep', 'c1:asleep→awake', 'c1:awake→asleep']);
  });

  it('§6.14 asleep → awake: buffered messages first, each completing its QoS flow, then PINGRESP', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('a/b', 1);
    s.sleep(30);
    deliver(w, 'a/b', 'one');
    deliver(w, 'a/b', 'two');
    expect(s.take()).toEqual([]);
    expect(w.core.client('c1')?.buffered).toBe(2);
    s.wake();
    const first = s.one('PUBLISH');
    expect(payloadOf(first)).toBe('one');
    expect(s.state).toBe('awake');
    s.puback(first);
    const second = s.one('PUBLISH');
    expect(payloadOf(second)).toBe('two');
    s.puback(second);
    s.one('PINGRESP');
    expect(s.state).toBe('asleep');
    expect(w.states.slice(-2)).toEqual(['c1:asleep→awake', 'c1:awake→asleep']);
  });

  it('§6.14 asleep → active on CONNECT; buffered messages follow CONNACK', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect({ cleanSession: false });
    s.subscribe('a/b', 0);
    s.sleep(30);
    deliver(w, 'a/b', 'while asleep', 0);
    s.send({ type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'c1' });
    const got = s.take();
    expect(got.map((m) => m.type)).toEqual(['CONNACK', 'PUBLISH']);
    expect(payloadOf(got[1])).toBe('while asleep');
    expect(s.state).toBe('active');
    expect(w.states).toEqual(['c1:connecting→active', 'c1:active→asleep', 'c1:asleep→connecting', 'c1:connecting→active']);
  });

  it('§6.14 asleep → lost when no PINGREQ comes within Duration × grace', () => {
    const w = world({ keepAliveGrace: 1.5 });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 0 });
    s.sleep(10);
    w.clock.advance(15_000);
    expect(s.state).toBe('asleep');
    w.clock.advance(1_000);
    expect(s.state).toBe('lost');
    expect(w.states.at(-1)).toBe('c1:asleep→lost');
  });

  it('§6.14 awake → lost when the client falls silent mid-flush for longer than Duration × grace', () => {
    const w = world({ keepAliveGrace: 1.5, retry: { interval: 100, count: 3 } });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 0 });
    s.subscribe('a/b', 1);
    s.sleep(10);
    deliver(w, 'a/b', 'unanswered');
    w.clock.advance(5_000);
    s.wake();
    s.one('PUBLISH');
    w.clock.advance(15_000);
    expect(s.state).toBe('awake');
    w.clock.advance(1_000);
    expect(s.state).toBe('lost');
    expect(w.states.slice(-2)).toEqual(['c1:asleep→awake', 'c1:awake→lost']);
  });

  it('§6.12 active → disconnected on DISCONNECT without Duration; no longer counted', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.send({ type: 'DISCONNECT' });
    s.one('DISCONNECT');
    expect(s.state).toBe('disconnected');
    expect(w.states).toEqual(['c1:connecting→active', 'c1:active→disconnected']);
    expect(w.core.connectedCount).toBe(0);
    // Disconnected: a PINGREQ cannot be mapped to a session, so it is answered DISCONNECT (§5.4.21).
    s.send({ type: 'PINGREQ' });
    expect(s.take()).toEqual([{ type: 'DISCONNECT' }]);
    expect(w.core.stats.unexpected).toBe(1);
  });

  it('§6.11 active → lost on keep-alive expiry: not at Duration × grace exactly, 1 s after it (one sweep per second)', () => {
    const w = world({ keepAliveGrace: 1.5 });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 10 });
    w.clock.advance(14_000);
    expect(s.state).toBe('active');
    w.clock.advance(1_000); // exactly 10 s × 1.5
    expect(s.state).toBe('active');
    w.clock.advance(1_000);
    expect(s.state).toBe('lost');
    expect(w.states).toEqual(['c1:connecting→active', 'c1:active→lost']);
    expect(w.core.connectedCount).toBe(0);
  });

  it('§6.11 any frame from the client restarts the keep-alive timer; PINGREQ is answered PINGRESP', () => {
    const w = world({ keepAliveGrace: 1.5 });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 10 });
    w.clock.advance(10_000);
    s.send({ type: 'PINGREQ' });
    s.one('PINGRESP');
    w.clock.advance(15_000);
    expect(s.state).toBe('active');
    w.clock.advance(1_000);
    expect(s.state).toBe('lost');
  });

  it('§6.11 Duration 0 means no keep-alive supervision', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 0 });
    w.clock.advance(24 * 3600_000);
    expect(s.state).toBe('active');
  });

  it('§6.2 CONNECT beyond maxClients is answered CONNACK 0x01 (congestion); a reconnect of a connected client is not refused', () => {
    const w = world({ maxClients: 1 });
    const a = new Sensor(w, 'a');
    const b = new Sensor(w, 'b');
    a.connect();
    b.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'b' });
    expect(b.one('CONNACK').returnCode).toBe(0x01);
    expect(w.core.client('b')).toBeUndefined();
    a.connect();
    expect(w.core.connectedCount).toBe(1);
    a.send({ type: 'DISCONNECT' });
    a.one('DISCONNECT');
    b.connect();
    expect(w.core.connectedCount).toBe(1);
  });

  it('§6.1 ADVERTISE is broadcast at start and every advertiseInterval, Duration = the interval', () => {
    const w = world({ advertiseInterval: 60, id: 7 });
    expect(w.radio.broadcasts.map((b) => b.message)).toEqual([{ type: 'ADVERTISE', gwId: 7, duration: 60 }]);
    w.clock.advance(59_000);
    expect(w.radio.broadcasts).toHaveLength(1);
    w.clock.advance(1_000);
    expect(w.radio.broadcasts).toHaveLength(2);
  });
});

describe('§6.13 retransmission', () => {
  it('§6.13 PUBLISH QoS 1 is resent with DUP after retry.interval, retry.count times, then the client is lost', () => {
    const w = world({ retry: { interval: 10, count: 3 } });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 600 });
    const { topicId } = s.subscribe('a/b', 1);
    deliver(w, 'a/b', 'hello');
    const first = s.one('PUBLISH');
    expect(first).toMatchObject({ dup: false, qos: 1, topicId });
    w.clock.advance(9_000);
    expect(s.take()).toEqual([]);
    for (let i = 1; i <= 3; i++) {
      w.clock.advance(i === 1 ? 1_000 : 10_000);
      const again = s.one('PUBLISH');
      expect(again).toMatchObject({ dup: true, qos: 1, topicId, msgId: first.msgId });
      expect(payloadOf(again)).toBe('hello');
    }
    w.clock.advance(9_000);
    expect(s.state).toBe('active');
    w.clock.advance(1_000);
    expect(s.take()).toEqual([]);
    expect(s.state).toBe('lost');
  });

  it('§6.13 a PUBACK stops the retransmissions', () => {
    const w = world({ retry: { interval: 10, count: 3 } });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 600 });
    s.subscribe('a/b', 1);
    deliver(w, 'a/b', 'hello');
    w.clock.advance(10_000);
    const dup = s.take().at(-1)!;
    expect(dup).toMatchObject({ type: 'PUBLISH', dup: true });
    s.puback(dup as PublishMessage);
    w.clock.advance(60_000);
    expect(s.take()).toEqual([]);
    expect(s.state).toBe('active');
  });

  it('§6.13 PUBREL is retransmitted until PUBCOMP', () => {
    const w = world({ retry: { interval: 10, count: 3 } });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 600 });
    s.subscribe('a/b', 2);
    deliver(w, 'a/b', 'twice?', 2);
    const p = s.one('PUBLISH');
    expect(p.qos).toBe(2);
    s.send({ type: 'PUBREC', msgId: p.msgId });
    expect(s.one('PUBREL').msgId).toBe(p.msgId);
    w.clock.advance(10_000);
    expect(s.one('PUBREL').msgId).toBe(p.msgId);
    s.send({ type: 'PUBCOMP', msgId: p.msgId });
    w.clock.advance(60_000);
    expect(s.take()).toEqual([]);
    expect(w.core.client('c1')?.inflight).toBe(0);
  });

  it('§6.13 REGISTER is retransmitted with the same id and name; REGACK releases the PUBLISH', () => {
    const w = world({ retry: { interval: 10, count: 3 } });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 600 });
    s.subscribe('a/#', 0);
    deliver(w, 'a/x', 'v', 0);
    const reg = s.one('REGISTER');
    expect(reg.topicName).toBe('a/x');
    w.clock.advance(10_000);
    expect(s.one('REGISTER')).toEqual(reg);
    s.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    expect(s.one('PUBLISH')).toMatchObject({ topicIdType: 'normal', topicId: reg.topicId, qos: 0 });
  });

  it('§6.13 an unanswered REGISTER loses the client after retry.count resends', () => {
    const w = world({ retry: { interval: 10, count: 2 } });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 600 });
    s.subscribe('a/#', 0);
    deliver(w, 'a/x', 'v', 0);
    s.one('REGISTER');
    w.clock.advance(20_000);
    expect(s.take().map((m) => m.type)).toEqual(['REGISTER', 'REGISTER']);
    expect(s.state).toBe('active');
    w.clock.advance(10_000);
    expect(s.state).toBe('lost');
  });
});

describe('§6.3 §6.11 wills', () => {
  const will = { topic: 'wills/c1', message: 'c1 is gone', qos: 1 as const, retain: true };

  it('§6.11 the will is published through the upstream when the client is lost', () => {
    const w = world({ keepAliveGrace: 1.5 });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 10, will });
    expect(w.upstream.publishes).toHaveLength(0);
    w.clock.advance(16_000);
    expect(s.state).toBe('lost');
    expect(w.upstream.publishes.map((p) => ({ topic: p.topic, payload: p.payload.toString(), qos: p.qos, retain: p.retain })))
      .toEqual([{ topic: 'wills/c1', payload: 'c1 is gone', qos: 1, retain: true }]);
    expect(w.core.stats.willsPublished).toBe(1);
    // Published once: later sweeps do not repeat it.
    w.clock.advance(60_000);
    expect(w.upstream.publishes).toHaveLength(1);
  });

  it('§6.12 the will is not published on DISCONNECT', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 10, will });
    s.send({ type: 'DISCONNECT' });
    s.one('DISCONNECT');
    w.clock.advance(120_000);
    expect(w.upstream.publishes).toHaveLength(0);
    expect(w.core.stats.willsPublished).toBe(0);
  });

  it('§6.13 the will is published when the client is lost to unanswered retransmissions', () => {
    const w = world({ retry: { interval: 10, count: 1 } });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 600, will });
    s.subscribe('a/b', 1);
    deliver(w, 'a/b', 'x');
    w.clock.advance(20_000);
    expect(s.state).toBe('lost');
    expect(w.upstream.lastPublish()?.topic).toBe('wills/c1');
  });
});

describe('§6.6 PUBLISH from a client, acknowledged after the broker accepted it', () => {
  it('§6.6 QoS 1: PUBACK only once the upstream accepted; a DUP meanwhile is not published twice', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    const topicId = s.register('sensors/t');
    s.publish(topicId, '21.5', 1, 7);
    expect(w.upstream.publishes.map((p) => [p.topic, p.payload.toString(), p.qos])).toEqual([['sensors/t', '21.5', 1]]);
    expect(s.take()).toEqual([]);
    s.publish(topicId, '21.5', 1, 7, true);
    expect(w.upstream.publishes).toHaveLength(1);
    w.upstream.publishes[0].accept();
    expect(s.one('PUBACK')).toEqual({ type: 'PUBACK', topicId, msgId: 7, returnCode: 0 });
    expect(w.core.stats.publishedToBroker).toBe(1);
  });

  it('§6.6 QoS 1: what the upstream reports to is the message\'s own entry in the session, no closure made for it (issue 13)', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    const topicId = s.register('sensors/t');
    s.publish(topicId, '21.5', 1, 7);
    const done = w.upstream.publishes[0].done;
    expect(typeof done).toBe('object');
    expect(done).toBe(w.core.sessionsById.get('c1')!.incoming!.get(7));
    w.upstream.publishes[0].accept();
    expect(s.one('PUBACK')).toMatchObject({ msgId: 7, returnCode: 0 });
    expect(w.core.sessionsById.get('c1')!.incoming!.size).toBe(0);
  });

  it('§6.6 QoS 1: a publish that failed without the broker\'s answer is not acknowledged; the client\'s resend publishes again', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    const topicId = s.register('sensors/t');
    s.publish(topicId, 'x', 1, 7);
    w.upstream.publishes[0].fail();
    expect(s.take()).toEqual([]);
    s.publish(topicId, 'x', 1, 7, true);
    expect(w.upstream.publishes).toHaveLength(2);
    w.upstream.publishes[1].accept();
    expect(s.one('PUBACK').returnCode).toBe(0);
  });

  it('§6.6 QoS 1: a publish the broker refused (MQTT 5 reason code, e.g. its ACL) is answered PUBACK 0x03', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    const topicId = s.register('sensors/t');
    s.publish(topicId, 'x', 1, 7);
    w.upstream.publishes[0].refuse();
    expect(s.one('PUBACK')).toEqual({ type: 'PUBACK', topicId, msgId: 7, returnCode: 0x03 });
  });

  it('§6.6 QoS 2: a publish the broker refused (MQTT 5 reason code) is answered PUBACK 0x03, not PUBREC', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    const topicId = s.register('sensors/t');
    s.publish(topicId, 'x', 2, 8);
    w.upstream.publishes[0].refuse();
    expect(s.one('PUBACK')).toEqual({ type: 'PUBACK', topicId, msgId: 8, returnCode: 0x03 });
  });

  it('§6.6 QoS 1: PUBACK 0x01 (congestion) when the upstream queue is full; nothing is published', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    const topicId = s.register('sensors/t');
    w.upstream.maxPending = 1;
    s.publish(topicId, 'first', 1, 1);
    s.publish(topicId, 'second', 1, 2);
    expect(s.one('PUBACK')).toEqual({ type: 'PUBACK', topicId, msgId: 2, returnCode: 0x01 });
    expect(w.upstream.publishes).toHaveLength(1);
    expect(w.core.stats.congestion).toBe(1);
    // The refused one is not remembered: once there is room, the client's resend goes through.
    w.upstream.publishes[0].accept();
    expect(s.one('PUBACK')).toMatchObject({ msgId: 1, returnCode: 0 });
    s.publish(topicId, 'second', 1, 2, true);
    expect(w.upstream.publishes).toHaveLength(2);
  });

  it('§6.6 QoS 2: PUBREC once the upstream accepted; exactly once despite DUPs before and after acceptance', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    const topicId = s.register('sensors/t');
    s.publish(topicId, 'once', 2, 9);
    expect(w.upstream.publishes).toHaveLength(1);
    expect(w.upstream.publishes[0].qos).toBe(2);
    expect(s.take()).toEqual([]);
    s.publish(topicId, 'once', 2, 9, true); // before acceptance: silently absorbed
    expect(w.upstream.publishes).toHaveLength(1);
    expect(s.take()).toEqual([]);
    w.upstream.publishes[0].accept();
    expect(s.one('PUBREC').msgId).toBe(9);
    s.publish(topicId, 'once', 2, 9, true); // after acceptance: our PUBREC was lost, send it again
    expect(s.one('PUBREC').msgId).toBe(9);
    expect(w.upstream.publishes).toHaveLength(1);
    s.send({ type: 'PUBREL', msgId: 9 });
    expect(s.one('PUBCOMP').msgId).toBe(9);
    // The id is released: the same msgId now carries a new message.
    s.publish(topicId, 'next', 2, 9);
    expect(w.upstream.publishes).toHaveLength(2);
  });

  it('§6.6 QoS 2: a PUBREL for an id still being published is not answered', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    const topicId = s.register('sensors/t');
    s.publish(topicId, 'x', 2, 4);
    s.send({ type: 'PUBREL', msgId: 4 });
    expect(s.take()).toEqual([]);
    w.upstream.publishes[0].accept();
    expect(s.one('PUBREC').msgId).toBe(4);
    s.send({ type: 'PUBREL', msgId: 4 });
    expect(s.one('PUBCOMP').msgId).toBe(4);
  });

  it('§6.6 QoS 2: PUBACK 0x01 (congestion) when the upstream queue is full', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    const topicId = s.register('sensors/t');
    w.upstream.maxPending = 0;
    s.publish(topicId, 'x', 2, 4);
    expect(s.one('PUBACK')).toMatchObject({ msgId: 4, returnCode: 0x01 });
    expect(w.upstream.publishes).toHaveLength(0);
  });

  it('§6.6 PUBLISH on an unknown topic id is answered PUBACK 0x02', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.publish(99, 'x', 1, 3);
    expect(s.one('PUBACK')).toEqual({ type: 'PUBACK', topicId: 99, msgId: 3, returnCode: 0x02 });
    expect(w.upstream.publishes).toHaveLength(0);
  });
});

describe('§6.10 gateway → client delivery', () => {
  it('§6.10 maxInflightPerClient=1: the second broker message waits until the first is PUBACKed', () => {
    const w = world({ maxInflightPerClient: 1 });
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('a/b', 1);
    deliver(w, 'a/b', 'first');
    deliver(w, 'a/b', 'second');
    const first = s.one('PUBLISH');
    expect(payloadOf(first)).toBe('first');
    expect(w.core.client('c1')).toMatchObject({ inflight: 1, buffered: 1 });
    s.puback(first);
    const second = s.one('PUBLISH');
    expect(payloadOf(second)).toBe('second');
    expect(second.msgId).not.toBe(first.msgId);
  });

  it('§6.10 QoS 2 to a client: the next message waits for PUBCOMP', () => {
    const w = world({ maxInflightPerClient: 1 });
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('a/b', 2);
    deliver(w, 'a/b', 'first', 2);
    deliver(w, 'a/b', 'second', 2);
    const first = s.one('PUBLISH');
    s.send({ type: 'PUBREC', msgId: first.msgId });
    s.one('PUBREL');
    s.send({ type: 'PUBCOMP', msgId: first.msgId });
    expect(payloadOf(s.one('PUBLISH'))).toBe('second');
  });

  it('§6.10 the delivered QoS is the lower of the broker\'s and the subscription\'s', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('a/b', 0);
    deliver(w, 'a/b', 'x', 2);
    expect(s.one('PUBLISH')).toMatchObject({ qos: 0, msgId: 0 });
  });

  it('§6.5 a wildcard delivery is preceded by REGISTER; the PUBLISH waits for REGACK; the id is reused after', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    expect(s.subscribe('a/#', 1).topicId).toBe(0);
    deliver(w, 'a/x', 'one');
    const reg = s.one('REGISTER');
    expect(reg).toMatchObject({ topicName: 'a/x' });
    expect(reg.topicId).toBeGreaterThan(0);
    s.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const p = s.one('PUBLISH');
    expect(p).toMatchObject({ topicIdType: 'normal', topicId: reg.topicId });
    s.puback(p);
    deliver(w, 'a/x', 'two');
    expect(s.one('PUBLISH')).toMatchObject({ topicId: reg.topicId });
  });

  it('§6.5 REGACK with a non-zero return code drops the messages waiting for that topic, counted', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('a/#', 1);
    deliver(w, 'a/x', 'one');
    deliver(w, 'a/x', 'two');
    const reg = s.one('REGISTER');
    s.send({ type: 'REGACK', topicId: 0, msgId: reg.msgId, returnCode: 0x03 });
    expect(s.take()).toEqual([]);
    expect(w.core.stats.droppedForClients).toBe(2);
    expect(w.core.client('c1')).toMatchObject({ dropped: 2, buffered: 0, inflight: 0 });
    expect(w.drops).toEqual(['c1:a/x', 'c1:a/x']);
    // The refused name is forgotten: the next message on it asks again.
    deliver(w, 'a/x', 'three');
    expect(s.one('REGISTER').topicName).toBe('a/x');
  });

  it('§6.5 REGACK refusing one topic keeps messages for other topics', () => {
    const w = world({ maxInflightPerClient: 1 });
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('a/#', 0);
    deliver(w, 'a/x', 'refused', 0);
    deliver(w, 'a/y', 'kept', 0);
    const reg = s.one('REGISTER');
    s.send({ type: 'REGACK', topicId: 0, msgId: reg.msgId, returnCode: 0x01 });
    const next = s.one('REGISTER');
    expect(next.topicName).toBe('a/y');
    s.send({ type: 'REGACK', topicId: next.topicId, msgId: next.msgId, returnCode: 0 });
    expect(payloadOf(s.one('PUBLISH'))).toBe('kept');
    expect(w.core.stats.droppedForClients).toBe(1);
  });

  it('§6.10 PUBACK 0x02 from the client: the gateway forgets the topic id, and the next message REGISTERs again', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('a/#', 1);
    deliver(w, 'a/x', 'one');
    const reg = s.one('REGISTER');
    s.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const p = s.one('PUBLISH');
    s.puback(p, 0x02);
    expect(w.core.client('c1')?.dropped).toBe(1);
    deliver(w, 'a/x', 'two');
    const again = s.one('REGISTER');
    expect(again.topicName).toBe('a/x');
    s.send({ type: 'REGACK', topicId: again.topicId, msgId: again.msgId, returnCode: 0 });
    expect(s.one('PUBLISH')).toMatchObject({ topicId: again.topicId });
  });

  it('a PUBLISH bigger than the radio carries is not sent, counted, and does not block the next one', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('a/b', 1);
    w.radio.maxFrameSize = 40;
    deliver(w, 'a/b', 'x'.repeat(60));
    expect(s.take()).toEqual([]);
    expect(w.core.stats.oversize).toBe(1);
    expect(w.core.stats.droppedForClients).toBe(1);
    expect(w.core.client('c1')).toMatchObject({ dropped: 1, inflight: 0 });
    deliver(w, 'a/b', 'small');
    expect(payloadOf(s.one('PUBLISH'))).toBe('small');
    expect(w.radio.sent.every((f) => f.bytes.length <= 40)).toBe(true);
  });

  it('§6.5 a REGISTER bigger than the radio carries is not sent; its message is dropped and counted, and the client is not lost', () => {
    const w = world({ retry: { interval: 10, count: 3 } });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 600 });
    s.subscribe('a/#', 1);
    w.radio.maxFrameSize = 40;
    deliver(w, 'a/' + 'long'.repeat(12), 'x');
    expect(s.take()).toEqual([]);
    expect(w.core.stats.oversize).toBe(1);
    expect(w.core.stats.droppedForClients).toBe(1);
    w.clock.advance(60_000);
    expect(s.take()).toEqual([]);
    expect(s.state).toBe('active');
    deliver(w, 'a/s', 'y');
    expect(s.one('REGISTER').topicName).toBe('a/s');
  });

  it('§6.14 sleep buffer bound: the oldest QoS 0 goes first, QoS 1/2 are kept while QoS 0 can go; every drop counted', () => {
    const w = world({ sleepBuffer: 3 });
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('a/b', 1);
    s.sleep(600);
    const send = (payload: string, qos: BrokerQoS) => deliver(w, 'a/b', payload, qos);
    send('q0-1', 0);
    send('q1-2', 1);
    send('q0-3', 0); // full: q0-1 q1-2 q0-3
    send('q1-4', 1); // drops q0-1
    send('q0-5', 0); // drops q0-3
    send('q1-6', 1); // drops q0-5
    send('q0-7', 0); // no QoS 0 left to drop: the new QoS 0 goes
    expect(w.core.client('c1')).toMatchObject({ buffered: 3, dropped: 4 });
    send('q1-8', 1); // only QoS 1 left: the oldest of them makes room
    expect(w.core.stats.droppedForClients).toBe(5);
    expect(w.core.client('c1')?.dropped).toBe(5);
    expect(w.drops).toHaveLength(5);
    s.wake();
    const got: string[] = [];
    for (;;) {
      const m = s.take();
      expect(m).toHaveLength(1);
      if (m[0].type === 'PINGRESP') break;
      got.push(payloadOf(m[0]));
      s.puback(m[0] as PublishMessage);
    }
    expect(got).toEqual(['q1-4', 'q1-6', 'q1-8']);
  });

  it('an active client slower than its messages: the queue behind the in-flight one is bounded by sleepBuffer too', () => {
    const w = world({ sleepBuffer: 2, maxInflightPerClient: 1 });
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('a/b', 1);
    const reasons: string[] = [];
    w.core.events.on('messageDropped', (_id, _topic, reason) => reasons.push(reason));
    deliver(w, 'a/b', 'first', 1); // in flight, unacknowledged
    const first = s.one('PUBLISH');
    for (const payload of ['w1', 'w2', 'w3', 'w4']) deliver(w, 'a/b', payload, 1);
    expect(w.core.client('c1')).toMatchObject({ inflight: 1, buffered: 2, dropped: 2 });
    expect(reasons).toEqual(['client queue full', 'client queue full']);
    s.puback(first);
    const next = s.one('PUBLISH');
    expect(payloadOf(next)).toBe('w3');
    s.puback(next);
    expect(payloadOf(s.one('PUBLISH'))).toBe('w4');
  });
});

describe('§6.9 subscriptions and retained messages', () => {
  it('§6.9 a retained message (retain=1) after a SUBACK goes only to the client that just subscribed', () => {
    const w = world();
    const a = new Sensor(w, 'a');
    const b = new Sensor(w, 'b');
    a.connect();
    b.connect();
    a.subscribe('r/#', 0);
    deliver(w, 'r/1', 'retained', 0, true);
    const areg = a.one('REGISTER');
    expect(areg.topicName).toBe('r/1');
    a.send({ type: 'REGACK', topicId: areg.topicId, msgId: areg.msgId, returnCode: 0 });
    expect(a.one('PUBLISH')).toMatchObject({ retain: true });
    b.subscribe('r/#', 0);
    // The broker is asked again, so it re-sends its retained messages — for b only.
    expect(w.upstream.subscribes.map((x) => x.filter)).toEqual(['r/#', 'r/#']);
    deliver(w, 'r/1', 'retained', 0, true);
    expect(a.take()).toEqual([]);
    const breg = b.one('REGISTER');
    b.send({ type: 'REGACK', topicId: breg.topicId, msgId: breg.msgId, returnCode: 0 });
    expect(b.one('PUBLISH')).toMatchObject({ retain: true });
    // A live message (retain=0) goes to both.
    deliver(w, 'r/1', 'live', 0, false);
    expect(payloadOf(a.one('PUBLISH'))).toBe('live');
    expect(b.one('PUBLISH')).toMatchObject({ retain: false });
  });

  it('§6.9 retained messages that reach the gateway before its subscribe is acknowledged (mqtt.js may do that) still go to the new subscriber alone, after its SUBACK', () => {
    const w = world();
    const a = new Sensor(w, 'a');
    const b = new Sensor(w, 'b');
    a.connect();
    b.connect();
    a.subscribe('k/1', 0);
    b.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 9, topic: { topicIdType: 'normal', topicName: 'k/1' } });
    // The broker's retained message overtakes its SUBACK; a live one comes in the same window.
    deliver(w, 'k/1', 'kept', 0, true);
    deliver(w, 'k/1', 'live', 0, false);
    expect(b.take()).toEqual([]);
    expect(a.take().map(payloadOf)).toEqual(['live']);
    w.upstream.subscribes.at(-1)!.grant();
    const got = b.take();
    expect(got.map((m) => m.type)).toEqual(['SUBACK', 'PUBLISH', 'PUBLISH']);
    expect(got[1]).toMatchObject({ retain: true, payload: Buffer.from('kept') });
    expect(got[2]).toMatchObject({ retain: false, payload: Buffer.from('live') });
    // Once a later subscribe is acknowledged, retain=1 from the broker is no longer b's alone.
    a.subscribe('other', 0);
    deliver(w, 'k/1', 'late', 0, true);
    expect(a.take().map(payloadOf)).toEqual(['late']);
    expect(b.take().map(payloadOf)).toEqual(['late']);
  });

  it('§6.9 SUBACK waits for the broker\'s grant; a refusal is SUBACK 0x03 and leaves no subscription', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 5, topic: { topicIdType: 'normal', topicName: 'acl/denied' } });
    expect(s.take()).toEqual([]);
    w.upstream.subscribes[0].grant(0x80);
    expect(s.one('SUBACK')).toMatchObject({ msgId: 5, returnCode: 0x03 });
    expect(w.core.client('c1')?.subscriptions).toEqual([]);
    expect(w.core.subscriptions.size).toBe(0);
    expect(w.upstream.unsubscribes).toEqual(['acl/denied']);
  });

  it('§6.9 the broker subscription is shared: UNSUBSCRIBE reaches the broker only when the last client leaves', () => {
    const w = world();
    const a = new Sensor(w, 'a');
    const b = new Sensor(w, 'b');
    a.connect();
    b.connect();
    a.subscribe('s/+', 1);
    b.subscribe('s/+', 2);
    expect(w.upstream.subscribes.map((x) => x.filter)).toEqual(['s/+', 's/+']);
    a.send({ type: 'UNSUBSCRIBE', msgId: 3, topic: { topicIdType: 'normal', topicName: 's/+' } });
    expect(a.one('UNSUBACK').msgId).toBe(3);
    expect(w.upstream.unsubscribes).toEqual([]);
    b.send({ type: 'UNSUBSCRIBE', msgId: 4, topic: { topicIdType: 'normal', topicName: 's/+' } });
    b.one('UNSUBACK');
    expect(w.upstream.unsubscribes).toEqual(['s/+']);
  });

  it('§6.9 subscriptions made while the broker is away are SUBACKed at once, subscribed again on reconnect, and get the retained messages alone', () => {
    const w = world();
    const a = new Sensor(w, 'a');
    const b = new Sensor(w, 'b');
    const c = new Sensor(w, 'c');
    a.connect();
    b.connect();
    c.connect();
    a.subscribe('x/#', 0);
    w.upstream.setConnected(false);
    const subscribesBefore = w.upstream.subscribes.length;
    expect(b.subscribe('x/#', 0).returnCode).toBe(0);
    expect(c.subscribe('y/+', 1).returnCode).toBe(0);
    expect(w.upstream.subscribes).toHaveLength(subscribesBefore);

    w.upstream.setConnected(true);
    const again = w.upstream.subscribes.slice(subscribesBefore);
    expect(again.map((x) => [x.filter, x.qos]).sort()).toEqual([['x/#', 2], ['y/+', 2]]);

    const x = again.find((s) => s.filter === 'x/#')!;
    const y = again.find((s) => s.filter === 'y/+')!;
    x.grant();
    deliver(w, 'x/1', 'retained x', 0, true);
    expect(a.take()).toEqual([]);
    expect(b.one('REGISTER').topicName).toBe('x/1');
    y.grant();
    deliver(w, 'y/1', 'retained y', 1, true);
    expect(c.one('REGISTER').topicName).toBe('y/1');
    expect(a.take()).toEqual([]);
    // Live traffic afterwards reaches everyone subscribed.
    deliver(w, 'x/2', 'live', 0, false);
    expect(a.one('REGISTER').topicName).toBe('x/2');
  });

  it('§6.9 a resubscribe after an outage gives retained messages to nobody who already had them', () => {
    const w = world();
    const a = new Sensor(w, 'a');
    a.connect();
    a.subscribe('x/#', 0);
    w.upstream.setConnected(false);
    w.upstream.setConnected(true);
    const again = w.upstream.subscribes.at(-1)!;
    expect(again.filter).toBe('x/#');
    again.grant();
    deliver(w, 'x/1', 'retained', 0, true);
    expect(a.take()).toEqual([]);
  });
});

describe('§6.7 §6.8 predefined ids and short names', () => {
  const topics: TopicsSection = {
    predefined: new Map([[1, 'home/t'], [2, 'home/h']]),
    clients: new Map([['kitchen', { predefined: new Map([[2, 'kitchen/own']]) }]]),
  };

  it('§6.7 a client subscribed by predefined id is sent PUBLISH with that id', () => {
    const w = world({}, topics);
    const s = new Sensor(w, 'p1');
    s.connect();
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'predefined', topicId: 1 } });
    expect(w.upstream.subscribes.map((x) => x.filter)).toEqual(['home/t']);
    w.upstream.grantAll();
    expect(s.one('SUBACK')).toMatchObject({ topicId: 1, returnCode: 0 });
    deliver(w, 'home/t', '20', 0);
    expect(s.one('PUBLISH')).toMatchObject({ topicIdType: 'predefined', topicId: 1 });
  });

  it('§6.7 a per-client id shadows the global one: that client is sent REGISTER for the global topic, others its predefined id', () => {
    const w = world({}, topics);
    const kitchen = new Sensor(w, 'kitchen');
    const other = new Sensor(w, 'other');
    kitchen.connect();
    other.connect();
    kitchen.subscribe('home/#', 0);
    other.subscribe('home/#', 0);
    deliver(w, 'home/h', '55', 0);
    expect(other.one('PUBLISH')).toMatchObject({ topicIdType: 'predefined', topicId: 2 });
    const reg = kitchen.one('REGISTER');
    expect(reg.topicName).toBe('home/h');
    kitchen.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 2, topic: { topicIdType: 'predefined', topicId: 2 } });
    w.upstream.grantAll();
    expect(kitchen.one('SUBACK')).toMatchObject({ topicId: 2, returnCode: 0 });
    expect(w.upstream.subscribes.at(-1)?.filter).toBe('kitchen/own');
    deliver(w, 'kitchen/own', 'mine', 0);
    // Still waiting for the REGACK of home/h: the queue keeps its order.
    expect(kitchen.take()).toEqual([]);
    kitchen.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const [first, second] = kitchen.take();
    expect(first).toMatchObject({ type: 'PUBLISH', topicIdType: 'normal', topicId: reg.topicId });
    expect(second).toMatchObject({ type: 'PUBLISH', topicIdType: 'predefined', topicId: 2 });
  });

  it('§6.7 a per-client predefined id resolves to that client\'s topic in its PUBLISH', () => {
    const w = world({}, topics);
    const kitchen = new Sensor(w, 'kitchen');
    const other = new Sensor(w, 'other');
    kitchen.connect();
    other.connect();
    kitchen.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'predefined', topicId: 2, msgId: 0, payload: Buffer.from('k') });
    other.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'predefined', topicId: 2, msgId: 0, payload: Buffer.from('o') });
    expect(w.upstream.publishes.map((p) => [p.topic, p.payload.toString()])).toEqual([['kitchen/own', 'k'], ['home/h', 'o']]);
  });

  it('§6.7 a client subscribed by short name is sent PUBLISH with the short name', () => {
    const w = world({}, topics);
    const s = new Sensor(w, 's1');
    s.connect();
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topic: { topicIdType: 'short', topicId: shortTopicId('ab') } });
    expect(w.upstream.subscribes.map((x) => x.filter)).toEqual(['ab']);
    w.upstream.grantAll();
    expect(s.one('SUBACK')).toMatchObject({ topicId: 0, returnCode: 0 });
    deliver(w, 'ab', 'x', 1);
    expect(s.one('PUBLISH')).toMatchObject({ topicIdType: 'short', topicId: shortTopicId('ab'), qos: 1 });
  });

  it('§6.8 QoS -1 from a sender that never connected is published at QoS 0 on a predefined id or short name, never on a normal id', () => {
    const w = world({}, topics);
    const address = 'udp:127.0.0.1:49999';
    const qosMinusOne = (topicIdType: 'normal' | 'predefined' | 'short', topicId: number, payload: string) =>
      w.radio.inject(address, { type: 'PUBLISH', dup: false, qos: -1, retain: false, topicIdType, topicId, msgId: 0, payload: Buffer.from(payload) });
    qosMinusOne('predefined', 1, 'a');
    qosMinusOne('short', shortTopicId('zz'), 'b');
    qosMinusOne('normal', 1, 'c');
    qosMinusOne('predefined', 2, 'd'); // global id 2: no ClientId, so no per-client table applies
    expect(w.upstream.publishes.map((p) => [p.topic, p.payload.toString(), p.qos])).toEqual([['home/t', 'a', 0], ['zz', 'b', 0], ['home/h', 'd', 0]]);
    expect(w.core.stats.unexpected).toBe(1);
    expect(w.radio.take(address)).toEqual([]);
  });
});

describe('§6.3 CleanSession and the session that stays', () => {
  it('§6.3 CleanSession=0: messages for a disconnected client are kept and follow the next CONNACK', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect({ cleanSession: false });
    s.subscribe('a/b', 1);
    s.send({ type: 'DISCONNECT' });
    s.one('DISCONNECT');
    deliver(w, 'a/b', 'kept');
    expect(w.core.client('c1')?.buffered).toBe(1);
    s.send({ type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'c1' });
    const got = s.take();
    expect(got.map((m) => m.type)).toEqual(['CONNACK', 'PUBLISH']);
    expect(payloadOf(got[1])).toBe('kept');
  });

  it('§6.2 §6.3 messages arriving during a CleanSession=0 reconnect\'s will handshake follow the CONNACK', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect({ cleanSession: false });
    s.subscribe('a/b', 0);
    s.send({ type: 'CONNECT', will: true, cleanSession: false, duration: 60, clientId: 'c1' });
    s.one('WILLTOPICREQ');
    deliver(w, 'a/b', 'mid-handshake', 0);
    expect(s.take()).toEqual([]);
    s.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'w' });
    s.one('WILLMSGREQ');
    s.send({ type: 'WILLMSG', willMsg: Buffer.from('m') });
    const got = s.take();
    expect(got.map((m) => m.type)).toEqual(['CONNACK', 'PUBLISH']);
    expect(payloadOf(got[1])).toBe('mid-handshake');
  });

  it('§6.3 CleanSession=1: DISCONNECT forgets the subscriptions; the broker subscription goes with the last one', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect({ cleanSession: true });
    s.subscribe('a/b', 1);
    s.send({ type: 'DISCONNECT' });
    s.one('DISCONNECT');
    expect(w.upstream.unsubscribes).toEqual(['a/b']);
    deliver(w, 'a/b', 'nobody');
    expect(w.core.client('c1')).toMatchObject({ buffered: 0, subscriptions: [] });
    expect(w.core.stats.droppedForClients).toBe(0);
  });

  it('§6.3 a CleanSession=1 CONNECT drops what a CleanSession=0 session kept', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect({ cleanSession: false });
    s.subscribe('a/b', 1);
    s.send({ type: 'DISCONNECT' });
    s.one('DISCONNECT');
    deliver(w, 'a/b', 'stale');
    s.connect({ cleanSession: true });
    expect(s.take()).toEqual([]);
    expect(w.core.client('c1')).toMatchObject({ buffered: 0, subscriptions: [] });
    expect(w.core.subscriptions.size).toBe(0);
  });
});

describe('§5 frames in', () => {
  it('§5.5 a client behind a forwarder is answered through the forwarder, with its Wireless Node Id', () => {
    const w = world();
    const forwarder = 'udp:127.0.0.1:40000';
    const node = (id: number, message: SnMessage): SnMessage => ({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([0, id]), message });
    w.radio.inject(forwarder, node(1, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'n1' }));
    w.radio.inject(forwarder, node(2, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'n2' }));
    const sent = w.radio.take(forwarder);
    expect(sent).toEqual([
      { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([0, 1]), message: { type: 'CONNACK', returnCode: 0 } },
      { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([0, 2]), message: { type: 'CONNACK', returnCode: 0 } },
    ]);
    expect(w.core.client('n1')).toMatchObject({ state: 'active', address: forwarder, nodeId: '0001' });
    expect(w.core.client('n2')).toMatchObject({ state: 'active', nodeId: '0002' });
    // A PINGREQ from node 2 keeps node 2 alive, not node 1.
    w.clock.advance(60_000);
    w.radio.inject(forwarder, node(2, { type: 'PINGREQ' }));
    w.clock.advance(40_000);
    expect(w.core.client('n1')?.state).toBe('lost');
    expect(w.core.client('n2')?.state).toBe('active');
  });

  it('§5 a malformed frame is counted and dropped without an answer', () => {
    const w = world();
    const reasons: string[] = [];
    w.core.events.on('frameDropped', (_radio, _address, reason) => reasons.push(reason));
    w.radio.inject('udp:127.0.0.1:40001', Buffer.from([0x02, 0x03])); // MsgType 0x03 is reserved
    w.radio.inject('udp:127.0.0.1:40001', Buffer.from([0x05, 0x0c])); // Length disagrees with the datagram
    expect(w.core.stats.malformed).toBe(2);
    expect(reasons).toEqual(['reserved-type', 'length-mismatch']);
    expect(w.radio.sent).toEqual([]);
  });

  it('§5 malformed frames are logged at most once a minute per sender (a babbling node cannot flood the log); each is counted', () => {
    const w = world();
    const lines: string[] = [];
    w.core.events.on('log', (level, message) => { if (message.includes('malformed')) lines.push(`${level} ${message}`); });
    const junk = Buffer.from([0x02, 0x03]);
    for (let i = 0; i < 5; i++) w.radio.inject('udp:127.0.0.1:40001', junk);
    w.radio.inject('udp:127.0.0.1:40002', junk); // another sender has its own minute
    expect(lines.map((l) => l.match(/from (\S+)/)![1])).toEqual(['udp:127.0.0.1:40001', 'udp:127.0.0.1:40002']);
    w.clock.advance(59_999);
    w.radio.inject('udp:127.0.0.1:40001', junk);
    expect(lines).toHaveLength(2);
    w.clock.advance(1);
    w.radio.inject('udp:127.0.0.1:40001', junk);
    expect(lines).toHaveLength(3);
    expect(w.core.stats.malformed).toBe(8);
  });

  it('§6.6 PUBLISH before CONNECT is unexpected and not published', () => {
    const w = world();
    const s = new Sensor(w, 'ghost');
    s.publish(1, 'x', 1, 1);
    expect(w.upstream.publishes).toEqual([]);
    expect(w.core.stats.unexpected).toBe(1);
  });
});

describe('§6.2 §6.4 will handshake and updates', () => {
  function loseByKeepAlive(w: World, s: Sensor): void {
    w.clock.advance(91_000); // Duration 60 × grace 1.5, plus the next sweep
    expect(s.state).toBe('lost');
  }

  it('§6.2 an empty WILLTOPIC in the handshake means no will: CONNACK, and nothing published on loss', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.send({ type: 'CONNECT', will: true, cleanSession: true, duration: 60, clientId: 'c1' });
    s.one('WILLTOPICREQ');
    s.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: '' });
    expect(s.one('CONNACK').returnCode).toBe(0);
    expect(w.core.client('c1')?.hasWill).toBe(false);
    loseByKeepAlive(w, s);
    expect(w.upstream.publishes).toEqual([]);
  });

  it('§6.2 §6.13 WILLTOPICREQ is retransmitted while the client stays silent in the handshake', () => {
    const w = world({ retry: { interval: 10, count: 3 } });
    const s = new Sensor(w, 'c1');
    s.send({ type: 'CONNECT', will: true, cleanSession: true, duration: 600, clientId: 'c1' });
    s.one('WILLTOPICREQ');
    w.clock.advance(10_000);
    s.one('WILLTOPICREQ');
    s.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'w' });
    s.one('WILLMSGREQ');
    w.clock.advance(10_000);
    s.one('WILLMSGREQ');
    s.send({ type: 'WILLMSG', willMsg: Buffer.from('m') });
    s.one('CONNACK');
    w.clock.advance(60_000);
    expect(s.take()).toEqual([]);
  });

  it('§6.4 WILLTOPICUPD and WILLMSGUPD replace the will; the new one is published on loss', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect({ will: { topic: 'old/topic', message: 'old message' } });
    s.send({ type: 'WILLTOPICUPD', qos: 2, retain: true, willTopic: 'new/topic' });
    expect(s.one('WILLTOPICRESP').returnCode).toBe(0);
    s.send({ type: 'WILLMSGUPD', willMsg: Buffer.from('new message') });
    expect(s.one('WILLMSGRESP').returnCode).toBe(0);
    loseByKeepAlive(w, s);
    expect(w.upstream.publishes.map((p) => [p.topic, p.payload.toString(), p.qos, p.retain])).toEqual([['new/topic', 'new message', 2, true]]);
  });

  it('§6.4 WILLTOPICUPD alone keeps the old will message', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect({ will: { topic: 'old/topic', message: 'kept message' } });
    s.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: 'new/topic' });
    s.one('WILLTOPICRESP');
    loseByKeepAlive(w, s);
    expect(w.upstream.publishes.map((p) => [p.topic, p.payload.toString()])).toEqual([['new/topic', 'kept message']]);
  });

  it('§6.4 an empty WILLTOPICUPD deletes the will', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect({ will: { topic: 'old/topic', message: 'm' } });
    s.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: '' });
    expect(s.one('WILLTOPICRESP').returnCode).toBe(0);
    expect(w.core.client('c1')?.hasWill).toBe(false);
    loseByKeepAlive(w, s);
    expect(w.upstream.publishes).toEqual([]);
  });

  it('§6.4 WILLMSGUPD without a will topic is refused with 0x03 (docs/spec-interpretation.md)', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.send({ type: 'WILLMSGUPD', willMsg: Buffer.from('orphan') });
    expect(s.one('WILLMSGRESP').returnCode).toBe(0x03);
    expect(w.core.client('c1')?.hasWill).toBe(false);
  });
});

describe('§6.1 discovery and the core\'s lifecycle', () => {
  it('§6.1 SEARCHGW is answered by a broadcast GWINFO and one to the searcher; through a forwarder by an encapsulated GWINFO to it', () => {
    const w = world({ id: 9 });
    w.radio.inject('udp:127.0.0.1:40002', { type: 'SEARCHGW', radius: 1 });
    expect(w.radio.broadcasts.map((b) => b.message)).toEqual([{ type: 'GWINFO', gwId: 9 }]);
    expect(w.radio.take('udp:127.0.0.1:40002')).toEqual([{ type: 'GWINFO', gwId: 9 }]);
    w.radio.inject('udp:127.0.0.1:40003', { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([7]), message: { type: 'SEARCHGW', radius: 1 } });
    expect(w.radio.take('udp:127.0.0.1:40003')).toEqual([
      { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([7]), message: { type: 'GWINFO', gwId: 9 } },
    ]);
    expect(w.radio.broadcasts).toHaveLength(1);
  });

  it('§6.1 other gateways\' ADVERTISE and GWINFO are ignored, not counted as unexpected', () => {
    const w = world();
    w.radio.inject('udp:127.0.0.1:40004', { type: 'ADVERTISE', gwId: 2, duration: 900 });
    w.radio.inject('udp:127.0.0.1:40004', { type: 'GWINFO', gwId: 2 });
    expect(w.core.stats.unexpected).toBe(0);
    expect(w.radio.sent).toEqual([]);
    // A message only a gateway sends is unexpected from a client.
    w.radio.inject('udp:127.0.0.1:40004', { type: 'CONNACK', returnCode: 0 });
    expect(w.core.stats.unexpected).toBe(1);
  });

  it('stop() cancels the timers: no sweep, no ADVERTISE afterwards', () => {
    const w = world({ advertiseInterval: 10 });
    const s = new Sensor(w, 'c1');
    s.connect({ duration: 10 });
    w.core.stop();
    w.clock.advance(3600_000);
    expect(s.state).toBe('active');
    expect(w.radio.broadcasts).toHaveLength(1);
  });

  it('clients() lists every session with its state, link, subscriptions and counters', () => {
    const w = world();
    const a = new Sensor(w, 'a');
    const b = new Sensor(w, 'b');
    a.connect({ duration: 30 });
    a.subscribe('x/+', 2);
    b.connect({ will: { topic: 'w', message: 'm' } });
    b.sleep(100);
    expect(w.core.clients()).toEqual([
      expect.objectContaining({ clientId: 'a', state: 'active', radio: 'mem0', address: a.address, keepAlive: 30, subscriptions: [{ filter: 'x/+', qos: 2 }], hasWill: false }),
      expect.objectContaining({ clientId: 'b', state: 'asleep', address: b.address, subscriptions: [], hasWill: true }),
    ]);
  });
});

describe('robustness', () => {
  it('§6.7 a short topic name that spells a wildcard is not a topic: PUBACK 0x02, nothing published', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.publish(0x2b61 /* "+a" */, 'x', 1, 7);
    // publish() sends with topicIdType normal; send the short form explicitly.
    s.take();
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'short', topicId: 0x2b61, msgId: 8, payload: Buffer.from('x') });
    expect(s.one('PUBACK')).toMatchObject({ msgId: 8, returnCode: 2 });
    expect(w.upstream.publishes).toHaveLength(0);
  });

  it('a handler that throws costs one frame, is counted and logged, and the gateway serves the next frame', () => {
    const w = world();
    const errors: string[] = [];
    w.core.events.on('log', (level, message) => { if (level === 'error') errors.push(message); });
    const s = new Sensor(w, 'c1');
    const send = w.radio.send.bind(w.radio);
    w.radio.send = () => { throw new Error('radio exploded'); };
    s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'c1' });
    expect(w.core.stats.internalErrors).toBe(1);
    expect(errors[0]).toMatch(/CONNECT from udp:127\.0\.0\.1:\d+ failed: Error: radio exploded/);
    w.radio.send = send;
    s.send({ type: 'PINGREQ' });
    expect(s.one('PINGRESP')).toEqual({ type: 'PINGRESP' });
  });

  it('a frame the codec cannot encode (topic name over 65535 bytes) is not sent: counted as oversize, the message dropped', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('#', 0);
    deliver(w, 'x'.repeat(70_000), 'huge', 0);
    expect(w.core.stats.oversize).toBe(1);
    expect(w.core.client('c1')).toMatchObject({ dropped: 1, inflight: 0, state: 'active' });
    expect(s.take()).toEqual([]);
  });
});

describe('bounded memory', () => {
  it('an ended CleanSession=1 session is shown for an hour, then forgotten; a CleanSession=0 one is kept', () => {
    const w = world();
    const clean = new Sensor(w, 'clean');
    clean.connect();
    const durable = new Sensor(w, 'durable');
    durable.connect({ cleanSession: false });
    clean.send({ type: 'DISCONNECT' });
    durable.send({ type: 'DISCONNECT' });
    w.clock.advance(ENDED_SESSION_KEPT_MS);
    expect(w.core.client('clean')?.state).toBe('disconnected');
    w.clock.advance(2000);
    expect(w.core.client('clean')).toBeUndefined();
    expect(w.core.client('durable')?.state).toBe('disconnected');
    // The forgotten client can come back as a new one.
    expect(clean.take()).toEqual([{ type: 'DISCONNECT' }]);
    clean.connect();
    expect(w.core.client('clean')?.state).toBe('active');
  });
});

describe('§6.2 a new ClientId at an address', () => {
  it('ends the CleanSession=1 client that spoke from there before: its broker subscriptions go too', () => {
    const w = world();
    const old = new Sensor(w, 'old');
    old.connect();
    old.subscribe('a/b', 0);
    expect(w.core.subscriptions.size).toBe(1);
    // Same address, another ClientId (a sensor re-flashed with a new id, say).
    old.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'new' });
    expect(w.core.client('old')).toMatchObject({ state: 'disconnected', subscriptions: [] });
    expect(w.core.client('new')?.state).toBe('active');
    expect(w.core.subscriptions.size).toBe(0);
    expect(w.upstream.unsubscribes).toEqual(['a/b']);
    expect(w.core.connectedCount).toBe(1);
  });
});

describe('§6.14 a QoS 2 delivery cut short by sleep', () => {
  it('§6.14 the PUBREL that waited for PUBCOMP goes again first on waking; PINGRESP follows its PUBCOMP and the buffered messages', () => {
    const w = world();
    const s = new Sensor(w, 'c1');
    s.connect();
    s.subscribe('q/2', 2);
    deliver(w, 'q/2', 'two', 2);
    const p = s.one('PUBLISH');
    s.send({ type: 'PUBREC', msgId: p.msgId });
    expect(s.one('PUBREL')).toEqual({ type: 'PUBREL', msgId: p.msgId });
    s.sleep(60);
    deliver(w, 'q/2', 'later', 0);
    s.send({ type: 'PINGREQ', clientId: 'c1' });
    expect(s.one('PUBREL')).toEqual({ type: 'PUBREL', msgId: p.msgId });
    s.send({ type: 'PUBCOMP', msgId: p.msgId });
    const rest = s.take();
    expect(rest.map((m) => m.type)).toEqual(['PUBLISH', 'PINGRESP']);
    expect(payloadOf(rest[0])).toBe('later');
    expect(w.core.client('c1')).toMatchObject({ state: 'asleep', inflight: 0, buffered: 0 });
  });
});

describe('§6.5 topic-id exhaustion', () => {
  it('§6.5 §6.9 when all 65534 topic ids of a client are in use: REGACK 0x01 and SUBACK 0x01 (congestion)', () => {
    const w = world();
    const s = new Sensor(w, 'hoarder');
    s.connect();
    // Ids 1..65533 taken the way REGISTER takes them (65533 frames would cost seconds on a busy machine);
    // the last free one, 65534, through a real REGISTER.
    const session = w.core.sessionsById.get('hoarder')!;
    for (let i = 1; i < 0xfffe; i++) registerTopic(session, `t/${i}`);
    s.send({ type: 'REGISTER', topicId: 0, msgId: 9, topicName: 't/last' });
    expect(s.one('REGACK')).toEqual({ type: 'REGACK', topicId: 0xfffe, msgId: 9, returnCode: 0 });
    s.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 't/one-too-many' });
    expect(s.one('REGACK')).toEqual({ type: 'REGACK', topicId: 0, msgId: 1, returnCode: 0x01 });
    // A SUBSCRIBE by a new plain name needs an id for its SUBACK too.
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 2, topic: { topicIdType: 'normal', topicName: 't/also-too-many' } });
    expect(s.one('SUBACK')).toMatchObject({ msgId: 2, topicId: 0, returnCode: 0x01 });
    expect(w.upstream.subscribes.map((c) => c.filter)).not.toContain('t/also-too-many');
    // A name it already holds keeps its id.
    s.send({ type: 'REGISTER', topicId: 0, msgId: 3, topicName: 't/7' });
    expect(s.one('REGACK')).toEqual({ type: 'REGACK', topicId: 7, msgId: 3, returnCode: 0 });
  });
});
