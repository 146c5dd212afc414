/**
 * Issue 13, idle footprint: the daemon runs the ahead-of-time build (no TypeScript loader, no builder when the
 * build is fresh) and loads nothing its config does not use: the embedded broker (aedes) and the session store
 * (classic-level) only when configured, prom-client only when /metrics is first scraped, and none of mqtt.js's
 * TCP, SOCKS and WebSocket code when the broker is the embedded one (reached in memory). The daemon runs as
 * users run it (bin/mqtt-sn-gateway.js) with test/support/record-imports.mjs writing down every module it
 * loaded: ES modules as they resolve, CommonJS ones from the require cache when it exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startMosquitto, type RunningBroker } from '../support/mosquitto.js';
import { until } from '../support/harness.js';
import { MqttSnClient } from '../../client/client.js';
import { SnUdpPeer } from '../../client/udp-peer.js';

const root = join(import.meta.dirname, '..', '..');
const daemon = join(root, 'bin', 'mqtt-sn-gateway.js');
const recorder = join(root, 'test', 'support', 'record-imports.mjs');

/**
 * Starts the daemon on `configLines`, waits until it runs, does `whileRunning` (given its log so far), stops
 * it; returns every module URL it loaded.
 */
async function modulesLoaded(dir: string, name: string, configLines: string[], whileRunning: (log: () => string) => Promise<void> = async () => {}): Promise<string[]> {
  const config = join(dir, `${name}.yaml`);
  const record = join(dir, `${name}.imports`);
  writeFileSync(config, configLines.join('\n') + '\n');
  const proc: ChildProcess = spawn(process.execPath, ['--import', recorder, daemon, '--config', config], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RECORD_IMPORTS_FILE: record },
  });
  let log = '';
  proc.stderr!.on('data', (d) => { log += d; });
  try {
    await until(() => log.includes('running'), 15_000, () => `daemon start-up; log so far:\n${log}`);
    await whileRunning(() => log);
  } finally {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  }
  expect(existsSync(record)).toBe(true);
  return [...new Set(readFileSync(record, 'utf8').split('\n').filter(Boolean))];
}

const fromPackage = (urls: string[], pkg: string): string[] => urls.filter((u) => u.includes(`/node_modules/${pkg}/`));
/** Our own modules: everything outside node_modules and Node's builtins, the recorder itself left out. */
const ours = (urls: string[]): string[] => urls.filter((u) => u.startsWith('file:') && !u.includes('/node_modules/') && !u.includes('/test/support/'));

/** The shipped gateway.yaml with free ports and its own stateDir; everything else as shipped (embedded broker, persistence, HTTP). */
async function shippedConfig(dir: string): Promise<{ lines: string[]; httpPort: number; udpPort: number }> {
  const httpPort = await freePort();
  const udpPort = await freePort();
  const yaml = readFileSync(join(root, 'gateway.yaml'), 'utf8')
    .replace(/^(\s+port:) 1883$/m, `$1 ${await freePort()}`)
    .replace(/^(\s+port:) 10000$/m, `$1 ${udpPort}`)
    .replace(/^(\s+port:) 8080$/m, `$1 ${httpPort}`)
    .replace(/^stateDir: .*$/m, `stateDir: ${join(dir, 'state')}`);
  return { lines: yaml.split('\n'), httpPort, udpPort };
}

