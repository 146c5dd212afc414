/**
 * Zigbee from the dongle's bytes up: the real gateway (Gateway object and daemon), the real ZigbeeRadio and
 * zigbee-herdsman's real `zstack` adapter, talking ZNP to an emulated Z-Stack dongle (test/support/znp-emulator.ts)
 * over a socat pseudo-terminal pair (as /dev/ttyUSB0) or herdsman's `tcp://` path; a real Mosquitto upstream.
 *
 * herdsman keeps process-wide state (device cache, database handle): the gateways here run one after another.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import { Gateway } from '../../gateway/gateway.js';
import type { Logger } from '../../gateway/logger.js';
import type { ZigbeeRadio } from '../../radios/zigbee.js';
import { NETWORK_KEY_FILE } from '../../radios/zigbee-network-key.js';
import { SnUdpPeer } from '../../client/udp-peer.js';
import { connect, Observer, register, startBroker, until, type Broker } from '../support/harness.js';
import { freePort } from '../support/mosquitto.js';
import { DataConfirmStatus, mqttSnInZcl, Nv, PtyLink, TcpLink, ZnpDongle, type ZnpDevice } from '../support/znp-emulator.js';

const PAN_ID = 0x2b7c;
const CHANNEL = 20;
/** herdsman forms a network with a fixed 3 s wait and answers within 6 s time-outs: leave room on a loaded machine. */
const SLOW_TEST_MS = 60_000;

let broker: Broker;
let observer: Observer;

beforeAll(async () => {
  broker = await startBroker('mosquitto');
  observer = await Observer.connect(broker.url);
  await observer.subscribe('zb/#');
});
afterAll(async () => {
  await observer?.close();
  await broker?.stop();
});

class LogLines implements Logger {
  readonly lines: { level: string; message: string }[] = [];
  log(level: string, message: string): void {
    this.lines.push({ level, message });
  }
  matching(pattern: RegExp): string[] {
    return this.lines.map((l) => l.message).filter((m) => pattern.test(m));
  }
}

interface Running {
  gateway: Gateway;
  clock: ManualClock;
  zigbee: ZigbeeRadio;
  logs: LogLines;
}

interface GatewayOptions {
  /** The radio's `permitJoin` key (seconds); omitted = the default, closed. */
  permitJoin?: number;
  advertiseInterval?: number;
  /** A UDP radio beside the Zigbee one, on this port. */
  udpPort?: number;
}

async function startGateway(stateDir: string, path: string, options: GatewayOptions = {}): Promise<Running> {
  const permitJoin = options.permitJoin === undefined ? '' : `, permitJoin: ${options.permitJoin}`;
  const udp = options.udpPort === undefined ? '' : `  - { type: udp, host: 127.0.0.1, port: ${options.udpPort}, broadcastAddress: 127.0.0.1 }\n`;
  const config = parseConfig(`
gateway: { id: 7, advertiseInterval: ${options.advertiseInterval ?? 0}, retry: { interval: 10, count: 3 } }
persistence: false
broker: { url: ${broker.url} }
http: false
status: false
radios:
  - { type: zigbee, adapter: zstack, path: '${path}', panId: ${PAN_ID}, channel: ${CHANNEL}${permitJoin} }
${udp}stateDir: ${stateDir}
`, 'zigbee-znp.yaml');
  const clock = new ManualClock();
  const logs = new LogLines();
  const gateway = await Gateway.start(config, { clock, logger: logs });
  await until(() => gateway.upstream.connected, undefined, () => 'gateway connected to the broker');
  const zigbee = gateway.radios[0] as ZigbeeRadio;
  return { gateway, clock, zigbee, logs };
}

/** The network the first suite formed (NV items and key file): later suites resume it in about a second instead of forming their own. */
let formedNetwork: { nv: Map<number, Buffer>; keyFile: string } | undefined;

