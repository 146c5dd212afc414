/**
 * Per-sender token buckets on the core's clock: each sender may send `burst` frames at once and
 * `rate` frames a second after that. A flooding node costs one map lookup per frame, never a decode.
 * The map is bounded: senders with spoofed, ever-new addresses cannot grow it without end.
 */
interface Bucket { tokens: number; at: number }

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxSenders = 100_000,
  ) {}

  /** Takes one token for `sender`; false = over its rate, the frame is to be dropped. */
  take(sender: string, now: number): boolean {
    let bucket = this.buckets.get(sender);
    if (!bucket) {
      if (this.buckets.size >= this.maxSenders) this.evictIdle(now);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(sender, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets senders whose bucket has refilled (a fresh bucket is the same); all of them if none has. */
  private evictIdle(now: number): void {
    for (const [sender, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.rate >= this.burst) this.buckets.delete(sender);
    }
    if (this.buckets.size >= this.maxSenders) this.buckets.clear();
  }
}
