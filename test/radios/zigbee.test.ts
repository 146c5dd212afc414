import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ZigbeeRadioConfig } from '../../radios/zigbee.js';
import type { LogLevel } from '../../radios/radio.js';
import { ZigbeeRadio, parseZigbeeAddress } from '../../radios/zigbee.js';
import { ZIGBEE_DEFAULTS } from '../../radios/zigbee-cluster.js';
import { NETWORK_KEY_FILE } from '../../radios/zigbee-network-key.js';
import { RecordingSink as KitRecordingSink } from '../support/radio-test-kit.js';
import { Adapter, FakeZigbeeAdapter, writeHerdsmanDatabase, type SeededDevice } from '../support/fake-zigbee-adapter.js';
import { WAIT } from '../support/wait.js';

const SENSOR: SeededDevice = { ieeeAddr: '0x00124b0012345678', networkAddress: 0x1a2b, endpoint: 1, outputClusters: [0xfc00] };
const LAMP: SeededDevice = { ieeeAddr: '0x00158d0000abcdef', networkAddress: 0x3c4d, endpoint: 1 };

/** MQTT-SN CONNECT (§5.4.4): Length 13, MsgType 0x04, Flags CleanSession, ProtocolId 1, Duration 60, ClientId "testcli". */
const CONNECT = Buffer.from([0x0d, 0x04, 0x04, 0x01, 0x00, 0x3c, 0x74, 0x65, 0x73, 0x74, 0x63, 0x6c, 0x69]);
/** MQTT-SN CONNACK accepted (§5.4.5). */
const CONNACK = Buffer.from([0x03, 0x05, 0x00]);
/** MQTT-SN ADVERTISE GwId 1, Duration 900 (§5.4.1). */
const ADVERTISE = Buffer.from([0x05, 0x00, 0x01, 0x03, 0x84]);

/** Herdsman's public default network key: must never be used. */
const HERDSMAN_DEFAULT_KEY = [0x01, 0x03, 0x05, 0x07, 0x09, 0x0b, 0x0d, 0x0f, 0x00, 0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0d];

/** A sensor's uplink ZCL frame: cluster-specific, manufacturer-specific, client→server, no default response. */
function uplinkZcl(frame: Buffer, manufacturerCode: number = ZIGBEE_DEFAULTS.manufacturerCode, tsn = 0x2a): Buffer {
  return Buffer.from([0x15, manufacturerCode & 0xff, manufacturerCode >> 8, tsn, 0x00, frame.length, ...frame]);
}

class RecordingSink extends KitRecordingSink {
  ownLines(level: LogLevel): string[] {
    return this.logs.filter((l) => l.level === level && !l.message.includes('herdsman')).map((l) => l.message);
  }
}

let dir: string;
let adapters: FakeZigbeeAdapter[];
let radio: ZigbeeRadio | undefined;

function config(overrides: Partial<ZigbeeRadioConfig> = {}): ZigbeeRadioConfig {
  return {
    ...ZIGBEE_DEFAULTS,
    type: 'zigbee',
    name: 'zigbee0',
    adapter: 'zstack',
    path: '/dev/ttyFAKE0',
    panId: 0x1a62,
    channel: 15,
    permitJoin: 0,
    databasePath: join(dir, 'database.db'),
    backupPath: join(dir, 'coordinator_backup.json'),
    ...overrides,
  };
}

function installFakeAdapter(): ReturnType<typeof vi.spyOn> {
  return vi.spyOn(Adapter, 'create').mockImplementation(async (network, transport, backupPath, adapterOptions) => {
    const adapter = new FakeZigbeeAdapter(network, transport, backupPath, adapterOptions);
    adapters.push(adapter);
    return adapter;
  });
}

async function startRadio(overrides: Partial<ZigbeeRadioConfig> = {}): Promise<{ radio: ZigbeeRadio; sink: RecordingSink; adapter: FakeZigbeeAdapter }> {
  const sink = new RecordingSink();
  radio = new ZigbeeRadio(config(overrides), { stateDir: dir });
  await radio.start(sink);
  expect(radio.running).toBe(true);
  return { radio, sink, adapter: adapters[adapters.length - 1] };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zigbee-radio-'));
  adapters = [];
  writeHerdsmanDatabase(join(dir, 'database.db'), [SENSOR, LAMP]);
  installFakeAdapter();
});

