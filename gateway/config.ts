/**
 * Loads gateway.yaml into a GatewayConfig (gateway/config-types.ts) with every default filled in.
 *
 * Three steps, kept apart so each can be replaced on its own (a schema library later, a reload on SIGHUP):
 *  1. read: YAML text → plain value, plus an index from each key path to its line:column;
 *  2. check: a small declarative schema validates the plain value and fills static defaults;
 *  3. finish: defaults that depend on other keys, rules that span keys, paths resolved against the file.
 * Every problem found is collected and thrown at once as one ConfigError.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type {
  BrokerSection,
  GatewayConfig,
  RadioConfig,
  TlsConfig,
  TopicsSection,
  ZigbeeRadioConfig,
} from './config-types.js';

// ───────────────────────────── public API ─────────────────────────────

export interface ConfigIssue {
  /** Key path, e.g. 'radios[1].port' or 'topics.predefined.7'; '' for the whole file. */
  path: string;
  /** 1-based, where the YAML names the key (or its nearest enclosing key). */
  line?: number;
  column?: number;
  message: string;
}

/** Everything wrong with one configuration file, one issue per line of `message`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly source: string;
  readonly issues: ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[]) {
    super(issues.map((issue) => formatIssue(source, issue)).join('\n'));
    this.source = source;
    this.issues = issues;
  }
}

/** Reads and validates the file at `path`; relative paths inside it are resolved against its directory. */
export function loadConfig(path: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const resolved = resolve(path);
    const where = resolved === path ? '' : ` (${resolved})`;
    throw new ConfigError(path, [{ path: '', message: `cannot read the configuration file${where}: ${readFailure(error)}` }]);
  }
  return parseConfig(text, path);
}

/** Validates YAML text; `source` names it in messages and anchors relative paths (stateDir, tls files). */
export function parseConfig(text: string, source = 'gateway.yaml'): GatewayConfig {
  const issues = new Issues();
  const read = readYaml(text, issues);
  // An empty file (or one of only comments) is null: every default.
  const config = read.readable ? configSchema(dirname(resolve(source))).parse(read.value ?? undefined, [], issues) : INVALID;
  if (config === INVALID || issues.list.length > 0) {
    throw new ConfigError(source, issues.list.map((issue) => locate(issue, read.positions)).sort(byPosition));
  }
  return config;
}

