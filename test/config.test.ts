import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../gateway/config/config.js';
import type { SerialRadioConfig } from '../radios/serial.js';
import type { UdpRadioConfig } from '../radios/udp.js';
import type { XBeeRadioConfig } from '../radios/xbee.js';
import type { ZigbeeRadioConfig } from '../radios/zigbee.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shippedConfig = join(repoRoot, 'gateway.yaml');

/** YAML from lines, so a test can say which line a key is on: lines('a:', '  b: 1') puts b on line 2. */
const lines = (...text: string[]): string => `${text.join('\n')}\n`;

function configError(yaml: string, source = 'gateway.yaml'): ConfigError {
  try {
    parseConfig(yaml, source);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

/** The file is rejected with an issue at `path` on `line`, and the message says so in `file:line:col path: ...` form. */
function expectIssue(yaml: string, path: string, line: number, fragment: string | RegExp): void {
  const error = configError(yaml);
  const issue = error.issues.find((i) => i.path === path);
  expect(issue, `no issue at ${path}; got:\n${error.message}`).toBeDefined();
  expect(issue!.line).toBe(line);
  expect(issue!.message).toMatch(fragment);
  const messageLine = error.message.split('\n').find((l) => l.includes(` ${path}: `));
  expect(messageLine).toMatch(new RegExp(`^gateway\\.yaml:${line}:\\d+ `));
}

const defaults = parseConfig('');

describe('the shipped gateway.yaml', () => {
  const shipped = loadConfig(shippedConfig);

  it('loads, and every value it writes out is the documented default', () => {
    expect({ ...shipped, topics: defaults.topics }).toEqual(defaults);
  });

  it('serves localhost only: one UDP radio on 127.0.0.1:10000 broadcasting to 127.255.255.255', () => {
    expect(shipped.radios).toEqual([
      { type: 'udp', name: 'udp0', host: '127.0.0.1', port: 10000, broadcastAddress: '127.255.255.255', broadcastPort: 10000, receiveBufferSize: 4194304 },
    ]);
  });

  it('has no broker url, so the embedded broker runs on 127.0.0.1:1883, with TCP_NODELAY on its clients\' connections', () => {
    expect(shipped.broker.url).toBeUndefined();
    expect(shipped.broker.embedded).toEqual({ host: '127.0.0.1', port: 1883, tcpNoDelay: true });
    expect(shipped.broker).toMatchObject({ mode: 'aggregating', clientId: 'mqttsn-gw-1', protocolVersion: 4, keepalive: 60 });
  });

  it('§6.7 ships example predefined topics and no per-client ones', () => {
    expect(shipped.topics.predefined.get(1)).toBe('home/garden/temperature');
    expect(shipped.topics.predefined.size).toBeGreaterThan(0);
    expect(shipped.topics.clients.size).toBe(0);
  });

  it('keeps state next to itself', () => {
    expect(shipped.stateDir).toBe(join(repoRoot, 'state'));
  });
});

describe('defaults', () => {
  it('an empty file gives every documented default', () => {
    expect(defaults.gateway).toEqual({
      id: 1,
      advertiseInterval: 900,
      keepAliveGrace: 1.5,
      retry: { interval: 10, count: 3 },
      maxClients: 10000,
      sleepBuffer: 100,
      maxClientIdLength: 23,
      maxOutgoingQueue: 10000,
      maxInflightPerClient: 1,
      sessionExpiry: 604800,
    });
    expect(defaults.broker).toEqual({
      mode: 'aggregating',
      clientId: 'mqttsn-gw-1',
      clientIdPrefix: '',
      protocolVersion: 4,
      keepalive: 60,
      reconnectMin: 1,
      reconnectMax: 30,
      embedded: { host: '127.0.0.1', port: 1883, tcpNoDelay: true },
    });
    expect(defaults.radios).toEqual([
      { type: 'udp', name: 'udp0', host: '127.0.0.1', port: 10000, broadcastAddress: '127.255.255.255', broadcastPort: 10000, receiveBufferSize: 4194304 },
    ]);
    expect(defaults.topics.predefined.size).toBe(0);
    expect(defaults.topics.clients.size).toBe(0);
    expect(defaults.stateDir).toBe(resolve('state'));
    expect(defaults.log).toEqual({ level: 'info', format: 'text' });
    expect(defaults.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(defaults.status).toEqual({ prefix: 'mqtt-sn/1/' });
    expect(defaults.persistence).toBe(true);
    expect(defaults.fsyncInterval).toBe(1);
    expect(defaults.access).toEqual({ rules: [] });
    expect(defaults.limits).toEqual({ frameRate: 2000, frameBurst: 4000, maxConnecting: 1000, maxTopicIdsPerClient: 1000, maxSubscriptionsPerClient: 100 });
    expect(defaults.clients.size).toBe(0);
  });

  it('broker.mode transparent, with per-sensor credentials under clients (certificate and key together)', () => {
    const c = parseConfig(lines('broker:', '  mode: transparent', '  clientIdPrefix: sn-', 'clients:', '  node-1: { username: n1, password: "1234" }', '  node-2: { cert: c.pem, key: k.pem }'), '/etc/gw/gateway.yaml');
    expect(c.broker).toMatchObject({ mode: 'transparent', clientIdPrefix: 'sn-' });
    expect(c.clients.get('node-1')).toEqual({ username: 'n1', password: '1234' });
    expect(c.clients.get('node-2')).toEqual({ cert: '/etc/gw/c.pem', key: '/etc/gw/k.pem' });
  });

  it('a file of comments only, or sections left empty, also gives the defaults', () => {
    expect(parseConfig('# nothing yet\n')).toEqual(defaults);
    expect(parseConfig(lines('gateway:', 'broker:', 'topics:', '  predefined:', 'log:'))).toEqual(defaults);
  });

  it('an empty value means the default', () => {
    expect(parseConfig(lines('radios:', '  - type: udp', '    port:')).radios[0]).toMatchObject({ port: 10000 });
  });

  it('broker.clientId follows gateway.id', () => {
    expect(parseConfig(lines('gateway:', '  id: 7')).broker.clientId).toBe('mqttsn-gw-7');
    expect(parseConfig(lines('gateway:', '  id: 7', 'broker:', '  clientId: attic')).broker.clientId).toBe('attic');
  });

  it('udp broadcastPort follows port', () => {
    const [udp] = parseConfig(lines('radios:', '  - { type: udp, port: 10100 }')).radios as UdpRadioConfig[];
    expect(udp.broadcastPort).toBe(10100);
  });

  it('radio names default to <type><index>', () => {
    const config = parseConfig(
      lines('radios:', '  - type: udp', '  - type: serial', '    path: /dev/ttyACM0', '  - type: xbee', '    path: /dev/ttyUSB0'),
    );
    expect(config.radios.map((r) => r.name)).toEqual(['udp0', 'serial1', 'xbee2']);
  });

  it('stateDir, tls files and zigbee files are relative to the config file; zigbee files default into stateDir', () => {
    const config = parseConfig(
      lines(
        'stateDir: var',
        'broker:',
        '  url: mqtts://broker.example:8883',
        '  tls: { ca: certs/ca.pem, cert: /abs/cert.pem, key: certs/key.pem }',
        'radios:',
        '  - { type: zigbee, adapter: ember, path: /dev/ttyUSB1 }',
      ),
      '/etc/mqtt-sn/gateway.yaml',
    );
    const explicit = parseConfig(
      lines('radios:', '  - { type: zigbee, adapter: zstack, path: /dev/ttyUSB2, databasePath: z2.db, backupPath: z2.json }'),
      '/etc/mqtt-sn/gateway.yaml',
    );
    expect(config.stateDir).toBe('/etc/mqtt-sn/var');
    expect(config.broker.tls).toEqual({
      ca: '/etc/mqtt-sn/certs/ca.pem',
      cert: '/abs/cert.pem',
      key: '/etc/mqtt-sn/certs/key.pem',
      rejectUnauthorized: true,
    });
    const [first] = config.radios as ZigbeeRadioConfig[];
    const [second] = explicit.radios as ZigbeeRadioConfig[];
    expect(first.databasePath).toBe('/etc/mqtt-sn/var/zigbee.db');
    expect(first.backupPath).toBe('/etc/mqtt-sn/var/zigbee-backup.json');
    expect(second.databasePath).toBe('/etc/mqtt-sn/z2.db');
    expect(second.backupPath).toBe('/etc/mqtt-sn/z2.json');
  });

  it('each radio type fills its own defaults', () => {
    const config = parseConfig(
      lines(
        'radios:',
        '  - { type: serial, path: /dev/ttyACM0 }',
        '  - { type: xbee, path: /dev/ttyUSB0 }',
        '  - { type: zigbee, adapter: zstack, path: /dev/ttyUSB1 }',
      ),
    );
    const [serial, xbee, zigbee] = config.radios as [SerialRadioConfig, XBeeRadioConfig, ZigbeeRadioConfig];
    expect(serial).toEqual({
      type: 'serial', name: 'serial0', path: '/dev/ttyACM0', baudRate: 115200, framing: 'slip', interByteGapMs: 100, maxFrameSize: 255,
    });
    expect(xbee).toEqual({ type: 'xbee', name: 'xbee1', path: '/dev/ttyUSB0', baudRate: 9600, apiMode: 2, maxFrameSize: 84 });
    expect(zigbee).toEqual({
      type: 'zigbee',
      name: 'zigbee2',
      adapter: 'zstack',
      path: '/dev/ttyUSB1',
      panId: 0x1a62,
      channel: 11,
      permitJoin: 0,
      databasePath: resolve('state', 'zigbee.db'),
      backupPath: resolve('state', 'zigbee-backup.json'),
      clusterId: 0xfc00,
      manufacturerCode: 0xfff1,
      endpoint: 1,
      maxFrameSize: 60,
    });
  });
});

describe('values as written', () => {
  it('accepts hex panId and clusterId (YAML 1.2 reads 0x1a62 as an integer)', () => {
    const [zigbee] = parseConfig(
      lines('radios:', '  - type: zigbee', '    adapter: deconz', '    path: /dev/ttyACM1', '    panId: 0x1a63', '    clusterId: 0xFC10'),
    ).radios as ZigbeeRadioConfig[];
    expect(zigbee.panId).toBe(6755);
    expect(zigbee.clusterId).toBe(0xfc10);
  });

  it('accepts zigbee keys as byte lists or hex strings', () => {
    const [zigbee] = parseConfig(
      lines(
        'radios:',
        '  - type: zigbee',
        '    adapter: ezsp',
        '    path: /dev/ttyACM1',
        '    extendedPanId: "dd:dd:dd:dd:dd:dd:dd:01"',
        '    networkKey: [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14]',
        '    rtscts: true',
        '    baudRate: 230400',
      ),
    ).radios as ZigbeeRadioConfig[];
    expect(zigbee.extendedPanId).toEqual([0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0x01]);
    expect(zigbee.networkKey).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14]);
    expect(zigbee).toMatchObject({ rtscts: true, baudRate: 230400 });
  });

  it('§6.7 predefined topic ids may be written as integers or strings, global and per client', () => {
    const { topics } = parseConfig(
      lines(
        'topics:',
        '  predefined:',
        '    1: home/garden/temperature',
        '    "2": home/kitchen/humidity',
        '    0x10: home/hall/light',
        '  clients:',
        '    kitchen-node:',
        '      predefined:',
        '        1: home/kitchen/temperature',
      ),
    );
    expect([...topics.predefined]).toEqual([
      [1, 'home/garden/temperature'],
      [2, 'home/kitchen/humidity'],
      [16, 'home/hall/light'],
    ]);
    expect(topics.clients.get('kitchen-node')?.predefined.get(1)).toBe('home/kitchen/temperature');
  });

  it('accepts an external broker with credentials, MQTT 5 and TLS options', () => {
    const { broker } = parseConfig(
      lines(
        'broker:',
        '  url: wss://broker.example/mqtt',
        '  username: gw',
        '  password: "1234"',
        '  protocolVersion: 5',
        '  tls: { rejectUnauthorized: false }',
      ),
    );
    expect(broker).toMatchObject({ url: 'wss://broker.example/mqtt', username: 'gw', password: '1234', protocolVersion: 5 });
    expect(broker.tls).toEqual({ rejectUnauthorized: false });
  });

  it('broker.embedded.tcpNoDelay: false leaves Nagle\'s algorithm on for the embedded broker\'s clients', () => {
    expect(parseConfig(lines('broker:', '  embedded:', '    tcpNoDelay: false')).broker.embedded).toEqual({ host: '127.0.0.1', port: 1883, tcpNoDelay: false });
  });

  it('follows YAML anchors and aliases', () => {
    const config = parseConfig(
      lines('radios:', '  - &serial { type: serial, path: /dev/ttyACM0, baudRate: 57600 }', '  - { type: udp }', 'log: { level: debug }'),
    );
    expect(config.radios[0]).toMatchObject({ baudRate: 57600 });
    expect(config.log.level).toBe('debug');
  });
});

describe('validation: each rule names the key path and its line', () => {
  const cases: [rule: string, yaml: string, path: string, line: number, fragment: string | RegExp][] = [
    ['§5.4.2 gateway.id is a GwId, 0..255', lines('gateway:', '  id: 300'), 'gateway.id', 2, 'must be an integer 0..255 (got 300)'],
    ['gateway.id is not negative', lines('gateway:', '', '  id: -1'), 'gateway.id', 3, '0..255'],
    ['§6.1 advertiseInterval fits ADVERTISE Duration', lines('gateway:', '  advertiseInterval: 70000'), 'gateway.advertiseInterval', 2, '0..65535'],
    ['keepAliveGrace >= 1', lines('gateway:', '  keepAliveGrace: 0.5'), 'gateway.keepAliveGrace', 2, 'must be a number >= 1 (got 0.5)'],
    ['§6.13 retry.interval > 0', lines('gateway:', '  retry:', '    interval: 0'), 'gateway.retry.interval', 3, 'must be a duration > 0 s'],
    ['§6.13 retry.count >= 0', lines('gateway:', '  retry:', '    count: -1'), 'gateway.retry.count', 3, 'must be an integer >= 0'],
    ['retry.count is whole', lines('gateway:', '  retry: { count: 2.5 }'), 'gateway.retry.count', 2, 'integer'],
    ['maxClients >= 1', lines('gateway:', '  maxClients: 0'), 'gateway.maxClients', 2, '>= 1'],
    ['maxClientIdLength 1..65535', lines('gateway:', '  maxClientIdLength: 0'), 'gateway.maxClientIdLength', 2, '1..65535'],
    ['maxInflightPerClient 1..65535', lines('gateway:', '  maxInflightPerClient: 65536'), 'gateway.maxInflightPerClient', 2, '1..65535'],
    ['sleepBuffer >= 0', lines('gateway:', '  sleepBuffer: -5'), 'gateway.sleepBuffer', 2, '>= 0'],
    [
      'a udp port is an integer',
      lines('gateway:', '  id: 1', 'radios:', '  - type: udp', '    port: abc'),
      'radios[0].port',
      5,
      'must be an integer 1..65535 (got "abc")',
    ],
    ['a udp port is in range', lines('radios:', '  - type: udp', '    port: 70000'), 'radios[0].port', 3, '1..65535'],
    ['broadcastPort is in range', lines('radios:', '  - type: udp', '    broadcastPort: 0'), 'radios[0].broadcastPort', 3, '1..65535'],
    ['host is an address, not address:port', lines('radios:', '  - type: udp', '    host: 127.0.0.1:10000'), 'radios[0].host', 3, 'IP address or a host name'],
    ['a radio has a type', lines('radios:', '  - host: 127.0.0.1'), 'radios[0].type', 2, 'required: one of udp, serial, xbee, zigbee'],
    ['a radio type is known', lines('radios:', '  - type: udp', '  - type: lora'), 'radios[1].type', 3, 'must be one of udp, serial, xbee, zigbee (got "lora")'],
    ['radios is a list', lines('radios:', '  type: udp'), 'radios', 2, 'must be a list'],
    ['radios lists at least one', lines('radios: []'), 'radios', 1, 'at least 1'],
    ['a serial radio needs a path', lines('radios:', '  - type: udp', '  - type: serial', '    baudRate: 9600'), 'radios[1].path', 3, 'required'],
    ['serial framing is slip or raw', lines('radios:', '  - type: serial', '    path: /dev/ttyACM0', '    framing: cobs'), 'radios[0].framing', 4, 'one of slip, raw'],
    ['serial baudRate is a positive integer', lines('radios:', '  - { type: serial, path: /dev/ttyS0, baudRate: fast }'), 'radios[0].baudRate', 2, '>= 1'],
    ['xbee apiMode is 1 or 2', lines('radios:', '  - type: xbee', '    path: /dev/ttyUSB0', '    apiMode: 3'), 'radios[0].apiMode', 4, 'one of 1, 2 (got 3)'],
    ['xbee needs a path', lines('radios:', '  - type: xbee'), 'radios[0].path', 2, 'required'],
    ['zigbee needs an adapter', lines('radios:', '  - type: zigbee', '    path: /dev/ttyUSB1'), 'radios[0].adapter', 2, 'required: one of zstack, ember'],
    ['zigbee adapter typo', lines('radios:', '  - type: zigbee', '    path: /dev/ttyUSB1', '    adapter: zstak'), 'radios[0].adapter', 4, 'did you mean "zstack"?'],
    ['zigbee channel 11..26', lines('radios:', '  - { type: zigbee, adapter: zstack, path: /dev/ttyUSB1,', '      channel: 27 }'), 'radios[0].channel', 3, '11..26'],
    [
      'zigbee clusterId is manufacturer-specific',
      lines('radios:', '  - type: zigbee', '    adapter: zstack', '    path: /dev/ttyUSB1', '    clusterId: 0x0010'),
      'radios[0].clusterId',
      5,
      'must be an integer 0xFC00..0xFFFF (got 0x0010)',
    ],
    [
      'zigbee networkKey is 16 bytes',
      lines('radios:', '  - type: zigbee', '    adapter: zstack', '    path: /dev/ttyUSB1', '    networkKey: [1, 2, 3]'),
      'radios[0].networkKey',
      5,
      'must be 16 bytes',
    ],
    [
      'zigbee networkKey bytes are 0..255: a wrong byte is the key\'s error, not the byte\'s',
      lines('radios:', '  - type: zigbee', '    adapter: zstack', '    path: /dev/ttyUSB1', '    networkKey: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 256]'),
      'radios[0].networkKey',
      5,
      'must be 16 bytes: a list of 16 integers 0..255 or a string of 32 hex digits (got a list of 16)',
    ],
    [
      'zigbee rtscts is a boolean (YAML 1.2: yes is a string)',
      lines('radios:', '  - type: zigbee', '    adapter: zstack', '    path: /dev/ttyUSB1', '    rtscts: yes'),
      'radios[0].rtscts',
      5,
      'must be true or false (got "yes")',
    ],
    ['broker.url is a URL', lines('broker:', '  url: not a url'), 'broker.url', 2, 'must be a URL'],
    ['broker.url speaks MQTT', lines('broker:', '  url: http://127.0.0.1:1883'), 'broker.url', 2, 'must use one of mqtt://, mqtts://'],
    ['clients.<id>.cert needs its key', lines('clients:', '  node-1:', '    cert: c.pem'), 'clients.node-1.key', 2, 'required when clients.node-1.cert is set'],
    ['limits.frameRate is a number >= 0', lines('limits:', '  frameRate: -1'), 'limits.frameRate', 2, '>= 0'],
    ['access.rules[].from lists patterns', lines('access:', '  rules:', '    - clientId: a', '      from: udp0'), 'access.rules[0].from', 4, 'must be a list'],
    ['broker.mode is known', lines('broker:', '  mode: bridge'), 'broker.mode', 2, 'one of aggregating'],
    ['broker.protocolVersion is 4 or 5', lines('broker:', '  protocolVersion: 3'), 'broker.protocolVersion', 2, 'one of 4, 5'],
    ['broker.keepalive 0..65535', lines('broker:', '  keepalive: 100000'), 'broker.keepalive', 2, '0..65535'],
    [
      'broker.reconnectMax >= reconnectMin',
      lines('broker:', '  reconnectMin: 10', '  reconnectMax: 5'),
      'broker.reconnectMax',
      3,
      'must be >= broker.reconnectMin (10)',
    ],
    ['broker.tls cert needs key', lines('broker:', '  tls:', '    cert: gw.pem'), 'broker.tls.key', 2, 'required when broker.tls.cert is set'],
    ['broker.password is a string', lines('broker:', '  username: gw', '  password: 1234'), 'broker.password', 3, 'quote it'],
    ['broker.embedded.port is in range', lines('broker:', '  embedded:', '    port: 0'), 'broker.embedded.port', 3, '1..65535'],
    ['broker.embedded.tcpNoDelay is true or false', lines('broker:', '  embedded:', '    tcpNoDelay: maybe'), 'broker.embedded.tcpNoDelay', 3, 'must be true or false'],
    ['§5.3.11 topic id 0 is reserved', lines('topics:', '  predefined:', '    0: a/b'), 'topics.predefined.0', 3, 'topic id must be an integer 1..65534'],
    ['§5.3.11 topic id 0xFFFF is reserved', lines('topics:', '  predefined:', '    1: a/b', '    65535: c/d'), 'topics.predefined.65535', 4, '1..65534'],
    ['a topic id is an integer', lines('topics:', '  predefined:', '    kitchen: a/b'), 'topics.predefined.kitchen', 3, '(got "kitchen")'],
    ['a topic name is not empty', lines('topics:', '  predefined:', '    3: ""'), 'topics.predefined.3', 3, 'must not be empty'],
    [
      'a topic template names only known placeholders',
      lines('topics:', '  predefined:', '    1: sensors/{clientID}/temperature'),
      'topics.predefined.1',
      3,
      'unknown placeholder {clientID}: a topic template may use {clientId} and {address}',
    ],
    [
      'a ClientId in topics.clients fits maxClientIdLength',
      lines('gateway:', '  maxClientIdLength: 4', 'topics:', '  clients:', '    kitchen-node:', '      predefined: { 1: a/b }'),
      'topics.clients.kitchen-node',
      5,
      'longer than gateway.maxClientIdLength (4)',
    ],
    ['log.level is known', lines('log:', '  level: verbose'), 'log.level', 2, 'one of error, warn, info, debug'],
    ['stateDir is a string', lines('stateDir: 5'), 'stateDir', 1, 'must be a string'],
    ['a section is a mapping', lines('gateway: 5'), 'gateway', 1, 'must be a mapping'],
    ['a key appears once', lines('gateway:', '  id: 1', 'gateway:', '  id: 2'), 'gateway', 3, 'duplicate key (first given on line 1)'],
  ];

  for (const [rule, yaml, path, line, fragment] of cases) {
    it(`${rule}: ${path} on line ${line}`, () => expectIssue(yaml, path, line, fragment));
  }

  it('the whole file is a mapping', () => {
    const error = configError(lines('- type: udp'));
    expect(error.issues).toEqual([{ path: '', line: 1, column: 1, message: 'must be a mapping (got a list)' }]);
  });

  it('an unknown YAML tag is an error, not a silent string', () => {
    const error = configError(lines('broker:', '  password: !secret broker_password'));
    expect(error.message).toMatch(/^gateway\.yaml:2:13 YAML: Unresolved tag: !secret/);
  });

  it('an alias without an anchor names its key and line', () => {
    expectIssue(lines('radios:', '  - type: udp', '    host: *lan'), 'radios[0].host', 3, 'alias *lan has no anchor');
  });
});

describe('several problems at once', () => {
  it('reports every issue, one per line, in file order', () => {
    const error = configError(
      lines(
        'gateway:',
        '  id: 256', // 2
        '  retry: { interval: 0, count: -1 }', // 3
        'broker:',
        '  url: ftp://example', // 5
        'radios:',
        '  - type: udp',
        '    port: 0', // 8
        '  - type: serial', // 9: path missing
        'log: { level: loud }', // 10
      ),
    );
    const messageLines = error.message.split('\n');
    expect(messageLines).toHaveLength(7);
    expect(error.issues.map((i) => [i.line, i.path])).toEqual([
      [2, 'gateway.id'],
      [3, 'gateway.retry.interval'],
      [3, 'gateway.retry.count'],
      [5, 'broker.url'],
      [8, 'radios[0].port'],
      [9, 'radios[1].path'],
      [10, 'log.level'],
    ]);
    expect(messageLines[0]).toBe('gateway.yaml:2:7 gateway.id: must be an integer 0..255 (got 256)');
  });

  it('a ConfigError is an Error carrying its issues and the source it read', () => {
    const error = configError(lines('gateway:', '  id: x'), 'site/gw.yaml');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.source).toBe('site/gw.yaml');
    expect(error.issues).toEqual([{ path: 'gateway.id', line: 2, column: 7, message: 'must be an integer 0..255 (got "x")' }]);
    expect(error.message).toBe('site/gw.yaml:2:7 gateway.id: must be an integer 0..255 (got "x")');
  });
});

