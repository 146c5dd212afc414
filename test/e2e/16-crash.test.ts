/**
 * The daemon as deployed (bin/mqtt-sn-gateway.js --config FILE, persistence on) with a real Mosquitto and
 * real UDP sensors, stopped during traffic by SIGTERM or by kill -9 at a random moment, then started again
 * on the same stateDir. What sensors and the broker see must be as if it had never stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SnUdpPeer } from '../../client/udp-peer.js';
import type { PublishMessage } from '../../sn-codec/types.js';
import { freePort, startMosquitto, type RunningBroker } from '../support/mosquitto.js';
import { connect, Observer, register, until } from '../support/harness.js';
import { receivePublish, subscribe } from '../support/flows.js';

/** Two daemon start-ups, traffic and a drain; generous for a loaded machine. */
const CRASH_TEST_MS = 90_000;

const root = join(import.meta.dirname, '..', '..');
const daemonBin = join(root, 'bin', 'mqtt-sn-gateway.js');

let mosquitto: RunningBroker;
let observer: Observer;
const running = new Set<ChildProcess>();
const sensors: SnUdpPeer[] = [];

beforeAll(async () => {
  mosquitto = await startMosquitto();
  observer = await Observer.connect(mosquitto.url);
  await observer.subscribe('crash/up/#', 2);
});
afterEach(async () => {
  await Promise.all(sensors.splice(0).map((s) => s.close()));
  for (const p of running) p.kill('SIGKILL');
  running.clear();
});
afterAll(async () => {
  await observer?.close();
  await mosquitto?.stop();
});

interface Daemon { proc: ChildProcess; log: () => string; exited: Promise<number | null> }

interface Site { config: string; port: number }

async function newSite(tag: string): Promise<Site> {
  const dir = mkdtempSync(join(tmpdir(), `gw-crash-${tag}-`));
  const port = await freePort();
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, [
    'gateway: { id: 9, advertiseInterval: 0 }',
    `broker: { url: ${mosquitto.url}, clientId: crash-${tag}, reconnectMin: 0.2, reconnectMax: 1 }`,
    `radios: [ { type: udp, host: 127.0.0.1, port: ${port}, broadcastAddress: 127.0.0.1 } ]`,
    'stateDir: ./state',
    'persistence: true',
    'http: false',
    'status: false',
    '',
  ].join('\n'));
  return { config, port };
}

async function startDaemon(site: Site): Promise<Daemon> {
  const proc = spawn(process.execPath, [daemonBin, '--config', site.config], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(proc);
  let log = '';
  proc.stderr!.on('data', (d) => { log += d; });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => { running.delete(proc); resolve(code); }));
  await until(() => log.includes('broker: connected') && log.includes('running'), 15_000, () => `daemon start-up; log so far:\n${log}`);
  return { proc, log: () => log, exited };
}

async function stopDaemon(daemon: Daemon, how: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  daemon.proc.kill(how);
  const code = await daemon.exited;
  if (how === 'SIGTERM') expect(code, daemon.log()).toBe(0);
}

async function sensor(site: Site): Promise<SnUdpPeer> {
  const s = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: site.port } });
  sensors.push(s);
  return s;
}

/** The PUBACK for `msgId`; a late one for an earlier message (sent just before the stop) is passed over. */
async function expectPuback(s: SnUdpPeer, msgId: number): Promise<void> {
  for (;;) {
    const puback = await s.expect('PUBACK', 10_000);
    if (puback.msgId === msgId) {
      expect(puback.returnCode).toBe(0);
      return;
    }
  }
}

