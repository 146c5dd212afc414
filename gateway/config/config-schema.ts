/**
 * The schema of gateway.yaml, written once with TypeBox: its values are plain JSON Schema (draft-07), and
 * `Static<typeof configFileSchema>` is the file after the schema's defaults are filled in.
 *
 * Nothing here runs in the daemon: `npm run schema` (scripts/generate-config-schema.ts) turns it into
 * gateway.schema.json for editors and into a precompiled Ajv validator (config-validator.generated.mjs),
 * so start-up loads neither TypeBox nor Ajv's compiler.
 *
 * JSON Schema says what it can: types, ranges, enums, required and unknown keys, patterns. A few extra
 * keywords (ANNOTATION_KEYWORDS) tell gateway/config/config-validation.ts what it cannot: the unit of a duration, the
 * key of a mapping, a named check that follows the schema pass (`check`), the noun in unknown-key messages.
 * Editors ignore them.
 */
import Type, { type Static, type TSchema } from 'typebox';
import type { SerialRadioConfig } from '../../radios/serial.js';
import type { UdpRadioConfig } from '../../radios/udp.js';
import type { XBeeRadioConfig } from '../../radios/xbee.js';
import type { ZigbeeRadioConfig } from '../../radios/zigbee.js';
import type {
  AccessSection,
  BrokerSection,
  ClientCredentials,
  GatewayConfig,
  GatewaySection,
  HttpSection,
  LimitsSection,
  LogSection,
  StatusSection,
  TopicsSection,
} from './config-types.js';

/** The extra keywords this schema uses besides JSON Schema's (the validator is told they are annotations). */
export const ANNOTATION_KEYWORDS = ['duration', 'bytes', 'mapKey', 'noun', 'check', 'display'] as const;

/** `duration`: a number in `unit`, or a string with a unit; bounds in `unit`. */
export interface DurationRule { unit: 's' | 'ms'; min: number; max?: number; above?: boolean; integer?: boolean }

/** `check`: value-dependent checks run after the schema pass (gateway/config/config-checks.ts). */
export type CheckName =
  | 'host' | 'radioName' | 'ipAddress' | 'multicastGroup' | 'brokerUrl' | 'topicName' | 'statusPrefix' | 'ruleFilter' | 'anonymousFilter';

/** `mapKey`: a mapping with free-form keys, read into a Map. */
export type MapKey = 'topic id' | 'ClientId';

/** A number with a unit: 250ms, 30s, 15m, 2h, 1d; config-validation.ts reads the two groups into the key's own unit. */
export const DURATION_PATTERN = '^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d)\\s*$';

// ─────────────────────────── building blocks ───────────────────────────

type Options = { description: string; default?: unknown };

/**
 * A mapping with exactly these keys. A key with a `default` is left out of JSON Schema's `required` but
 * stays required in the static type: after defaults are filled it is always there.
 */
function object<P extends Record<string, TSchema>>(properties: P, options: { description?: string; noun?: string; title?: string; default?: unknown } = {}) {
  const schema = Type.Object(properties, { additionalProperties: false, ...options });
  const withDefault = new Set(Object.entries(properties).filter(([, p]) => (p as { default?: unknown }).default !== undefined).map(([k]) => k));
  const required = ((schema.required ?? []) as string[]).filter((key) => !withDefault.has(key));
  if (required.length > 0) (schema as { required: string[] }).required = required;
  else delete (schema as { required?: string[] }).required;
  return schema;
}

/** A whole section (gateway:, broker:...): absent or empty means every default. */
function section<P extends Record<string, TSchema>>(description: string, properties: P, noun?: string) {
  return object(properties, { description, default: {}, ...(noun && { noun }) });
}

const integer = (min: number, max: number | undefined, options: Options & { display?: 'hex' }) =>
  Type.Integer({ minimum: min, ...(max !== undefined && { maximum: max }), ...options });

const port = (options: Options) => integer(1, 65535, options);

/** Smallest MQTT-SN frame is 2 octets (Length, MsgType); the 3-octet length form reaches 65535. */
const frameSize = (options: Options) => integer(2, 65535, options);

