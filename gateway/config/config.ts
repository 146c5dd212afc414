/**
 * Loads gateway.yaml into a GatewayConfig (gateway/config-types.ts) with every default filled in.
 *
 * Three steps, kept apart so each can be replaced on its own (a schema library later, a reload on SIGHUP):
 *  1. read: YAML text → plain value, plus an index from each key path to its line:column;
 *  2. check: the declarative schema below, built from config-schema.ts, validates the value and fills static defaults;
 *  3. finish: defaults that depend on other keys, rules that span keys, paths resolved against the file.
 * Every problem found is collected and thrown at once as one ConfigError.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type {
  BrokerSection,
  ClientCredentials,
  GatewayConfig,
  RadioConfig,
  TlsConfig,
  TopicsSection,
} from './config-types.js';
import type { ZigbeeRadioConfig } from '../../radios/zigbee.js';
import { isValidTopicFilter } from '../core/topics.js';
import {
  INVALID,
  type Infer,
  Issues,
  type KeySchema,
  type Parsed,
  type Path,
  type Position,
  type RawIssue,
  type Schema,
  bytes,
  duration,
  flag,
  formatPath,
  hex,
  host,
  integer,
  list,
  mapOf,
  number,
  object,
  oneOf,
  optional,
  orFalse,
  refine,
  section,
  tagged,
  text,
  withDefault,
} from './config-schema.js';
import { PLACEHOLDERS, unknownPlaceholders } from '../core/topic-template.js';

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

/**
 * A predefined topic is what a client publishes to by id: one concrete MQTT topic name, or a template
 * (`sensors/{clientId}/temperature`) that becomes one per client.
 */
