/**
 * Transparent mode (broker.mode: transparent, issue 10): every sensor is its own client at the broker,
 * with its own credentials, CleanSession, keep-alive and will. Proof against a real Mosquitto with a
 * password file and an ACL file whose `pattern` lines use %u (username) and %c (ClientId), over MQTT 5.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type RunningBroker } from '../support/mosquitto.js';
import { connect, Observer, register, startGateway, testConfig, until, type GatewayUnderTest } from '../support/harness.js';
import { connectWithWill, receivePublish } from '../support/flows.js';

const USERS: Record<string, string> = {
  observer: 'obs-pw', shared: 'shared-pw', 'tp-a': 'pw-a', 'tp-b': 'pw-b', 'tp-will': 'pw-will', 'tp-bad': 'right-pw',
};

/** Mosquitto with a password file and an ACL: sensors write under sensors/<username>, read commands/<ClientId>. */
export async function startSecuredMosquitto(): Promise<RunningBroker & { dir: string }> {
  return startMosquitto({
    allowAnonymous: false,
    files: (dir) => {
      const passwd = join(dir, 'passwd');
      writeFileSync(passwd, '');
      for (const [user, password] of Object.entries(USERS)) {
        const r = spawnSync('mosquitto_passwd', ['-b', passwd, user, password], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`mosquitto_passwd: ${r.stderr}`);
      }
      writeFileSync(join(dir, 'acl'), [
        'user observer',
        'topic readwrite #',
        'pattern readwrite sensors/%u/#',
        'pattern read commands/%c/#',
        'pattern write wills/%c',
        '',
      ].join('\n'));
      chmodSync(passwd, 0o644);
      chmodSync(join(dir, 'acl'), 0o644);
    },
    listenerLines: (dir) => [`password_file ${join(dir, 'passwd')}`, `acl_file ${join(dir, 'acl')}`, 'log_dest stderr', 'log_type all'],
  });
}

/** The gateway in transparent mode, MQTT 5, sensors prefixed `sn-`; tp-bad's password is wrong on purpose. */
export function transparentConfig(url: string) {
  const config = testConfig(url);
  Object.assign(config.broker, { mode: 'transparent', clientIdPrefix: 'sn-', protocolVersion: 5, username: 'shared', password: 'shared-pw' });
  config.clients = new Map([
    ['tp-a', { username: 'tp-a', password: 'pw-a' }],
    ['tp-b', { username: 'tp-b', password: 'pw-b' }],
    ['tp-will', { username: 'tp-will', password: 'pw-will' }],
    ['tp-bad', { username: 'tp-bad', password: 'wrong' }],
  ]);
  return config;
}

