/**
 * Every radio end to end against a real Mosquitto: a sensor on that radio CONNECTs, REGISTERs,
 * PUBLISHes QoS 1 and receives a message it subscribed to. Serial and XBee run over a real
 * pseudo-terminal pair (socat) opened by serialport's real binding; Zigbee through a fake herdsman adapter.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import { Gateway } from '../../gateway/gateway.js';
import type { UdpRadio } from '../../radios/udp.js';
import { Adapter, FakeZigbeeAdapter, writeHerdsmanDatabase } from '../support/fake-zigbee-adapter.js';
import { Observer, startBroker, until, type Broker } from '../support/harness.js';
import { PtyPair, RawSensor, SlipSensor, XBeeSensor, ZigbeeSensor, type RadioSensor } from '../support/radio-sensors.js';

/**
 * The one Zigbee sensor of every Zigbee test here: herdsman caches devices process-wide (README: one Zigbee
 * radio per process), so a second gateway in this process must find the same device in its database.
 */
const ZIGBEE_DEVICE = { ieeeAddr: '0x00124b0012345678', networkAddress: 0x1a2b, endpoint: 1, outputClusters: [0xfc00] };

let broker: Broker;
let observer: Observer;
let gateway: Gateway | undefined;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  broker = await startBroker('mosquitto');
  observer = await Observer.connect(broker.url);
  await observer.subscribe('r/#');
  await observer.subscribe('rf');
});
afterAll(async () => {
  await observer?.close();
  await broker?.stop();
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await gateway?.stop();
  gateway = undefined;
  vi.restoreAllMocks();
});

/** A fake herdsman adapter for one Zigbee device listing the MQTT-SN cluster; returns the adapters created. */
function fakeZigbee(dir: string, device: typeof ZIGBEE_DEVICE): FakeZigbeeAdapter[] {
  writeHerdsmanDatabase(join(dir, 'zigbee.db'), [device]);
  const adapters: FakeZigbeeAdapter[] = [];
  vi.spyOn(Adapter, 'create').mockImplementation(async (network, transport, backupPath, adapterOptions) => {
    const adapter = new FakeZigbeeAdapter(network, transport, backupPath, adapterOptions);
    adapters.push(adapter);
    return adapter;
  });
  return adapters;
}

async function startGatewayWith(radioYaml: string, stateDir?: string): Promise<Gateway> {
  const config = parseConfig(`
gateway: { advertiseInterval: 0 }
http: false
status: false
persistence: false
broker: { url: ${broker.url} }
radios:
  - ${radioYaml}
${stateDir ? `stateDir: ${stateDir}` : ''}
`, 'radio-test.yaml');
  gateway = await Gateway.start(config, { clock: new ManualClock() });
  await until(() => gateway!.upstream.connected, undefined, () => 'gateway connected to the broker');
  return gateway;
}

/** The scenario every radio must carry (frames kept short: Zigbee carries 60 bytes). */
async function connectRegisterPublishSubscribe(sensor: RadioSensor, clientId: string, tag: string): Promise<void> {
  sensor.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId });
  expect(await sensor.expect('CONNACK')).toEqual({ type: 'CONNACK', returnCode: 0 });
  sensor.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: `r/${tag}/up` });
  const regack = await sensor.expect('REGACK');
  expect(regack).toMatchObject({ msgId: 1, returnCode: 0 });
  sensor.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: regack.topicId, msgId: 2, payload: Buffer.from('21.5') });
  expect(await sensor.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: regack.topicId, msgId: 2, returnCode: 0 });
  const [up] = await observer.waitFor(1, `r/${tag}/up`);
  expect(up).toMatchObject({ payload: '21.5', qos: 1 });

  sensor.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 3, topic: { topicIdType: 'normal', topicName: `r/${tag}/down` } });
  const suback = await sensor.expect('SUBACK');
  expect(suback).toMatchObject({ msgId: 3, qos: 1, returnCode: 0 });
  await observer.publish(`r/${tag}/down`, 'on', 1);
  const down = await sensor.expect('PUBLISH');
  expect(down).toMatchObject({ qos: 1, topicIdType: 'normal', topicId: suback.topicId, payload: Buffer.from('on') });
  sensor.send({ type: 'PUBACK', topicId: down.topicId, msgId: down.msgId, returnCode: 0 });
  sensor.send({ type: 'DISCONNECT' });
  await sensor.expect('DISCONNECT');
  await until(() => gateway!.core.client(clientId)?.state === 'disconnected');
  expect(gateway!.core.client(clientId)?.inflight).toBe(0);
}

