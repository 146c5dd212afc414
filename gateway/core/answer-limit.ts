/**
 * At most one answer per key per interval, on the core's clock, with a bounded memory: used for the
 * DISCONNECTs the gateway sends to senders it cannot map to a session (§5.4.21), so a flood of junk
 * (possibly from spoofed addresses) cannot turn the gateway into an amplifier or grow its memory.
 */
export class AnswerLimit {
  /** Key → when it was last answered; insertion order is answer order, so the oldest come first. */
  private readonly answeredAt = new Map<string, number>();

  constructor(private readonly intervalMs: number, private readonly maxKeys: number) {}

  /** True (and remembered) when `key` may be answered now. */
  allow(key: string, now: number): boolean {
    const last = this.answeredAt.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    if (last === undefined && this.answeredAt.size >= this.maxKeys) {
      this.forgetOlderThan(now - this.intervalMs);
      // Still full: that many distinct senders within one interval is a flood; stay quiet.
      if (this.answeredAt.size >= this.maxKeys) return false;
    }
    this.answeredAt.delete(key);
    this.answeredAt.set(key, now);
    return true;
  }

  get size(): number {
    return this.answeredAt.size;
  }

  private forgetOlderThan(cutoff: number): void {
    for (const [key, at] of this.answeredAt) {
      if (at > cutoff) break;
      this.answeredAt.delete(key);
    }
  }
}