const text = (options: Options & { allowEmpty?: boolean; pattern?: string; check?: CheckName }) => {
  const { allowEmpty, ...rest } = options;
  return Type.String({ ...(!allowEmpty && { minLength: 1 }), ...rest });
};

const flag = (options: Options) => Type.Boolean(options);

const oneOf = <const T extends readonly (string | number)[]>(values: T, options: Options) => Type.Unsafe<T[number]>({ enum: [...values], ...options });

/** A number of seconds (or ms) or a number with a unit; read into the unit by config-validation.ts. */
function duration(rule: DurationRule, options: Options) {
  const { min, max, above = false, integer = false } = rule;
  return Type.Unsafe<number>({
    type: [integer ? 'integer' : 'number', 'string'],
    ...(above ? { exclusiveMinimum: min } : { minimum: min }),
    ...(max !== undefined && { maximum: max }),
    pattern: DURATION_PATTERN,
    duration: rule,
    ...options,
  });
}

/** `length` bytes: a list of integers 0..255, or a string of hex digits ("0x...", "dd:dd:..."). */
function bytes(length: number, options: Options) {
  return Type.Unsafe<number[]>({
    type: ['array', 'string'],
    minItems: length,
    maxItems: length,
    items: { type: 'integer', minimum: 0, maximum: 255 },
    pattern: `^(0[xX])?[-:\\s]*([0-9a-fA-F][-:\\s]*){${length * 2}}$`,
    bytes: length,
    ...options,
  });
}

/** A mapping of free-form keys to values of one kind, read into a Map (keys checked after the schema pass). */
function mapOf<K, V extends TSchema>(mapKey: MapKey, keys: { pattern: string; description: string }, value: V, options: Options) {
  return Type.Unsafe<Map<K, Static<V>>>({ type: 'object', propertyNames: keys, additionalProperties: value, mapKey, ...options });
}

/** `false` turns a feature off; a mapping (or nothing) configures it. */
function orFalse<S extends TSchema>(schema: S) {
  return Type.Unsafe<Static<S> | false>({ ...schema, type: ['object', 'boolean'], not: { const: true } });
}

const host = (options: Options) => text({ ...options, pattern: '^[A-Za-z0-9.:%_-]+$', check: 'host' });

// ─────────────────────────── topics ───────────────────────────

/** §5.3.11 TopicId: 0x0000 and 0xFFFF are reserved, so predefined ids are 1..65534 (range checked by config-validation.ts). */
const topicIdKeys = { pattern: '^([+]?[0-9]+|0[xX][0-9a-fA-F]+)$', description: 'A predefined topic id, 1..65534 (decimal or 0x hex).' };
const clientIdKeys = { pattern: '^.+$', description: 'A ClientId (exact).' };

const predefinedTopics = (description: string) =>
  mapOf<number, ReturnType<typeof topicName>>('topic id', topicIdKeys, topicName(), { description, default: {} });

/**
 * A predefined topic is what a client publishes to by id: one concrete MQTT topic name, or a template
 * (`sensors/{clientId}/temperature`) that becomes one per client.
 */
function topicName() {
  return text({
    description: 'A concrete MQTT topic name (no + or #), or a template with {clientId} and {address}.',
    pattern: '^[^+#\\u0000]*$',
    check: 'topicName',
  });
}

const topicsSection = section('Predefined topic ids (§6.7): a client publishes and subscribes by id without REGISTER. Reloadable.', {
  predefined: predefinedTopics('Topic ids known to every client: id (1..65534) → topic name or template.'),
  clients: mapOf<string, ReturnType<typeof clientTopics>>('ClientId', clientIdKeys, clientTopics(), {
    description: 'Per-client predefined ids, by ClientId; they override a global id with the same number for that client.',
    default: {},
  }),
});

function clientTopics() {
  return object({ predefined: predefinedTopics('Topic ids only this client knows: id → topic name or template.') }, { noun: 'a client', description: 'One client\'s own predefined topic ids.' });
}

// ─────────────────────────── radios ───────────────────────────

const radioName = () => text({
  description: 'Names the radio in logs, metrics and access rules; unique. Default: <type><index> (udp0, serial1...).',
  pattern: '^[A-Za-z0-9_.-]+$',
  check: 'radioName',
});

