/**
 * The upstream as configured in gateway.yaml: MQTT 5 to the broker, and TLS with a private CA plus
 * username/password, each against a real Mosquitto; wrong credentials cost log lines, not the gateway.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config/config.js';
import type { UdpRadioConfig } from '../../radios/udp.js';
import { connect, Observer, register, startGateway, until, type GatewayUnderTest } from '../support/harness.js';
import { startMosquitto, type RunningBroker } from '../support/mosquitto.js';
import { WAIT } from '../support/wait.js';
import { expectNothingPending } from '../support/flows.js';

let broker: (RunningBroker & { dir: string }) | undefined;
let gw: GatewayUnderTest | undefined;
afterEach(async () => {
  await gw?.stop();
  await broker?.stop();
  gw = undefined;
  broker = undefined;
});

function configFor(brokerYaml: string) {
  const config = parseConfig(`
gateway: { advertiseInterval: 0 }
http: false
status: false
persistence: false
broker:
${brokerYaml}
  reconnectMin: 0.2
  reconnectMax: 1
radios:
  - { type: udp, host: 127.0.0.1, port: 10000, broadcastAddress: 127.0.0.1 }
`, '/tmp/broker-test.yaml');
  (config.radios[0] as UdpRadioConfig).port = 0;
  return config;
}

/** A private CA and a server certificate for 127.0.0.1, made with openssl. */
function writeCertificates(dir: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mqtt-sn-gateway test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  execFileSync('mosquitto_passwd', ['-b', '-c', join(dir, 'passwords'), 'gateway', 's3cret'], { stdio: 'ignore' });
  for (const file of readdirSync(dir)) chmodSync(join(dir, file), 0o644);
}

async function publishThrough(gateway: GatewayUnderTest, observer: Observer, topic: string): Promise<void> {
  const sensor = await gateway.sensor();
  await connect(sensor, `sensor-${topic.replace(/\W/g, '-')}`);
  const id = await register(sensor, topic);
  sensor.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 1, payload: Buffer.from('ok') });
  expect(await sensor.expect('PUBACK')).toMatchObject({ returnCode: 0 });
  expect((await observer.waitFor(1, topic))[0]).toMatchObject({ payload: 'ok', qos: 1 });
}