describe('unknown keys', () => {
  it('a typo is named with a suggestion', () => {
    expectIssue(lines('gateway:', '  id: 1', '  advertiseIntervall: 60'), 'gateway.advertiseIntervall', 3, 'unknown key; did you mean "advertiseInterval"?');
  });

  it('a wrongly cased key is named with a suggestion', () => {
    expectIssue(
      lines('radios:', '  - type: serial', '    path: /dev/ttyACM0', '    baudrate: 9600'),
      'radios[0].baudrate',
      4,
      'unknown key for a serial radio; did you mean "baudRate"?',
    );
  });

  it('a top-level typo is named with a suggestion', () => {
    expectIssue(lines('radio:', '  - type: udp'), 'radio', 1, 'did you mean "radios"?');
  });

  it('a key of another radio type is unknown on this one, and the known keys are listed', () => {
    expectIssue(lines('radios:', '  - type: udp', '    path: /dev/ttyACM0'), 'radios[0].path', 3, 'known keys: type, name, host, port');
  });

  it('the issue points at the key itself', () => {
    const error = configError(lines('broker:', '  keepAlive: 30'));
    expect(error.issues[0]).toMatchObject({ path: 'broker.keepAlive', line: 2, column: 3, message: 'unknown key; did you mean "keepalive"?' });
  });
});