/** The device joins once joining is open, is interviewed, and connects with CleanSession=1: CONNACK 0x00. */
async function joinAndConnect(dongle: ZnpDongle, sensor: ZnpDevice, running: Running, clientId: string): Promise<void> {
  await until(() => dongle.joinPermitted, 10_000, () => 'joining permitted');
  sensor.join();
  await until(() => running.logs.matching(/joined and was interviewed/).length === 1, 15_000, () => 'the interview');
  sensor.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 3600, clientId });
  expect(await sensor.expect('CONNACK', 10_000)).toEqual({ type: 'CONNACK', returnCode: 0 });
}

/** A dongle already carrying that network, powered up fresh, beside a state directory with its key (no database, no backup yet). */
function inheritFormedNetwork(dongle: ZnpDongle, stateDir: string): void {
  if (!formedNetwork) return; // this suite run alone: it forms its own network
  dongle.loadNv(formedNetwork.nv);
  writeFileSync(join(stateDir, NETWORK_KEY_FILE), formedNetwork.keyFile);
}

describe('21 Zigbee over ZNP: formation and resume (pty)', { timeout: SLOW_TEST_MS }, () => {
  const dongle = new ZnpDongle();
  let stateDir: string;
  let link: PtyLink | undefined;
  let running: Running | undefined;

  beforeAll(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'znp-state-'));
  });
  afterEach(async () => {
    await running?.gateway.stop();
    running = undefined;
    await link?.close();
    link = undefined;
    dongle.assertNoProblems();
  });
  afterAll(() => {
    if (dongle.formed) formedNetwork = { nv: new Map(dongle.nv), keyFile: readFileSync(join(stateDir, NETWORK_KEY_FILE), 'utf8') };
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('first start on a fresh dongle forms the network with the configured PAN id and channel and the key generated in stateDir', async () => {
    link = await PtyLink.open(dongle);
    running = await startGateway(stateDir, link.path);
    expect(running.zigbee.running).toBe(true);
    expect(dongle.formations).toBe(1);
    const nib = dongle.nib!;
    expect(nib.nwkPanId).toBe(PAN_ID);
    expect(nib.nwkLogicalChannel).toBe(CHANNEL);
    expect(nib.channelList).toBe(1 << CHANNEL);
    const stored = JSON.parse(readFileSync(join(stateDir, NETWORK_KEY_FILE), 'utf8')) as { networkKey: number[] };
    expect([...dongle.networkKey!]).toEqual(stored.networkKey);
    expect(dongle.nv.get(Nv.HAS_CONFIGURED_ZSTACK3)).toEqual(Buffer.from([0x55]));
    expect(running.logs.matching(/Zigbee coordinator started on .*: formed a new network, channel 20, PAN 0x2b7c/)).toHaveLength(1);
  });

  it('herdsman keeps its database and coordinator backup in stateDir, where README says', async () => {
    link = await PtyLink.open(dongle);
    running = await startGateway(stateDir, link.path);
    await until(() => existsSync(join(stateDir, 'zigbee-backup.json')), 10_000, () => 'zigbee-backup.json');
    const backup = JSON.parse(readFileSync(join(stateDir, 'zigbee-backup.json'), 'utf8')) as { pan_id: string; channel: number; network_key: { key: string } };
    expect(parseInt(backup.pan_id, 16)).toBe(PAN_ID);
    expect(backup.channel).toBe(CHANNEL);
    expect(Buffer.from(backup.network_key.key, 'hex')).toEqual(dongle.networkKey);
    await running.gateway.stop();
    running = undefined;
    expect(existsSync(join(stateDir, 'zigbee.db'))).toBe(true);
  });

  it('a second start resumes the network: not formed again, the same key', async () => {
    const keyBefore = dongle.networkKey;
    link = await PtyLink.open(dongle);
    running = await startGateway(stateDir, link.path);
    expect(dongle.formations).toBe(1);
    expect(dongle.networkKey).toEqual(keyBefore);
    expect(running.logs.matching(/Zigbee coordinator started on .*: resumed the network/)).toHaveLength(1);
  });
});

