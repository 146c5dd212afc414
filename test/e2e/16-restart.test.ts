/**
 * Nothing lost across a restart (`persistence: true`): the gateway is stopped and started again on the
 * same stateDir and UDP port, in this process, with real sensors and a real Mosquitto. What sensors and
 * the broker see on the wire must be as if the gateway had never gone. (16-crash.test.ts does the same
 * with the daemon and kill -9.)
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../gateway/config/config-types.js';
import type { UdpRadioConfig } from '../../radios/udp.js';
import { freePort } from '../support/mosquitto.js';
import { SnUdpPeer } from '../../client/udp-peer.js';
import {
  connect, Observer, register, startBroker, startGateway, testConfig, until, type Broker, type GatewayUnderTest,
} from '../support/harness.js';
import { receivePublish, settled, subscribe } from '../support/flows.js';

let broker: Broker;
let observer: Observer;
let gw: GatewayUnderTest | undefined;
const sensors: SnUdpPeer[] = [];

beforeAll(async () => {
  broker = await startBroker('mosquitto');
  observer = await Observer.connect(broker.url);
  await observer.subscribe('up/#', 2);
});
afterEach(async () => {
  await Promise.all(sensors.splice(0).map((s) => s.close()));
  await gw?.stop();
  gw = undefined;
});
afterAll(async () => {
  await observer?.close();
  await broker?.stop();
});

interface Site { stateDir: string; port: number; clientId: string }

async function newSite(tag: string): Promise<Site> {
  return { stateDir: mkdtempSync(join(tmpdir(), 'gw-restart-')), port: await freePort(), clientId: `gw-restart-${tag}` };
}

function configFor(site: Site): GatewayConfig {
  const config = testConfig(broker.url);
  config.persistence = true;
  config.stateDir = site.stateDir;
  // Each site its own broker session: the broker keeps it across the gateway's restart.
  config.broker.clientId = site.clientId;
  (config.radios[0] as UdpRadioConfig).port = site.port;
  return config;
}

/** Starts (or starts again) the gateway of a site. */
async function up(site: Site, tweak: (config: GatewayConfig) => void = () => {}): Promise<GatewayUnderTest> {
  const config = configFor(site);
  tweak(config);
  gw = await startGateway(config);
  return gw;
}

/** A clean stop (what SIGTERM does). */
async function down(): Promise<void> {
  await gw!.stop();
  gw = undefined;
}

async function sensor(site: Site): Promise<SnUdpPeer> {
  const s = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: site.port } });
  sensors.push(s);
  return s;
}