function formatIssue(source: string, issue: ConfigIssue): string {
  const where = issue.line === undefined ? `${source}:` : `${source}:${issue.line}:${issue.column ?? 1}`;
  return issue.path === '' ? `${where} ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return error instanceof Error ? error.message : String(error);
}

// ───────────────────────── issues and key paths ─────────────────────────

type Path = readonly (string | number)[];

/** Which end of `key: value` an issue is about: an unknown key points at the key, a bad value at the value. */
type Target = 'key' | 'value';

interface RawIssue {
  path: Path;
  message: string;
  target: Target;
  /** Overrides the key-path lookup (YAML syntax errors know their offset but have no key path). */
  position?: Position;
}

const INVALID = Symbol('invalid');
type Parsed<T> = T | typeof INVALID;

class Issues {
  readonly list: RawIssue[] = [];

  /** Records one problem; returns INVALID so a check can `return issues.report(...)`. */
  report(path: Path, message: string, target: Target = 'value'): typeof INVALID {
    this.list.push({ path, message, target });
    return INVALID;
  }
}

/** 'radios[1].port', 'topics.predefined.7', 'topics.clients["node.1"].predefined'. */
function formatPath(path: Path): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

// ───────────────────── step 1: YAML → value + positions ─────────────────────

interface Position { line: number; column: number }
interface KeyPositions { key?: Position; value: Position }
type PositionIndex = Map<string, KeyPositions>;

interface ReadYaml {
  /** False when the text could not be turned into a value at all (syntax errors, dangling aliases). */
  readable: boolean;
  value?: unknown;
  positions: PositionIndex;
}

function readYaml(text: string, issues: Issues): ReadYaml {
  const lineCounter = new LineCounter();
  // Duplicate keys are reported by our own walk, with the key path and the first occurrence's line.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  // Warnings (an unknown !tag, say) would silently change a value's meaning: treat them as errors too.
  for (const problem of [...doc.errors, ...doc.warnings]) issues.list.push(yamlProblem(problem, at));
  const positions: PositionIndex = new Map();
  if (doc.errors.length > 0) return { readable: false, positions };

  const brokenAliases = indexPositions(doc, at, positions, issues);
  if (brokenAliases) return { readable: false, positions };
  try {
    return { readable: true, value: doc.toJS({ maxAliasCount: 100 }), positions };
  } catch (error) {
    // toJS refuses documents whose aliases expand too far (a "billion laughs" file).
    issues.report([], error instanceof Error ? error.message : String(error));
    return { readable: false, positions };
  }
}

function yamlProblem(problem: YAMLError, at: (offset: number) => Position): RawIssue {
  return { path: [], message: `YAML: ${problem.message}`, target: 'value', position: at(problem.pos[0]) };
}

/** Walks the document, recording where each key path sits; reports duplicate keys and aliases without an anchor. */
function indexPositions(doc: Document, at: (offset: number) => Position, positions: PositionIndex, issues: Issues): boolean {
  let brokenAliases = false;
  const visit = (node: unknown, path: Path, key: Position | undefined, depth: number): void => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    const value = range ? at(range[0]) : key;
    if (value) positions.set(formatPath(path), { key, value });
    if (depth > 64) return;
    let target = node;
    if (isAlias(node)) {
      target = node.resolve(doc);
      if (target === undefined) {
        brokenAliases = true;
        issues.report(path, `alias *${node.source} has no anchor &${node.source} before it`);
        return;
      }
    }
    if (isMap(target)) {
      const firstSeen = new Map<string, Position | undefined>();
      for (const pair of target.items) {
        // toJS turns scalar keys into strings, so `7:` and `"7":` land on the same key.
        const name = isScalar(pair.key) ? String(pair.key.value ?? '') : String(pair.key);
        const keyRange = (pair.key as { range?: [number, number, number] } | null)?.range;
        const keyPosition = keyRange ? at(keyRange[0]) : value;
        const childPath = [...path, name];
        if (firstSeen.has(name)) {
          const first = firstSeen.get(name);
          const hint = first ? ` (first given on line ${first.line})` : '';
          issues.list.push({ path: childPath, message: `duplicate key${hint}`, target: 'key', position: keyPosition });
        } else {
          firstSeen.set(name, keyPosition);
        }
        // toJS keeps the last of duplicate keys, so the last one's positions win here too.
        visit(pair.value, childPath, keyPosition, depth + 1);
      }
    } else if (isSeq(target)) {
      target.items.forEach((item, index) => visit(item, [...path, index], undefined, depth + 1));
    }
  };
  visit(doc.contents, [], undefined, 0);
  return brokenAliases;
}

/** Finds the line:column for an issue: the key path itself, else its nearest recorded ancestor. */
function locate(issue: RawIssue, positions: PositionIndex): ConfigIssue {
  const located: ConfigIssue = { path: formatPath(issue.path), message: issue.message };
  let position = issue.position;
  for (let length = issue.path.length; position === undefined && length >= 0; length--) {
    const found = positions.get(formatPath(issue.path.slice(0, length)));
    if (!found) continue;
    const exact = length === issue.path.length;
    // A missing key is reported on its parent: point at the parent's own key line when there is one.
    position = exact && issue.target === 'value' ? found.value : found.key ?? found.value;
  }
  if (position) {
    located.line = position.line;
    located.column = position.column;
  }
  return located;
}

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0);
}

// ─────────────────────────── step 2: schema toolkit ───────────────────────────
// Each schema checks one plain value (as toJS gives it) at a key path and returns it typed, or INVALID
// after reporting why. `undefined` means the key is absent; an empty YAML value (null) counts as absent.

interface Schema<T> {
  parse(input: unknown, path: Path, issues: Issues): Parsed<T>;
}

type Infer<S> = S extends Schema<infer T> ? T : never;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How a wrong value is shown after "got". */
function describe(value: unknown, show: (n: number) => string = String): string {
  if (value === undefined || value === null) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return show(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

const hex = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

function integer(min: number, max = Number.MAX_SAFE_INTEGER, show: (n: number) => string = String): Schema<number> {
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
function number(bound: { min: number } | { above: number }): Schema<number> {
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

function text(options: { allowEmpty?: boolean } = {}): Schema<string> {
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

function flag(): Schema<boolean> {
  return {
    parse(input, path, issues) {
      if (input === undefined) return issues.report(path, 'required');
      if (typeof input === 'boolean') return input;
      return issues.report(path, `must be true or false (got ${describe(input)})`);
    },
  };
}

function oneOf<const T extends readonly (string | number)[]>(...values: T): Schema<T[number]> {
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
function host(): Schema<string> {
  return refine(text(), (value, path, issues) =>
    isIP(value) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)
      ? value
      : issues.report(path, `must be an IP address or a host name (got ${describe(value)})`),
  );
}

/** `length` bytes, written as a list of integers 0..255 or as a string of hex digits ("0x..." or "dd:dd:..."). */
function bytes(length: number): Schema<number[]> {
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

function optional<T>(schema: Schema<T>): Schema<T | undefined> {
  return { parse: (input, path, issues) => (input === undefined ? undefined : schema.parse(input, path, issues)) };
}

/** When absent, parses `rawDefault` as if the file had said it: defaults are checked by the same schema. */
function withDefault<T>(schema: Schema<T>, rawDefault: unknown): Schema<T> {
  return { parse: (input, path, issues) => schema.parse(input === undefined ? rawDefault : input, path, issues) };
}

/** Runs `then` on a value that passed `schema`: cross-key rules, derived defaults. */
function refine<T, U>(schema: Schema<T>, then: (value: T, path: Path, issues: Issues) => Parsed<U>): Schema<U> {
  return {
    parse(input, path, issues) {
      const value = schema.parse(input, path, issues);
      return value === INVALID ? INVALID : then(value, path, issues);
    },
  };
}

type Shape = { readonly [key: string]: Schema<unknown> };
type ObjectOf<S extends Shape> = { -readonly [K in keyof S]: Infer<S[K]> };

/** A mapping with exactly these keys (all checked, all reported); unknown keys are errors. */
function object<S extends Shape>(shape: S, noun?: string): Schema<ObjectOf<S>> {
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
function section<S extends Shape>(shape: S, noun?: string): Schema<ObjectOf<S>> {
  return withDefault(object(shape, noun), {});
}

function list<T>(item: Schema<T>, minItems = 0): Schema<T[]> {
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
type KeySchema<K> = (key: string, path: Path, issues: Issues) => Parsed<K>;

/** A mapping of free-form keys to values of one kind; keys that mean the same (`7`, `"07"`) are duplicates. */
function mapOf<K, V>(keyNoun: string, key: KeySchema<K>, value: Schema<V>): Schema<Map<K, V>> {
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
function tagged<M extends { readonly [tag: string]: Schema<unknown> }>(members: M): Schema<Infer<M[keyof M]>> {
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
function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
function editDistance(a: string, b: string): number {
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

// ─────────────────────────── the gateway.yaml schema ───────────────────────────

const port = integer(1, 65535);
/** Smallest MQTT-SN frame is 2 octets (Length, MsgType); the 3-octet length form reaches 65535. */
const frameSize = integer(2, 65535);

/** §5.3.11 TopicId: 0x0000 and 0xFFFF are reserved, so predefined ids are 1..65534. */
const topicId: KeySchema<number> = (key, path, issues) => {
  const value = /^[+-]?\d+$/.test(key) ? Number(key) : /^0x[0-9a-f]+$/i.test(key) ? parseInt(key, 16) : NaN;
  if (Number.isInteger(value) && value >= 1 && value <= 65534) return value;
  return issues.report(path, `topic id must be an integer 1..65534 (got ${JSON.stringify(key)})`, 'key');
};

/** A predefined topic is what a client publishes to by id: one concrete MQTT topic name. */
const topicName = refine(text(), (name, path, issues) => {
  if (/[+#]/.test(name)) {
    return issues.report(path, `a predefined topic must be a concrete name, without the wildcards '+' or '#' (got ${JSON.stringify(name)})`);
  }
  // Reserved so that templates like sensors/{clientId}/temperature can be added later without changing meaning.
  if (/\{\w*\}/.test(name)) return issues.report(path, `topic templates such as {clientId} are not supported yet (got ${JSON.stringify(name)})`);
  if (name.includes('\u0000')) return issues.report(path, 'a topic name must not contain the NUL character');
  if (Buffer.byteLength(name, 'utf8') > 65535) return issues.report(path, 'a topic name must fit in 65535 bytes of UTF-8');
  return name;
});

const clientIdKey: KeySchema<string> = (key, path, issues) => (key === '' ? issues.report(path, 'a ClientId must not be empty', 'key') : key);

const predefinedTopics = withDefault(mapOf('topic id', topicId, topicName), {});

const radioName = refine(text(), (name, path, issues) =>
  /^[A-Za-z0-9_.-]+$/.test(name) ? name : issues.report(path, `must use only letters, digits, '_', '.' and '-' (got ${JSON.stringify(name)})`),
);

const udpRadio = object(
  {
    type: oneOf('udp'),
    name: optional(radioName),
    host: withDefault(host(), '127.0.0.1'),
    port: withDefault(port, 10000),
    broadcastAddress: withDefault(host(), '127.255.255.255'),
    broadcastPort: optional(port),
    receiveBufferSize: withDefault(integer(0, 256 * 1024 * 1024), 4 * 1024 * 1024),
  },
  'a udp radio',
);

const serialRadio = object(
  {
    type: oneOf('serial'),
    name: optional(radioName),
    path: text(),
    baudRate: withDefault(integer(1), 115200),
    framing: withDefault(oneOf('slip', 'raw'), 'slip'),
    interByteGapMs: withDefault(integer(1, 60_000), 100),
    maxFrameSize: withDefault(frameSize, 255),
  },
  'a serial radio',
);

const xbeeRadio = object(
  {
    type: oneOf('xbee'),
    name: optional(radioName),
    path: text(),
    baudRate: withDefault(integer(1), 9600),
    apiMode: withDefault(oneOf(1, 2), 2),
    maxFrameSize: withDefault(frameSize, 84),
  },
  'an xbee radio',
);

const zigbeeRadio = object(
  {
    type: oneOf('zigbee'),
    name: optional(radioName),
    adapter: oneOf('zstack', 'ember', 'deconz', 'zigate', 'zboss', 'ezsp'),
    path: text(),
    baudRate: optional(integer(1)),
    rtscts: optional(flag()),
    panId: withDefault(integer(0, 0xfffe, hex), 0x1a62),
    extendedPanId: optional(bytes(8)),
    channel: withDefault(integer(11, 26), 11),
    networkKey: optional(bytes(16)),
    permitJoin: withDefault(integer(0, 254), 0),
    databasePath: optional(text()),
    backupPath: optional(text()),
    clusterId: withDefault(integer(0xfc00, 0xffff, hex), 0xfc00),
    manufacturerCode: withDefault(integer(0, 0xffff, hex), 0xfff1),
    endpoint: withDefault(integer(1, 240), 1),
    maxFrameSize: withDefault(frameSize, 60),
  },
  'a zigbee radio',
);

const radio = tagged({ udp: udpRadio, serial: serialRadio, xbee: xbeeRadio, zigbee: zigbeeRadio });

const brokerUrl = refine(text(), (url, path, issues) => {
  const protocols = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:'];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return issues.report(path, `must be a URL such as mqtt://127.0.0.1:1883 (got ${JSON.stringify(url)})`);
  }
  if (!protocols.includes(parsed.protocol)) {
    return issues.report(path, `must use one of ${protocols.map((p) => `${p}//`).join(', ')} (got ${JSON.stringify(url)})`);
  }
  return url;
});

