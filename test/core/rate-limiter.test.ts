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

  it('stays bounded under ever-new (spoofed) senders, forgetting idle ones first', () => {
    const limiter = new RateLimiter(1, 1, 100);
    for (let i = 0; i < 100; i++) limiter.take(`spoof-${i}`, 0);
    expect(limiter.take('busy', 0)).toBe(true); // full map, none idle: cleared, then this one added
    expect(limiter.take('busy', 0)).toBe(false); // its bucket is remembered
    const size = (limiter as unknown as { buckets: Map<string, unknown> }).buckets.size;
    expect(size).toBeLessThanOrEqual(100);
  });
});