describe('§6.7 predefined topics are concrete names', () => {
  it("a '+' wildcard is rejected naming its line", () => {
    expectIssue(
      lines('topics:', '  predefined:', '    1: home/garden/temperature', '    2: home/+/humidity'),
      'topics.predefined.2',
      4,
      "without the wildcards '+' or '#' (got \"home/+/humidity\")",
    );
  });

  it("a '#' wildcard in a per-client map is rejected naming its line", () => {
    expectIssue(
      lines('topics:', '  clients:', '    kitchen-node:', '      predefined:', '        10: home/kitchen/#'),
      'topics.clients.kitchen-node.predefined.10',
      5,
      'wildcards',
    );
  });

  it('an id given twice in one scope is a duplicate, whatever its spelling', () => {
    expectIssue(lines('topics:', '  predefined:', '    7: a/b', '    "7": c/d'), 'topics.predefined.7', 4, 'duplicate key (first given on line 3)');
    expectIssue(lines('topics:', '  predefined:', '    7: a/b', '    "07": c/d'), 'topics.predefined.07', 4, 'duplicate topic id 7 (also given as "7")');
  });

  it('the same id in the global map and a client map is an override, not a duplicate', () => {
    const { topics } = parseConfig(lines('topics:', '  predefined: { 7: a/b }', '  clients:', '    node1: { predefined: { 7: c/d } }'));
    expect(topics.predefined.get(7)).toBe('a/b');
    expect(topics.clients.get('node1')?.predefined.get(7)).toBe('c/d');
  });
});