const brokerMode: Schema<'aggregating'> = {
  parse(input, path, issues) {
    if (input === 'transparent') return issues.report(path, 'transparent mode is not supported yet; use aggregating');
    return oneOf('aggregating').parse(input, path, issues);
  },
};

const gatewaySection = section({
  id: withDefault(integer(0, 255), 1),
  advertiseInterval: withDefault(integer(0, 65535), 900),
  keepAliveGrace: withDefault(number({ min: 1 }), 1.5),
  retry: section({
    interval: withDefault(number({ above: 0 }), 10),
    count: withDefault(integer(0), 3),
  }),
  maxClients: withDefault(integer(1), 10000),
  sleepBuffer: withDefault(integer(0), 100),
  maxClientIdLength: withDefault(integer(1, 65535), 23),
  maxOutgoingQueue: withDefault(integer(1), 10000),
  maxInflightPerClient: withDefault(integer(1, 65535), 1),
});

const brokerSection = section({
  url: optional(brokerUrl),
  mode: withDefault(brokerMode, 'aggregating'),
  clientId: optional(text()),
  username: optional(text({ allowEmpty: true })),
  password: optional(text({ allowEmpty: true })),
  tls: optional(
    object({
      ca: optional(text()),
      cert: optional(text()),
      key: optional(text()),
      rejectUnauthorized: withDefault(flag(), true),
    }),
  ),
  protocolVersion: withDefault(oneOf(4, 5), 4),
  keepalive: withDefault(integer(0, 65535), 60),
  reconnectMin: withDefault(number({ above: 0 }), 1),
  reconnectMax: withDefault(number({ above: 0 }), 30),
  embedded: section({
    host: withDefault(host(), '127.0.0.1'),
    port: withDefault(port, 1883),
  }),
});

