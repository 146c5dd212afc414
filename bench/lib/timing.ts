/** Small timing helpers shared by the gateway benchmark's two processes. */

/**
 * Add to performance.now() for a time both processes read alike: CLOCK_MONOTONIC in ms, the clock
 * performance.now() counts from its own process's start. A stamp one process writes into a frame is then
 * a time the other can subtract from its own (the sensors' send, the gateway's read).
 */
export const MONOTONIC_BASE_MS = ((): number => {
  performance.now(); // the first use loads what is behind `performance` (about 1.5 ms): not between the readings
  const before = performance.now();
  const monotonic = Number(process.hrtime.bigint()) / 1e6;
  return monotonic - (before + performance.now()) / 2;
})();

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `everyMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(check: () => boolean, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/** Waits until `value()` has not changed for `quietMs` (or `maxMs` passed): a stream has drained. */
export async function waitSettled(value: () => number, quietMs: number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = value();
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(25);
    const now = value();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return;
    }
  }
}

export interface Percentiles { p50: number; p99: number; p999: number; max: number }

/** The usual four of the first `count` samples; sorts them in place. */
export function percentiles(samples: Float64Array, count: number): Percentiles {
  return {
    p50: percentile(samples, count, 50), p99: percentile(samples, count, 99),
    p999: percentile(samples, count, 99.9), max: percentile(samples, count, 100),
  };
}

/** p-th percentile (0..100) of the first `count` samples; sorts them in place. */
export function percentile(samples: Float64Array, count: number, p: number): number {
  if (count === 0) return NaN;
  const sorted = samples.subarray(0, count).sort();
  const index = Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1));
  return sorted[index];
}