describe('17 transparent mode (mosquitto, password file + ACL, MQTT 5)', () => {
  let broker: RunningBroker & { dir: string };
  let gw: GatewayUnderTest;
  let observer: Observer;
  beforeAll(async () => {
    broker = await startSecuredMosquitto();
    gw = await startGateway(transparentConfig(broker.url));
    observer = await Observer.connect(broker.url, 'observer', { username: 'observer', password: 'obs-pw', protocolVersion: 5 });
    await observer.subscribe('#', 1);
  });
  afterAll(async () => {
    await observer?.close();
    await gw?.stop();
    await broker?.stop();
  });

  const publish = (topicId: number, qos: 0 | 1 | 2, msgId: number, payload: string) => ({
    type: 'PUBLISH' as const, dup: false, qos, retain: false, topicIdType: 'normal' as const, topicId, msgId, payload: Buffer.from(payload),
  });
  const brokerLog = () => broker.output();

  it('§6.2 two sensors are two broker clients, each with its own ClientId (prefixed), username, CleanSession and keep-alive', async () => {
    await connect(await gw.sensor(), 'tp-a', { duration: 30, cleanSession: true });
    await connect(await gw.sensor(), 'tp-b', { duration: 45, cleanSession: false });
    await until(() => brokerLog().includes('as sn-tp-b'), 5000, () => brokerLog());
    expect(brokerLog()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as sn-tp-a \(p5, c1, k30, u'tp-a'\)/);
    expect(brokerLog()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as sn-tp-b \(p5, c0, k45, u'tp-b'\)/);
  });

  it('§6.2 a sensor without credentials of its own connects with the broker section\'s', async () => {
    await connect(await gw.sensor(), 'tp-shared');
    await until(() => brokerLog().includes('as sn-tp-shared'), 5000, () => brokerLog());
    expect(brokerLog()).toMatch(/as sn-tp-shared \(p5, c1, k60, u'shared'\)/);
  });

  it('§6.2 the broker refuses the sensor\'s credentials: CONNACK 0x03, the broker\'s reason logged', async () => {
    const lines: string[] = [];
    const onLog = (_level: string, message: string) => { if (message.includes('tp-bad')) lines.push(message); };
    gw.gateway.core.events.on('log', onLog);
    try {
      const s = await gw.sensor();
      s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'tp-bad' });
      expect(await s.expect('CONNACK', 10_000)).toEqual({ type: 'CONNACK', returnCode: 3 });
      expect(lines.join('\n')).toMatch(/broker refused its connection: .*(Bad User Name or Password|Not authorized)/i);
      expect(gw.gateway.core.client('tp-bad')?.state).toBe('disconnected');
    } finally {
      gw.gateway.core.events.off('log', onLog);
    }
  });

  it('§6.6 a PUBLISH the broker\'s ACL allows reaches it from the sensor\'s own connection', async () => {
    const s = await gw.sensor();
    await connect(s, 'tp-a');
    const id = await register(s, 'sensors/tp-a/temp');
    s.send(publish(id, 1, 1, '21.5'));
    expect(await s.expect('PUBACK', 10_000)).toMatchObject({ msgId: 1, returnCode: 0 });
    expect((await observer.waitFor(1, 'sensors/tp-a/temp'))[0].payload).toBe('21.5');
  });

  it('§6.6 a PUBLISH the broker\'s ACL forbids (MQTT 5 PUBACK 0x87): PUBACK 0x03 to the sensor', async () => {
    const s = await gw.sensor();
    await connect(s, 'tp-b');
    const id = await register(s, 'sensors/tp-a/temp'); // tp-a's topic: %u is tp-b here
    s.send(publish(id, 1, 2, 'spoofed'));
    expect(await s.expect('PUBACK', 10_000)).toEqual({ type: 'PUBACK', topicId: id, msgId: 2, returnCode: 3 });
    const ok = await register(s, 'sensors/tp-b/temp', 3);
    s.send(publish(ok, 1, 4, 'mine'));
    expect(await s.expect('PUBACK', 10_000)).toMatchObject({ msgId: 4, returnCode: 0 });
    await observer.waitFor(1, 'sensors/tp-b/temp');
    expect(observer.messages.filter((m) => m.payload === 'spoofed')).toEqual([]);
  });

  it('§6.9 a SUBSCRIBE through the sensor\'s own session: the broker\'s ACL (%c) lets it read its commands', async () => {
    const a = await gw.sensor();
    await connect(a, 'tp-a');
    a.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 6, topic: { topicIdType: 'normal', topicName: 'commands/sn-tp-a/led' } });
    const suback = await a.expect('SUBACK', 10_000);
    expect(suback).toMatchObject({ msgId: 6, returnCode: 0, qos: 1 });
    await observer.publish('commands/sn-tp-a/led', 'on', 1);
    const p = await receivePublish(a);
    expect(p).toMatchObject({ topicId: suback.topicId, qos: 1 });
    expect(p.payload.toString()).toBe('on');
  });

  it('§6.2 / §6.11 the will is a real MQTT will: the broker publishes it when the gateway loses the sensor', async () => {
    const s = await gw.sensor();
    await connectWithWill(s, 'tp-will', { topic: 'wills/sn-tp-will', message: 'gone', qos: 1, retain: false }, { duration: 10 });
    await until(() => brokerLog().includes('as sn-tp-will'), 5000, () => brokerLog());
    expect(observer.messages.filter((m) => m.topic === 'wills/sn-tp-will')).toEqual([]);
    gw.advance(16); // silent past 10 s × 1.5: lost, its broker connection cut without DISCONNECT
    const [will] = await observer.waitFor(1, 'wills/sn-tp-will', 10_000);
    expect(will).toMatchObject({ payload: 'gone', qos: 1 });
    expect(gw.gateway.core.stats.willsPublished).toBe(0); // the broker published it, not the gateway
  });

  it('§6.12 a clean DISCONNECT ends the broker connection with DISCONNECT: no will', async () => {
    const s = await gw.sensor();
    await connectWithWill(s, 'tp-will', { topic: 'wills/sn-tp-will', message: 'clean', qos: 1, retain: false });
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    await until(() => /Client sn-tp-will disconnected\./.test(brokerLog()), 5000, () => brokerLog());
    // A later message on the same topic arrives, the will never did.
    await observer.publish('wills/sn-tp-will', 'marker', 1);
    await observer.waitFor(1, 'wills/sn-tp-will');
    expect(observer.messages.filter((m) => m.payload === 'clean')).toEqual([]);
  });

  it('§4 aggregating mode over MQTT 5 maps the broker\'s PUBACK refusal the same way: PUBACK 0x03', async () => {
    const config = testConfig(broker.url);
    Object.assign(config.broker, { protocolVersion: 5, username: 'shared', password: 'shared-pw' });
    const aggregating = await startGateway(config);
    try {
      const s = await aggregating.sensor();
      await connect(s, 'agg-sensor');
      const id = await register(s, 'sensors/tp-a/temp'); // the gateway's user is 'shared': not its topic
      s.send(publish(id, 1, 8, 'refused'));
      expect(await s.expect('PUBACK', 10_000)).toEqual({ type: 'PUBACK', topicId: id, msgId: 8, returnCode: 3 });
    } finally {
      await aggregating.stop();
    }
  });

  it('§6.14 a sleeping sensor keeps its broker connection; what arrives is buffered and delivered on wake-up', async () => {
    const s = await gw.sensor();
    await connect(s, 'tp-sleeper', { duration: 60 });
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topic: { topicIdType: 'normal', topicName: 'commands/sn-tp-sleeper/set' } });
    const { topicId } = await s.expect('SUBACK', 10_000);
    s.send({ type: 'DISCONNECT', duration: 300 });
    await s.expect('DISCONNECT');
    await observer.publish('commands/sn-tp-sleeper/set', 'while asleep', 1);
    await until(() => gw.gateway.core.client('tp-sleeper')?.buffered === 1, 10_000, () => JSON.stringify(gw.gateway.core.client('tp-sleeper')));
    expect(brokerLog()).not.toMatch(/Client sn-tp-sleeper disconnected/);
    s.send({ type: 'PINGREQ', clientId: 'tp-sleeper' });
    const p = await receivePublish(s);
    expect(p).toMatchObject({ topicId, qos: 1 });
    expect(p.payload.toString()).toBe('while asleep');
    await s.expect('PINGRESP');
  });

  it('§6.4 WILLTOPICUPD in transparent mode: WILLTOPICRESP 0x03 (a will cannot change on an open MQTT connection)', async () => {
    const s = await gw.sensor();
    await connect(s, 'tp-b');
    s.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: 'wills/sn-tp-b' });
    expect(await s.expect('WILLTOPICRESP')).toEqual({ type: 'WILLTOPICRESP', returnCode: 3 });
  });
});

