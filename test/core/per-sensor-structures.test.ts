/**
 * The structures a connected sensor costs (issue 13: ≤ 1.5 KB per sensor with one topic and one
 * subscription at 10,000 and 100,000 sensors). No bytes are asserted: these pin the layout choices that
 * make a sensor small, so that none of them comes undone silently. `npm run bench:gateway -- census`
 * shows where the bytes go.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import { GatewayCore } from '../../gateway/core/core.js';
import { NO_INFLIGHT, NO_MESSAGES, NO_SUBSCRIPTIONS, NO_TOPICS, type Session } from '../../gateway/core/session.js';
import { MemoryRadio } from '../support/memory-radio.js';
import { RecordingUpstream } from '../support/recording-upstream.js';

const CONFIG = parseConfig('');

function world() {
  const clock = new ManualClock();
  const radio = new MemoryRadio();
  const upstream = new RecordingUpstream();
  const core = new GatewayCore({ gateway: { ...CONFIG.gateway, advertiseInterval: 0 }, topics: CONFIG.topics, upstream, clock, limits: CONFIG.limits });
  core.addRadio(radio);
  void radio.start(core.radioSink);
  void upstream.start(core.upstreamSink);
  core.start();
  return { clock, radio, upstream, core };
}

type World = ReturnType<typeof world>;

/** A sensor as the crowd benchmark makes them: CONNECT, then optionally REGISTER its topic and SUBSCRIBE to `<topic>/in`. */
function sensor(w: World, n: number, topic?: string, cleanSession = true): Session {
  const address = `udp:127.0.0.1:${40_000 + n}`;
  w.radio.inject(address, { type: 'CONNECT', will: false, cleanSession, duration: 600, clientId: `s${n}` });
  if (topic) {
    w.radio.inject(address, { type: 'REGISTER', topicId: 0, msgId: 1, topicName: topic });
    w.radio.inject(address, { type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 2, topic: { topicIdType: 'normal', topicName: `${topic}/in` } });
    w.upstream.grantAll();
  }
  expect(w.radio.take(address).map((m) => m.type)).toEqual(topic ? ['CONNACK', 'REGACK', 'SUBACK'] : ['CONNACK']);
  return w.core.sessionsById.get(`s${n}`)!;
}

/** The tree's private parts, for pinning its layout. */
interface TreeInsides {
  exact: Map<string, { many: Map<unknown, number> | undefined }>;
  root: { children: Map<string, unknown> };
}

/** A session that holds nothing of its own: every per-sensor structure is the shared empty one. */
function expectSharedEmpties(s: Session): void {
  expect(s.topics).toBe(NO_TOPICS);
  expect(s.subscriptions).toBe(NO_SUBSCRIPTIONS);
  expect(s.queue).toBe(NO_MESSAGES);
  expect(s.inflight).toBe(NO_INFLIGHT);
}