/** Paho's MQTT-SN clients search and listen on 225.1.1.1:1883 unless their firmware says otherwise. */
const udpMulticast = object(
  {
    group: text({
      description: 'Multicast group: 224.0.0.0..239.255.255.255, or ff00::/8 for an IPv6 radio.',
      default: '225.1.1.1',
      pattern: '^(22[4-9]|23[0-9])\\.|^[fF][fF][0-9a-fA-F]{0,2}:',
      check: 'multicastGroup',
    }),
    port: port({ description: 'UDP port of the multicast group.', default: 1883 }),
    ttl: integer(0, 255, { description: 'Hops multicast frames may travel, 0..255; 1 stays on the local network.', default: 1 }),
    interface: Type.Optional(text({ description: 'IP address of the local interface to join on and send from. Default: the radio\'s host, when that is a specific address.', check: 'ipAddress' })),
  },
  { noun: 'udp multicast', description: 'Multicast discovery as Paho\'s MQTT-SN clients do it: the radio joins the group, hears SEARCHGW there and sends ADVERTISE/GWINFO there too. `{}` takes every default.' },
);

const udpRadio = object(
  {
    type: Type.Literal('udp', { description: 'MQTT-SN over UDP datagrams.' }),
    name: Type.Optional(radioName()),
    host: host({ description: 'Address to bind: 127.0.0.1 serves this machine only; 0.0.0.0 every IPv4 interface; :: IPv6 too.', default: '127.0.0.1' }),
    port: port({ description: 'UDP port sensors send to.', default: 10000 }),
    broadcastAddress: host({ description: 'Where ADVERTISE and GWINFO broadcasts go, e.g. the LAN\'s broadcast address 192.168.1.255.', default: '127.255.255.255' }),
    broadcastPort: Type.Optional(port({ description: 'Port the broadcasts go to. Default: the same as port.' })),
    receiveBufferSize: integer(0, 256 * 1024 * 1024, { description: 'Kernel receive buffer asked for, in bytes; 0 = the kernel\'s default. Linux caps it at net.core.rmem_max.', default: 4 * 1024 * 1024 }),
    multicast: Type.Optional(udpMulticast),
  },
  { noun: 'a udp radio', title: 'UDP radio', description: 'Sensors on UDP (Wi-Fi, Ethernet, Thread border routers).' },
);

const serialRadio = object(
  {
    type: Type.Literal('serial', { description: 'MQTT-SN frames on a serial line or USB.' }),
    name: Type.Optional(radioName()),
    path: text({ description: 'Serial device, e.g. /dev/ttyACM0. Required.' }),
    baudRate: integer(1, undefined, { description: 'Line speed, bits/s.', default: 115200 }),
    framing: oneOf(['slip', 'raw'], { description: 'slip (RFC 1055), or raw: bare MQTT-SN frames back to back.', default: 'slip' }),
    interByteGapMs: duration({ unit: 'ms', min: 1, max: 60_000, integer: true }, { description: 'Raw framing: a pause this long starts a new frame; milliseconds (or e.g. 0.1s), 1..60000.', default: 100 }),
    maxFrameSize: frameSize({ description: 'Largest frame the line carries, octets, 2..65535.', default: 255 }),
  },
  { noun: 'a serial radio', title: 'Serial radio', description: 'A sensor on a serial line (Arduino, nRF/ESP boards, mqtt-sn-serial-bridge).' },
);

const xbeeRadio = object(
  {
    type: Type.Literal('xbee', { description: 'An XBee module in API mode as coordinator.' }),
    name: Type.Optional(radioName()),
    path: text({ description: 'Serial device of the XBee, e.g. /dev/ttyUSB0. Required.' }),
    baudRate: integer(1, undefined, { description: 'Line speed, bits/s.', default: 9600 }),
    apiMode: oneOf([1, 2], { description: 'XBee API mode: 1, or 2 (escaped).', default: 2 }),
    maxFrameSize: frameSize({ description: 'Largest frame, octets: 84 is an XBee 3 Zigbee unicast payload, 66 with encryption.', default: 84 }),
  },
  { noun: 'an xbee radio', title: 'XBee radio', description: 'Sensors keyed by their 64-bit XBee address.' },
);

