/** The per-sender token bucket behind limits.frameRate / frameBurst, on a manual clock. */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../gateway/core/rate-limiter.js';

describe('RateLimiter', () => {
  it('lets a burst through, then `rate` frames a second', () => {
    const limiter = new RateLimiter(10, 3);
    const takes = (n: number, now: number) => Array.from({ length: n }, () => limiter.take('a', now)).filter(Boolean).length;
    expect(takes(5, 0)).toBe(3);
    expect(takes(5, 100)).toBe(1); // 0.1 s × 10/s
    expect(takes(5, 10_000)).toBe(3); // refilled to the burst, no further
  });

  it('keeps senders apart', () => {
    const limiter = new RateLimiter(1, 1);
    expect(limiter.take('a', 0)).toBe(true);
    expect(limiter.take('a', 0)).toBe(false);
    expect(limiter.take('b', 0)).toBe(true);
  });

  it('forgets a sender left alone long enough to refill (a fresh bucket is the same), with no pass over the others', () => {
    const limiter = new RateLimiter(10, 5); // refills in 0.5 s
    for (let i = 0; i < 50; i++) limiter.take(`quiet-${i}`, 0);
    expect(limiter.size).toBe(50);
    limiter.take('talker', 600); // a rotation: the quiet ones are now the previous generation
    expect(limiter.size).toBe(51);
    limiter.take('talker', 1200); // the next: untouched for a whole period, they are dropped
    expect(limiter.size).toBe(1);
  });

  it('a sender heard again within the period keeps its bucket across a rotation: its rate still holds', () => {
    const limiter = new RateLimiter(1, 2); // refills in 2 s
    expect([limiter.take('a', 0), limiter.take('a', 0), limiter.take('a', 0)]).toEqual([true, true, false]);
    expect(limiter.take('a', 1500)).toBe(true); // 1.5 tokens back, 0.5 left
    expect(limiter.take('b', 2000)).toBe(true); // a rotation: 'a' is in the previous generation now
    // 0.5 + 0.6 = 1.1 tokens: one frame, not the two a fresh bucket would allow.
    expect([limiter.take('a', 2100), limiter.take('a', 2100)]).toEqual([true, false]);
  });

  it('stays bounded under ever-new (spoofed) senders, forgetting idle ones first', () => {
    const limiter = new RateLimiter(1, 1, 100);
    for (let i = 0; i < 100; i++) limiter.take(`spoof-${i}`, 0);
    expect(limiter.take('busy', 0)).toBe(true); // full map, none idle: cleared, then this one added
    expect(limiter.take('busy', 0)).toBe(false); // its bucket is remembered
    expect(limiter.size).toBeLessThanOrEqual(100);
  });
});