describe('per-sensor structures (issue 13)', () => {
  it('§6.5 §6.9 a sensor with one registered topic and one subscription holds no Map of its own', () => {
    const w = world();
    const s = sensor(w, 1, 'fp/one');
    expect(s.topics.size).toBe(2); // its topic, and the subscribed name (SUBACK carries its id)
    expect(s.topics.isFlat).toBe(true);
    expect(s.subscriptions.size).toBe(1);
    expect(s.subscriptions.isFlat).toBe(true);
    expect(Object.entries(s).filter(([, v]) => v instanceof Map || v instanceof Set).map(([k]) => k)).toEqual([]);
    // QoS 0 only: nothing created for QoS 1/2 exchanges or held deliveries.
    expect([s.incoming, s.pendingPubrel, s.held]).toEqual([undefined, undefined, undefined]);
  });

  it('§6.3 a connected sensor that neither registers nor subscribes shares the empty registry, subscriptions and queues, whatever its CleanSession', () => {
    const w = world();
    for (const s of [sensor(w, 1), sensor(w, 2, undefined, false)]) {
      expectSharedEmpties(s);
    }
  });

  it('§6.10 §6.13 the queue and in-flight list are shared empty ones until a first delivery, which reaches no other sensor', () => {
    const w = world();
    const a = sensor(w, 1, 'fp/a');
    const b = sensor(w, 2, 'fp/b');
    expect(a.queue).toBe(NO_MESSAGES);
    expect(a.inflight).toBe(NO_INFLIGHT);
    w.core.upstreamSink.message('fp/a/in', Buffer.from('x'), 1, false);
    expect(w.radio.take('udp:127.0.0.1:40001').map((m) => m.type)).toEqual(['PUBLISH']);
    expect(a.queue).not.toBe(NO_MESSAGES); // its own now (a QoS 0 subscription: nothing in flight)
    expect(b.queue).toBe(NO_MESSAGES);
    expect(b.inflight).toBe(NO_INFLIGHT);
    expect(NO_INFLIGHT).toHaveLength(0);
    expect(NO_MESSAGES).toHaveLength(0);
  });

  it('§6.3 a CleanSession=1 sensor that leaves gives its registry, subscriptions and queues back to the shared empty ones', () => {
    const w = world();
    const s = sensor(w, 1, 'fp/leaving');
    w.radio.inject('udp:127.0.0.1:40001', { type: 'DISCONNECT' });
    expectSharedEmpties(s);
  });

  it('§5.5 a sensor is found on its radio by its address alone (the string its link holds); behind a forwarder, with its node id', () => {
    const w = world();
    const s = sensor(w, 1);
    w.radio.inject('udp:127.0.0.1:49999', {
      type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([0x12, 0x34]),
      message: { type: 'CONNECT', will: false, cleanSession: true, duration: 600, clientId: 'behind' },
    });
    expect([...w.core.sessionsByPeer].map(([radio, key, session]) => [radio, key, session.clientId])).toEqual([
      ['mem0', s.link.address, 's1'],
      ['mem0', 'udp:127.0.0.1:49999|1234', 'behind'],
    ]);
  });

  it('§6.6 connected sensors publishing keep their flood-limit buckets in their sessions: no limiter entry per sensor or per frame', () => {
    const w = world();
    for (let n = 1; n <= 3; n++) sensor(w, n, `fp/${n}`);
    const limiters = (w.core as unknown as { rateLimiters: Map<string, { size: number }> }).rateLimiters;
    // Their CONNECTs' buckets moved into the sessions as they were bound.
    expect(limiters.get('mem0')!.size).toBe(0);
    for (let round = 0; round < 5; round++) {
      w.clock.advance(3000); // past the refill period, so a bucket kept in the maps would be a new one
      for (let n = 1; n <= 3; n++) {
        w.radio.inject(`udp:127.0.0.1:${40_000 + n}`, { type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'normal', topicId: 1, msgId: 0, payload: Buffer.from('x') });
      }
    }
    expect(w.upstream.publishes.filter((p) => p.topic.startsWith('fp/'))).toHaveLength(15);
    expect(limiters.get('mem0')!.size).toBe(0);
    expect(w.core.sessionsById.get('s1')!.rateAt).toBe(w.clock.now());
    w.radio.inject('udp:127.0.0.1:49999', { type: 'PINGREQ' }); // no session: its bucket is the limiter's
    expect(limiters.get('mem0')!.size).toBe(1);
  });

  it('§4 sensors subscribed to their own topics are one exact-filter entry each, the subscriber held inline, no trie nodes', () => {
    const w = world();
    for (let n = 1; n <= 3; n++) sensor(w, n, `fp/${n}`);
    const tree = w.core.subscriptions as unknown as TreeInsides;
    expect([...tree.exact.keys()]).toEqual(['fp/1/in', 'fp/2/in', 'fp/3/in']);
    expect([...tree.exact.values()].map((f) => f.many)).toEqual([undefined, undefined, undefined]);
    expect(tree.root.children.size).toBe(0);
  });

  it('§4 a second sensor on the same filter shares its entry (its subscribers now in a Map), and the broker hears of that one filter only', () => {
    const w = world();
    sensor(w, 1, 'fp/shared');
    const address = 'udp:127.0.0.1:40002';
    w.radio.inject(address, { type: 'CONNECT', will: false, cleanSession: true, duration: 600, clientId: 's2' });
    w.radio.inject(address, { type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topic: { topicIdType: 'normal', topicName: 'fp/shared/in' } });
    w.upstream.grantAll();
    const tree = w.core.subscriptions as unknown as TreeInsides;
    expect(tree.exact.size).toBe(1);
    expect([...tree.exact.get('fp/shared/in')!.many!.values()]).toEqual([0, 1]);
    expect(new Set(w.upstream.subscribes.map((c) => c.filter))).toEqual(new Set(['fp/shared/in']));
  });
});