describe('radios are distinct', () => {
  it('two radios with the same name are rejected', () => {
    expectIssue(
      lines('radios:', '  - { type: udp, name: lan }', '  - type: udp', '    name: lan', '    port: 10001'),
      'radios[1].name',
      4,
      'duplicate radio name "lan"; radios[0] is already called that',
    );
  });

  it('an explicit name that collides with a default name is rejected', () => {
    expectIssue(
      lines('radios:', '  - type: udp', '  - { type: udp, name: udp0, port: 10001 }'),
      'radios[1].name',
      3,
      'radios[0] is already called that by default',
    );
  });

  it('two udp radios on the same host and port are rejected', () => {
    expectIssue(lines('radios:', '  - type: udp', '  - type: udp', '    name: other', '    port: 10000'), 'radios[1].port', 5, '127.0.0.1:10000 is already bound by radios[0]');
  });

  it('two radios on the same serial device are rejected', () => {
    expectIssue(
      lines('radios:', '  - { type: serial, path: /dev/ttyUSB0 }', '  - { type: xbee, path: /dev/ttyUSB0 }'),
      'radios[1].path',
      3,
      '/dev/ttyUSB0 is already opened by radios[0]',
    );
  });

  it('a second zigbee radio is refused: zigbee-herdsman keeps process-wide state', () => {
    expectIssue(
      lines('radios:', '  - { type: zigbee, adapter: zstack, path: /dev/ttyUSB0 }', '  - { type: zigbee, adapter: ember, path: /dev/ttyUSB1 }'),
      'radios[1].type',
      3,
      'only one zigbee radio per gateway',
    );
  });
});