const zigbeeRadio = object(
  {
    type: Type.Literal('zigbee', { description: 'A Zigbee coordinator dongle driven by zigbee-herdsman.' }),
    name: Type.Optional(radioName()),
    adapter: oneOf(['zstack', 'ember', 'deconz', 'zigate', 'zboss', 'ezsp'], { description: 'The coordinator\'s firmware family. Required.' }),
    path: text({ description: 'Serial device of the coordinator, or tcp://host:port for a network-attached one. Required.' }),
    baudRate: Type.Optional(integer(1, undefined, { description: 'Line speed, bits/s. Default: the adapter\'s own.' })),
    rtscts: Type.Optional(flag({ description: 'Hardware flow control. Default: the adapter\'s own.' })),
    panId: integer(0, 0xfffe, { description: 'PAN id, 0x0000..0xFFFE.', default: 0x1a62, display: 'hex' }),
    extendedPanId: Type.Optional(bytes(8, { description: 'Extended PAN id: 8 bytes, a list or hex digits ("dd:dd:dd:dd:dd:dd:dd:dd"). Default: the adapter\'s own.' })),
    channel: integer(11, 26, { description: 'Radio channel, 11..26.', default: 11 }),
    networkKey: Type.Optional(bytes(16, { description: '16 bytes, a list or 32 hex digits. Default (best left so): generated once and kept in stateDir.' })),
    permitJoin: duration({ unit: 's', min: 0, max: 254, integer: true }, { description: 'Seconds to let devices join at start-up, 0..254; 0 = closed.', default: 0 }),
    databasePath: Type.Optional(text({ description: 'zigbee-herdsman\'s database file, relative to this file. Default: <stateDir>/zigbee.db.' })),
    backupPath: Type.Optional(text({ description: 'Coordinator backup file, relative to this file. Default: <stateDir>/zigbee-backup.json.' })),
    clusterId: integer(0xfc00, 0xffff, { description: 'Manufacturer-specific cluster carrying MQTT-SN frames, 0xFC00..0xFFFF; the sensors\' firmware must match.', default: 0xfc00, display: 'hex' }),
    manufacturerCode: integer(0, 0xffff, { description: 'Manufacturer code sent with the cluster; 0xFFF1 is the CSA test vendor code.', default: 0xfff1, display: 'hex' }),
    endpoint: integer(1, 240, { description: 'Sensor endpoint to send to before it has spoken or listed the cluster, 1..240.', default: 1 }),
    maxFrameSize: frameSize({ description: 'Largest frame, octets; §7.4: 60 on ZigBee.', default: 60 }),
  },
  { noun: 'a zigbee radio', title: 'Zigbee radio', description: 'Sensors keyed by their IEEE address; one zigbee radio per gateway.' },
);

const RADIO_TYPES = ['udp', 'serial', 'xbee', 'zigbee'] as const;

/** A radio is picked by its `type`; only that type's keys are known. */
const radio = Type.Unsafe<Static<typeof udpRadio> | Static<typeof serialRadio> | Static<typeof xbeeRadio> | Static<typeof zigbeeRadio>>({
  type: 'object',
  description: 'One radio; `type` picks which keys it takes.',
  required: ['type'],
  properties: { type: { enum: [...RADIO_TYPES], description: 'udp, serial, xbee or zigbee.' } },
  discriminator: { propertyName: 'type' },
  oneOf: [udpRadio, serialRadio, xbeeRadio, zigbeeRadio],
});

// ─────────────────────────── the other sections ───────────────────────────

