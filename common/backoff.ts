/**
 * Reopen a link with exponential backoff: one log line per failure, the other radios unaffected.
 * Used by every radio whose device may be missing, unplugged or not yet permitted.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** Injected for tests; defaults to the global timers. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class Backoff {
  private attempt = 0;
  private handle: unknown = undefined;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 60_000;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  }

  /** Delay before the next attempt: initial, doubled each time, capped. */
  nextDelay(): number {
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt++;
    return delay;
  }

  /** Schedules `fn` after the next delay; returns that delay (for the log line). */
  schedule(fn: () => void): number {
    this.cancel();
    const delay = this.nextDelay();
    this.handle = this.setTimer(() => {
      this.handle = undefined;
      fn();
    }, delay);
    return delay;
  }

  /** Call after a successful open. */
  reset(): void {
    this.attempt = 0;
  }

  cancel(): void {
    if (this.handle !== undefined) this.clearTimer(this.handle);
    this.handle = undefined;
  }
}
