/**
 * The daemon as users run it: `mqtt-sn-gateway --config FILE` with no broker URL starts the embedded
 * broker; the `mqtt-sn` command publishes through it; SIGTERM stops it cleanly. A bad config names key and line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BIN as cli, DAEMON_BIN as daemonBin, DAEMON_WITH_FAKE_ZIGBEE, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { Observer } from '../support/harness.js';
import { writeHerdsmanDatabase } from '../support/fake-zigbee-adapter.js';
import { PtyPair, SlipSensor } from '../support/radio-sensors.js';

const root = join(import.meta.dirname, '..', '..');

describe('06 daemon', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-daemon-'));
  let daemon: RunningDaemon | undefined;
  afterAll(() => { daemon?.proc.kill('SIGKILL'); });

  it('runs on the embedded broker when none is configured, serves a sensor, and stops on SIGTERM', async () => {
    daemon = await startDaemon(dir, 2, ([udpPort, brokerPort]) => [
      'gateway: { id: 3, advertiseInterval: 0 }',
      `broker: { embedded: { host: 127.0.0.1, port: ${brokerPort} } }`,
      `radios: [ { type: udp, host: 127.0.0.1, port: ${udpPort}, broadcastAddress: 127.0.0.1 } ]`,
      'topics: { predefined: { 5: daemon/predefined } }',
      'http: false',
      '',
    ].join('\n'));
    const [udpPort, brokerPort] = daemon.ports;
    const proc = daemon.proc;
    const log = () => daemon!.log();
    expect(log()).toContain(`embedded MQTT broker listening on mqtt://127.0.0.1:${brokerPort}`);
    await daemon.waitForLog(`broker: connected to mqtt://127.0.0.1:${brokerPort} (in process)`);

    const observer = await Observer.connect(`mqtt://127.0.0.1:${brokerPort}`);
    try {
      await observer.subscribe('daemon/#');
      const pub = spawnSync(process.execPath, [cli, 'pub', '-p', String(udpPort), '-t', 'daemon/temp', '-m', '21.5', '-q', '1', '-i', 'cli-sensor'], { encoding: 'utf8', timeout: 15_000 });
      expect(pub.stderr).toBe('');
      expect(pub.status).toBe(0);
      const qm1 = spawnSync(process.execPath, [cli, 'pub', '-p', String(udpPort), '-T', '5', '-m', 'fire', '-q', '-1'], { encoding: 'utf8', timeout: 15_000 });
      expect(qm1.status).toBe(0);
      const got = await observer.waitFor(2);
      expect(got.map((m) => `${m.topic}=${m.payload}`).sort()).toEqual(['daemon/predefined=fire', 'daemon/temp=21.5']);
    } finally {
      await observer.close();
    }

    // SIGUSR2: the status report names the sensor, its state and address.
    proc.kill('SIGUSR2');
    await daemon.waitForLog('client cli-sensor: disconnected');
    expect(log()).toMatch(/status: 0 clients connected, broker up \(0 pending\); framesIn=\d+/);

    expect(await daemon.stop()).toBe(0);
    expect(log()).toContain('stopped');
  });

  it('SIGUSR1 permits Zigbee joining for 120 s on the Zigbee radio', async () => {
    const zigbeeDir = mkdtempSync(join(tmpdir(), 'gw-daemon-zigbee-'));
    writeHerdsmanDatabase(join(zigbeeDir, 'zigbee.db'), []);
    const zigbeeDaemon = await startDaemon(zigbeeDir, 2, ([udpPort, brokerPort]) => [
      'gateway: { advertiseInterval: 0 }',
      `broker: { embedded: { host: 127.0.0.1, port: ${brokerPort} } }`,
      'radios:',
      `  - { type: udp, host: 127.0.0.1, port: ${udpPort}, broadcastAddress: 127.0.0.1 }`,
      '  - { type: zigbee, adapter: zstack, path: /dev/ttyFAKE0 }',
      `stateDir: ${zigbeeDir}`,
      'http: false',
      '',
    ].join('\n'), [], DAEMON_WITH_FAKE_ZIGBEE);
    try {
      await zigbeeDaemon.waitForLog('zigbee1: Zigbee coordinator started');
      zigbeeDaemon.proc.kill('SIGUSR1');
      await zigbeeDaemon.waitForLog('SIGUSR1: Zigbee joining permitted for 120 s');
      expect(zigbeeDaemon.log()).toContain('fake zigbee adapter: permitJoin 120');
    } finally {
      expect(await zigbeeDaemon.stop()).toBe(0);
    }
  });

  it('§6.2 a sensor on a serial line (SLIP on a socat pseudo-terminal) connects through the daemon: the build loads serialport lazily', async () => {
    const pty = await PtyPair.open();
    const serialDir = mkdtempSync(join(tmpdir(), 'gw-daemon-serial-'));
    const serialDaemon = await startDaemon(serialDir, 1, ([brokerPort]) => [
      'gateway: { advertiseInterval: 0 }',
      `broker: { embedded: { host: 127.0.0.1, port: ${brokerPort} } }`,
      `radios: [ { type: serial, path: ${pty.gatewayEnd}, framing: slip } ]`,
      `stateDir: ${serialDir}`,
      'persistence: false',
      'http: false',
      '',
    ].join('\n'));
    const sensor = await SlipSensor.open(pty.sensorEnd);
    try {
      await serialDaemon.waitForLog(`serial0: opened ${pty.gatewayEnd}`);
      sensor.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'serial-daemon' });
      expect(await sensor.expect('CONNACK')).toMatchObject({ returnCode: 0 });
    } finally {
      await sensor.close();
      expect(await serialDaemon.stop()).toBe(0);
      await pty.close();
    }
  });

  it('--check reports every config problem with file, line and key path, and exits 2', () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'gateway:\n  id: 300\nradios:\n  - { type: udp, port: abc }\n');
    const run = spawnSync(process.execPath, [daemonBin, '--config', config, '--check'], { encoding: 'utf8', timeout: 15_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/bad\.yaml:2:\d+ gateway\.id: /);
    expect(run.stderr).toMatch(/bad\.yaml:4:\d+ radios\[0\]\.port: /);
  });

  it('--check accepts the shipped gateway.yaml', () => {
    const run = spawnSync(process.execPath, [daemonBin, '--config', join(root, 'gateway.yaml'), '--check'], { encoding: 'utf8', timeout: 15_000 });
    expect(run.stdout).toContain('OK');
    expect(run.status).toBe(0);
  });
});