/** A sensor whose firmware follows README's contract, on endpoint 8, declaring the MQTT-SN cluster. */
const SENSOR = {
  ieee: '0x00124b00aabbcc01',
  nwk: 0x4a11,
  manufacturerCode: 0xfff1,
  endpoints: [{ id: 8, profileId: 0x0104, deviceId: 0x0302, inClusters: [0x0000], outClusters: [0xfc00] }],
  basic: { modelId: 'sn-node-1', manufacturerName: 'Test Vendor', powerSource: 0x03 },
};
/** A lamp on the same network, on endpoint 1 (the configured fallback) but without the MQTT-SN cluster: it must never be sent MQTT-SN frames. */
const LAMP = { ieee: '0x00124b00aabbcc02', nwk: 0x5b22, manufacturerCode: 0x1234, endpoints: [{ id: 1, profileId: 0x0104, deviceId: 0x0100, inClusters: [0x0006], outClusters: [] }] };

describe('21 Zigbee over ZNP: devices join and speak MQTT-SN (pty)', { timeout: SLOW_TEST_MS }, () => {
  const dongle = new ZnpDongle();
  const sensor = dongle.device(SENSOR);
  const lamp = dongle.device(LAMP);
  let stateDir: string;
  let link: PtyLink;
  let running: Running;
  let topicId = 0;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'znp-state-'));
    inheritFormedNetwork(dongle, stateDir);
    link = await PtyLink.open(dongle);
    running = await startGateway(stateDir, link.path, { permitJoin: 60, advertiseInterval: 60 });
  }, SLOW_TEST_MS);
  afterEach(() => dongle.assertNoProblems());
  afterAll(async () => {
    await running?.gateway.stop();
    await link?.close();
    rmSync(stateDir, { recursive: true, force: true });
  }, SLOW_TEST_MS);

  const dataRequestsTo = (nwk: number) => dongle.dataRequests.filter((r) => r.dstaddr === nwk);

  it('permitJoin from the config reaches the dongle as a broadcast ZDO permit-join request', async () => {
    await until(() => dongle.permitJoins.length > 0, 10_000, () => 'a permit-join request');
    expect(dongle.permitJoins[0]).toEqual({ addrMode: 0x0f, dstaddr: 0xfffc, duration: 60 });
    expect(dongle.joinPermitted).toBe(true);
  });

  it('a device joins, is interviewed, and is named zigbee:0x<ieee>', async () => {
    sensor.join();
    lamp.join();
    // The start-up ADVERTISE went out before anyone joined; the periodic one is checked below.
    await until(() => running.logs.matching(/joined and was interviewed/).length === 2, 15_000, () => `two interviews; log: ${running.logs.matching(/zigbee/i).join('\n')}`);
    expect(running.logs.matching(/joined and was interviewed/).sort()).toEqual([
      expect.stringContaining(`zigbee:${SENSOR.ieee} joined and was interviewed (network address 0x4a11, lists cluster 0xfc00)`),
      expect.stringContaining(`zigbee:${LAMP.ieee} joined and was interviewed (network address 0x5b22, does not list cluster 0xfc00)`),
    ]);
    for (const name of ['SREQ ZDO nodeDescReq', 'SREQ ZDO activeEpReq', 'SREQ ZDO simpleDescReq']) expect(dongle.received).toContain(name);
    // The sensor lists genBasic, so the interview read its model and manufacturer (README: answer these reads).
    expect(sensor.basicReads).toEqual(expect.arrayContaining([0x0004, 0x0005, 0x0007]));
  });

  it('§6.2/§6.5/§6.6 CONNECT, REGISTER and a QoS 1 PUBLISH from the device reach Mosquitto', async () => {
    sensor.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 3600, clientId: 'zb-sensor' });
    expect(await sensor.expect('CONNACK', 10_000)).toEqual({ type: 'CONNACK', returnCode: 0 });
    expect(running.gateway.core.client('zb-sensor')?.address).toBe(`zigbee:${SENSOR.ieee}`);
    sensor.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'zb/sensor/temp' });
    const regack = await sensor.expect('REGACK');
    expect(regack).toMatchObject({ msgId: 1, returnCode: 0 });
    topicId = regack.topicId;
    sensor.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 2, payload: Buffer.from('21.5') });
    expect(await sensor.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId, msgId: 2, returnCode: 0 });
    const [message] = await observer.waitFor(1, 'zb/sensor/temp');
    expect(message).toMatchObject({ payload: '21.5', qos: 1 });
  });

  it('§6.10 a broker message to a subscribed topic reaches the dongle as AF_DATA_REQUEST in cluster 0xFC00, to the device endpoint, with manufacturer code 0xFFF1', async () => {
    sensor.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 3, topic: { topicIdType: 'normal', topicName: 'zb/sensor/set' } });
    const suback = await sensor.expect('SUBACK');
    expect(suback).toMatchObject({ msgId: 3, qos: 1, returnCode: 0 });
    const before = sensor.zcl.length;
    await observer.publish('zb/sensor/set', 'on', 1);
    const publish = await sensor.expect('PUBLISH', 10_000);
    expect(publish).toMatchObject({ qos: 1, topicId: suback.topicId, payload: Buffer.from('on') });
    const zcl = sensor.zcl[before];
    // From coordinator endpoint 1, registered on the Home Automation profile; herdsman asks for no APS ack (options 0).
    expect(zcl.request).toMatchObject({ dstaddr: SENSOR.nwk, destendpoint: 8, srcendpoint: 1, clusterid: 0xfc00, options: 0 });
    expect(dongle.endpointProfile(1)).toBe(0x0104);
    // Cluster-specific, manufacturer-specific, server→client, no default response; command 0x00.
    expect(zcl.frameControl).toBe(0x1d);
    expect(zcl.manufacturerCode).toBe(0xfff1);
    expect(zcl.commandId).toBe(0x00);
    sensor.send({ type: 'PUBACK', topicId: publish.topicId, msgId: publish.msgId, returnCode: 0 });
    await until(() => running.gateway.core.client('zb-sensor')?.inflight === 0, undefined, () => 'PUBACK taken');
  });

  it('§6.1 ADVERTISE goes to the devices that list the cluster, not to the others', async () => {
    const toSensor = dataRequestsTo(SENSOR.nwk).length;
    const toLamp = dataRequestsTo(LAMP.nwk).length;
    running.clock.advance(60_000);
    expect(await sensor.expect('ADVERTISE')).toEqual({ type: 'ADVERTISE', gwId: 7, duration: 60 });
    expect(dataRequestsTo(SENSOR.nwk)).toHaveLength(toSensor + 1);
    expect(dataRequestsTo(SENSOR.nwk).at(-1)).toMatchObject({ destendpoint: 8, clusterid: 0xfc00 });
    expect(dataRequestsTo(LAMP.nwk)).toHaveLength(toLamp);
  });
});

