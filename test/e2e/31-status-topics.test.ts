/**
 * Status on the broker, seen by a plain MQTT subscriber on a real Mosquitto: the gateway's retained
 * `<prefix>status` (online, offline through its own MQTT will after kill -9, or said on a clean stop)
 * and `<prefix>clients/<ClientId>`, a JSON per state change, cleared when the session is forgotten.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnUdpPeer } from '../../client/udp-peer.js';
import { ENDED_SESSION_KEPT_MS } from '../../gateway/core/core.js';
import { connect, gatewaySuite, Observer, startBroker, startGateway, testConfig, until, type Broker } from '../support/harness.js';
import { retainedOn } from '../support/flows.js';
import { freePort } from '../support/mosquitto.js';

const root = join(import.meta.dirname, '..', '..');
const PREFIX = 'site/gw7/';

/** The states published for one client, in order, from an observer on `<prefix>clients/#`. */
const statesOf = (observer: Observer, topic: string) =>
  observer.messages.filter((m) => m.topic === topic).map((m) => (m.payload === '' ? '(cleared)' : (JSON.parse(m.payload) as { state: string }).state));

describe('31 status topics with mosquitto', () => {
  const t = gatewaySuite('mosquitto', {
    configure: (config) => {
      config.status = { prefix: PREFIX };
      config.gateway.sessionExpiry = 7200;
    },
    observe: [{ filter: `${PREFIX}clients/#`, qos: 1 }],
  });

  it('<prefix>status is retained "online" while the gateway is connected', async () => {
    const retained = await retainedOn(t.broker.url, `${PREFIX}status`, 5000);
    expect(retained).toMatchObject({ payload: 'online', retain: true });
  });

  it('§6.14 <prefix>clients/<ClientId> carries the sensor\'s state as JSON on every change: active, asleep', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'status-sleeper', { duration: 30 });
    const topic = `${PREFIX}clients/status-sleeper`;
    await until(() => statesOf(t.observer, topic).includes('active'), undefined, () => JSON.stringify(t.observer.messages));
    s.send({ type: 'DISCONNECT', duration: 600 });
    await s.expect('DISCONNECT');
    await until(() => statesOf(t.observer, topic).includes('asleep'), undefined, () => JSON.stringify(t.observer.messages));
    expect(statesOf(t.observer, topic)).toEqual(['active', 'asleep']);
    const last = JSON.parse(t.observer.messages.filter((m) => m.topic === topic).at(-1)!.payload);
    expect(last).toMatchObject({ clientId: 'status-sleeper', state: 'asleep', radio: 'udp0', address: s.localAddress, keepAlive: 30, buffered: 0, dropped: 0 });
    expect(Date.parse(last.lastSeen)).not.toBeNaN();
  });

  it('the latest state stays retained for a subscriber that comes later', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'status-late');
    await until(() => statesOf(t.observer, `${PREFIX}clients/status-late`).includes('active'), 5000);
    const retained = await retainedOn(t.broker.url, `${PREFIX}clients/status-late`, 5000);
    expect(JSON.parse(retained!.payload)).toMatchObject({ clientId: 'status-late', state: 'active' });
  });

  it('a ClientId with "/", "+" or "#" gets one topic level, percent-encoded', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'room/1+#');
    const topic = `${PREFIX}clients/room%2F1%2B%23`;
    await until(() => statesOf(t.observer, topic).includes('active'), undefined, () => JSON.stringify(t.observer.messages));
    expect(JSON.parse(t.observer.messages.find((m) => m.topic === topic)!.payload).clientId).toBe('room/1+#');
  });

  it('a forgotten session\'s topic is cleared with an empty retained message', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'status-gone');
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    const topic = `${PREFIX}clients/status-gone`;
    await until(() => statesOf(t.observer, topic).includes('disconnected'), undefined, () => JSON.stringify(t.observer.messages));
    t.gw.advance(ENDED_SESSION_KEPT_MS / 1000 + 2);
    await until(() => statesOf(t.observer, topic).includes('(cleared)'), undefined, () => JSON.stringify(t.observer.messages));
    expect(statesOf(t.observer, topic)).toEqual(['active', 'disconnected', '(cleared)']);
    expect(t.gw.gateway.core.client('status-gone')).toBeUndefined();
  });

  it('a kept (CleanSession=0) session past gateway.sessionExpiry is cleared too', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'status-kept', { cleanSession: false });
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    const topic = `${PREFIX}clients/status-kept`;
    await until(() => statesOf(t.observer, topic).includes('disconnected'), undefined, () => JSON.stringify(t.observer.messages));
    t.gw.advance(7200 + 2);
    await until(() => statesOf(t.observer, topic).includes('(cleared)'), undefined, () => JSON.stringify(t.observer.messages));
    expect(statesOf(t.observer, topic)).toEqual(['active', 'disconnected', '(cleared)']);
  });
});

