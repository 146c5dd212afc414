/**
 * Loads gateway.yaml into a GatewayConfig (gateway/config/config-types.ts) with every default filled in.
 *
 * Three steps, kept apart so each can be replaced on its own (a reload on SIGHUP runs all three again):
 *  1. read: YAML text → plain value, plus an index from each key path to its line:column;
 *  2. check: the schema pass (config-validation.ts): gateway.schema.json, precompiled by Ajv, validates the
 *     value and fills the defaults it names; durations, hex bytes and mapping keys are read; named checks run;
 *  3. finish: defaults that depend on other keys, rules that span keys, paths resolved against the file.
 * Every problem found is collected and thrown at once as one ConfigError.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type { BrokerSection, ClientCredentials, GatewayConfig, RadioConfig, TlsConfig, TopicsSection } from './config-types.js';
import type { SchemaConfig, SchemaRadio } from './config-schema.js';
import { formatPath, Issues, type Path, type Position, type RawIssue } from './config-issues.js';
import { validateConfig } from './config-validation.js';

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
  const checked = read.readable ? validateConfig(read.value, issues) : undefined;
  const config = checked && finish(checked, dirname(resolve(source)), issues);
  if (!config || issues.list.length > 0) {
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

// ───────────────────── step 1: YAML → value + positions ─────────────────────

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

// ──────────────────── step 3: derived defaults, rules across keys ────────────────────

type NamedRadio = SchemaRadio & { name: string };

/** Names default to the type and the list index (udp0, serial1...), must be unique, and devices are not shared. */
function nameRadios(radios: SchemaRadio[], issues: Issues): NamedRadio[] {
  const path = ['radios'];
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
  return named;
}

function finish(raw: SchemaConfig, baseDir: string, issues: Issues): GatewayConfig | undefined {
  const before = issues.list.length;
  const stateDir = resolve(baseDir, raw.stateDir);
  const broker = finishBroker(raw.broker, raw.gateway.id, baseDir, issues);
  const radios = finishRadios(nameRadios(raw.radios, issues), stateDir, baseDir, issues);
  checkClientIds(raw.topics, raw.gateway.maxClientIdLength, issues);
  const clients = finishClients(raw.clients, baseDir, issues);
  if (issues.list.length !== before) return undefined;
  const status = raw.status === false ? false : { prefix: raw.status.prefix ?? `mqtt-sn/${raw.gateway.id}/` };
  return {
    gateway: raw.gateway, broker, radios, topics: raw.topics, access: raw.access, limits: raw.limits, clients, stateDir,
    persistence: raw.persistence, fsyncInterval: raw.fsyncInterval, log: raw.log, http: raw.http, status,
  };
}

function finishBroker(raw: SchemaConfig['broker'], gatewayId: number, baseDir: string, issues: Issues): BrokerSection {
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
    if (r.type === 'udp') {
      if (r.multicast && (isIP(r.multicast.group) === 6) !== isIPv6Host(r.host)) {
        issues.report(['radios', index, 'multicast', 'group'], `must be of the same IP version as host ${r.host}`);
      }
      return { ...r, broadcastPort: r.broadcastPort ?? r.port };
    }
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

/** Per-sensor certificates come in pairs; their paths are relative to the config file. */
function finishClients(clients: SchemaConfig['clients'], baseDir: string, issues: Issues): Map<string, ClientCredentials> {
  const out = new Map<string, ClientCredentials>();
  for (const [clientId, c] of clients) {
    if (c.cert !== undefined && c.key === undefined) issues.report(['clients', clientId, 'key'], `required when clients.${clientId}.cert is set`);
    if (c.key !== undefined && c.cert === undefined) issues.report(['clients', clientId, 'cert'], `required when clients.${clientId}.key is set`);
    out.set(clientId, {
      ...c,
      ...(c.cert !== undefined && { cert: resolve(baseDir, c.cert) }),
      ...(c.key !== undefined && { key: resolve(baseDir, c.key) }),
    });
  }
  return out;
}

function checkClientIds(topics: TopicsSection, maxLength: number, issues: Issues): void {
  for (const clientId of topics.clients.keys()) {
    if (clientId.length > maxLength) {
      issues.report(['topics', 'clients', clientId], `ClientId is ${clientId.length} characters, longer than gateway.maxClientIdLength (${maxLength})`, 'key');
    }
  }
}

/** The UDP radio opens an IPv6 socket for an IPv6 host (radios/udp.ts). */
function isIPv6Host(host: string): boolean {
  return isIP(host) === 6;
}
