/**
 * What every step of reading gateway.yaml reports through: issues at key paths, collected rather than
 * thrown so a file is checked completely at once, and the helpers their messages share.
 */

/** Where something sits in the YAML text. */
export interface Position { line: number; column: number }

export type Path = readonly (string | number)[];

/** Which end of `key: value` an issue is about: an unknown key points at the key, a bad value at the value. */
export type Target = 'key' | 'value';

export interface RawIssue {
  path: Path;
  message: string;
  target: Target;
  /** Overrides the key-path lookup (YAML syntax errors know their offset but have no key path). */
  position?: Position;
}

export class Issues {
  readonly list: RawIssue[] = [];

  report(path: Path, message: string, target: Target = 'value'): void {
    this.list.push({ path, message, target });
  }
}

/** 'radios[1].port', 'topics.predefined.7', 'topics.clients["node.1"].predefined'. */
export function formatPath(path: Path): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How a wrong value is shown after "got". */
export function describe(value: unknown, show: (n: number) => string = String): string {
  if (value === undefined || value === null) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return show(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

export const hex = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

/** The known key closest to a mistyped one, if close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