const topicsSection = section({
  predefined: predefinedTopics,
  clients: withDefault(mapOf('ClientId', clientIdKey, object({ predefined: predefinedTopics }, 'a client')), {}),
});

/** Localhost only, like Mosquitto 2: one UDP radio on 127.0.0.1:10000 unless the file lists radios. */
const radiosList = refine(withDefault(list(radio, 1), [{ type: 'udp' }]), nameRadios);

const configFile = section(
  {
    gateway: gatewaySection,
    broker: brokerSection,
    radios: radiosList,
    topics: topicsSection,
    stateDir: withDefault(text(), './state'),
    log: section({ level: withDefault(oneOf('error', 'warn', 'info', 'debug'), 'info') }),
  },
  'the configuration file',
);

/** `baseDir` anchors the relative paths in the file (stateDir, tls files, zigbee files). */
function configSchema(baseDir: string): Schema<GatewayConfig> {
  return refine(configFile, (raw, _path, issues) => finish(raw, baseDir, issues));
}

// ──────────────────── step 3: derived defaults, rules across keys ────────────────────

type RawConfig = Infer<typeof configFile>;
type RawRadio = Infer<typeof radio>;
type NamedRadio = RawRadio & { name: string };

/** Names default to the type and the list index (udp0, serial1...), must be unique, and devices are not shared. */
function nameRadios(radios: RawRadio[], path: Path, issues: Issues): Parsed<NamedRadio[]> {
  const before = issues.list.length;
  const named = radios.map((r, index): NamedRadio => ({ ...r, name: r.name ?? `${r.type}${index}` }));
  const byDefault = (index: number) => (radios[index].name === undefined ? ' by default' : '');
  const claimed = new Map<string, number>();
  /** Reports `index` if an earlier radio already claimed the same thing. */
  const claim = (what: string, index: number, field: string, message: (earlier: number) => string): void => {
    const earlier = claimed.get(what);
    if (earlier === undefined) claimed.set(what, index);
    else issues.report([...path, index, field], message(earlier));
  };
  named.forEach((r, index) => {
    claim(`name ${r.name}`, index, 'name', (earlier) =>
      `duplicate radio name "${r.name}"${byDefault(index)}; radios[${earlier}] is already called that${byDefault(earlier)}`);
    if (r.type === 'udp') claim(`udp ${r.host}:${r.port}`, index, 'port', (earlier) => `${r.host}:${r.port} is already bound by radios[${earlier}]`);
    else claim(`device ${r.path}`, index, 'path', (earlier) => `${r.path} is already opened by radios[${earlier}]`);
  });
  return issues.list.length === before ? named : INVALID;
}