describe('31 clean stop', () => {
  let broker: Broker;
  beforeAll(async () => { broker = await startBroker('mosquitto'); });
  afterAll(async () => { await broker?.stop(); });

  it('a gateway that stops cleanly says "offline" itself', async () => {
    const gw = await startGateway(testConfig(broker.url, 'status: { prefix: clean/gw/ }'));
    const observer = await Observer.connect(broker.url);
    try {
      await observer.subscribe('clean/gw/status');
      await observer.waitFor(1, 'clean/gw/status');
      await gw.stop();
      await observer.waitFor(2, 'clean/gw/status');
      // A marker published after the stop: once it is here, a will (which a clean stop must not leave) would be too.
      await observer.subscribe('clean/gw/marker');
      await observer.publish('clean/gw/marker', 'after', 1);
      await observer.waitFor(1, 'clean/gw/marker');
      expect(observer.messages.filter((m) => m.topic === 'clean/gw/status').map((m) => m.payload)).toEqual(['online', 'offline']);
    } finally {
      await observer.close();
    }
  });
});

describe('31 transparent mode', () => {
  let broker: Broker;
  beforeAll(async () => { broker = await startBroker('mosquitto'); });
  afterAll(async () => { await broker?.stop(); });

  it('the gateway\'s own connection carries <prefix>status and a sensor\'s state is published', async () => {
    const config = testConfig(broker.url, 'status: { prefix: transparent/gw/ }');
    config.broker.mode = 'transparent';
    const gw = await startGateway(config);
    const observer = await Observer.connect(broker.url);
    try {
      await observer.subscribe('transparent/gw/#');
      const [online] = await observer.waitFor(1, 'transparent/gw/status');
      expect(online.payload).toBe('online');
      const s = await gw.sensor();
      await connect(s, 'own-connection');
      const [state] = await observer.waitFor(1, 'transparent/gw/clients/own-connection');
      expect(JSON.parse(state.payload)).toMatchObject({ clientId: 'own-connection', state: 'active' });
    } finally {
      await observer.close();
      await gw.stop();
    }
  });
});

describe('31 the daemon, killed', () => {
  let broker: Broker;
  let proc: ChildProcess | undefined;
  let observer: Observer;
  let log = '';
  let udpPort: number;
  beforeAll(async () => {
    broker = await startBroker('mosquitto');
    observer = await Observer.connect(broker.url);
    await observer.subscribe('mqtt-sn/9/#');
    udpPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gw-status-'));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, [
      'gateway: { id: 9, advertiseInterval: 0 }',
      `broker: { url: ${broker.url}, reconnectMin: 0.2, reconnectMax: 1 }`,
      `radios: [ { type: udp, host: 127.0.0.1, port: ${udpPort}, broadcastAddress: 127.0.0.1 } ]`,
      'http: false',
      '',
    ].join('\n'));
    proc = spawn(process.execPath, [join(root, 'bin', 'mqtt-sn-gateway.js'), '--config', config], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (d) => { log += d; });
    await until(() => log.includes('running'), 15_000, () => `daemon start-up; log so far:\n${log}`);
  });
  afterAll(async () => {
    proc?.kill('SIGKILL');
    await observer?.close();
    await broker?.stop();
  });

  it('status topics default to mqtt-sn/<gateway.id>/: online, then a sensor\'s state', async () => {
    await observer.waitFor(1, 'mqtt-sn/9/status', 10_000);
    const s = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: udpPort } });
    try {
      await connect(s, 'daemon-sensor');
      const [state] = await observer.waitFor(1, 'mqtt-sn/9/clients/daemon-sensor', 10_000);
      expect(JSON.parse(state.payload)).toMatchObject({ clientId: 'daemon-sensor', state: 'active' });
    } finally {
      await s.close();
    }
    expect(observer.messages.find((m) => m.topic === 'mqtt-sn/9/status')?.payload).toBe('online');
  });

  it('kill -9 of the gateway: the broker publishes its will, "offline", retained', async () => {
    const exited = new Promise((resolve) => proc!.once('exit', resolve));
    proc!.kill('SIGKILL');
    await exited;
    const seen = await observer.waitFor(2, 'mqtt-sn/9/status', 10_000);
    expect(seen.map((m) => m.payload)).toEqual(['online', 'offline']);
    expect(await retainedOn(broker.url, 'mqtt-sn/9/status', 5000)).toMatchObject({ payload: 'offline', retain: true });
  });
});