describe('21 Zigbee over ZNP: rejoin and failed delivery (pty)', { timeout: SLOW_TEST_MS }, () => {
  const dongle = new ZnpDongle();
  const sensor = dongle.device(SENSOR);
  let stateDir: string;
  let link: PtyLink;
  let running: Running;
  let setTopicId = 0;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'znp-state-'));
    inheritFormedNetwork(dongle, stateDir);
    link = await PtyLink.open(dongle);
    running = await startGateway(stateDir, link.path, { permitJoin: 30 });
    await joinAndConnect(dongle, sensor, running, 'zb-rejoin');
    sensor.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topic: { topicIdType: 'normal', topicName: 'zb/rejoin/set' } });
    setTopicId = (await sensor.expect('SUBACK')).topicId;
  }, SLOW_TEST_MS);
  afterEach(() => dongle.assertNoProblems());
  afterAll(async () => {
    await running?.gateway.stop();
    await link?.close();
    rmSync(stateDir, { recursive: true, force: true });
  }, SLOW_TEST_MS);

  it('§6.2 a device that rejoins with a new network address is still the same client, its session intact', async () => {
    sensor.rejoin(0x6c33);
    // Its next frame comes from the new address; the answer goes there too.
    sensor.send({ type: 'PINGREQ' });
    expect(await sensor.expect('PINGRESP', 10_000)).toEqual({ type: 'PINGRESP' });
    expect(sensor.zcl.at(-1)!.request.dstaddr).toBe(0x6c33);
    const client = running.gateway.core.client('zb-rejoin')!;
    expect(client).toMatchObject({ state: 'active', address: `zigbee:${SENSOR.ieee}` });
    expect(client.subscriptions.map((s) => s.filter)).toEqual(['zb/rejoin/set']);
    expect(running.gateway.core.clients()).toHaveLength(1);
    await observer.publish('zb/rejoin/set', 'after-rejoin', 1);
    const publish = await sensor.expect('PUBLISH', 10_000);
    expect(publish).toMatchObject({ topicId: setTopicId, payload: Buffer.from('after-rejoin') });
    expect(sensor.zcl.at(-1)!.request.dstaddr).toBe(0x6c33);
    sensor.send({ type: 'PUBACK', topicId: publish.topicId, msgId: publish.msgId, returnCode: 0 });
    await until(() => running.gateway.core.client('zb-rejoin')?.inflight === 0, undefined, () => 'PUBACK taken');
  });

  it('§6.13 a delivery the dongle reports unacknowledged (APS no ack) is counted and the PUBLISH is sent again with DUP', async () => {
    const failuresBefore = running.zigbee.stats.sendFailures;
    const requestsBefore = dongle.dataRequests.length;
    dongle.failNextDataConfirms(DataConfirmStatus.APS_NO_ACK);
    await observer.publish('zb/rejoin/set', 'lost-once', 1);
    await until(() => running.zigbee.stats.sendFailures === failuresBefore + 1, 10_000, () => 'the failed delivery counted');
    expect(dongle.dataRequests[requestsBefore].confirmed).toBe(DataConfirmStatus.APS_NO_ACK);
    expect(mqttSnInZcl(dongle.dataRequests[requestsBefore].data)).toMatchObject({ type: 'PUBLISH', dup: false, payload: Buffer.from('lost-once') });
    expect(running.logs.matching(/frame to zigbee:0x00124b00aabbcc01 not delivered: .*APS_NO_ACK/)).toHaveLength(1);
    // T_RETRY later the gateway sends it again, with DUP set, and this time it arrives.
    running.clock.advance(10_000);
    const publish = await sensor.expect('PUBLISH', 10_000);
    expect(publish).toMatchObject({ dup: true, topicId: setTopicId, payload: Buffer.from('lost-once') });
    expect(dongle.dataRequests).toHaveLength(requestsBefore + 2);
    sensor.send({ type: 'PUBACK', topicId: publish.topicId, msgId: publish.msgId, returnCode: 0 });
    await until(() => running.gateway.core.client('zb-rejoin')?.inflight === 0, undefined, () => 'PUBACK taken');
    expect(running.gateway.core.client('zb-rejoin')?.state).toBe('active');
  });

  it('§6.13 a sleeping end device that keeps missing its poll window: herdsman rewrites its association, rediscovers the route and looks up its address, then the failure is counted and §6.13 resends', async () => {
    const failuresBefore = running.zigbee.stats.sendFailures;
    const requestsBefore = dongle.dataRequests.length;
    const commandsBefore = dongle.received.length;
    // Every attempt herdsman makes (five) expires in the coordinator's indirect queue.
    dongle.failNextDataConfirms(...Array<number>(5).fill(DataConfirmStatus.MAC_TRANSACTION_EXPIRED));
    await observer.publish('zb/rejoin/set', 'asleep', 1);
    await until(() => running.zigbee.stats.sendFailures === failuresBefore + 1, 30_000, () => `the failed delivery counted; dongle saw ${dongle.received.slice(commandsBefore).join(', ')}`);
    expect(dongle.dataRequests.slice(requestsBefore).map((r) => r.confirmed)).toEqual(Array(5).fill(DataConfirmStatus.MAC_TRANSACTION_EXPIRED));
    const recovery = dongle.received.slice(commandsBefore).filter((c) => !c.endsWith('dataRequest'));
    expect(recovery).toEqual(['SREQ UTIL assocGetWithAddress', 'SREQ UTIL assocRemove', 'SREQ UTIL assocAdd', 'SREQ ZDO extRouteDisc', 'SREQ ZDO nwkAddrReq']);
    expect(sensor.associated).toBe(true);
    expect(running.logs.matching(/frame to zigbee:0x00124b00aabbcc01 not delivered: .*MAC_TRANSACTION_EXPIRED/)).toHaveLength(1);
    // The sensor polls again in time for the resend.
    running.clock.advance(10_000);
    const publish = await sensor.expect('PUBLISH', 10_000);
    expect(publish).toMatchObject({ dup: true, payload: Buffer.from('asleep') });
    sensor.send({ type: 'PUBACK', topicId: publish.topicId, msgId: publish.msgId, returnCode: 0 });
    await until(() => running.gateway.core.client('zb-rejoin')?.inflight === 0, undefined, () => 'PUBACK taken');
  });

  it('§6.13 a MAC-level miss that herdsman recovers from by itself is neither counted nor retried by the gateway', async () => {
    const failuresBefore = running.zigbee.stats.sendFailures;
    const requestsBefore = dongle.dataRequests.length;
    dongle.failNextDataConfirms(DataConfirmStatus.MAC_NO_ACK);
    await observer.publish('zb/rejoin/set', 'second-try', 1);
    // herdsman waits 2 s and sends the same frame again; the gateway's clock has not moved.
    const publish = await sensor.expect('PUBLISH', 10_000);
    expect(publish).toMatchObject({ dup: false, payload: Buffer.from('second-try') });
    expect(dongle.dataRequests.slice(requestsBefore).map((r) => r.confirmed)).toEqual([DataConfirmStatus.MAC_NO_ACK, DataConfirmStatus.SUCCESS]);
    expect(running.zigbee.stats.sendFailures).toBe(failuresBefore);
    sensor.send({ type: 'PUBACK', topicId: publish.topicId, msgId: publish.msgId, returnCode: 0 });
    await until(() => running.gateway.core.client('zb-rejoin')?.inflight === 0, undefined, () => 'PUBACK taken');
  });
});