const gatewaySection = section('The MQTT-SN side: identity, timers and limits.', {
  id: integer(0, 255, { description: 'GwId in ADVERTISE and GWINFO (§5.4.2), 0..255; give each gateway on one network its own.', default: 1 }),
  advertiseInterval: duration({ unit: 's', min: 0, max: 65535, integer: true }, { description: 'Seconds between ADVERTISE broadcasts (§6.1 T_ADV), 0..65535 (or e.g. 15m); 0 turns advertising off.', default: 900 }),
  keepAliveGrace: Type.Number({ minimum: 1, description: 'A client silent for its keep-alive Duration × this is lost (§6.11); >= 1.', default: 1.5 }),
  retry: section('Retransmission of messages to clients that expect a reply (§6.13).', {
    interval: duration({ unit: 's', min: 0, above: true }, { description: 'Seconds before a message is sent again (T_RETRY); > 0.', default: 10 }),
    count: integer(0, undefined, { description: 'Resends before the client counts as lost (N_RETRY); >= 0.', default: 3 }),
  }),
  maxClients: integer(1, undefined, { description: 'Connected clients at most; one more CONNECT is answered CONNACK "rejected: congestion".', default: 10000 }),
  sleepBuffer: integer(0, undefined, { description: 'Messages from the broker kept for each sleeping client until it wakes (§6.14).', default: 100 }),
  maxClientIdLength: integer(1, 65535, { description: 'Longest ClientId accepted, 1..65535; the spec says 23.', default: 23 }),
  maxOutgoingQueue: integer(1, undefined, { description: 'QoS 1/2 messages from clients held while the broker is away or slow; past it, PUBACK "rejected: congestion".', default: 10000 }),
  maxInflightPerClient: integer(1, 65535, { description: 'QoS 1/2 messages in flight from the gateway to one client at once, 1..65535.', default: 1 }),
  sessionExpiry: duration({ unit: 's', min: 0, integer: true }, { description: 'Seconds a CleanSession=0 session is kept after its client was lost or left (or e.g. 7d); 0 = forever.', default: 7 * 24 * 3600 }),
});

const brokerSection = section('The MQTT broker the gateway bridges to; without url, an embedded one.', {
  url: Type.Optional(text({
    description: 'The broker\'s URL: mqtt://, mqtts://, ws://, wss://, tcp:// or ssl://. Default: none, so the embedded broker runs.',
    pattern: '^(mqtts?|wss?|tcp|ssl)://',
    check: 'brokerUrl',
  })),
  mode: oneOf(['aggregating', 'transparent'], { description: 'aggregating: one broker connection for all sensors (§4); transparent: each sensor is its own client at the broker.', default: 'aggregating' }),
  clientId: Type.Optional(text({ description: 'ClientId of the gateway\'s own broker connection. Default: mqttsn-gw-<gateway.id>.' })),
  clientIdPrefix: text({ description: 'Transparent mode: put before each sensor\'s ClientId at the broker.', default: '', allowEmpty: true }),
  username: Type.Optional(text({ description: 'User name at the broker (quote values that look like numbers).', allowEmpty: true })),
  password: Type.Optional(text({ description: 'Password at the broker (quote values that look like numbers).', allowEmpty: true })),
  tls: Type.Optional(object({
    ca: Type.Optional(text({ description: 'CA certificate file, relative to this file. Default: the system\'s CAs.' })),
    cert: Type.Optional(text({ description: 'Client certificate file, relative to this file; needs key.' })),
    key: Type.Optional(text({ description: 'Client key file, relative to this file; needs cert.' })),
    rejectUnauthorized: flag({ description: 'false accepts any server certificate: testing only.', default: true }),
  }, { description: 'TLS for mqtts:// and wss://.' })),
  protocolVersion: oneOf([4, 5], { description: 'MQTT version spoken to the broker: 4 (3.1.1) or 5.', default: 4 }),
  keepalive: duration({ unit: 's', min: 0, max: 65535, integer: true }, { description: 'Keep-alive of the broker connection, seconds, 0..65535.', default: 60 }),
  reconnectMin: duration({ unit: 's', min: 0, above: true }, { description: 'Seconds before reconnecting to a lost broker; the wait doubles up to reconnectMax.', default: 1 }),
  reconnectMax: duration({ unit: 's', min: 0, above: true }, { description: 'Longest wait between reconnection attempts, seconds; >= reconnectMin.', default: 30 }),
  embedded: section('Where the embedded broker listens when there is no url.', {
    host: host({ description: 'Address the embedded broker binds.', default: '127.0.0.1' }),
    port: port({ description: 'Port the embedded broker listens on.', default: 1883 }),
    tcpNoDelay: flag({ description: 'TCP_NODELAY on clients\' connections, so a subscriber\'s small messages are not held up to 40 ms for its acknowledgements (Nagle); false: fewer TCP segments to busy subscribers.', default: true }),
  }),
});