function finish(raw: RawConfig, baseDir: string, issues: Issues): Parsed<GatewayConfig> {
  const before = issues.list.length;
  const stateDir = resolve(baseDir, raw.stateDir);
  const broker = finishBroker(raw.broker, raw.gateway.id, baseDir, issues);
  const radios = finishRadios(raw.radios, stateDir, baseDir, issues);
  checkClientIds(raw.topics, raw.gateway.maxClientIdLength, issues);
  if (issues.list.length !== before) return INVALID;
  return { gateway: raw.gateway, broker, radios, topics: raw.topics, stateDir, log: raw.log };
}

function finishBroker(raw: Infer<typeof brokerSection>, gatewayId: number, baseDir: string, issues: Issues): BrokerSection {
  if (raw.reconnectMin > raw.reconnectMax) {
    issues.report(['broker', 'reconnectMax'], `must be >= broker.reconnectMin (${raw.reconnectMin})`);
  }
  let tls: TlsConfig | undefined;
  if (raw.tls) {
    const { ca, cert, key, rejectUnauthorized } = raw.tls;
    if (cert !== undefined && key === undefined) issues.report(['broker', 'tls', 'key'], 'required when broker.tls.cert is set');
    if (key !== undefined && cert === undefined) issues.report(['broker', 'tls', 'cert'], 'required when broker.tls.key is set');
    tls = { rejectUnauthorized };
    if (ca !== undefined) tls.ca = resolve(baseDir, ca);
    if (cert !== undefined) tls.cert = resolve(baseDir, cert);
    if (key !== undefined) tls.key = resolve(baseDir, key);
  }
  return { ...raw, clientId: raw.clientId ?? `mqttsn-gw-${gatewayId}`, ...(tls && { tls }) };
}