describe('YAML syntax errors', () => {
  it('a tab used as indentation is reported with line:column', () => {
    const error = configError('gateway:\n  id: 1\n\tretry: 2\n');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ path: '', line: 3, column: 1 });
    expect(error.message).toBe('gateway.yaml:3:1 YAML: Tabs are not allowed as indentation');
  });

  it('an unclosed flow sequence is reported with a line', () => {
    const error = configError(lines('gateway:', '  id: 1', 'radios: [', '  { type: udp }', 'log: {}'));
    expect(error.issues[0].line).toBeGreaterThanOrEqual(3);
    expect(error.message).toMatch(/^gateway\.yaml:\d+:\d+ YAML: /);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqttsn-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing file is an error naming the path', () => {
    const missing = join(dir, 'nope', 'gateway.yaml');
    expect(() => loadConfig(missing)).toThrow(ConfigError);
    expect(() => loadConfig(missing)).toThrow(`${missing}: cannot read the configuration file: no such file`);
  });

  it('errors in a file carry its path and line', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, lines('gateway:', '  id: 1', '  maxClients: none'));
    expect(() => loadConfig(file)).toThrow(`${file}:3:15 gateway.maxClients: must be an integer >= 1 (got "none")`);
  });

  it('resolves stateDir against the file, not the working directory', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, lines('stateDir: ./data'));
    expect(loadConfig(file).stateDir).toBe(join(dir, 'data'));
  });
});