afterEach(async () => {
  await radio?.stop();
  radio = undefined;
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('Zigbee radio (zigbee-herdsman coordinator, fake adapter)', () => {
  it('resumes the configured network: channel, PAN id, dongle path and adapter reach herdsman', async () => {
    const { adapter } = await startRadio({ baudRate: 115200, rtscts: false });
    expect(adapter.network.channelList).toEqual([15]);
    expect(adapter.network.panID).toBe(0x1a62);
    expect(adapter.transport.options).toMatchObject({ path: '/dev/ttyFAKE0', adapter: 'zstack', baudRate: 115200, rtscts: false });
  });

  it('uplink: a CONNECT in our cluster reaches the sink keyed by the IEEE address', async () => {
    const { radio, sink, adapter } = await startRadio();
    adapter.receive({ networkAddress: SENSOR.networkAddress, endpoint: 1, clusterId: 0xfc00, zcl: uplinkZcl(CONNECT) });
    await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
    expect(sink.frames[0]).toEqual({ address: 'zigbee:0x00124b0012345678', frame: CONNECT });
    expect(radio.stats.framesIn).toBe(1);
  });

  it('uplink: the same cluster id with another manufacturer code is not MQTT-SN', async () => {
    const { sink, adapter } = await startRadio();
    adapter.receive({ networkAddress: SENSOR.networkAddress, endpoint: 1, clusterId: 0xfc00, zcl: uplinkZcl(CONNECT, 0x100b) });
    adapter.receive({ networkAddress: SENSOR.networkAddress, endpoint: 1, clusterId: 0xfc00, zcl: uplinkZcl(CONNACK, ZIGBEE_DEFAULTS.manufacturerCode, 0x2b) });
    await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
    expect(sink.frames[0].frame).toEqual(CONNACK);
  });

  it('send: the MQTT-SN frame goes out as command 0x00 of cluster 0xFC00, manufacturer-specific, server→client, no default response', async () => {
    const { radio, adapter } = await startRadio();
    radio.send('zigbee:0x00124b0012345678', CONNACK);
    await vi.waitFor(() => expect(adapter.sentToEndpoint).toHaveLength(1), WAIT);
    const sent = adapter.sentToEndpoint[0];
    expect(sent).toMatchObject({ ieeeAddr: SENSOR.ieeeAddr, networkAddress: SENSOR.networkAddress, endpoint: 1 });
    // Frame control 0x1D = cluster-specific | manufacturer-specific | server→client | disable default response.
    const tsn = sent.zcl[3];
    expect(sent.zcl).toEqual(Buffer.from([0x1d, 0xf1, 0xff, tsn, 0x00, 0x03, ...CONNACK]));
    await vi.waitFor(() => expect(radio.stats.framesOut).toBe(1), WAIT);
  });

  it('send: replies go to the endpoint the device spoke from', async () => {
    const { radio, sink, adapter } = await startRadio();
    adapter.receive({ networkAddress: SENSOR.networkAddress, endpoint: 7, clusterId: 0xfc00, zcl: uplinkZcl(CONNECT) });
    await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
    radio.send(sink.frames[0].address, CONNACK);
    await vi.waitFor(() => expect(adapter.sentToEndpoint).toHaveLength(1), WAIT);
    expect(adapter.sentToEndpoint[0].endpoint).toBe(7);
  });

  it('§7.4 a frame larger than 60 octets is refused with a log line and not sent; 60 octets is sent', async () => {
    const { radio, sink, adapter } = await startRadio();
    const tooLarge = Buffer.alloc(61, 0x41);
    tooLarge[0] = 61;
    radio.send('zigbee:0x00124b0012345678', tooLarge);
    expect(radio.stats.refused).toBe(1);
    expect(sink.ownLines('warn')).toEqual([
      'zigbee0: refused a 61-byte frame to zigbee:0x00124b0012345678: larger than the 60-byte Zigbee maximum (MQTT-SN §7.4)',
    ]);
    const largest = Buffer.alloc(60, 0x41);
    largest[0] = 60;
    radio.send('zigbee:0x00124b0012345678', largest);
    await vi.waitFor(() => expect(adapter.sentToEndpoint).toHaveLength(1), WAIT);
    expect(adapter.sentToEndpoint[0].zcl.subarray(6)).toEqual(largest);
  });

  it('send failure: deliveryFailed and one log line', async () => {
    const { radio, sink, adapter } = await startRadio();
    adapter.sendError = new Error('MAC no ACK');
    radio.send('zigbee:0x00124b0012345678', CONNACK);
    await vi.waitFor(() => expect(sink.failures).toHaveLength(1), WAIT);
    expect(sink.failures[0].address).toBe('zigbee:0x00124b0012345678');
    expect(sink.failures[0].reason).toContain('MAC no ACK');
    expect(sink.ownLines('warn')).toHaveLength(1);
    expect(radio.stats.sendFailures).toBe(1);
    expect(radio.stats.framesOut).toBe(0);
  });

  it('send to a device not in the network: deliveryFailed, nothing sent', async () => {
    const { radio, sink, adapter } = await startRadio();
    radio.send('zigbee:0x0000000000000bad', CONNACK);
    expect(sink.failures).toEqual([{ address: 'zigbee:0x0000000000000bad', reason: 'no such device in the Zigbee network' }]);
    expect(adapter.sentToEndpoint).toHaveLength(0);
  });

  it('broadcast: unicast to devices that declare the cluster or have spoken MQTT-SN, never the coordinator', async () => {
    const { radio, sink, adapter } = await startRadio();
    radio.broadcast(ADVERTISE);
    await vi.waitFor(() => expect(adapter.sentToEndpoint).toHaveLength(1), WAIT);
    expect(adapter.sentToEndpoint[0].ieeeAddr).toBe(SENSOR.ieeeAddr);
    expect(adapter.sentToEndpoint[0].zcl.subarray(6)).toEqual(ADVERTISE);

    adapter.receive({ networkAddress: LAMP.networkAddress, endpoint: 1, clusterId: 0xfc00, zcl: uplinkZcl(CONNECT) });
    await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
    radio.broadcast(ADVERTISE);
    await vi.waitFor(() => expect(adapter.sentToEndpoint).toHaveLength(3), WAIT);
    expect(adapter.sentToEndpoint.slice(1).map((s) => s.ieeeAddr).sort()).toEqual([LAMP.ieeeAddr, SENSOR.ieeeAddr].sort());
  });

  it('a device joining later gets the cluster registered: its frames arrive', async () => {
    const { sink, adapter } = await startRadio();
    adapter.join('0x0022a30000001234', 0x5e5e);
    // herdsman asks acceptJoiningDeviceHandler (async) before it creates the device.
    await new Promise((resolve) => setImmediate(resolve));
    adapter.receive({ networkAddress: 0x5e5e, endpoint: 1, clusterId: 0xfc00, zcl: uplinkZcl(CONNECT) });
    await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
    expect(sink.frames[0].address).toBe('zigbee:0x0022a30000001234');
  });

  it('permits joining at start for config.permitJoin seconds, and on request', async () => {
    const { radio, adapter } = await startRadio({ permitJoin: 120 });
    expect(adapter.permitJoinCalls).toEqual([120]);
    expect(await radio.permitJoin(0)).toBe(true);
    expect(adapter.permitJoinCalls).toEqual([120, 0]);
  });

  it('permit join without a running coordinator answers false and says why', async () => {
    const sink = new RecordingSink();
    radio = new ZigbeeRadio(config(), { stateDir: dir, backoff: { setTimer: () => undefined, clearTimer: () => {} } });
    vi.mocked(Adapter.create).mockImplementationOnce(async (network, transport, backupPath, adapterOptions) => {
      const adapter = new FakeZigbeeAdapter(network, transport, backupPath, adapterOptions);
      adapter.startError = new Error('Failed to connect to the adapter (timeout)');
      return adapter;
    });
    await radio.start(sink);
    expect(await radio.permitJoin(60)).toBe(false);
    expect(sink.ownLines('warn')).toContain('zigbee0: cannot permit joining: the Zigbee coordinator is not running');
  });

  it('network key: generated once at random, kept in the state directory, reused on the next start', async () => {
    const first = await startRadio();
    const keyPath = join(dir, NETWORK_KEY_FILE);
    const stored = JSON.parse(readFileSync(keyPath, 'utf8')) as { networkKey: number[] };
    expect(stored.networkKey).toHaveLength(16);
    expect(stored.networkKey).not.toEqual(HERDSMAN_DEFAULT_KEY);
    expect(first.adapter.network.networkKey).toEqual(stored.networkKey);
    await first.radio.stop();

    const second = await startRadio();
    expect(second.adapter).not.toBe(first.adapter);
    expect(second.adapter.network.networkKey).toEqual(stored.networkKey);
    expect(JSON.parse(readFileSync(keyPath, 'utf8'))).toEqual(stored);
  });

  it('network key: a configured key is used as is and nothing is written', async () => {
    const networkKey = [...Array(16).keys()].map((i) => 0xa0 + i);
    const { adapter } = await startRadio({ networkKey });
    expect(adapter.network.networkKey).toEqual(networkKey);
    expect(existsSync(join(dir, NETWORK_KEY_FILE))).toBe(false);
  });

  it('network key: a damaged key file is reported and kept, never silently replaced', async () => {
    const keyPath = join(dir, NETWORK_KEY_FILE);
    writeFileSync(keyPath, '{"networkKey":[1,2,3]}');
    const sink = new RecordingSink();
    radio = new ZigbeeRadio(config(), { stateDir: dir });
    await radio.start(sink);
    expect(radio.running).toBe(false);
    expect(adapters).toHaveLength(0);
    expect(sink.ownLines('error')).toEqual([`zigbee0: cannot start Zigbee: ${keyPath} does not hold a 16-byte networkKey`]);
    expect(readFileSync(keyPath, 'utf8')).toBe('{"networkKey":[1,2,3]}');
  });

  it('start failure (no dongle): one log line, start() resolves, retried with backoff until it works', async () => {
    vi.mocked(Adapter.create).mockRejectedValueOnce(new Error('Error: No such file or directory, cannot open /dev/ttyFAKE0'));
    const timers: { fn: () => void; ms: number }[] = [];
    const sink = new RecordingSink();
    radio = new ZigbeeRadio(config(), { stateDir: dir, backoff: { initialMs: 1000, setTimer: (fn, ms) => timers.push({ fn, ms }), clearTimer: () => {} } });
    await radio.start(sink);

    expect(radio.running).toBe(false);
    expect(sink.ownLines('warn')).toEqual([
      "zigbee0: cannot start the Zigbee adapter 'zstack' on /dev/ttyFAKE0: Error: No such file or directory, cannot open /dev/ttyFAKE0; retrying in 1s",
    ]);
    expect(timers.map((t) => t.ms)).toEqual([1000]);

    radio.send('zigbee:0x00124b0012345678', CONNACK);
    expect(sink.failures).toEqual([{ address: 'zigbee:0x00124b0012345678', reason: 'the Zigbee coordinator is not running' }]);

    timers[0].fn();
    await vi.waitFor(() => expect(radio?.running).toBe(true), WAIT);
    const adapter = adapters[0];
    adapter.receive({ networkAddress: SENSOR.networkAddress, endpoint: 1, clusterId: 0xfc00, zcl: uplinkZcl(CONNECT) });
    await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
    expect(timers).toHaveLength(1);
  });

  it('adapter start fails half-way: its serial transport is closed before the retry', async () => {
    let transportClose: ReturnType<typeof vi.fn<() => Promise<void>>> | undefined;
    vi.mocked(Adapter.create).mockImplementationOnce(async (network, transport, backupPath, adapterOptions) => {
      const adapter = new FakeZigbeeAdapter(network, transport, backupPath, adapterOptions);
      adapter.startError = new Error('Failed to connect to the adapter (timeout)');
      transportClose = vi.fn<() => Promise<void>>(async () => {});
      adapter.transport.close = transportClose;
      adapters.push(adapter);
      return adapter;
    });
    const sink = new RecordingSink();
    radio = new ZigbeeRadio(config(), { stateDir: dir, backoff: { setTimer: () => undefined, clearTimer: () => {} } });
    await radio.start(sink);
    expect(radio.running).toBe(false);
    expect(sink.ownLines('warn')).toEqual([
      "zigbee0: cannot start the Zigbee adapter 'zstack' on /dev/ttyFAKE0: Failed to connect to the adapter (timeout); retrying in 1s",
    ]);
    expect(transportClose).toHaveBeenCalled();
  });

  it('dongle unplugged: one log line, restarted with backoff, frames flow again', async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const sink = new RecordingSink();
    radio = new ZigbeeRadio(config(), { stateDir: dir, backoff: { initialMs: 1000, setTimer: (fn, ms) => timers.push({ fn, ms }), clearTimer: () => {} } });
    await radio.start(sink);
    adapters[0].unplug();
    await vi.waitFor(() => expect(timers).toHaveLength(1), WAIT);
    expect(radio.running).toBe(false);
    expect(adapters[0].stopped).toBe(true);
    expect(sink.ownLines('warn')).toEqual(['zigbee0: the Zigbee adapter on /dev/ttyFAKE0 disconnected; retrying in 1s']);

    timers[0].fn();
    await vi.waitFor(() => expect(radio?.running).toBe(true), WAIT);
    adapters[1].receive({ networkAddress: SENSOR.networkAddress, endpoint: 1, clusterId: 0xfc00, zcl: uplinkZcl(CONNECT) });
    await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
    expect(sink.frames[0].address).toBe('zigbee:0x00124b0012345678');
  });

  it('stop() stops the adapter', async () => {
    const { radio, adapter } = await startRadio();
    await radio.stop();
    expect(adapter.stopped).toBe(true);
    expect(radio.running).toBe(false);
  });

  it('addresses: IEEE only, case-insensitive, prefixed by the radio kind', () => {
    expect(parseZigbeeAddress('zigbee:0x00124B0012345678')).toBe('0x00124b0012345678');
    expect(parseZigbeeAddress('zigbee:0x1a2b')).toBeUndefined();
    expect(parseZigbeeAddress('xbee:0013a20040a1b2c3')).toBeUndefined();
  });
});
