/**
 * The daemon as users run it: `mqtt-sn-gateway --config FILE` with no broker URL starts the embedded
 * broker; the `mqtt-sn` command publishes through it; SIGTERM stops it cleanly. A bad config names key and line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/mosquitto.js';
import { Observer, until } from '../support/harness.js';

const root = join(import.meta.dirname, '..', '..');
const daemon = join(root, 'bin', 'mqtt-sn-gateway.js');
const cli = join(root, 'bin', 'mqtt-sn.js');

describe('06 daemon', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-daemon-'));
  let proc: ChildProcess | undefined;
  afterAll(() => { proc?.kill('SIGKILL'); });

  it('runs on the embedded broker when none is configured, serves a sensor, and stops on SIGTERM', async () => {
    const udpPort = await freePort();
    const brokerPort = await freePort();
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, [
      'gateway: { id: 3, advertiseInterval: 0 }',
      `broker: { embedded: { host: 127.0.0.1, port: ${brokerPort} } }`,
      `radios: [ { type: udp, host: 127.0.0.1, port: ${udpPort}, broadcastAddress: 127.0.0.1 } ]`,
      'topics: { predefined: { 5: daemon/predefined } }',
      'http: false',
      '',
    ].join('\n'));
    proc = spawn(process.execPath, [daemon, '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stderr!.on('data', (d) => { log += d; });
    await until(() => log.includes('running'), 15_000, () => `daemon start-up; log so far:\n${log}`);
    expect(log).toContain(`embedded MQTT broker listening on mqtt://127.0.0.1:${brokerPort}`);

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
    await until(() => log.includes('client cli-sensor: disconnected'), 5000, () => `status report; log so far:\n${log}`);
    expect(log).toMatch(/status: 0 clients connected, broker up \(0 pending\); framesIn=\d+/);

    const exited = new Promise<number | null>((resolve) => proc!.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toContain('stopped');
  });

  it('--check reports every config problem with file, line and key path, and exits 2', () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'gateway:\n  id: 300\nradios:\n  - { type: udp, port: abc }\n');
    const run = spawnSync(process.execPath, [daemon, '--config', config, '--check'], { encoding: 'utf8', timeout: 15_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/bad\.yaml:2:\d+ gateway\.id: /);
    expect(run.stderr).toMatch(/bad\.yaml:4:\d+ radios\[0\]\.port: /);
  });

  it('--check accepts the shipped gateway.yaml', () => {
    const run = spawnSync(process.execPath, [daemon, '--config', join(root, 'gateway.yaml'), '--check'], { encoding: 'utf8', timeout: 15_000 });
    expect(run.stdout).toContain('OK');
    expect(run.status).toBe(0);
  });
});