describe('06 daemon: nothing loaded that the config does not use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-lean-'));
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startMosquitto();
    // A fresh build first (a source edited before this run is built here), so no daemon below needs the builder.
    const built = spawnSync(process.execPath, [join(root, 'bin', 'mqtt-sn.js'), '--help'], { encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
  });
  afterAll(async () => { await broker?.stop(); });

  it('the shipped gateway.yaml: the build runs, not the TypeScript sources, and neither tsx nor esbuild is loaded', async () => {
    const { lines } = await shippedConfig(dir);
    const urls = await modulesLoaded(dir, 'shipped-build', lines);
    expect(fromPackage(urls, 'tsx')).toEqual([]);
    expect(fromPackage(urls, 'esbuild')).toEqual([]);
    const own = ours(urls).map((u) => fileURLToPath(u));
    expect(own.filter((path) => path.endsWith('.ts'))).toEqual([]);
    // One CommonJS file (scripts/build.mjs): Node 20 can cache its compiled code, never an ES module's.
    expect(own.some((path) => path.startsWith(join(root, 'dist') + '/') && path.endsWith('mqtt-sn-gateway.cjs'))).toBe(true);
  }, 30_000);

  it('the shipped gateway.yaml (embedded broker, persistence, HTTP): aedes, classic-level and mqtt are loaded; prom-client, mqtt.js\'s TCP/SOCKS/WebSocket code, serialport and zigbee-herdsman are not, nor the yaml package (bundled into the build)', async () => {
    const { lines } = await shippedConfig(dir);
    const urls = await modulesLoaded(dir, 'shipped', lines);
    for (const used of ['aedes', 'classic-level', 'mqtt']) expect(fromPackage(urls, used), used).not.toEqual([]);
    for (const unused of ['prom-client', 'ws', 'socks', 'serialport', 'zigbee-herdsman', 'yaml']) expect(fromPackage(urls, unused), unused).toEqual([]);
    expect(fromPackage(urls, 'mqtt').filter((u) => /\/lib\/connect\/(tcp|tls|ws|socks)\.js$/.test(u))).toEqual([]);
  }, 30_000);

  it('the first /metrics scrape loads prom-client', async () => {
    const { lines, httpPort } = await shippedConfig(dir);
    const urls = await modulesLoaded(dir, 'scraped', lines, async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('mqttsn_broker_up');
    });
    expect(fromPackage(urls, 'prom-client')).not.toEqual([]);
  }, 30_000);

  it('an external broker and persistence off: neither aedes nor classic-level is loaded (mqtt is)', async () => {
    const udpPort = await freePort();
    const urls = await modulesLoaded(dir, 'external', [
      'gateway: { id: 7, advertiseInterval: 0 }',
      `broker: { url: '${broker.url}' }`,
      'persistence: false',
      `radios: [ { type: udp, host: 127.0.0.1, port: ${udpPort}, broadcastAddress: 127.0.0.1 } ]`,
      'http: false',
    ]);
    expect(fromPackage(urls, 'mqtt').length).toBeGreaterThan(0);
    expect(fromPackage(urls, 'aedes')).toEqual([]);
    expect(fromPackage(urls, 'classic-level')).toEqual([]);
    expect(fromPackage(urls, 'prom-client')).toEqual([]);
  }, 30_000);

  it('the embedded broker and persistence on, no HTTP: aedes and classic-level are loaded', async () => {
    const udpPort = await freePort();
    const brokerPort = await freePort();
    const urls = await modulesLoaded(dir, 'embedded', [
      'gateway: { id: 8, advertiseInterval: 0 }',
      `broker: { embedded: { host: 127.0.0.1, port: ${brokerPort} } }`,
      `stateDir: ${join(dir, 'state-embedded')}`,
      'persistence: true',
      `radios: [ { type: udp, host: 127.0.0.1, port: ${udpPort}, broadcastAddress: 127.0.0.1 } ]`,
      'http: false',
    ]);
    expect(fromPackage(urls, 'aedes').length).toBeGreaterThan(0);
    expect(fromPackage(urls, 'classic-level').length).toBeGreaterThan(0);
  }, 30_000);

  // The bin holds TurboFan off through start-up (its code pages stay resident once used: about 4 MB of idle RSS)
  // and main.ts turns it on once serving. V8's --trace-opt prints a line for every function queued for it.
  const turbofanJobs = (stdout: string): number => stdout.split('\n').filter((line) => line.includes('(target TURBOFAN)')).length;

  it('start-up: loading and checking the shipped gateway.yaml (--check) queues no function for TurboFan', async () => {
    const { lines } = await shippedConfig(dir);
    const config = join(dir, 'check.yaml');
    writeFileSync(config, lines.join('\n'));
    const run = spawnSync(process.execPath, ['--trace-opt', daemon, '--config', config, '--check'], { cwd: dir, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('OK');
    expect(turbofanJobs(run.stdout)).toBe(0);
  }, 30_000);

  it('once serving: TurboFan is on again, a sensor\'s traffic gets the hot code optimized', async () => {
    const { lines, udpPort } = await shippedConfig(dir);
    const config = join(dir, 'serving.yaml');
    writeFileSync(config, lines.join('\n'));
    const proc = spawn(process.execPath, ['--trace-opt', daemon, '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let stdout = '';
    proc.stderr!.on('data', (d) => { log += d; });
    proc.stdout!.on('data', (d) => { stdout += d; });
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    try {
      await until(() => log.includes('running'), 15_000, () => `daemon start-up; log so far:\n${log}`);
      const client = new MqttSnClient(await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: udpPort } }));
      try {
        await client.connect({ clientId: 'lean-hot', keepAlive: 60 });
        for (let i = 0; i < 3000; i++) await client.ping();
      } finally {
        await client.close();
      }
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
    // V8 writes its trace through C's stdio, flushed when the process exits.
    expect(log).toContain('stopped');
    expect(turbofanJobs(stdout)).toBeGreaterThan(0);
  }, 60_000);
});