/**
 * Mosquitto's acl_file never refuses a SUBSCRIBE (it filters deliveries instead), so the SUBACK refusal is
 * proven against Mosquitto's dynamic-security plugin, whose roles do refuse subscriptions (SUBACK 0x87).
 */
describe('17 transparent mode (mosquitto, dynamic-security roles, MQTT 5)', () => {
  let broker: RunningBroker & { dir: string };
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    broker = await startMosquitto({
      allowAnonymous: false,
      files: (dir) => {
        const file = join(dir, 'dynsec.json');
        const r = spawnSync('mosquitto_ctrl', ['dynsec', 'init', file, 'admin', 'dyn-pw'], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`mosquitto_ctrl: ${r.stderr}`);
        const dynsec = JSON.parse(readFileSync(file, 'utf8'));
        // A sensor with the admin's password hash (the hash depends on password and salt only) and a narrow role.
        dynsec.clients.push({ ...dynsec.clients[0], username: 'dyn-sensor', textName: 'sensor', roles: [{ rolename: 'sensor' }] });
        dynsec.roles.push({ rolename: 'sensor', acls: [
          { acltype: 'subscribePattern', topic: 'sensors/#', allow: true },
          { acltype: 'publishClientSend', topic: 'sensors/#', allow: true },
        ] });
        writeFileSync(file, JSON.stringify(dynsec));
        chmodSync(file, 0o644);
      },
      listenerLines: (dir) => ['plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so', `plugin_opt_config_file ${join(dir, 'dynsec.json')}`],
    });
    const config = testConfig(broker.url);
    Object.assign(config.broker, { mode: 'transparent', protocolVersion: 5, username: 'dyn-sensor', password: 'dyn-pw' });
    gw = await startGateway(config);
  });
  afterAll(async () => {
    await gw?.stop();
    await broker?.stop();
  });

  it('§6.9 a SUBSCRIBE the broker refuses (MQTT 5 SUBACK 0x87): SUBACK 0x03; one its role allows is granted', async () => {
    const s = await gw.sensor();
    await connect(s, 'dyn-sensor');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 5, topic: { topicIdType: 'normal', topicName: 'secret/#' } });
    expect(await s.expect('SUBACK', 10_000)).toEqual({ type: 'SUBACK', qos: 0, topicId: 0, msgId: 5, returnCode: 3 });
    expect(gw.gateway.core.client('dyn-sensor')?.subscriptions).toEqual([]);
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 6, topic: { topicIdType: 'normal', topicName: 'sensors/dyn/#' } });
    expect(await s.expect('SUBACK', 10_000)).toMatchObject({ msgId: 6, returnCode: 0, qos: 1 });
  });
});

