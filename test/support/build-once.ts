/**
 * vitest's global setup: the bins' build (scripts/build.mjs) made current once, before any test file runs.
 * After a source edit every daemon a test starts would find the build stale and rebuild it, test files in
 * parallel each making their own: a test's two starts could then run two builds (06-daemon-code-cache's
 * second start missed the cache its first had written for the other).
 */
import { build, isFresh } from '../../scripts/build.mjs';

export default async function buildOnce(): Promise<void> {
  if (!isFresh()) await build();
}