describe('08 broker connection (Mosquitto)', () => {
  it('protocolVersion 5: Mosquitto logs the gateway\'s connection at protocol level 5 (p5)', async () => {
    broker = await startMosquitto();
    gw = await startGateway(configFor(`  url: ${broker.url}\n  protocolVersion: 5`));
    // Mosquitto's connection line names the negotiated level: p2 = MQTT 3.1.1, p5 = MQTT 5.
    await expect.poll(() => broker!.log(), WAIT).toMatch(/New client connected from \S+ as mqttsn-gw-1 \(p5,/);
  });

  it('protocolVersion 4 (the default): Mosquitto logs the gateway\'s connection at MQTT 3.1.1 (p2)', async () => {
    broker = await startMosquitto();
    gw = await startGateway(configFor(`  url: ${broker.url}`));
    await expect.poll(() => broker!.log(), WAIT).toMatch(/New client connected from \S+ as mqttsn-gw-1 \(p2,/);
  });

  it('protocolVersion 5: publish and subscribe through the gateway, retained messages to the new subscriber only', async () => {
    broker = await startMosquitto();
    gw = await startGateway(configFor(`  url: ${broker.url}\n  protocolVersion: 5`));
    const observer = await Observer.connect(broker.url);
    try {
      await observer.subscribe('v5/#');
      await publishThrough(gw, observer, 'v5/up');
      await observer.publish('v5/kept', 'stored', 1, true);
      const a = await gw.sensor();
      await connect(a, 'v5-a');
      a.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'normal', topicName: 'v5/kept' } });
      await a.expect('SUBACK');
      expect(await a.expect('PUBLISH')).toMatchObject({ retain: true, payload: Buffer.from('stored') });
      const b = await gw.sensor();
      await connect(b, 'v5-b');
      b.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'normal', topicName: 'v5/kept' } });
      await b.expect('SUBACK');
      expect(await b.expect('PUBLISH')).toMatchObject({ retain: true, payload: Buffer.from('stored') });
      await expectNothingPending(a);
    } finally {
      await observer.close();
    }
  });

  it('TLS with a private CA and username/password (mqtts://, tls.ca, username, password)', async () => {
    broker = await startMosquitto({
      files: writeCertificates,
      scheme: 'mqtts',
      allowAnonymous: false,
      listenerLines: (d) => [`cafile ${d}/ca.pem`, `certfile ${d}/server.pem`, `keyfile ${d}/server.key`, `password_file ${d}/passwords`],
    });
    const dir = broker.dir;
    gw = await startGateway(configFor(`  url: ${broker.url}\n  username: gateway\n  password: s3cret\n  tls: { ca: ${dir}/ca.pem }`));
    const observer = await Observer.connect(broker.url, undefined, { ca: readFileSync(join(dir, 'ca.pem')), username: 'gateway', password: 's3cret' });
    try {
      await observer.subscribe('tls/#');
      await publishThrough(gw, observer, 'tls/up');
    } finally {
      await observer.close();
    }
  });

  it('TLS: a broker certificate not signed by tls.ca is rejected (a warning per attempt, never connected)', async () => {
    broker = await startMosquitto({
      files: (d) => {
        writeCertificates(d);
        // A second CA the broker's certificate has nothing to do with.
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=some other CA'], { cwd: d, stdio: 'ignore' });
      },
      scheme: 'mqtts',
      listenerLines: (d) => [`cafile ${d}/ca.pem`, `certfile ${d}/server.pem`, `keyfile ${d}/server.key`],
    });
    const { Gateway } = await import('../../gateway/gateway.js');
    const { ManualClock } = await import('../../gateway/core/clock.js');
    const logs: string[] = [];
    const gateway = await Gateway.start(configFor(`  url: ${broker.url}\n  tls: { ca: ${broker.dir}/other-ca.pem }`), {
      clock: new ManualClock(),
      logger: { log: (level, message) => logs.push(`${level} ${message}`) },
    });
    try {
      await until(() => logs.filter((l) => l.startsWith('warn broker:')).length >= 2, undefined, () => logs.join('\n'));
      expect(logs.find((l) => l.startsWith('warn broker:'))).toMatch(/self.signed|unable to verify|certificate/i);
      expect(logs.some((l) => l.includes('broker: connected'))).toBe(false);
      expect(gateway.upstream.connected).toBe(false);
    } finally {
      await gateway.stop();
    }
  });

  it('wrong broker credentials: a warning per attempt, retried with backoff; sensors are still answered', async () => {
    broker = await startMosquitto({
      allowAnonymous: false,
      files: (d) => {
        execFileSync('mosquitto_passwd', ['-b', '-c', join(d, 'passwords'), 'gateway', 'right'], { stdio: 'ignore' });
        chmodSync(join(d, 'passwords'), 0o644);
      },
      listenerLines: (d) => [`password_file ${d}/passwords`],
    });
    const { Gateway } = await import('../../gateway/gateway.js');
    const { ManualClock } = await import('../../gateway/core/clock.js');
    const logs: string[] = [];
    const gateway = await Gateway.start(configFor(`  url: ${broker.url}\n  username: gateway\n  password: wrong`), {
      clock: new ManualClock(),
      logger: { log: (level, message) => logs.push(`${level} ${message}`) },
    });
    try {
      await until(() => logs.filter((l) => l.startsWith('warn broker:')).length >= 2, 8000, () => logs.join('\n'));
      expect(gateway.upstream.connected).toBe(false);
      expect(logs.find((l) => l.startsWith('warn broker:'))).toMatch(/Not authorized|Bad user name or password/i);
      const { SnUdpPeer } = await import('../../client/udp-peer.js');
      const sensor = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: (gateway.radios[0] as unknown as { port: number }).port } });
      try {
        await connect(sensor, 'while-refused');
        sensor.send({ type: 'PINGREQ' });
        await sensor.expect('PINGRESP');
      } finally {
        await sensor.close();
      }
    } finally {
      await gateway.stop();
    }
  });
});