describe('durations: a number of seconds, or 30s, 15m, 2h', () => {
  it('reads s, m, h, d and ms suffixes into the key\'s own unit', () => {
    const config = parseConfig(
      lines(
        'gateway:',
        '  advertiseInterval: 15m',
        '  retry: { interval: 2.5s }',
        '  sessionExpiry: 7d',
        'fsyncInterval: 500ms',
        'broker:',
        '  keepalive: 2h',
        '  reconnectMin: 500ms',
        '  reconnectMax: 1d',
        'radios:',
        '  - { type: serial, path: /dev/ttyACM0, interByteGapMs: 0.25s }',
      ),
    );
    expect(config.gateway.advertiseInterval).toBe(900);
    expect(config.gateway.retry.interval).toBe(2.5);
    expect(config.gateway.sessionExpiry).toBe(604800);
    expect(config.fsyncInterval).toBe(0.5);
    expect(config.broker).toMatchObject({ keepalive: 7200, reconnectMin: 0.5, reconnectMax: 86400 });
    expect((config.radios[0] as SerialRadioConfig).interByteGapMs).toBe(250);
  });

  it('a bare number stays in the key\'s unit: seconds, or milliseconds for ...Ms keys', () => {
    const config = parseConfig(lines('gateway: { advertiseInterval: 30 }', 'radios: [ { type: serial, path: /dev/ttyACM0, interByteGapMs: 40 } ]'));
    expect(config.gateway.advertiseInterval).toBe(30);
    expect((config.radios[0] as SerialRadioConfig).interByteGapMs).toBe(40);
  });

  it('§6.1 a duration past ADVERTISE\'s 16-bit Duration is refused with its line: 19h > 65535 s', () => {
    expectIssue(lines('gateway:', '  advertiseInterval: 19h'), 'gateway.advertiseInterval', 2, 'must be a duration 0..65535 s in whole seconds (a number of seconds, or e.g. 30s, 15m, 2h) (got "19h")');
  });

  it('an unknown unit or a bare word is refused, naming the forms accepted', () => {
    expectIssue(lines('broker:', '  keepalive: 5 minutes'), 'broker.keepalive', 2, 'or e.g. 30s, 15m, 2h) (got "5 minutes")');
    expectIssue(lines('broker:', '', '  reconnectMin: soon'), 'broker.reconnectMin', 3, 'must be a duration > 0 s');
  });

  it('a key in whole seconds refuses a fraction: keepalive 1.5s', () => {
    expectIssue(lines('broker:', '  keepalive: 1.5s'), 'broker.keepalive', 2, 'in whole seconds');
  });
});