/** A topic filter in an access rule; `{clientId}` may stand for a whole level or part of one. */
const ruleFilters = (description: string, check: CheckName = 'ruleFilter') =>
  Type.Optional(Type.Array(text({ description: 'An MQTT topic filter; {clientId} stands for the client\'s ClientId.', check }), { description }));

const fromPatterns = (description: string) =>
  Type.Optional(Type.Array(text({ description: 'A radio name or an address glob (udp:192.168.1.*, zigbee:*).' }), { minItems: 1, description }));

const accessRule = object(
  {
    clientId: text({ description: 'Exact ClientId or a glob: * any characters, ? one. Required.' }),
    from: fromPatterns('Radio names or address globs the client must connect from. Default: anywhere.'),
    publish: ruleFilters('Topic filters it may publish to. Default: any topic.'),
    subscribe: ruleFilters('Topic filters a SUBSCRIBE must stay within. Default: any.'),
  },
  { noun: 'an access rule', description: 'The first rule whose clientId and from match a connecting client applies to it.' },
);

const accessSection = section('Who may connect and what each client may publish and subscribe to. Reloadable.', {
  rules: Type.Array(accessRule, { description: 'No rules: everyone may do everything. With rules, a client no rule matches is refused.', default: [] }),
  anonymous: Type.Optional(object({
    from: fromPatterns('Radio names or address globs they may send from. Default: anywhere.'),
    publish: ruleFilters('Topic filters they may publish to ({clientId} means nothing here). Default: any topic.', 'anonymousFilter'),
  }, { noun: 'anonymous senders', description: 'QoS -1 publishes (§6.8) from senders that never connected; with rules, refused unless allowed here.' })),
});

const clientsSection = mapOf<string, ReturnType<typeof clientCredentials>>('ClientId', clientIdKeys, clientCredentials(), {
  description: 'Transparent mode: each sensor\'s own broker credentials, by ClientId; keys left out fall back to the broker section\'s.',
  default: {},
});

function clientCredentials() {
  return object({
    username: Type.Optional(text({ description: 'The sensor\'s user name at the broker.', allowEmpty: true })),
    password: Type.Optional(text({ description: 'The sensor\'s password at the broker.', allowEmpty: true })),
    cert: Type.Optional(text({ description: 'Client certificate file for mqtts://, relative to this file; needs key.' })),
    key: Type.Optional(text({ description: 'Client key file, relative to this file; needs cert.' })),
  }, { noun: 'a client', description: 'One sensor\'s broker credentials.' });
}

const limitsSection = section('Flood limits: what one sender or client may cost the gateway.', {
  frameRate: Type.Number({ minimum: 0, description: 'Frames a second one sender address may send (token bucket); 0 = no limit.', default: 2000 }),
  frameBurst: integer(1, undefined, { description: 'Frames one sender may send at once before frameRate applies; >= 1.', default: 4000 }),
  maxConnecting: integer(1, undefined, { description: 'Clients at most in the middle of connecting; beyond: CONNACK "rejected: congestion".', default: 1000 }),
  maxTopicIdsPerClient: integer(1, 65534, { description: 'Topic ids one client may register, 1..65534; beyond: REGACK/SUBACK "rejected: congestion".', default: 1000 }),
  maxSubscriptionsPerClient: integer(1, undefined, { description: 'Subscriptions one client may hold; beyond: SUBACK "rejected: congestion".', default: 100 }),
});

const logSection = section('Logging. Reloadable.', {
  level: oneOf(['error', 'warn', 'info', 'debug'], { description: 'error, warn, info or debug (the daemon\'s -v is debug plus every frame).', default: 'info' }),
  format: oneOf(['text', 'json'], { description: 'text: one line per event; json: one JSON object per line, for journald or Loki.', default: 'text' }),
});