const topicName = refine(text(), (name, path, issues) => {
  if (/[+#]/.test(name)) {
    return issues.report(path, `a predefined topic must be a concrete name, without the wildcards '+' or '#' (got ${JSON.stringify(name)})`);
  }
  const unknown = unknownPlaceholders(name);
  if (unknown.length > 0) {
    const known = PLACEHOLDERS.map((p) => `{${p}}`).join(' and ');
    return issues.report(path, `unknown placeholder ${unknown.map((p) => `{${p}}`).join(', ')}: a topic template may use ${known} (got ${JSON.stringify(name)})`);
  }
  if (name.includes('\u0000')) return issues.report(path, 'a topic name must not contain the NUL character');
  if (Buffer.byteLength(name, 'utf8') > 65535) return issues.report(path, 'a topic name must fit in 65535 bytes of UTF-8');
  return name;
});

/** A topic prefix for the status topics: no wildcards; a missing trailing '/' is added. */
const statusPrefix = refine(text(), (prefix, path, issues) => {
  if (/[+#\u0000]/.test(prefix)) return issues.report(path, `must be a topic prefix without '+', '#' or NUL (got ${JSON.stringify(prefix)})`);
  return prefix.endsWith('/') ? prefix : prefix + '/';
});

const clientIdKey: KeySchema<string> = (key, path, issues) => (key === '' ? issues.report(path, 'a ClientId must not be empty', 'key') : key);

const predefinedTopics = withDefault(mapOf('topic id', topicId, topicName), {});

const radioName = refine(text(), (name, path, issues) =>
  /^[A-Za-z0-9_.-]+$/.test(name) ? name : issues.report(path, `must use only letters, digits, '_', '.' and '-' (got ${JSON.stringify(name)})`),
);

/** A multicast group address: 224.0.0.0/4 for IPv4, ff00::/8 for IPv6. */
const multicastGroup = refine(text(), (group, path, issues) => {
  const family = isIP(group);
  const multicast = family === 4 ? Number(group.split('.')[0]) >= 224 && Number(group.split('.')[0]) <= 239 : family === 6 && /^ff/i.test(group);
  return multicast ? group : issues.report(path, `must be a multicast group address, 224.0.0.0 to 239.255.255.255 or ff00::/8 (got ${JSON.stringify(group)})`);
});

const ipAddress = refine(text(), (address, path, issues) =>
  isIP(address) !== 0 ? address : issues.report(path, `must be the IP address of a local interface (got ${JSON.stringify(address)})`));

/** Paho's MQTT-SN clients search and listen on 225.1.1.1:1883 unless their firmware says otherwise. */
const udpMulticast = object(
  {
    group: withDefault(multicastGroup, '225.1.1.1'),
    port: withDefault(port, 1883),
    ttl: withDefault(integer(0, 255), 1),
    interface: optional(ipAddress),
  },
  'udp multicast',
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
    multicast: optional(udpMulticast),
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
    interByteGapMs: withDefault(duration({ unit: 'ms', min: 1, max: 60_000, integer: true }), 100),
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
    permitJoin: withDefault(duration({ unit: 's', min: 0, max: 254, integer: true }), 0),
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

const brokerMode = oneOf('aggregating', 'transparent');

const gatewaySection = section({
  id: withDefault(integer(0, 255), 1),
  advertiseInterval: withDefault(duration({ unit: 's', min: 0, max: 65535, integer: true }), 900),
  keepAliveGrace: withDefault(number({ min: 1 }), 1.5),
  retry: section({
    interval: withDefault(duration({ unit: 's', min: 0, above: true }), 10),
    count: withDefault(integer(0), 3),
  }),
  maxClients: withDefault(integer(1), 10000),
  sleepBuffer: withDefault(integer(0), 100),
  maxClientIdLength: withDefault(integer(1, 65535), 23),
  maxOutgoingQueue: withDefault(integer(1), 10000),
  maxInflightPerClient: withDefault(integer(1, 65535), 1),
  sessionExpiry: withDefault(duration({ unit: 's', min: 0, integer: true }), 7 * 24 * 3600),
});

const brokerSection = section({
  url: optional(brokerUrl),
  mode: withDefault(brokerMode, 'aggregating'),
  clientId: optional(text()),
  clientIdPrefix: withDefault(text({ allowEmpty: true }), ''),
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
  keepalive: withDefault(duration({ unit: 's', min: 0, max: 65535, integer: true }), 60),
  reconnectMin: withDefault(duration({ unit: 's', min: 0, above: true }), 1),
  reconnectMax: withDefault(duration({ unit: 's', min: 0, above: true }), 30),
  embedded: section({
    host: withDefault(host(), '127.0.0.1'),
    port: withDefault(port, 1883),
  }),
});

const topicsSection = section({
  predefined: predefinedTopics,
  clients: withDefault(mapOf('ClientId', clientIdKey, object({ predefined: predefinedTopics }, 'a client')), {}),
});

/** A topic filter in an access rule; `{clientId}` may stand for a whole level or part of one. */
const ruleFilter = refine(text(), (filter, path, issues) => {
  const concrete = filter.replaceAll('{clientId}', 'x');
  if (/\{\w*\}/.test(concrete)) return issues.report(path, `only {clientId} may be templated (got ${JSON.stringify(filter)})`);
  return isValidTopicFilter(concrete) ? filter : issues.report(path, `must be an MQTT topic filter: '+' and '#' alone in their level, '#' last (got ${JSON.stringify(filter)})`);
});

const accessRule = object(
  {
    clientId: text(),
    from: optional(list(text(), 1)),
    publish: optional(list(ruleFilter)),
    subscribe: optional(list(ruleFilter)),
  },
  'an access rule',
);

const accessSection = section({
  rules: withDefault(list(accessRule), []),
  anonymous: optional(
    object({
      from: optional(list(text(), 1)),
      publish: optional(list(refine(ruleFilter, (f, path, issues) => (f.includes('{clientId}') ? issues.report(path, 'a sender that never connected has no ClientId: {clientId} means nothing here') : f)))),
    }, 'anonymous senders'),
  ),
});

const clientsSection = withDefault(
  mapOf('ClientId', clientIdKey, object({
    username: optional(text({ allowEmpty: true })),
    password: optional(text({ allowEmpty: true })),
    cert: optional(text()),
    key: optional(text()),
  }, 'a client')),
  {},
);

const limitsSection = section({
  frameRate: withDefault(number({ min: 0 }), 2000),
  frameBurst: withDefault(integer(1), 4000),
  maxConnecting: withDefault(integer(1), 1000),
  maxTopicIdsPerClient: withDefault(integer(1, 65534), 1000),
  maxSubscriptionsPerClient: withDefault(integer(1), 100),
});

/** Localhost only, like Mosquitto 2: one UDP radio on 127.0.0.1:10000 unless the file lists radios. */
const radiosList = refine(withDefault(list(radio, 1), [{ type: 'udp' }]), nameRadios);

const configFile = section(
  {
    gateway: gatewaySection,
    broker: brokerSection,
    radios: radiosList,
    topics: topicsSection,
    access: accessSection,
    limits: limitsSection,
    clients: clientsSection,
    stateDir: withDefault(text(), './state'),
    persistence: withDefault(flag(), true),
    fsyncInterval: withDefault(duration({ unit: 's', min: 0 }), 1),
    log: section({
      level: withDefault(oneOf('error', 'warn', 'info', 'debug'), 'info'),
      format: withDefault(oneOf('text', 'json'), 'text'),
    }),
    // Loopback only by default, like the radios and the embedded broker: the page shows every sensor.
    http: orFalse(section({ host: withDefault(host(), '127.0.0.1'), port: withDefault(integer(0, 65535), 8080) })),
    status: orFalse(section({ prefix: optional(statusPrefix) })),
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
  const clients = finishClients(raw.clients, baseDir, issues);
  if (issues.list.length !== before) return INVALID;
  const status = raw.status === false ? false : { prefix: raw.status.prefix ?? `mqtt-sn/${raw.gateway.id}/` };
  return {
    gateway: raw.gateway, broker, radios, topics: raw.topics, access: raw.access, limits: raw.limits, clients, stateDir,
    persistence: raw.persistence, fsyncInterval: raw.fsyncInterval, log: raw.log, http: raw.http, status,
  };
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
function finishClients(clients: Infer<typeof clientsSection>, baseDir: string, issues: Issues): Map<string, ClientCredentials> {
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