describe('21 Zigbee over ZNP: the dongle vanishes and comes back (tcp://)', { timeout: SLOW_TEST_MS }, () => {
  const dongle = new ZnpDongle();
  const sensor = dongle.device(SENSOR);
  let stateDir: string;
  let tcp: TcpLink;
  let running: Running;
  let udpPort = 0;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'znp-state-'));
    inheritFormedNetwork(dongle, stateDir);
    tcp = await TcpLink.open(dongle);
    udpPort = await freePort();
    running = await startGateway(stateDir, tcp.url, { permitJoin: 30, udpPort });
    await joinAndConnect(dongle, sensor, running, 'zb-tcp');
  }, SLOW_TEST_MS);
  afterEach(() => dongle.assertNoProblems());
  afterAll(async () => {
    await running?.gateway.stop();
    await tcp?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('logs one line, retries with backoff, serves again without a restart; the UDP radio never notices', async () => {
    const udpSensor = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: udpPort } });
    try {
      await connect(udpSensor, 'udp-neighbour', { duration: 3600 });
      const connectionsBefore = tcp.connections;
      const formationsBefore = dongle.formations;
      const resumedBefore = running.logs.matching(/Zigbee coordinator started on .*: resumed the network/).length;
      tcp.vanish();
      // Unplugged and plugged in again: the firmware restarts, its NV (and so the network) kept.
      dongle.powerCycle();
      await until(() => !running.zigbee.running, 10_000, () => 'the radio noticed the dongle is gone');
      // Two failed reconnection attempts, each one line with its backoff delay.
      await until(() => tcp.connections >= connectionsBefore + 2, 20_000, () => `two reconnection attempts (${tcp.connections - connectionsBefore})`);
      const lost = running.logs.matching(/zigbee0: the Zigbee adapter on tcp:\/\/127\.0\.0\.1:\d+ disconnected; retrying in 1s/);
      expect(lost).toHaveLength(1);
      await until(() => running.logs.matching(/zigbee0: cannot start the Zigbee adapter .*retrying in 4s/).length === 1, 20_000, () => `backoff lines: ${running.logs.matching(/retrying/).join('\n')}`);
      expect(running.logs.matching(/zigbee0: cannot start the Zigbee adapter .*retrying in 2s/)).toHaveLength(1);

      // Meanwhile the UDP sensor is served as before.
      const topicId = await register(udpSensor, 'zb/udp/during-outage');
      udpSensor.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 9, payload: Buffer.from('still here') });
      expect(await udpSensor.expect('PUBACK')).toMatchObject({ msgId: 9, returnCode: 0 });
      await observer.waitFor(1, 'zb/udp/during-outage');

      tcp.comeBack();
      await until(() => running.zigbee.running, 20_000, () => 'the radio back');
      expect(dongle.formations).toBe(formationsBefore);
      expect(running.logs.matching(/Zigbee coordinator started on .*: resumed the network/)).toHaveLength(resumedBefore + 1);
      expect(dongle.received).toContain('SREQ ZDO startupFromApp');
      // The Zigbee sensor is served again, by the same gateway and session.
      sensor.send({ type: 'PINGREQ' });
      expect(await sensor.expect('PINGRESP', 10_000)).toEqual({ type: 'PINGRESP' });
      expect(running.gateway.core.client('zb-tcp')?.state).toBe('active');
      expect(running.gateway.core.client('udp-neighbour')?.state).toBe('active');
    } finally {
      await udpSensor.close();
    }
  });
});