describe('20 radios end to end (Mosquitto)', () => {
  it('serial, SLIP framing, over a real pseudo-terminal pair', async () => {
    const pty = await PtyPair.open();
    closers.push(() => pty.close());
    const gw = await startGatewayWith(`{ type: serial, path: ${pty.gatewayEnd}, framing: slip }`);
    const sensor = await SlipSensor.open(pty.sensorEnd);
    closers.push(() => sensor.close());
    await connectRegisterPublishSubscribe(sensor, 'slip-node', 'slip');
    expect(gw.core.client('slip-node')?.address).toBe(`serial:${pty.gatewayEnd}`);
  });

  it('serial, raw framing, over a real pseudo-terminal pair, resynchronising after line noise', async () => {
    const pty = await PtyPair.open();
    closers.push(() => pty.close());
    const gw = await startGatewayWith(`{ type: serial, path: ${pty.gatewayEnd}, framing: raw, interByteGapMs: 50 }`);
    const sensor = await RawSensor.open(pty.sensorEnd);
    closers.push(() => sensor.close());
    // Noise on the line before the sensor starts: a partial frame the gap must discard.
    sensor.sendGarbage(Buffer.from([0x20, 0x0c, 0x00]));
    await new Promise((r) => setTimeout(r, 150));
    await connectRegisterPublishSubscribe(sensor, 'raw-node', 'raw');
    expect(gw.core.client('raw-node')?.address).toBe(`serial:${pty.gatewayEnd}`);
  });

  it.each([1, 2] as const)('XBee API=%i over a real pseudo-terminal pair, keyed by the 64-bit address', async (apiMode) => {
    const pty = await PtyPair.open();
    closers.push(() => pty.close());
    const gw = await startGatewayWith(`{ type: xbee, path: ${pty.gatewayEnd}, apiMode: ${apiMode} }`);
    // 0x7E and 0x11 inside the address exercise API=2 escaping.
    const address64 = Buffer.from('0013a2007e11b2c3', 'hex');
    const sensor = await XBeeSensor.open(pty.sensorEnd, apiMode, address64);
    closers.push(() => sensor.close());
    await connectRegisterPublishSubscribe(sensor, `xbee-node-${apiMode}`, `x${apiMode}`);
    expect(gw.core.client(`xbee-node-${apiMode}`)?.address).toBe('xbee:0013a2007e11b2c3');
    expect(sensor.transmits.every((t) => t.destination64 === '0013a2007e11b2c3')).toBe(true);
  });

  it('Zigbee coordinator (fake herdsman adapter), keyed by the IEEE address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zigbee-e2e-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const device = ZIGBEE_DEVICE;
    const adapters = fakeZigbee(dir, device);
    const gw = await startGatewayWith('{ type: zigbee, adapter: zstack, path: /dev/ttyFAKE0 }', dir);
    const radioConfig = gw.config.radios[0] as { clusterId: number; manufacturerCode: number };
    const sensor = new ZigbeeSensor(adapters[0], device, radioConfig);
    closers.push(() => sensor.close());
    await connectRegisterPublishSubscribe(sensor, 'zb-node', 'zb');
    expect(gw.core.client('zb-node')?.address).toBe('zigbee:0x00124b0012345678');
    // Joining is controllable while running (the daemon maps SIGUSR1 to this).
    expect(await gw.permitJoin(120)).toEqual({ radios: 1, permitted: 1 });
    expect(adapters[0].permitJoinCalls.at(-1)).toBe(120);
  });

  /** §5.5 over any radio: two nodes behind one forwarder connect as two clients; a QoS 1 PUBLISH is answered wrapped. */
  async function forwarderScenario(gw: Gateway, line: RadioSensor, radioAddress: string, tag: string): Promise<void> {
    const nodes = [Buffer.from([0x01]), Buffer.from([0x02])];
    for (const [i, node] of nodes.entries()) {
      line.send({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: node, message: { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: `${tag}-${i}` } });
      const reply = await line.expect('ENCAPSULATED');
      expect(reply.wirelessNodeId).toEqual(node);
      expect(reply.message).toEqual({ type: 'CONNACK', returnCode: 0 });
    }
    expect(gw.core.client(`${tag}-0`)).toMatchObject({ state: 'active', address: radioAddress, nodeId: '01' });
    expect(gw.core.client(`${tag}-1`)).toMatchObject({ state: 'active', address: radioAddress, nodeId: '02' });
    line.send({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: nodes[1], message: { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'short', topicId: 0x7266 /* "rf" */, msgId: 5, payload: Buffer.from(`via-${tag}`) } });
    const ack = await line.expect('ENCAPSULATED');
    expect(ack.wirelessNodeId).toEqual(nodes[1]);
    expect(ack.message).toMatchObject({ type: 'PUBACK', msgId: 5, returnCode: 0 });
    await until(() => observer.messages.some((m) => m.topic === 'rf' && m.payload === `via-${tag}`), undefined, () => JSON.stringify(observer.messages));
  }

  it('§5.5 a forwarder on a SLIP serial line: each node is its own client, answered encapsulated', async () => {
    const pty = await PtyPair.open();
    closers.push(() => pty.close());
    const gw = await startGatewayWith(`{ type: serial, path: ${pty.gatewayEnd}, framing: slip }`);
    const line = await SlipSensor.open(pty.sensorEnd);
    closers.push(() => line.close());
    await forwarderScenario(gw, line, `serial:${pty.gatewayEnd}`, 'fe-slip');
  });

  it('§5.5 a forwarder behind an XBee: each node is its own client, answered encapsulated to the forwarder\'s 64-bit address', async () => {
    const pty = await PtyPair.open();
    closers.push(() => pty.close());
    const gw = await startGatewayWith(`{ type: xbee, path: ${pty.gatewayEnd}, apiMode: 2 }`);
    const line = await XBeeSensor.open(pty.sensorEnd, 2, Buffer.from('0013a20040a1b2c4', 'hex'));
    closers.push(() => line.close());
    await forwarderScenario(gw, line, 'xbee:0013a20040a1b2c4', 'fe-xbee');
    expect(line.transmits.every((t) => t.destination64 === '0013a20040a1b2c4')).toBe(true);
  });

  it('§5.5 a forwarder on Zigbee: each node is its own client, answered encapsulated to the forwarder\'s IEEE address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zigbee-fe-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const device = ZIGBEE_DEVICE;
    const adapters = fakeZigbee(dir, device);
    const gw = await startGatewayWith('{ type: zigbee, adapter: zstack, path: /dev/ttyFAKE0 }', dir);
    const line = new ZigbeeSensor(adapters[0], device, gw.config.radios[0] as { clusterId: number; manufacturerCode: number });
    closers.push(() => line.close());
    await forwarderScenario(gw, line, 'zigbee:0x00124b0012345678', 'fe-zb');
  });

  it('§5.5 a forwarder on a raw serial line: each node is its own client, answered encapsulated', async () => {
    const pty = await PtyPair.open();
    closers.push(() => pty.close());
    const gw = await startGatewayWith(`{ type: serial, path: ${pty.gatewayEnd}, framing: raw }`);
    const line = await RawSensor.open(pty.sensorEnd);
    closers.push(() => line.close());
    await forwarderScenario(gw, line, `serial:${pty.gatewayEnd}`, 'fe-raw');
  });
});

