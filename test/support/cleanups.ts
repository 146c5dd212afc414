/**
 * What a test starts (brokers, gateways, sockets, temporary directories), ended after it: the test pushes a
 * function per thing it starts, and they run after each test, last started first.
 */
import { afterEach } from 'vitest';

export type Cleanups = (() => Promise<unknown> | unknown)[];

/** A list to push onto, emptied by running it after each test of the file that calls this. */
export function cleanupsAfterEach(): Cleanups {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}
