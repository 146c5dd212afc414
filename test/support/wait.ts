/**
 * How long a test waits for something that should happen. Generous, because every wait ends as soon as
 * the event arrives: only a failing test pays it, and a busy 2-core machine is slow.
 */
export const WAIT_MS = 10_000;

/** Options for vi.waitFor / expect.poll (their own default, 1 s, is what made tests flaky under load). */
export const WAIT = { timeout: WAIT_MS, interval: 20 } as const;