describe('17 transparent mode (mosquitto going away)', () => {
  let broker: RunningBroker;
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    broker = await startMosquitto();
    const config = testConfig(broker.url);
    config.broker.mode = 'transparent';
    gw = await startGateway(config);
  });
  afterAll(async () => {
    await gw?.stop();
    await broker?.stop();
  });

  it('§6.12 the broker going away ends each sensor\'s connection: DISCONNECT to the sensor, lost; CONNECT meanwhile: CONNACK 0x01; back: connected again', async () => {
    const s = await gw.sensor();
    await connect(s, 'tp-outage');
    await broker.kill();
    expect(await s.expect('DISCONNECT', 10_000)).toEqual({ type: 'DISCONNECT' });
    expect(gw.gateway.core.client('tp-outage')?.state).toBe('lost');
    s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'tp-outage' });
    expect(await s.expect('CONNACK', 15_000)).toEqual({ type: 'CONNACK', returnCode: 1 });
    await broker.restart();
    await connect(s, 'tp-outage');
    expect(gw.gateway.core.client('tp-outage')?.state).toBe('active');
  });
});

/** A private CA, a server certificate for 127.0.0.1, and client certificates whose CN is the broker username. */
function writeCertificates(dir: string, clients: string[]): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=transparent test CA');
  const sign = (name: string, subject: string, ext?: string) => {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...(ext ? ['-extfile', ext] : []));
  };
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  sign('server', '/CN=127.0.0.1', 'san.ext');
  for (const name of clients) sign(name, `/CN=${name}`);
  writeFileSync(join(dir, 'acl'), 'pattern readwrite sensors/%u/#\n');
  for (const file of readdirSync(dir)) chmodSync(join(dir, file), 0o644);
}

describe('17 transparent mode (mosquitto over TLS, a client certificate per sensor)', () => {
  let broker: RunningBroker & { dir: string };
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    broker = await startMosquitto({
      scheme: 'mqtts',
      allowAnonymous: false,
      files: (dir) => writeCertificates(dir, ['gateway', 'tp-cert']),
      listenerLines: (d) => [
        `cafile ${d}/ca.pem`, `certfile ${d}/server.pem`, `keyfile ${d}/server.key`,
        'require_certificate true', 'use_identity_as_username true', `acl_file ${d}/acl`, 'log_dest stderr', 'log_type all',
      ],
    });
    const config = testConfig(broker.url);
    const d = broker.dir;
    Object.assign(config.broker, { mode: 'transparent', protocolVersion: 5, tls: { ca: `${d}/ca.pem`, cert: `${d}/gateway.pem`, key: `${d}/gateway.key`, rejectUnauthorized: true } });
    config.clients = new Map([['tp-cert', { cert: `${d}/tp-cert.pem`, key: `${d}/tp-cert.key` }]]);
    gw = await startGateway(config);
  });
  afterAll(async () => {
    await gw?.stop();
    await broker?.stop();
  });

  it('§6.2 a sensor with its own certificate is its own user at the broker (clients.<ClientId>.cert/key); its ACL applies', async () => {
    const s = await gw.sensor();
    await connect(s, 'tp-cert');
    await until(() => broker.output().includes('as tp-cert'), 5000, () => broker.output());
    expect(broker.output()).toMatch(/as tp-cert \(p5, c1, k60, u'tp-cert'\)/);
    const mine = await register(s, 'sensors/tp-cert/t', 1);
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: mine, msgId: 2, payload: Buffer.from('ok') });
    expect(await s.expect('PUBACK', 10_000)).toMatchObject({ msgId: 2, returnCode: 0 });
    const other = await register(s, 'sensors/gateway/t', 3);
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: other, msgId: 4, payload: Buffer.from('no') });
    expect(await s.expect('PUBACK', 10_000)).toMatchObject({ msgId: 4, returnCode: 3 });
  });

  it('§6.2 a sensor without a certificate of its own falls back to the broker section\'s', async () => {
    await connect(await gw.sensor(), 'tp-nocert');
    await until(() => broker.output().includes('as tp-nocert'), 5000, () => broker.output());
    expect(broker.output()).toMatch(/as tp-nocert \(p5, c1, k60, u'gateway'\)/);
  });
});
