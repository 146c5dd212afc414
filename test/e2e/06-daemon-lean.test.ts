/**
 * Issue 13, idle footprint: the daemon loads the embedded broker (aedes) and the session store
 * (classic-level) only when its config uses them. The daemon runs as users run it (bin/mqtt-sn-gateway.js),
 * with a resolve hook (test/support/record-imports.mjs) writing down every module it loads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startMosquitto, type RunningBroker } from '../support/mosquitto.js';
import { until } from '../support/harness.js';

const root = join(import.meta.dirname, '..', '..');
const daemon = join(root, 'bin', 'mqtt-sn-gateway.js');
const recorder = join(root, 'test', 'support', 'record-imports.mjs');

/** Starts the daemon on `configLines`, waits until it runs, stops it; returns every module URL it resolved. */
async function modulesLoaded(dir: string, name: string, configLines: string[]): Promise<string[]> {
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
  } finally {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  }
  expect(existsSync(record)).toBe(true);
  return readFileSync(record, 'utf8').split('\n').filter(Boolean);
}

const fromPackage = (urls: string[], pkg: string): string[] => urls.filter((u) => u.includes(`/node_modules/${pkg}/`));

describe('06 daemon: nothing loaded that the config does not use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-lean-'));
  let broker: RunningBroker;
  beforeAll(async () => { broker = await startMosquitto(); });
  afterAll(async () => { await broker?.stop(); });

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
  }, 30_000);

  it('the embedded broker and persistence on (the shipped defaults): aedes and classic-level are loaded', async () => {
    const udpPort = await freePort();
    const brokerPort = await freePort();
    const urls = await modulesLoaded(dir, 'embedded', [
      'gateway: { id: 8, advertiseInterval: 0 }',
      `broker: { embedded: { host: 127.0.0.1, port: ${brokerPort} } }`,
      `stateDir: ${join(dir, 'state')}`,
      'persistence: true',
      `radios: [ { type: udp, host: 127.0.0.1, port: ${udpPort}, broadcastAddress: 127.0.0.1 } ]`,
      'http: false',
    ]);
    expect(fromPackage(urls, 'aedes').length).toBeGreaterThan(0);
    expect(fromPackage(urls, 'classic-level').length).toBeGreaterThan(0);
  }, 30_000);
});