describe('21 Zigbee over ZNP: the serial dongle is unplugged and plugged in again (pty)', { timeout: SLOW_TEST_MS }, () => {
  const dongle = new ZnpDongle();
  const sensor = dongle.device(SENSOR);
  let stateDir: string;
  let link: PtyLink;
  let running: Running;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'znp-state-'));
    inheritFormedNetwork(dongle, stateDir);
    link = await PtyLink.open(dongle);
    running = await startGateway(stateDir, link.path, { permitJoin: 30 });
    await joinAndConnect(dongle, sensor, running, 'zb-usb');
  }, SLOW_TEST_MS);
  afterEach(() => dongle.assertNoProblems());
  afterAll(async () => {
    await running?.gateway.stop();
    await link?.close();
    rmSync(stateDir, { recursive: true, force: true });
  }, SLOW_TEST_MS);

  it('the radio notices the device node is gone, logs one line, retries with backoff and resumes when it is back', async () => {
    const formationsBefore = dongle.formations;
    const resumedBefore = running.logs.matching(/Zigbee coordinator started on .*: resumed the network/).length;
    link.unplug();
    dongle.powerCycle();
    await until(() => !running.zigbee.running, 10_000, () => 'the radio noticed the dongle is gone');
    await until(() => running.logs.matching(/zigbee0: cannot start the Zigbee adapter 'zstack' on .*ttyZNP.*retrying in 2s/).length === 1, 20_000, () => `a failed retry; log: ${running.logs.matching(/zigbee0/).join('\n')}`);
    expect(running.logs.matching(/zigbee0: the Zigbee dongle .*ttyZNP is gone \(unplugged\?\); retrying in 1s/)).toHaveLength(1);
    expect(running.logs.matching(/disconnected; retrying/)).toEqual([]);

    await link.plugIn();
    await until(() => running.zigbee.running, 20_000, () => 'the radio back');
    expect(dongle.formations).toBe(formationsBefore);
    expect(running.logs.matching(/Zigbee coordinator started on .*: resumed the network/)).toHaveLength(resumedBefore + 1);
    sensor.send({ type: 'PINGREQ' });
    expect(await sensor.expect('PINGRESP', 10_000)).toEqual({ type: 'PINGRESP' });
    expect(running.gateway.core.client('zb-usb')?.state).toBe('active');
  });
});

