/**
 * Per-sender token buckets on the core's clock: each sender may send `burst` frames at once and
 * `rate` frames a second after that. A flooding node costs one map lookup per frame, never a decode.
 *
 * A sender with a session speaking directly from its address keeps its bucket in that session
 * (BucketHolder): the frame's one session lookup finds it, and taking a token touches no map and
 * allocates nothing (issue 13: 10,000 sensors speaking every 10 s each missed two maps and inserted a
 * new bucket per frame, and those buckets lived long enough to be promoted). The bucket belongs to the
 * address all the same: attach() moves it into a session bound there, detach() back out when the
 * session leaves, handOver() to a session that takes the address over, so a sender that CONNECTs again
 * and again cannot refill it.
 *
 * Senders without such a session (CONNECT, SEARCHGW, QoS -1, spoofed addresses) keep theirs in maps.
 * A bucket left alone for burst/rate seconds has refilled: it is the same as a fresh one, so it need
 * not be kept. Buckets live in two generations: every refill period the current one becomes the
 * previous one and the previous one is dropped whole, so only senders heard within the last two
 * periods hold a bucket, and no pass over the buckets is ever needed for it. The maps are bounded too:
 * senders with spoofed, ever-new addresses cannot grow them without end.
 */
interface Bucket { tokens: number; at: number }

/** A bucket kept in a session's own fields. `rateAt` -Infinity: untouched, full. */
export interface BucketHolder { rateTokens: number; rateAt: number }

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

  /** Senders holding a bucket in the maps now (not those kept by sessions). */
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
    bucket.tokens = Math.min(this.burst, this.refilled(bucket.tokens, bucket.at, now));
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** take() for a sender whose bucket `holder` keeps (attached). */
  takeHeld(holder: BucketHolder, now: number): boolean {
    const tokens = Math.min(this.burst, this.refilled(holder.rateTokens, holder.rateAt, now));
    holder.rateAt = now;
    if (tokens < 1) {
      holder.rateTokens = tokens;
      return false;
    }
    holder.rateTokens = tokens - 1;
    return true;
  }

  /** `holder` now speaks for `sender`: it takes the sender's bucket out of the maps (a full one if none is kept). */
  attach(sender: string, holder: BucketHolder): void {
    let bucket = this.current.get(sender);
    if (bucket) this.current.delete(sender);
    else {
      bucket = this.previous.get(sender);
      if (bucket) this.previous.delete(sender);
    }
    holder.rateTokens = bucket ? bucket.tokens : 0;
    holder.rateAt = bucket ? bucket.at : -Infinity;
  }

  /** `to` takes `sender` over from `from`, bucket and all. */
  handOver(from: BucketHolder, to: BucketHolder): void {
    to.rateTokens = from.rateTokens;
    to.rateAt = from.rateAt;
  }

  /** `holder` no longer speaks for `sender`: its bucket goes back to the maps, unless it has refilled. */
  detach(sender: string, holder: BucketHolder, now: number): void {
    if (this.refilled(holder.rateTokens, holder.rateAt, now) >= this.burst) return;
    if (now - this.rotatedAt >= this.refillMs) this.rotate(now);
    if (this.size >= this.maxSenders) this.evictIdle(now);
    this.previous.delete(sender);
    this.current.set(sender, { tokens: holder.rateTokens, at: holder.rateAt });
  }

  /** A bucket's tokens at `now`, before the cap at `burst`: what it had at `at`, plus the refill since. */
  private refilled(tokens: number, at: number, now: number): number {
    return tokens + ((now - at) / 1000) * this.rate;
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
        if (this.refilled(bucket.tokens, bucket.at, now) >= this.burst) buckets.delete(sender);
      }
    }
    if (this.size >= this.maxSenders) {
      this.previous.clear();
      this.current.clear();
    }
  }
}