/** A random whole number in [min, max]. */
function randomIn(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** Wakes a sleeping sensor and takes every buffered message, completing each QoS flow, until PINGRESP. */
async function wakeAndDrain(s: SnUdpPeer, clientId: string, daemonLog: () => string = () => ''): Promise<PublishMessage[]> {
  s.send({ type: 'PINGREQ', clientId });
  const got: PublishMessage[] = [];
  for (;;) {
    const next = await s.next(10_000);
    if (next.type === 'PINGRESP') return got;
    expect(next.type, `after ${got.length} message(s); the daemon's log:\n${daemonLog()}`).toBe('PUBLISH');
    const p = next as PublishMessage;
    if (p.qos === 1) s.send({ type: 'PUBACK', topicId: p.topicId, msgId: p.msgId, returnCode: 0 });
    if (p.qos === 2) {
      s.send({ type: 'PUBREC', msgId: p.msgId });
      expect(await s.expect('PUBREL', 10_000)).toMatchObject({ msgId: p.msgId });
      s.send({ type: 'PUBCOMP', msgId: p.msgId });
    }
    got.push(p);
  }
}

describe.each(['SIGTERM', 'SIGKILL'] as const)('16 daemon stopped by %s during traffic, then restarted', (how) => {
  it(`§6.14 a sleeping sensor gets every QoS 1/2 message published around the ${how}, once, in order`, async () => {
    const site = await newSite(`sleep-${how}`);
    let daemon = await startDaemon(site);
    const s = await sensor(site);
    await connect(s, 'crash-sleeper', { cleanSession: false });
    await subscribe(s, 'crash/down/sleeper', 2);
    s.send({ type: 'DISCONNECT', duration: 3600 });
    await s.expect('DISCONNECT');

    const total = 40;
    const stopAfter = randomIn(3, total - 3);
    let stopped: Promise<void> | undefined;
    // One after another: the broker keeps the order of one publisher's messages only within a QoS.
    for (let i = 0; i < total; i++) {
      await observer.publish('crash/down/sleeper', String(i), i % 2 === 0 ? 1 : 2);
      if (i === stopAfter) stopped = stopDaemon(daemon, how); // publishing goes on while it stops
    }
    await stopped;
    const firstLog = daemon.log();

    daemon = await startDaemon(site);
    // Messages the broker still held for the gateway arrive after it reconnects, maybe after the first
    // wake-up: the sensor wakes again (as it would at its next period) until all are in or 30 s passed.
    const log = () => firstLog + '\n--- restarted ---\n' + daemon.log();
    const got: PublishMessage[] = [];
    const deadline = Date.now() + 30_000;
    while (got.length < total && Date.now() < deadline) {
      got.push(...(await wakeAndDrain(s, 'crash-sleeper', log)));
      if (got.length < total) await new Promise((r) => setTimeout(r, 500));
    }
    expect(got.map((p) => p.payload.toString()), log()).toEqual(Array.from({ length: total }, (_, i) => String(i)));
    await stopDaemon(daemon, 'SIGTERM');
  }, CRASH_TEST_MS);

  it(`§6.6 QoS 1 messages the gateway acknowledged before the ${how} all reach the broker; the CleanSession=0 sensor goes on with its topic id, without REGISTER`, async () => {
    const site = await newSite(`pub-${how}`);
    let daemon = await startDaemon(site);
    const s = await sensor(site);
    await connect(s, 'crash-publisher', { cleanSession: false });
    const topic = `crash/up/${how}`;
    const topicId = await register(s, topic);

    const acked: string[] = [];
    const stopAfter = randomIn(2, 15);
    let msgId = 1;
    for (; msgId <= 20; msgId++) {
      s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId, payload: Buffer.from(`before-${msgId}`) });
      if (msgId === stopAfter) {
        await stopDaemon(daemon, how);
        break;
      }
      expect(await s.expect('PUBACK')).toMatchObject({ msgId, returnCode: 0 });
      acked.push(`before-${msgId}`);
    }
    s.drain();

    daemon = await startDaemon(site);
    // The message without a PUBACK goes again with DUP, as a sensor does; then a new one on the same id.
    s.send({ type: 'PUBLISH', dup: true, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId, payload: Buffer.from(`before-${msgId}`) });
    await expectPuback(s, msgId);
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: msgId + 1, payload: Buffer.from('after') });
    await expectPuback(s, msgId + 1);

    await until(() => observer.messages.some((m) => m.topic === topic && m.payload === 'after'), 10_000, () => JSON.stringify(observer.messages));
    const seen = observer.messages.filter((m) => m.topic === topic).map((m) => m.payload);
    for (const payload of acked) expect(seen).toContain(payload);
    expect(seen).toContain(`before-${msgId}`);
    await stopDaemon(daemon, 'SIGTERM');
  }, CRASH_TEST_MS);

  it(`§6.6 a QoS 2 exchange interrupted at PUBREC by ${how} completes after the restart, published exactly once`, async () => {
    const site = await newSite(`qos2-${how}`);
    let daemon = await startDaemon(site);
    const s = await sensor(site);
    await connect(s, 'crash-qos2', { cleanSession: false });
    const topic = `crash/up/qos2-${how}`;
    const topicId = await register(s, topic);
    s.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, topicIdType: 'normal', topicId, msgId: 5, payload: Buffer.from('exactly-once') });
    expect(await s.expect('PUBREC')).toMatchObject({ msgId: 5 });
    await stopDaemon(daemon, how);

    daemon = await startDaemon(site);
    s.send({ type: 'PUBLISH', dup: true, qos: 2, retain: false, topicIdType: 'normal', topicId, msgId: 5, payload: Buffer.from('exactly-once') });
    expect(await s.expect('PUBREC', 10_000)).toMatchObject({ msgId: 5 });
    s.send({ type: 'PUBREL', msgId: 5 });
    expect(await s.expect('PUBCOMP', 10_000)).toMatchObject({ msgId: 5 });
    // A later message on the topic: by the time it arrives, a second copy would have arrived before it.
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 6, payload: Buffer.from('next') });
    await s.expect('PUBACK', 10_000);
    await until(() => observer.messages.some((m) => m.topic === topic && m.payload === 'next'), 10_000);
    expect(observer.messages.filter((m) => m.topic === topic).map((m) => m.payload)).toEqual(['exactly-once', 'next']);
    await stopDaemon(daemon, 'SIGTERM');
  }, CRASH_TEST_MS);

  it(`§6.9 a SUBACK and an UNSUBACK the sensor got just before the ${how} hold after the restart: messages on the one, none on the other`, async () => {
    const site = await newSite(`sub-${how}`);
    let daemon = await startDaemon(site);
    const s = await sensor(site);
    await connect(s, 'crash-subscriber', { cleanSession: false });
    const kept = `crash/down/kept-${how}`;
    const dropped = `crash/down/dropped-${how}`;
    await subscribe(s, dropped, 1, 1);
    s.send({ type: 'UNSUBSCRIBE', msgId: 2, topic: { topicIdType: 'normal', topicName: dropped } });
    expect(await s.expect('UNSUBACK')).toMatchObject({ msgId: 2 });
    const { topicId } = await subscribe(s, kept, 1, 3);
    await stopDaemon(daemon, how); // the moment the SUBACK is in: the sensor relies on it from now on

    daemon = await startDaemon(site);
    await observer.publish(dropped, 'unwanted', 1);
    await observer.publish(kept, 'wanted', 1);
    // The sensor was active at the stop and is active after it (README, Restarts): no CONNECT, no SUBSCRIBE.
    const publish = await receivePublish(s);
    expect(publish.payload.toString(), daemon.log()).toBe('wanted');
    expect(publish.topicId).toBe(topicId);
    // Had the UNSUBSCRIBE been forgotten, 'unwanted' (published first, same QoS) would have come before it.
    await stopDaemon(daemon, 'SIGTERM');
    expect(s.drain().filter((m) => m.type === 'PUBLISH')).toEqual([]);
  }, CRASH_TEST_MS);
});
