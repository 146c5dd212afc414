/**
 * node:test's test context as the abstract suites of aedes-persistence and mqemitter use it (t.assert, t.plan,
 * t.diagnostic, t.fail), for running those suites under vitest: t.plan(n) is checked against the assertions made.
 */
import legacyAssert from 'node:assert';
import { expect, it } from 'vitest';

export interface NodeTestContext {
  assert: typeof legacyAssert;
  plan(count: number): void;
  diagnostic(message: string): void;
  fail(message?: string): never;
}

export function nodeTestContext(): { t: NodeTestContext; check(): void } {
  let planned: number | undefined;
  let made = 0;
  // node:test's t.assert is node:assert's (non-strict) functions, each call counted for t.plan().
  const assert = new Proxy(legacyAssert, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        made++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    t: {
      assert,
      plan: (count) => { planned = count; },
      diagnostic: () => {},
      fail: (message) => legacyAssert.fail(message),
    },
    check: () => { if (planned !== undefined) expect(made, 'assertions made, as t.plan() said').toBe(planned); },
  };
}

/** A node:test-style `test(name, body)` for an abstract suite: each test a vitest `it`, its t.plan() checked. */
export function nodeTest(name: string, body: (t: NodeTestContext) => Promise<void>): void {
  it(name, async () => {
    const { t, check } = nodeTestContext();
    await body(t);
    check();
  });
}