// Loopback only by default, like the radios and the embedded broker: the page shows every sensor.
const httpSection = orFalse(section('The HTTP face: status page at /, /metrics, /healthz, /api. false turns it off. Reloadable.', {
  host: host({ description: 'Address to listen on; 0.0.0.0 reaches it from the LAN.', default: '127.0.0.1' }),
  port: integer(0, 65535, { description: 'TCP port, 0..65535; 0 = any free port.', default: 8080 }),
}));

const statusSection = orFalse(section('Retained status topics on the broker: <prefix>status (online/offline) and <prefix>clients/<ClientId>. false turns them off.', {
  prefix: Type.Optional(text({
    description: 'Topic prefix, without + or #; a trailing / is added. Default: mqtt-sn/<gateway.id>/.',
    pattern: '^[^+#\\u0000]*$',
    check: 'statusPrefix',
  })),
}));

/** The whole file. Localhost only, like Mosquitto 2: one UDP radio on 127.0.0.1:10000 unless the file lists radios. */
export const configFileSchema = object(
  {
    gateway: gatewaySection,
    broker: brokerSection,
    radios: Type.Array(radio, { minItems: 1, description: 'How sensors reach the gateway; names default to <type><index> and must be unique.', default: [{ type: 'udp' }] }),
    topics: topicsSection,
    access: accessSection,
    limits: limitsSection,
    clients: clientsSection,
    stateDir: text({ description: 'Directory for the state the gateway keeps (sessions, Zigbee database, network key), relative to this file.', default: './state' }),
    persistence: flag({ description: 'Keep sessions that outlive their connection in <stateDir>/sessions across restarts; false = memory only.', default: true }),
    fsyncInterval: duration({ unit: 's', min: 0 }, { description: 'Seconds between fsyncs of the session store; 0 = before every acknowledgement.', default: 1 }),
    log: logSection,
    http: httpSection,
    status: statusSection,
  },
  { noun: 'the configuration file', title: 'mqtt-sn-gateway configuration (gateway.yaml)' },
);

/** gateway.yaml after the schema pass: defaults filled, durations in their unit, bytes as lists, mappings as Maps. */
export type SchemaConfig = Static<typeof configFileSchema>;
export type SchemaRadio = Static<typeof radio>;

// ─────────── compile-time agreement with the types the rest of the gateway uses (config-types.ts) ───────────

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type RadioOf<T extends string> = Extract<SchemaRadio, { type: T }> & { name: string };

/**
 * Each must be `true`: a key or a type changed on one side only fails the typecheck here. The finished
 * types add what config.ts derives after the schema pass (radio names, broadcastPort, zigbee files,
 * broker.clientId, the status prefix).
 */
export const schemaMatchesTypes: {
  sections: Same<keyof SchemaConfig, keyof GatewayConfig>;
  gateway: Same<SchemaConfig['gateway'], GatewaySection>;
  broker: Same<Omit<SchemaConfig['broker'], 'clientId'> & { clientId: string }, BrokerSection>;
  topics: Same<SchemaConfig['topics'], TopicsSection>;
  access: Same<SchemaConfig['access'], AccessSection>;
  limits: Same<SchemaConfig['limits'], LimitsSection>;
  clients: Same<SchemaConfig['clients'], Map<string, ClientCredentials>>;
  log: Same<SchemaConfig['log'], LogSection>;
  http: Same<SchemaConfig['http'], HttpSection | false>;
  status: Same<Exclude<SchemaConfig['status'], false> & { prefix: string }, StatusSection>;
  udp: Same<RadioOf<'udp'> & { broadcastPort: number }, UdpRadioConfig>;
  serial: Same<RadioOf<'serial'>, SerialRadioConfig>;
  xbee: Same<RadioOf<'xbee'>, XBeeRadioConfig>;
  zigbee: Same<RadioOf<'zigbee'> & { databasePath: string; backupPath: string }, ZigbeeRadioConfig>;
} = {
  sections: true, gateway: true, broker: true, topics: true, access: true, limits: true, clients: true, log: true, http: true,
  status: true, udp: true, serial: true, xbee: true, zigbee: true,
};
