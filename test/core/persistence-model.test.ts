/**
 * Kept sessions against a model, under random interleavings of broker messages, sensors sleeping, waking,
 * acknowledging and publishing QoS 2, time passing, store commits, and crashes (the process dies: what
 * was not committed is gone) or clean stops, each followed by a restart on what the store holds.
 * After every restart:
 *  - every broker message the gateway acknowledged to the broker, and the sensor has not acknowledged,
 *    is still held for the sensor; nothing is held twice, nothing the broker never sent, and the order
 *    is the broker's;
 *  - after the broker sends again what it saw unacknowledged (DUP), what is held is exactly what the
 *    model says: received and not acknowledged by the sensor;
 *  - a sensor's QoS 2 PUBLISH that got PUBREC is not published again when resent with DUP.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config/config.js';
import type { Session } from '../../gateway/core/session.js';
import { bootKeptCore, MemoryStore, type KeptCore } from '../support/memory-store.js';

const CONFIG = parseConfig(`
gateway: { advertiseInterval: 0, sleepBuffer: 1000, retry: { interval: 5, count: 1000 } }
topics: { predefined: { 1: up/one } }
`);

const SENSORS = ['s0', 's1'] as const;
type Sensor = (typeof SENSORS)[number];
const address = (s: Sensor) => `udp:127.0.0.1:${SENSORS.indexOf(s) + 1}`;

type Step =
  | { kind: 'broker'; to: Sensor }
  | { kind: 'sleep' | 'wake' | 'ack' | 'publish2' | 'pubrel'; sensor: Sensor }
  | { kind: 'brokerAccepts' }
  | { kind: 'turn' }
  | { kind: 'time'; seconds: number }
  | { kind: 'crash' | 'stop' };

const sensor = fc.constantFrom(...SENSORS);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: sensor.map((to) => ({ kind: 'broker' as const, to })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('sleep' as const, 'wake' as const, 'ack' as const, 'publish2' as const, 'pubrel' as const), sensor }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('ack' as const), sensor }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'brokerAccepts' as const }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'turn' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('time' as const), seconds: fc.constantFrom(1, 6) }) },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'crash' as const }, { kind: 'stop' as const }) },
);

type Running = KeptCore;

interface Model {
  /** Per sensor: broker messages (payload numbers) the gateway took in, in order, not yet acknowledged by the sensor. */
  held: Map<Sensor, number[]>;
  /** Broker messages whose acknowledgement to the broker was released (the store had them). */
  brokerAcked: Set<number>;
  /** Per sensor: messages it acknowledged. */
  sensorAcked: Map<Sensor, Set<number>>;
  /** Sensor QoS 2 MsgIds that got PUBREC and were not released yet, with their payload. */
  pubrecd: Map<string, string>;
  next: number;
}

const flushTurns = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

const boot = (disk: MemoryStore): Promise<Running> => bootKeptCore(disk, CONFIG);

function session(r: Running, s: Sensor): Session {
  return r.core.sessionsById.get(s)!;
}

/** The broker message numbers the gateway holds for a sensor: in flight first, then queued. */
function heldBy(r: Running, s: Sensor): number[] {
  const x = session(r, s);
  return [...x.inflight.flatMap((f) => (f.message ? [f.message] : [])), ...x.queue].map((m) => Number(m.payload.toString()));
}

