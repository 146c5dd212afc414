/**
 * Beyond one gateway (issue 10): two gateway processes in transparent mode in front of one Mosquitto.
 * A CleanSession=0 sensor that moves from one to the other (as after SEARCHGW picks another gateway)
 * keeps its broker session: its subscriptions and the QoS 1 messages queued for it while it was away.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnUdpPeer } from '../../client/udp-peer.js';
import type { PublishMessage } from '../../sn-codec/types.js';
import { freePort, startMosquitto, type RunningBroker } from '../support/mosquitto.js';
import { connect, Observer, until } from '../support/harness.js';

const root = join(import.meta.dirname, '..', '..');
const daemon = join(root, 'bin', 'mqtt-sn-gateway.js');

interface Daemon { proc: ChildProcess; port: number; log(): string }

async function startDaemon(dir: string, id: number, brokerUrl: string): Promise<Daemon> {
  const port = await freePort();
  const config = join(dir, `gateway-${id}.yaml`);
  writeFileSync(config, [
    `gateway: { id: ${id}, advertiseInterval: 0 }`,
    `broker: { url: ${brokerUrl}, mode: transparent, protocolVersion: 5, clientId: gw-${id} }`,
    `radios: [ { type: udp, host: 127.0.0.1, port: ${port}, broadcastAddress: 127.0.0.1 } ]`,
    'http: false',
    'status: false',
    '',
  ].join('\n'));
  const proc = spawn(process.execPath, [daemon, '--config', config, '-v'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d) => { log += d; });
  await until(() => log.includes('running'), 40_000, () => `gateway ${id} start-up; log so far:\n${log}`);
  return { proc, port, log: () => log };
}

/** The gateway's next PUBLISH, answering any REGISTER before it (the new gateway names the topic first, §6.5). */
async function nextPublish(sensor: SnUdpPeer): Promise<PublishMessage> {
  for (;;) {
    const m = await sensor.next(10_000);
    if (m.type === 'REGISTER') {
      sensor.send({ type: 'REGACK', topicId: m.topicId, msgId: m.msgId, returnCode: 0 });
      continue;
    }
    if (m.type !== 'PUBLISH') throw new Error(`expected PUBLISH, got ${m.type}`);
    if (m.qos === 1) sensor.send({ type: 'PUBACK', topicId: m.topicId, msgId: m.msgId, returnCode: 0 });
    return m;
  }
}

describe('17 two gateways in transparent mode, one Mosquitto', () => {
  let broker: RunningBroker;
  let observer: Observer;
  let a: Daemon;
  let b: Daemon;
  const sensors: SnUdpPeer[] = [];
  const sensorAt = async (gw: Daemon) => {
    const s = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: gw.port } });
    sensors.push(s);
    return s;
  };

  beforeAll(async () => {
    broker = await startMosquitto({ listenerLines: () => ['log_dest stderr', 'log_type all'] });
    const dir = mkdtempSync(join(tmpdir(), 'gw-pair-'));
    [a, b] = await Promise.all([startDaemon(dir, 1, broker.url), startDaemon(dir, 2, broker.url)]);
    observer = await Observer.connect(broker.url);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(sensors.map((s) => s.close()));
    await observer?.close();
    for (const d of [a, b]) {
      if (!d || d.proc.exitCode !== null) continue;
      const exited = new Promise((resolve) => d.proc.once('exit', resolve));
      d.proc.kill('SIGTERM');
      await exited;
    }
    await broker?.stop();
  });

  it('§6.3 CleanSession=0 moving from gateway A to gateway B keeps its subscription and the QoS 1 messages queued meanwhile', async () => {
    const atA = await sensorAt(a);
    await connect(atA, 'mover', { cleanSession: false });
    atA.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topic: { topicIdType: 'normal', topicName: 'handover/mover' } });
    expect(await atA.expect('SUBACK', 10_000)).toMatchObject({ returnCode: 0, qos: 1 });
    await observer.publish('handover/mover', 'via A', 1);
    expect((await nextPublish(atA)).payload.toString()).toBe('via A');

    atA.send({ type: 'DISCONNECT' });
    await atA.expect('DISCONNECT');
    await until(() => broker.output().includes('Client mover disconnected'), 10_000, () => broker.output());
    // Away from both gateways: the broker queues these for the session.
    await observer.publish('handover/mover', 'queued 1', 1);
    await observer.publish('handover/mover', 'queued 2', 1);

    const atB = await sensorAt(b);
    await connect(atB, 'mover', { cleanSession: false });
    expect((await nextPublish(atB)).payload.toString()).toBe('queued 1');
    expect((await nextPublish(atB)).payload.toString()).toBe('queued 2');
    // The subscription made through A is still the session's: live messages follow it to B.
    await observer.publish('handover/mover', 'live via B', 1);
    const live = await nextPublish(atB);
    expect(live).toMatchObject({ qos: 1 });
    expect(live.payload.toString()).toBe('live via B');
  });

  it('§6.3 a sensor that moves without DISCONNECT: B takes the broker session over, A lets the sensor go (DISCONNECT) and does not fight back', async () => {
    const atA = await sensorAt(a);
    await connect(atA, 'roamer', { cleanSession: false });
    atA.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topic: { topicIdType: 'normal', topicName: 'handover/roamer' } });
    expect(await atA.expect('SUBACK', 10_000)).toMatchObject({ returnCode: 0 });

    const atB = await sensorAt(b);
    await connect(atB, 'roamer', { cleanSession: false });
    expect(await atA.expect('DISCONNECT', 10_000)).toEqual({ type: 'DISCONNECT' });
    await until(() => a.log().includes('client roamer lost: broker:'), 10_000, () => a.log());

    await observer.publish('handover/roamer', 'after the move', 1);
    expect((await nextPublish(atB)).payload.toString()).toBe('after the move');
    // One broker client for roamer: B's. (A reconnecting would have kicked B and shown up as a second takeover.)
    expect(broker.output().match(/as roamer \(/g)).toHaveLength(2);
  });
});