describe('21 Zigbee over ZNP: the daemon (pty)', { timeout: SLOW_TEST_MS }, () => {
  const dongle = new ZnpDongle();
  const sensor = dongle.device(SENSOR);
  let dir: string;
  let link: PtyLink;
  let proc: ChildProcess | undefined;
  let log = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'znp-daemon-'));
    link = await PtyLink.open(dongle);
  }, SLOW_TEST_MS);
  afterEach(() => dongle.assertNoProblems());
  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((resolve) => proc!.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    }
    await link?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGUSR1 opens joining on the dongle for 120 s, and a device joins and is interviewed', async () => {
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, [
      'gateway: { advertiseInterval: 0 }',
      `broker: { url: ${broker.url} }`,
      'http: false',
      'status: false',
      'radios:',
      `  - { type: zigbee, adapter: zstack, path: '${link.path}', panId: ${PAN_ID}, channel: ${CHANNEL} }`,
      'stateDir: ./state',
      '',
    ].join('\n'));
    proc = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'mqtt-sn-gateway.js'), '--config', config], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (d) => (log += d));
    await until(() => log.includes('running'), 30_000, () => `daemon start-up; log so far:\n${log}`);
    expect(log).toMatch(/zigbee0: Zigbee coordinator started on .*: formed a new network/);
    // permitJoin is 0 in this config: the network stays closed until the signal.
    expect(dongle.permitJoins.filter((p) => p.duration > 0)).toEqual([]);
    expect(() => sensor.join()).toThrow(/does not permit joining/);
    expect(existsSync(join(dir, 'state', 'zigbee-network-key.json'))).toBe(true);

    proc.kill('SIGUSR1');
    await until(() => dongle.permitJoins.some((p) => p.duration > 0), 10_000, () => `a permit-join request; log:\n${log}`);
    expect(dongle.permitJoins.filter((p) => p.duration > 0)).toEqual([{ addrMode: 0x0f, dstaddr: 0xfffc, duration: 120 }]);
    await until(() => log.includes('SIGUSR1: Zigbee joining permitted for 120 s'), 10_000, () => `the SIGUSR1 line; log:\n${log}`);
    sensor.join();
    await until(() => log.includes(`zigbee:${SENSOR.ieee} joined and was interviewed`), 15_000, () => `the interview; log:\n${log}`);
  });

  it('SIGUSR1 while the dongle is unplugged says that joining was not permitted', async () => {
    link.unplug();
    await until(() => log.includes('is gone (unplugged?)'), 10_000, () => `the unplugged line; log:\n${log}`);
    proc!.kill('SIGUSR1');
    await until(() => log.includes('SIGUSR1: Zigbee joining not permitted: no Zigbee coordinator is running'), 10_000, () => `the SIGUSR1 line; log:\n${log}`);
    expect(log).toContain('zigbee0: cannot permit joining: the Zigbee coordinator is not running');
    expect(log.match(/SIGUSR1: Zigbee joining permitted/g)).toHaveLength(1);
  });
});
