/**
 * Per-sender token buckets on the core's clock: each sender may send `burst` frames at once and
 * `rate` frames a second after that. A flooding node costs one map lookup per frame, never a decode.
 *
 * A bucket left alone for burst/rate seconds has refilled: it is the same as a fresh one, so it need
 * not be kept. Buckets live in two generations: every refill period the current one becomes the
 * previous one and the previous one is dropped whole, so only senders heard within the last two
 * periods hold a bucket. 10,000 sensors that speak once a minute cost almost nothing, and no pass over
 * the buckets is ever needed for it. The maps are bounded too: senders with spoofed, ever-new
 * addresses cannot grow them without end.
 */
interface Bucket { tokens: number; at: number }

export class RateLimiter {
  /** Buckets touched since the last rotation. */
  private current = new Map<string, Bucket>();
  /** Buckets touched in the period before: moved to `current` when touched again, dropped at the next rotation. */
  private previous = new Map<string, Bucket>();
  private rotatedAt = -Infinity;
  /** How long an untouched bucket takes to refill to `burst`. */
  private readonly refillMs: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxSenders = 100_000,
  ) {
    this.refillMs = (burst / rate) * 1000;
  }

  /** Senders holding a bucket now. */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Takes one token for `sender`; false = over its rate, the frame is to be dropped. */
  take(sender: string, now: number): boolean {
    if (now - this.rotatedAt >= this.refillMs) this.rotate(now);
    let bucket = this.current.get(sender);
    if (!bucket) {
      bucket = this.previous.get(sender);
      if (bucket) this.previous.delete(sender);
      else {
        if (this.size >= this.maxSenders) this.evictIdle(now);
        bucket = { tokens: this.burst, at: now };
      }
      this.current.set(sender, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Everything in `previous` was last touched before the last rotation, at least refillMs ago: full, forgotten. */
  private rotate(now: number): void {
    this.previous = this.current;
    this.current = new Map();
    this.rotatedAt = now;
  }

  /** Under a flood of new senders: forgets those whose bucket has refilled; all of them if none has. */
  private evictIdle(now: number): void {
    for (const buckets of [this.previous, this.current]) {
      for (const [sender, bucket] of buckets) {
        if (bucket.tokens + ((now - bucket.at) / 1000) * this.rate >= this.burst) buckets.delete(sender);
      }
    }
    if (this.size >= this.maxSenders) {
      this.previous.clear();
      this.current.clear();
    }
  }
}