async function run(steps: Step[]): Promise<void> {
  const disk = new MemoryStore();
  let r = await boot(disk);
  const model: Model = {
    held: new Map(SENSORS.map((s) => [s, []])), brokerAcked: new Set(), sensorAcked: new Map(SENSORS.map((s) => [s, new Set()])), pubrecd: new Map(), next: 1,
  };
  let msgId = 1;
  const deliver = (to: Sensor, n: number, dup: boolean) => {
    const stored = r.core.upstreamSink.message(`down/${to}`, Buffer.from(String(n)), 1, false, { id: n, dup });
    const core = r.core;
    // Only the process that stored it can release the acknowledgement.
    void stored?.then(() => { if (r.core === core) model.brokerAcked.add(n); });
    return stored;
  };
  // Both sensors connect with CleanSession=0 and subscribe at QoS 1.
  for (const s of SENSORS) {
    r.radio.inject(address(s), { type: 'CONNECT', will: false, cleanSession: false, duration: 0, clientId: s });
    r.radio.inject(address(s), { type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topic: { topicIdType: 'normal', topicName: `down/${s}` } });
  }
  r.upstream.grantAll();
  await flushTurns();

  const restart = async (clean: boolean) => {
    if (clean) await r.core.flush();
    r.core.stop();
    r = await boot(disk);
    for (const s of SENSORS) {
      const restored = heldBy(r, s);
      const expected = model.held.get(s)!;
      // Nothing acknowledged to the broker is lost; nothing is held twice or out of order. A message the
      // sensor acknowledged may come back if that acknowledgement was not stored yet (QoS 1: at least once).
      for (const n of expected) if (model.brokerAcked.has(n)) expect(restored).toContain(n);
      expect(new Set(restored).size).toBe(restored.length);
      expect(restored.every((n) => expected.includes(n) || model.sensorAcked.get(s)!.has(n))).toBe(true);
      expect(restored).toEqual([...restored].sort((a, b) => a - b));
      if (clean) expect(restored).toEqual(expected);
      // The broker sends again, with DUP, what it may not have seen acknowledged: the gateway keeps one copy.
      for (const n of expected) deliver(s, n, true);
      await flushTurns();
      const union = [...new Set([...restored, ...expected])].sort((a, b) => a - b);
      expect(heldBy(r, s)).toEqual(union);
      model.held.set(s, union);
    }
    // A QoS 2 PUBLISH that got PUBREC, resent with DUP, is answered PUBREC and not published again.
    for (const [id, payload] of model.pubrecd) {
      const [who, mid] = id.split('#') as [Sensor, string];
      if (session(r, who).state !== 'active') continue;
      const before = r.upstream.publishes.filter((p) => p.payload.toString() === payload).length;
      r.radio.inject(address(who), { type: 'PUBLISH', dup: true, qos: 2, retain: false, topicIdType: 'predefined', topicId: 1, msgId: Number(mid), payload: Buffer.from(payload) });
      await flushTurns();
      expect(r.upstream.publishes.filter((p) => p.payload.toString() === payload).length).toBe(before);
    }
  };

  for (const s of steps) {
    switch (s.kind) {
      case 'broker': {
        const n = model.next++;
        deliver(s.to, n, false);
        model.held.get(s.to)!.push(n);
        break;
      }
      case 'sleep':
        if (session(r, s.sensor).state === 'active') r.radio.inject(address(s.sensor), { type: 'DISCONNECT', duration: 3600 });
        break;
      case 'wake':
        if (session(r, s.sensor).state === 'asleep') r.radio.inject(address(s.sensor), { type: 'PINGREQ', clientId: s.sensor });
        break;
      case 'ack':
        // The sensor acknowledges every PUBLISH it got so far.
        for (const m of r.radio.take(address(s.sensor))) {
          if (m.type !== 'PUBLISH' || m.qos !== 1) continue;
          const n = Number(m.payload.toString());
          const before = heldBy(r, s.sensor).includes(n);
          r.radio.inject(address(s.sensor), { type: 'PUBACK', topicId: m.topicId, msgId: m.msgId, returnCode: 0 });
          if (before && !heldBy(r, s.sensor).includes(n)) {
            model.held.set(s.sensor, model.held.get(s.sensor)!.filter((x) => x !== n));
            model.sensorAcked.get(s.sensor)!.add(n);
          }
        }
        break;
      case 'publish2':
        if (session(r, s.sensor).state !== 'active') break;
        r.radio.inject(address(s.sensor), { type: 'PUBLISH', dup: false, qos: 2, retain: false, topicIdType: 'predefined', topicId: 1, msgId: msgId, payload: Buffer.from(`${s.sensor}-q2-${msgId}`) });
        msgId++;
        break;
      case 'pubrel': {
        const mine = [...model.pubrecd.keys()].filter((k) => k.startsWith(`${s.sensor}#`));
        if (mine.length === 0 || session(r, s.sensor).state !== 'active') break;
        r.radio.inject(address(s.sensor), { type: 'PUBREL', msgId: Number(mine[0].split('#')[1]) });
        model.pubrecd.delete(mine[0]);
        break;
      }
      case 'brokerAccepts':
        for (const p of r.upstream.publishes) if (!p.settled) p.accept();
        break;
      case 'turn':
        await flushTurns(1);
        break;
      case 'time':
        for (let i = 0; i < s.seconds; i++) r.clock.advance(1000);
        break;
      case 'crash':
      case 'stop':
        await restart(s.kind === 'stop');
        break;
    }
    // PUBRECs the gateway released: the sensor now holds a "received" its DUP must not undo.
    for (const f of r.radio.sent) {
      const m = f.message;
      if (m.type !== 'PUBREC') continue;
      const who = SENSORS.find((x) => address(x) === f.address)!;
      const pub = r.upstream.publishes.find((p) => p.payload.toString() === `${who}-q2-${m.msgId}`);
      if (pub) model.pubrecd.set(`${who}#${m.msgId}`, pub.payload.toString());
    }
    r.radio.sent.splice(0, r.radio.sent.length, ...r.radio.sent.filter((f) => f.message.type === 'PUBLISH'));
  }
  await restart(false);
}

describe('kept sessions against a model, with crashes and restarts', () => {
  it('nothing acknowledged is lost or doubled across crashes and restarts (fast-check, seeded)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => run(steps)), { numRuns: 150, seed: 20261129 });
  }, 60_000);
});