/**
 * Zigbee files live in stateDir unless given; a given relative path is relative to the config file.
 * One zigbee radio per gateway: zigbee-herdsman keeps its device cache and database handle process-wide.
 */
function finishRadios(radios: NamedRadio[], stateDir: string, baseDir: string, issues: Issues): RadioConfig[] {
  let firstZigbee: number | undefined;
  return radios.map((r, index): RadioConfig => {
    if (r.type === 'udp') return { ...r, broadcastPort: r.broadcastPort ?? r.port };
    if (r.type !== 'zigbee') return r;
    if (firstZigbee === undefined) firstZigbee = index;
    else issues.report(['radios', index, 'type'], `only one zigbee radio per gateway (radios[${firstZigbee}] is one): zigbee-herdsman keeps process-wide state; run a second gateway for a second coordinator`);
    return {
      ...r,
      databasePath: r.databasePath === undefined ? join(stateDir, 'zigbee.db') : resolve(baseDir, r.databasePath),
      backupPath: r.backupPath === undefined ? join(stateDir, 'zigbee-backup.json') : resolve(baseDir, r.backupPath),
    };
  });
}

function checkClientIds(topics: TopicsSection, maxLength: number, issues: Issues): void {
  for (const clientId of topics.clients.keys()) {
    if (clientId.length > maxLength) {
      issues.report(['topics', 'clients', clientId], `ClientId is ${clientId.length} characters, longer than gateway.maxClientIdLength (${maxLength})`, 'key');
    }
  }
}