describe('16 restart: kept sessions (persistence)', () => {
  it('§6.14 a sleeping sensor gets every QoS 1/2 message buffered before the restart, once, in order', async () => {
    const site = await newSite('buffered');
    await up(site);
    const s = await sensor(site);
    await connect(s, 'sleeper-1', { cleanSession: true });
    const { topicId } = await subscribe(s, 'down/sleeper-1', 2);
    s.send({ type: 'DISCONNECT', duration: 600 });
    await s.expect('DISCONNECT');
    for (const [payload, qos] of [['m1', 1], ['m2', 2], ['m3', 1]] as const) await observer.publish('down/sleeper-1', payload, qos);
    await settled(gw!, 'sleeper-1', (c) => c.buffered === 3);
    await down();

    await up(site);
    expect(gw!.gateway.core.client('sleeper-1')).toMatchObject({ state: 'asleep', buffered: 3 });
    s.send({ type: 'PINGREQ', clientId: 'sleeper-1' });
    const got = [await receivePublish(s), await receivePublish(s), await receivePublish(s)];
    expect(got.map((p) => [p.payload.toString(), p.qos, p.topicId])).toEqual([['m1', 1, topicId], ['m2', 2, topicId], ['m3', 1, topicId]]);
    await s.expect('PINGRESP');
    expect(gw!.gateway.core.client('sleeper-1')).toMatchObject({ state: 'asleep', buffered: 0, inflight: 0 });
  });

  it('§6.14 messages published while the gateway is down reach the sleeping sensor (the broker kept the gateway\'s session)', async () => {
    const site = await newSite('offline');
    await up(site);
    const s = await sensor(site);
    await connect(s, 'sleeper-2', { cleanSession: false });
    await subscribe(s, 'down/sleeper-2', 1);
    s.send({ type: 'DISCONNECT', duration: 600 });
    await s.expect('DISCONNECT');
    await down();

    await observer.publish('down/sleeper-2', 'while-down', 1);
    await up(site);
    await settled(gw!, 'sleeper-2', (c) => c.buffered === 1);
    s.send({ type: 'PINGREQ', clientId: 'sleeper-2' });
    expect((await receivePublish(s)).payload.toString()).toBe('while-down');
    await s.expect('PINGRESP');
  });

  it('§6.14 with MQTT 5 to the broker too: the broker keeps the gateway\'s session (Session Expiry) and what was published meanwhile', async () => {
    const site = await newSite('mqtt5');
    const v5 = (c: GatewayConfig) => { c.broker.protocolVersion = 5; };
    await up(site, v5);
    const s = await sensor(site);
    await connect(s, 'sleeper-5', { cleanSession: false });
    await subscribe(s, 'down/sleeper-5', 1);
    s.send({ type: 'DISCONNECT', duration: 600 });
    await s.expect('DISCONNECT');
    await down();

    await observer.publish('down/sleeper-5', 'while-down-v5', 1);
    await up(site, v5);
    await settled(gw!, 'sleeper-5', (c) => c.buffered === 1);
    s.send({ type: 'PINGREQ', clientId: 'sleeper-5' });
    expect((await receivePublish(s)).payload.toString()).toBe('while-down-v5');
    await s.expect('PINGRESP');
  });

  it('§6.5 a CleanSession=0 sensor publishes on its registered topic id after the restart, without REGISTER', async () => {
    const site = await newSite('registered');
    await up(site);
    const s = await sensor(site);
    await connect(s, 'keeper-1', { cleanSession: false });
    const topicId = await register(s, 'up/keeper-1/temp');
    await down();

    await up(site);
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 7, payload: Buffer.from('21.5') });
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 7, topicId, returnCode: 0 });
    expect((await observer.waitFor(1, 'up/keeper-1/temp'))[0].payload).toBe('21.5');
  });

  it('§6.9 a CleanSession=0 sensor\'s subscription still delivers after the restart', async () => {
    const site = await newSite('subscribed');
    await up(site);
    const s = await sensor(site);
    await connect(s, 'keeper-2', { cleanSession: false });
    const { topicId } = await subscribe(s, 'down/keeper-2', 1);
    await down();

    await up(site);
    await observer.publish('down/keeper-2', 'still-subscribed', 1);
    const p = await receivePublish(s);
    expect([p.payload.toString(), p.topicId]).toEqual(['still-subscribed', topicId]);
  });

  it('§6.6 a QoS 2 exchange interrupted at PUBREC completes after the restart, published exactly once', async () => {
    const site = await newSite('qos2');
    await up(site);
    const s = await sensor(site);
    await connect(s, 'keeper-3', { cleanSession: false });
    const topicId = await register(s, 'up/keeper-3/once');
    s.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, topicIdType: 'normal', topicId, msgId: 9, payload: Buffer.from('once') });
    expect(await s.expect('PUBREC')).toMatchObject({ msgId: 9 });
    await observer.waitFor(1, 'up/keeper-3/once');
    await down();

    await up(site);
    // The sensor never saw our PUBREC arrive (say): it sends the PUBLISH again with DUP.
    s.send({ type: 'PUBLISH', dup: true, qos: 2, retain: false, topicIdType: 'normal', topicId, msgId: 9, payload: Buffer.from('once') });
    expect(await s.expect('PUBREC')).toMatchObject({ msgId: 9 });
    s.send({ type: 'PUBREL', msgId: 9 });
    expect(await s.expect('PUBCOMP')).toMatchObject({ msgId: 9 });
    // A later message on the same topic arrives after it: had 'once' been published again, it would be before.
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 10, payload: Buffer.from('after') });
    await s.expect('PUBACK');
    const seen = await observer.waitFor(2, 'up/keeper-3/once');
    expect(seen.map((m) => m.payload)).toEqual(['once', 'after']);
  });

  it('gateway.sessionExpiry: a CleanSession=0 session whose client stays away that long is forgotten, in memory and in the store', async () => {
    const site = await newSite('expiry');
    const expiring = (c: GatewayConfig) => { c.gateway.sessionExpiry = 60; };
    await up(site, expiring);
    const s = await sensor(site);
    await connect(s, 'leaver', { cleanSession: false });
    await subscribe(s, 'down/leaver', 1);
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    gw!.advance(59);
    expect(gw!.gateway.core.client('leaver')?.state).toBe('disconnected');
    gw!.advance(2);
    expect(gw!.gateway.core.client('leaver')).toBeUndefined();
    expect(gw!.gateway.core.subscriptions.size).toBe(0);
    await down();

    await up(site, expiring);
    expect(gw!.gateway.core.client('leaver')).toBeUndefined();
  });

  it('persistence: false writes nothing: no store in stateDir, and nothing comes back after a restart', async () => {
    const site = await newSite('off');
    await up(site, (c) => { c.persistence = false; });
    const s = await sensor(site);
    await connect(s, 'forgotten', { cleanSession: false });
    await register(s, 'up/forgotten');
    await down();
    expect(existsSync(join(site.stateDir, 'sessions'))).toBe(false);
    await up(site, (c) => { c.persistence = false; });
    expect(gw!.gateway.core.client('forgotten')).toBeUndefined();
  });
});

describe('16 restart during a broker outage', () => {
  it('§6.6 a QoS 1 message held for the broker during an outage survives a gateway restart: the broker gets it, the sensor its PUBACK', async () => {
    const own = await startBroker('mosquitto');
    try {
      const site = await newSite('outage');
      const useOwn = (c: GatewayConfig) => { c.broker.url = own.url; };
      await up(site, useOwn);
      const s = await sensor(site);
      await connect(s, 'keeper-4', { cleanSession: false });
      const topicId = await register(s, 'up/keeper-4/held');
      await own.kill!();
      await until(() => !gw!.gateway.upstream.connected, undefined, () => 'gateway saw the broker go');
      s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 21, payload: Buffer.from('held') });
      await until(() => gw!.gateway.upstream.pending === 1, undefined, () => 'message held for the broker');
      await down();

      await own.restart!();
      const watcher = await Observer.connect(own.url);
      try {
        await watcher.subscribe('up/#', 1);
        await up(site, useOwn);
        expect(await s.expect('PUBACK', 10_000)).toMatchObject({ msgId: 21, topicId, returnCode: 0 });
        expect((await watcher.waitFor(1, 'up/keeper-4/held'))[0].payload).toBe('held');
      } finally {
        await watcher.close();
      }
    } finally {
      await gw?.stop();
      gw = undefined;
      await own.stop();
    }
  });
});