describe('http, status and log sections', () => {
  it('http: false turns the HTTP server off; a mapping sets host and port', () => {
    expect(parseConfig(lines('http: false')).http).toBe(false);
    expect(parseConfig(lines('http: { host: 0.0.0.0, port: 9090 }')).http).toEqual({ host: '0.0.0.0', port: 9090 });
  });

  it('http.port out of range names the key and line', () => {
    expectIssue(lines('http:', '  port: 70000'), 'http.port', 2, '0..65535');
  });

  it('status prefix defaults to mqtt-sn/<gateway.id>/ and follows gateway.id', () => {
    expect(parseConfig(lines('gateway: { id: 42 }')).status).toEqual({ prefix: 'mqtt-sn/42/' });
  });

  it('status prefix gets its trailing slash; status: false turns the topics off', () => {
    expect(parseConfig(lines('status: { prefix: site/gw-a }')).status).toEqual({ prefix: 'site/gw-a/' });
    expect(parseConfig(lines('status: false')).status).toBe(false);
  });

  it('a status prefix with a wildcard is refused', () => {
    expectIssue(lines('status:', '  prefix: site/+/'), 'status.prefix', 2, "without '+', '#'");
  });

  it('log.format is text or json', () => {
    expect(parseConfig(lines('log: { format: json }')).log.format).toBe('json');
    expectIssue(lines('log:', '  format: xml'), 'log.format', 2, 'must be one of text, json');
  });
});
