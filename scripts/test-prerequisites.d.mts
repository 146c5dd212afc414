/** Types for scripts/test-prerequisites.mjs, so the tests import it checked. */
export interface Prerequisite { command: string; apt: string; why: string }
export type Plan =
  | { action: 'none' }
  | { action: 'install'; commands: string[][]; message: string }
  | { action: 'stop'; message: string };
export const PREREQUISITES: Prerequisite[];
export function searchDirs(env: Record<string, string | undefined>): string[];
export function findMissing(rows: Prerequisite[], dirs: string[], exists?: (path: string) => boolean): Prerequisite[];
export function installCommands(packages: string[], asRoot: boolean): string[][];
export function decide(input: { missing: Prerequisite[]; isRoot: boolean; canSudo: boolean }): Plan;
export function main(env?: Record<string, string | undefined>): number;
