/**
 * A small declarative schema toolkit for configuration files: each schema checks one plain value at a
 * key path and returns it typed, or reports why it cannot. Issues are collected, never thrown, so a file
 * is checked completely at once. Shaped so a schema library can replace it later.
 */

import { isIP } from 'node:net';

/** Where something sits in the YAML text. */
export interface Position { line: number; column: number }

// ───────────────────────── issues and key paths ─────────────────────────

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

export const INVALID = Symbol('invalid');
export type Parsed<T> = T | typeof INVALID;

export class Issues {
  readonly list: RawIssue[] = [];

  /** Records one problem; returns INVALID so a check can `return issues.report(...)`. */
  report(path: Path, message: string, target: Target = 'value'): typeof INVALID {
    this.list.push({ path, message, target });
    return INVALID;
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

// ─────────────────────────── step 2: schema toolkit ───────────────────────────
// Each schema checks one plain value (as toJS gives it) at a key path and returns it typed, or INVALID
// after reporting why. `undefined` means the key is absent; an empty YAML value (null) counts as absent.

export interface Schema<T> {
  parse(input: unknown, path: Path, issues: Issues): Parsed<T>;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

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

export function integer(min: number, max = Number.MAX_SAFE_INTEGER, show: (n: number) => string = String): Schema<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${show(min)}` : `${show(min)}..${show(max)}`;
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, 'required');
      if (typeof input === 'number' && Number.isInteger(input) && input >= min && input <= max) return input;
      return issues.report(path, `must be an integer ${range} (got ${describe(input, show)})`);
    },
  };
}

/** A real number bounded below: `min` inclusive or `above` exclusive. */
export function number(bound: { min: number } | { above: number }): Schema<number> {
  const ok = 'min' in bound ? (n: number) => n >= bound.min : (n: number) => n > bound.above;
  const range = 'min' in bound ? `>= ${bound.min}` : `> ${bound.above}`;
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, 'required');
      if (typeof input === 'number' && Number.isFinite(input) && ok(input)) return input;
      return issues.report(path, `must be a number ${range} (got ${describe(input)})`);
    },
  };
}

/** Units a duration may be written in; a bare number is in the key's own unit. */
const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * A length of time: a bare number in the key's own `unit` (seconds, or ms for keys named ...Ms), or a
 * number with a unit: `250ms`, `30s`, `15m`, `2h`, `1d`. Bounds are in `unit`; `integer` asks for whole units.
 */
export function duration(options: { unit: 's' | 'ms'; min: number; max?: number; above?: boolean; integer?: boolean }): Schema<number> {
  const { unit, min, max = Number.MAX_SAFE_INTEGER, above = false, integer = false } = options;
  const perUnit = DURATION_UNITS[unit];
  const low = above ? `> ${min}` : `>= ${min}`;
  const range = max === Number.MAX_SAFE_INTEGER ? `${low} ${unit}` : `${min}..${max} ${unit}`;
  const expected = `a duration ${range}${integer ? ' in whole ' + (unit === 's' ? 'seconds' : 'milliseconds') : ''} (a number of ${unit === 's' ? 'seconds' : 'milliseconds'}, or e.g. 30s, 15m, 2h)`;
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, 'required');
      let value: number | undefined;
      if (typeof input === 'number') value = input;
      else if (typeof input === 'string') {
        const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(input);
        // Rounded to a millionth so 0.1s in ms is 100, not 100.00000000000001.
        if (match) value = Math.round((Number(match[1]) * DURATION_UNITS[match[2]]) / perUnit * 1e6) / 1e6;
      }
      const inRange = value !== undefined && Number.isFinite(value) && (above ? value > min : value >= min) && value <= max;
      if (inRange && (!integer || Number.isInteger(value))) return value!;
      return issues.report(path, `must be ${expected} (got ${describe(input)})`);
    },
  };
}

export function text(options: { allowEmpty?: boolean } = {}): Schema<string> {
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, 'required');
      if (typeof input === 'string') {
        return input === '' && !options.allowEmpty ? issues.report(path, 'must not be empty') : input;
      }
      // YAML reads `password: 1234` or `name: yes` as a number or boolean.
      const hint = typeof input === 'number' || typeof input === 'boolean' ? `; quote it if you meant the text "${input}"` : '';
      return issues.report(path, `must be a string (got ${describe(input)})${hint}`);
    },
  };
}

export function flag(): Schema<boolean> {
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, 'required');
      if (typeof input === 'boolean') return input;
      return issues.report(path, `must be true or false (got ${describe(input)})`);
    },
  };
}

export function oneOf<const T extends readonly (string | number)[]>(...values: T): Schema<T[number]> {
  const list = values.join(', ');
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, `required: one of ${list}`);
      if (values.includes(input as T[number])) return input as T[number];
      const guess = typeof input === 'string' ? suggest(input, values.map(String)) : undefined;
      const hint = guess === undefined ? '' : `; did you mean "${guess}"?`;
      return issues.report(path, `must be one of ${list} (got ${describe(input)})${hint}`);
    },
  };
}

/** An IP address or a host name (catches "127.0.0.1:10000", which belongs in two keys). */
export function host(): Schema<string> {
  return refine(text(), (value, path, issues) =>
    isIP(value) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)
      ? value
      : issues.report(path, `must be an IP address or a host name (got ${describe(value)})`),
  );
}

/** `length` bytes, written as a list of integers 0..255 or as a string of hex digits ("0x..." or "dd:dd:..."). */
export function bytes(length: number): Schema<number[]> {
  const expected = `${length} bytes: a list of ${length} integers 0..255 or a string of ${length * 2} hex digits`;
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, 'required');
      if (Array.isArray(input) && input.length === length && input.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
        return input as number[];
      }
      if (typeof input === 'string') {
        const digits = input.replace(/^0x/i, '').replace(/[:\s-]/g, '');
        if (digits.length === length * 2 && /^[0-9a-f]+$/i.test(digits)) {
          return Array.from({ length }, (_, i) => parseInt(digits.slice(i * 2, i * 2 + 2), 16));
        }
      }
      const got = Array.isArray(input) ? `a list of ${input.length}` : describe(input);
      return issues.report(path, `must be ${expected} (got ${got})`);
    },
  };
}

export function optional<T>(schema: Schema<T>): Schema<T | undefined> {
  return { parse: (input, path, issues) => (input === undefined ? undefined : schema.parse(input, path, issues)) };
}

/** When absent, parses `rawDefault` as if the file had said it: defaults are checked by the same schema. */
export function withDefault<T>(schema: Schema<T>, rawDefault: unknown): Schema<T> {
  return { parse: (input, path, issues) => schema.parse(input === undefined ? rawDefault : input, path, issues) };
}

/** `false` turns a feature off; anything else (absent included) goes to `schema`. */
export function orFalse<T>(schema: Schema<T>): Schema<T | false> {
  return { parse: (input, path, issues) => (input === false ? false : schema.parse(input, path, issues)) };
}

/** Runs `then` on a value that passed `schema`: cross-key rules, derived defaults. */
export function refine<T, U>(schema: Schema<T>, then: (value: T, path: Path, issues: Issues) => Parsed<U>): Schema<U> {
  return {
    parse(input, path, issues) {
      const value = schema.parse(input, path, issues);
      return value === INVALID ? INVALID : then(value, path, issues);
    },
  };
}

export type Shape = { readonly [key: string]: Schema<unknown> };
export type ObjectOf<S extends Shape> = { -readonly [K in keyof S]: Infer<S[K]> };

/** A mapping with exactly these keys (all checked, all reported); unknown keys are errors. */
export function object<S extends Shape>(shape: S, noun?: string): Schema<ObjectOf<S>> {
  const known = Object.keys(shape);
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, 'required');
      if (!isRecord(input)) return issues.report(path, `must be a mapping (got ${describe(input)})`);
      let valid = true;
      for (const key of Object.keys(input)) {
        if (Object.hasOwn(shape, key)) continue;
        valid = false;
        const guess = suggest(key, known);
        const where = noun ? ` for ${noun}` : '';
        const hint = guess ? `did you mean "${guess}"?` : `known keys: ${known.join(', ')}`;
        issues.report([...path, key], `unknown key${where}; ${hint}`, 'key');
      }
      const output: Record<string, unknown> = {};
      for (const key of known) {
        const value = shape[key].parse(input[key] ?? undefined, [...path, key], issues);
        if (value === INVALID) valid = false;
        // Absent optional keys stay absent rather than present-and-undefined, so configs compare and print cleanly.
        else if (value !== undefined) output[key] = value;
      }
      return valid ? (output as ObjectOf<S>) : INVALID;
    },
  };
}

/** A whole section (gateway:, broker:...): absent or empty means every default. */
export function section<S extends Shape>(shape: S, noun?: string): Schema<ObjectOf<S>> {
  return withDefault(object(shape, noun), {});
}

export function list<T>(item: Schema<T>, minItems = 0): Schema<T[]> {
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, 'required');
      if (!Array.isArray(input)) return issues.report(path, `must be a list (got ${describe(input)})`);
      if (input.length < minItems) return issues.report(path, `must list at least ${minItems}`);
      const output: T[] = [];
      let valid = true;
      input.forEach((element, index) => {
        const value = item.parse(element, [...path, index], issues);
        if (value === INVALID) valid = false;
        else output.push(value);
      });
      return valid ? output : INVALID;
    },
  };
}

/** Checks one mapping key (toJS gives keys as strings, so `7:` and `"7":` both arrive as "7"). */
export type KeySchema<K> = (key: string, path: Path, issues: Issues) => Parsed<K>;

/** A mapping of free-form keys to values of one kind; keys that mean the same (`7`, `"07"`) are duplicates. */
export function mapOf<K, V>(keyNoun: string, key: KeySchema<K>, value: Schema<V>): Schema<Map<K, V>> {
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, 'required');
      if (!isRecord(input)) return issues.report(path, `must be a mapping of ${keyNoun} to values (got ${describe(input)})`);
      const output = new Map<K, V>();
      const spelled = new Map<K, string>();
      let valid = true;
      for (const [rawKey, rawValue] of Object.entries(input)) {
        const keyPath = [...path, rawKey];
        const parsedKey = key(rawKey, keyPath, issues);
        const parsedValue = value.parse(rawValue ?? undefined, keyPath, issues);
        if (parsedKey === INVALID || parsedValue === INVALID) {
          valid = false;
          continue;
        }
        const earlier = spelled.get(parsedKey);
        if (earlier !== undefined) {
          valid = false;
          issues.report(keyPath, `duplicate ${keyNoun} ${String(parsedKey)} (also given as ${JSON.stringify(earlier)})`, 'key');
          continue;
        }
        spelled.set(parsedKey, rawKey);
        output.set(parsedKey, parsedValue);
      }
      return valid ? output : INVALID;
    },
  };
}

/** A mapping whose `type` key picks the schema for the rest (radios). */
export function tagged<M extends { readonly [tag: string]: Schema<unknown> }>(members: M): Schema<Infer<M[keyof M]>> {
  const tags = Object.keys(members);
  const tagSchema = oneOf(...tags);
  return {
    parse(input, path, issues) {
      if (!isRecord(input)) return issues.report(path, `must be a mapping with a type: ${tags.join(', ')} (got ${describe(input)})`);
      const tag = tagSchema.parse(input.type ?? undefined, [...path, 'type'], issues);
      if (tag === INVALID) return INVALID;
      return members[tag].parse(input, path, issues) as Parsed<Infer<M[keyof M]>>;
    },
  };
}

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
