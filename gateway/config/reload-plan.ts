/**
 * What a configuration reload changes: the key paths that differ between the running configuration and
 * the file, split into those the running gateway takes at once and those that need a restart.
 */
import { isDeepStrictEqual } from 'node:util';
import { formatPath, isRecord, type Path } from './config-issues.js';
import type { GatewayConfig } from './config-types.js';

/**
 * Top-level sections a running gateway takes without a restart; every other section (radios, broker,
 * gateway, limits, clients, status, persistence, stateDir) holds sockets, devices, timers or stored state and
 * changes only with a restart.
 */
export const LIVE_SECTIONS = ['topics', 'access', 'log', 'http'] as const;

export interface ReloadPlan {
  /** Changed key paths in live sections, e.g. `topics.predefined.5`, `log.level`. */
  live: string[];
  /** Changed key paths that take effect only after a restart, e.g. `radios[0].port`, `broker.url`. */
  restart: string[];
}

export function planReload(running: GatewayConfig, next: GatewayConfig): ReloadPlan {
  const plan: ReloadPlan = { live: [], restart: [] };
  const sections = new Set([...Object.keys(running), ...Object.keys(next)]);
  for (const section of sections) {
    const changed = changedPaths((running as unknown as Record<string, unknown>)[section], (next as unknown as Record<string, unknown>)[section], [section]);
    ((LIVE_SECTIONS as readonly string[]).includes(section) ? plan.live : plan.restart).push(...changed);
  }
  return plan;
}

/** The key paths where `a` and `b` differ, as deep as both sides are mappings (plain objects or Maps). */
export function changedPaths(a: unknown, b: unknown, path: Path = []): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  const entriesA = entriesOf(a);
  const entriesB = entriesOf(b);
  if (entriesA && entriesB) {
    const keys = new Set([...entriesA.keys(), ...entriesB.keys()]);
    return [...keys].flatMap((key) => changedPaths(entriesA.get(key), entriesB.get(key), [...path, key]));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((item, index) => changedPaths(item, b[index], [...path, index]));
  }
  return [formatPath(path)];
}

function entriesOf(value: unknown): Map<string, unknown> | undefined {
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [String(k), v]));
  if (isRecord(value)) return new Map(Object.entries(value));
  return undefined;
}
