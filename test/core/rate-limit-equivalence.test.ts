/**
 * The flood limit's buckets live in the sessions of senders that speak directly from their address and in
 * RateLimiter's maps for everyone else (gateway/core/rate-limiter.ts). Whatever sessions come, move, sleep,
 * time out or are taken over, the frames the core drops must be exactly those a plain token bucket per
 * sender address drops (limits.frameRate / frameBurst, README "Flood limits"): random frames and time,
 * fast-check, seeded, against that reference.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import { GatewayCore } from '../../gateway/core/core.js';
import { RateLimiter } from '../../gateway/core/rate-limiter.js';
import { encode, type SnMessage } from '../../sn-codec/index.js';
import { MemoryRadio } from '../support/memory-radio.js';
import { RecordingUpstream } from '../support/recording-upstream.js';

const RATE = 10;
const BURST = 3;

/** The rule as README states it: one bucket per sender address, never forgotten. */
class ReferenceBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  take(address: string, now: number): boolean {
    const b = this.buckets.get(address) ?? { tokens: BURST, at: now };
    this.buckets.set(address, b);
    b.tokens = Math.min(BURST, b.tokens + ((now - b.at) / 1000) * RATE);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

const address = fc.constantFrom('udp:10.0.0.1:1', 'udp:10.0.0.1:2');
const clientId = fc.constantFrom('a', 'b', 'c');
const message: fc.Arbitrary<SnMessage> = fc.oneof(
  fc.record({ type: fc.constant('CONNECT' as const), will: fc.constant(false), cleanSession: fc.boolean(), duration: fc.constantFrom(1, 60), clientId }),
  fc.record({ type: fc.constant('PINGREQ' as const) }),
  fc.record({ type: fc.constant('PINGREQ' as const), clientId }),
  fc.record({ type: fc.constant('DISCONNECT' as const) }),
  fc.record({ type: fc.constant('DISCONNECT' as const), duration: fc.constantFrom(1, 30) }),
  fc.record({
    type: fc.constant('PUBLISH' as const), dup: fc.constant(false), qos: fc.constantFrom(-1 as const, 0 as const), retain: fc.constant(false),
    topicIdType: fc.constant('short' as const), topicId: fc.constant(0x6162), msgId: fc.constant(0), payload: fc.constant(Buffer.from('p')),
  }),
);
const frame = fc.oneof(
  { weight: 6, arbitrary: message.map((m) => encode(m)) },
  // Behind a forwarder (§5.5): the forwarder's address pays, whichever node it is.
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(1, 2), message).map(([node, m]) => encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([node]), message: m })) },
  { weight: 1, arbitrary: fc.constant(Buffer.from([0x02, 0xff])) },
);
const step = fc.record({ advanceMs: fc.constantFrom(0, 0, 0, 0, 0, 0, 50, 150, 400, 2500), address, frame });

describe('flood limit: buckets in sessions and in the limiter', () => {
  it('drops exactly the frames one token bucket per sender address drops, through CONNECTs, moves, take-overs, sleep and time-outs (fast-check, seeded)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 200 }), (steps) => {
        const config = parseConfig(`gateway: { advertiseInterval: 0 }\nlimits: { frameRate: ${RATE}, frameBurst: ${BURST} }`);
        const clock = new ManualClock();
        const radio = new MemoryRadio();
        const upstream = new RecordingUpstream();
        const core = new GatewayCore({ gateway: config.gateway, topics: config.topics, upstream, clock, limits: config.limits });
        core.addRadio(radio);
        void radio.start(core.radioSink);
        void upstream.start(core.upstreamSink);
        core.start();
        const reference = new ReferenceBuckets();
        let expected = 0;
        for (const s of steps) {
          clock.advance(s.advanceMs);
          if (!reference.take(s.address, clock.now())) expected++;
          radio.inject(s.address, s.frame);
          expect(core.stats.rateLimited).toBe(expected);
        }
        core.stop();
      }),
      { seed: 13, numRuns: 300 },
    );
  });
});

describe('RateLimiter: a bucket kept by a session', () => {
  it('attach() takes the sender\'s bucket from the maps: a sender cannot refill it by getting a session', () => {
    const limiter = new RateLimiter(1, 2);
    expect([limiter.take('a', 0), limiter.take('a', 0)]).toEqual([true, true]);
    const holder = { rateTokens: 0, rateAt: 0 };
    limiter.attach('a', holder);
    expect(limiter.size).toBe(0);
    expect(limiter.takeHeld(holder, 0)).toBe(false);
    expect(limiter.takeHeld(holder, 1000)).toBe(true);
  });

  it('attach() of a sender with no bucket kept gives a full one', () => {
    const limiter = new RateLimiter(1, 2);
    const holder = { rateTokens: 0, rateAt: 0 };
    limiter.attach('new', holder);
    expect([limiter.takeHeld(holder, 5), limiter.takeHeld(holder, 5), limiter.takeHeld(holder, 5)]).toEqual([true, true, false]);
  });

  it('detach() puts a bucket not yet refilled back in the maps, and keeps none for one that has refilled', () => {
    const limiter = new RateLimiter(1, 2);
    const holder = { rateTokens: 0, rateAt: -Infinity };
    limiter.attach('a', holder);
    limiter.takeHeld(holder, 0);
    limiter.takeHeld(holder, 0);
    limiter.detach('a', holder, 0);
    expect(limiter.size).toBe(1);
    expect(limiter.take('a', 0)).toBe(false);
    const idle = { rateTokens: 0, rateAt: -Infinity };
    limiter.attach('b', idle);
    limiter.takeHeld(idle, 0);
    limiter.detach('b', idle, 10_000);
    expect(limiter.size).toBe(1); // only 'a'
  });

  it('handOver() gives the next session at the address the same bucket', () => {
    const limiter = new RateLimiter(1, 1);
    const first = { rateTokens: 0, rateAt: -Infinity };
    const second = { rateTokens: 0, rateAt: -Infinity };
    expect(limiter.takeHeld(first, 0)).toBe(true);
    limiter.handOver(first, second);
    expect(limiter.takeHeld(second, 0)).toBe(false);
  });
});