describe('20 several radios in one gateway (Mosquitto)', () => {
  it('§6.1 ADVERTISE goes out on every radio: UDP, serial, XBee and Zigbee, at start-up and every advertiseInterval', async () => {
    const { SnUdpPeer } = await import('../../client/udp-peer.js');
    const slipPty = await PtyPair.open();
    const xbeePty = await PtyPair.open();
    closers.push(() => slipPty.close(), () => xbeePty.close());
    const dir = mkdtempSync(join(tmpdir(), 'zigbee-adv-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const device = ZIGBEE_DEVICE;
    const adapters = fakeZigbee(dir, device);
    // Stands in for every UDP sensor in range: the radio's broadcasts are aimed at it.
    const udpListener = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: 1 } });
    closers.push(() => udpListener.close());
    const config = parseConfig(`
gateway: { id: 5, advertiseInterval: 900 }
broker: { url: ${broker.url} }
radios:
  - { type: udp, host: 127.0.0.1, port: 10000, broadcastAddress: 127.0.0.1, broadcastPort: ${udpListener.port} }
  - { type: serial, path: ${slipPty.gatewayEnd}, framing: slip }
  - { type: xbee, path: ${xbeePty.gatewayEnd}, apiMode: 2 }
  - { type: zigbee, adapter: zstack, path: /dev/ttyFAKE0 }
stateDir: ${dir}
`, 'advertise.yaml');
    (config.radios[0] as { port: number }).port = 0;
    const clock = new ManualClock();
    gateway = await Gateway.start(config, { clock });
    const advertise = { type: 'ADVERTISE', gwId: 5, duration: 900 };
    expect(await udpListener.expect('ADVERTISE')).toEqual(advertise); // the start-up one
    const slip = await SlipSensor.open(slipPty.sensorEnd);
    const xbee = await XBeeSensor.open(xbeePty.sensorEnd, 2, Buffer.from('0013a20040a1b2c5', 'hex'));
    const zigbee = new ZigbeeSensor(adapters[0], device, gateway.config.radios[3] as { clusterId: number; manufacturerCode: number });
    closers.push(() => slip.close(), () => xbee.close(), () => zigbee.close());
    const heard = (sensor: RadioSensor) => sensor.received.filter((m) => m.type === 'ADVERTISE');
    const before = [slip, xbee, zigbee].map((sensor) => heard(sensor).length);
    for (let i = 0; i < 900; i++) clock.advance(1000);
    expect(await udpListener.expect('ADVERTISE')).toEqual(advertise);
    for (const [i, sensor] of [slip, xbee, zigbee].entries()) {
      await until(() => heard(sensor).length > before[i]!, undefined, () => `ADVERTISE on radio ${i + 1}: ${JSON.stringify(sensor.received)}`);
      expect(heard(sensor).at(-1)).toEqual(advertise);
    }
    expect(xbee.transmits.at(-1)?.destination64).toBe('000000000000ffff');
  });

  it('UDP, serial and XBee side by side: a message crosses radios, and a missing device costs one log line, not the others', async () => {
    const { SnUdpPeer } = await import('../../client/udp-peer.js');
    const slipPty = await PtyPair.open();
    const xbeePty = await PtyPair.open();
    closers.push(() => slipPty.close(), () => xbeePty.close());
    const logs: string[] = [];
    const config = parseConfig(`
gateway: { advertiseInterval: 0 }
http: false
status: false
persistence: false
broker: { url: ${broker.url} }
radios:
  - { type: udp, host: 127.0.0.1, port: 10000, broadcastAddress: 127.0.0.1 }
  - { type: serial, name: bench-node, path: ${slipPty.gatewayEnd}, framing: slip }
  - { type: xbee, path: ${xbeePty.gatewayEnd}, apiMode: 2 }
  - { type: serial, name: unplugged, path: /dev/ttyNOSUCHDEVICE0, framing: raw }
`, 'multi.yaml');
    (config.radios[0] as { port: number }).port = 0;
    gateway = await Gateway.start(config, { clock: new ManualClock(), logger: { log: (level, message) => logs.push(`${level} ${message}`) } });
    await until(() => gateway!.upstream.connected);
    expect(gateway.radios.map((r) => r.name)).toEqual(['udp0', 'bench-node', 'xbee2', 'unplugged']);
    // The missing device: one clear line naming it; the gateway is up regardless.
    const missing = logs.filter((l) => l.includes('/dev/ttyNOSUCHDEVICE0'));
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatch(/^warn /);

    const udpPort = (gateway.radios[0] as UdpRadio).port;
    const listener = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: udpPort } });
    closers.push(() => listener.close());
    listener.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'udp-listener' });
    await listener.expect('CONNACK');
    listener.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topic: { topicIdType: 'normal', topicName: 'r/multi/#' } });
    await listener.expect('SUBACK');

    const slip = await SlipSensor.open(slipPty.sensorEnd);
    const xbee = await XBeeSensor.open(xbeePty.sensorEnd, 2, Buffer.from('0013a20040a1b2c3', 'hex'));
    closers.push(() => slip.close(), () => xbee.close());
    for (const [sensor, name] of [[slip, 'slip'], [xbee, 'xbee']] as const) {
      sensor.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: `multi-${name}` });
      await sensor.expect('CONNACK');
      sensor.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'short', topicId: name === 'slip' ? 0x7331 : 0x7832, msgId: 1, payload: Buffer.from(name) });
      expect(await sensor.expect('PUBACK')).toMatchObject({ returnCode: 0 });
      sensor.send({ type: 'REGISTER', topicId: 0, msgId: 2, topicName: `r/multi/${name}` });
      const { topicId } = await sensor.expect('REGACK');
      sensor.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'normal', topicId, msgId: 0, payload: Buffer.from(`from-${name}`) });
      // The UDP sensor hears it: REGISTER for the new topic, then the PUBLISH.
      const reg = await listener.expect('REGISTER');
      expect(reg.topicName).toBe(`r/multi/${name}`);
      listener.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
      expect(await listener.expect('PUBLISH')).toMatchObject({ topicId: reg.topicId, payload: Buffer.from(`from-${name}`) });
    }
    expect(gateway.core.clients().filter((c) => c.state === 'active').map((c) => `${c.clientId}@${c.radio}`).sort())
      .toEqual(['multi-slip@bench-node', 'multi-xbee@xbee2', 'udp-listener@udp0']);
  });
});
