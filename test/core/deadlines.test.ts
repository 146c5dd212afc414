/**
 * The core's timers (issue 13): a deadline heap instead of a sweep over every session, so the work per
 * tick does not grow with the number of idle sensors. The heap on its own, then the core on a ManualClock
 * with real encoded frames on a MemoryRadio; `core.sessionsExamined` counts the sessions the timers looked at.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import type { GatewaySection } from '../../gateway/config/config-types.js';
import { GatewayCore } from '../../gateway/core/core.js';
import { DeadlineHeap } from '../../gateway/core/deadline-heap.js';
import { toRecord } from '../../gateway/core/session-record.js';
import { MemoryRadio } from '../support/memory-radio.js';
import { RecordingUpstream } from '../support/recording-upstream.js';

const DEFAULTS = parseConfig('').gateway;

describe('DeadlineHeap', () => {
  it('pops items in deadline order, whatever the order they were pushed in', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }), (deadlines) => {
      const heap = new DeadlineHeap<number>();
      deadlines.forEach((at, i) => heap.push(at, i));
      const popped: number[] = [];
      for (let i = heap.pop(); i !== undefined; i = heap.pop()) popped.push(deadlines[i]);
      expect(popped).toEqual([...deadlines].sort((a, b) => a - b));
      expect(heap.size).toBe(0);
    }), { seed: 13 });
  });

  it('popDue takes what is due at or before now, earliest first, and leaves the rest', () => {
    const heap = new DeadlineHeap<string>();
    heap.push(30, 'c');
    heap.push(10, 'a');
    heap.push(40, 'd');
    heap.push(20, 'b');
    expect(heap.popDue(20)).toEqual(['a', 'b']);
    expect(heap.size).toBe(2);
    expect(heap.peek()).toBe(30);
  });

  it('an empty heap has nothing due: peek is Infinity and pop undefined', () => {
    const heap = new DeadlineHeap<string>();
    expect(heap.peek()).toBe(Infinity);
    expect(heap.pop()).toBeUndefined();
    expect(heap.popDue(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });
});

interface World { clock: ManualClock; radio: MemoryRadio; core: GatewayCore }

function world(gateway: Partial<GatewaySection> = {}, clock = new ManualClock()): World {
  const radio = new MemoryRadio();
  const upstream = new RecordingUpstream();
  const core = new GatewayCore({ gateway: { ...DEFAULTS, advertiseInterval: 0, maxClients: 100_000, ...gateway }, topics: parseConfig('').topics, upstream, clock });
  core.addRadio(radio);
  void radio.start(core.radioSink);
  void upstream.start(core.upstreamSink);
  return { clock, radio, core };
}

/** `count` sensors CONNECTed (no will) with keep-alive `duration`; each answered CONNACK. */
function connectMany(w: World, count: number, duration: number, prefix = 'idle'): void {
  for (let i = 0; i < count; i++) {
    const address = `udp:127.0.0.1:${20_000 + i}:${prefix}`;
    w.radio.inject(address, { type: 'CONNECT', will: false, cleanSession: true, duration, clientId: `${prefix}-${i}` });
    expect(w.radio.take(address).map((m) => m.type)).toEqual(['CONNACK']);
  }
}

/** Sessions the timers examine over `seconds` of one-second ticks, with `idle` idle sensors beside one that times out. */
function examinedOverAMinute(idle: number): { examined: number; lost: string[] } {
  const w = world();
  w.core.start();
  connectMany(w, idle, 3600);
  connectMany(w, 1, 10, 'short');
  const lost: string[] = [];
  w.core.events.on('clientState', (id, _from, to) => { if (to === 'lost') lost.push(id); });
  const before = w.core.sessionsExamined;
  for (let s = 0; s < 60; s++) w.clock.advance(1000);
  w.core.stop();
  return { examined: w.core.sessionsExamined - before, lost };
}

describe('core timers on a deadline heap', () => {
  it('§6.11 per-tick work does not grow with idle sessions: 10 or 2,000 idle sensors, the same sessions examined', () => {
    const few = examinedOverAMinute(10);
    const many = examinedOverAMinute(2000);
    // The one sensor with keep-alive 10 s is lost at 15 s × grace; the idle ones (3600 s) are never looked at.
    expect(few.lost).toEqual(['short-0']);
    expect(many.lost).toEqual(['short-0']);
    expect(many.examined).toBe(few.examined);
    expect(many.examined).toBeLessThan(10);
  });

  it('§6.11 a sensor heard from before its deadline is looked at once, put back, and kept', () => {
    const w = world();
    w.core.start();
    connectMany(w, 1, 10, 'pinger');
    const address = 'udp:127.0.0.1:20000:pinger';
    w.clock.advance(10_000);
    w.radio.inject(address, { type: 'PINGREQ' });
    const before = w.core.sessionsExamined;
    w.clock.advance(6_000); // past the first deadline (15 s), not the new one (25 s)
    expect(w.core.sessionsExamined - before).toBe(1);
    expect(w.core.client('pinger-0')?.state).toBe('active');
    w.clock.advance(11_000); // past 25 s, at the next tick
    expect(w.core.client('pinger-0')?.state).toBe('lost');
  });

  it('§6.14 a sensor that falls asleep is looked at by its sleep deadline, not its (longer) keep-alive', () => {
    const w = world();
    w.core.start();
    connectMany(w, 1, 3600, 'sleeper');
    const address = 'udp:127.0.0.1:20000:sleeper';
    w.radio.inject(address, { type: 'DISCONNECT', duration: 20 });
    expect(w.radio.take(address).map((m) => m.type)).toEqual(['DISCONNECT']);
    w.clock.advance(31_000); // 20 s × grace 1.5, plus the next tick
    expect(w.core.client('sleeper-0')?.state).toBe('lost');
  });

  it('restored sessions restart their deadlines: an asleep session from the store is lost a sleep duration after the restart', () => {
    const first = world();
    first.core.start();
    connectMany(first, 1, 3600, 'kept');
    const address = 'udp:127.0.0.1:20000:kept';
    // CleanSession=0 so the session is kept; asleep for 20 s.
    first.radio.inject(address, { type: 'CONNECT', will: false, cleanSession: false, duration: 3600, clientId: 'kept-0' });
    first.radio.inject(address, { type: 'DISCONNECT', duration: 20 });
    const record = toRecord(first.core.sessionsById.get('kept-0')!);
    first.core.stop();

    // The restart comes an hour later on the clock: the stored sleepSince is long past, but nothing was heard while down.
    const clock = new ManualClock(first.clock.now() + 3_600_000);
    const second = world({}, clock);
    expect(second.core.restore(new Map([['kept-0', record]]))).toEqual([]);
    second.core.start();
    expect(second.core.client('kept-0')?.state).toBe('asleep');
    clock.advance(29_000); // before 20 s × 1.5 (+ a tick)
    expect(second.core.client('kept-0')?.state).toBe('asleep');
    clock.advance(2_000);
    expect(second.core.client('kept-0')?.state).toBe('lost');
  });
});
