/**
 * Issue 13, start-up: the daemon keeps V8's compiled code of everything its start-up loads (its bundle and the
 * CommonJS packages it requires) in a code cache (scripts/code-cache.mjs), written once start-up is over and
 * used by the next start. A cache that is missing, damaged, made by another V8 or for other source text, or
 * that cannot be written, is ignored: the daemon starts and serves all the same.
 *
 * The daemon runs as users run it (bin/mqtt-sn-gateway.js, the shipped gateway.yaml with its ports and stateDir
 * moved), its cache in a directory of the test's own (systemd's CACHE_DIRECTORY, as the shipped unit sets it),
 * and reports what the cache did through MQTTSN_CODE_CACHE_STATS: counters, never a time.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MqttSnClient } from '../../client/client.js';
import { SnUdpPeer } from '../../client/udp-peer.js';
import { until } from '../support/harness.js';
import { DAEMON_BIN, startDaemon } from '../support/daemon.js';

const root = join(import.meta.dirname, '..', '..');

interface CacheStats { file: string; read: boolean; accepted: number; rejected: number; missing: number; uncacheable: number; resolved: number; resolvedAnew: number; saved: number; saveError: string }

/** The shipped gateway.yaml on ports [broker, udp, http] and a stateDir under `dir`. */
const shippedYaml = (dir: string) => (ports: number[]) => readFileSync(join(root, 'gateway.yaml'), 'utf8')
  .replace(/^(\s+port:) 1883$/m, `$1 ${ports[0]}`)
  .replace(/^(\s+port:) 10000$/m, `$1 ${ports[1]}`)
  .replace(/^(\s+port:) 8080$/m, `$1 ${ports[2]}`)
  .replace(/^stateDir: .*$/m, `stateDir: ${join(dir, 'state')}`);

/**
 * Starts the daemon with its code cache in `cacheDir`, has a sensor CONNECT (the daemon serves), waits for the
 * cache's report (written once start-up is over), does `whileServing` and stops it.
 */
async function startAndServe(cacheDir: string, whileServing: (ports: number[]) => Promise<void> = async () => {}): Promise<CacheStats> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-code-cache-'));
  const statsFile = join(dir, 'code-cache-stats.json');
  const daemon = await startDaemon(dir, 3, shippedYaml(dir), [], DAEMON_BIN, { ...process.env, CACHE_DIRECTORY: cacheDir, MQTTSN_CODE_CACHE_STATS: statsFile });
  try {
    const client = new MqttSnClient(await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: daemon.ports[1] } }));
    try {
      await client.connect({ clientId: 'code-cache', keepAlive: 60 });
    } finally {
      await client.close();
    }
    await until(() => existsSync(statsFile), 10_000, () => `the code cache's report; daemon log:\n${daemon.log()}`);
    await whileServing(daemon.ports);
    return JSON.parse(readFileSync(statsFile, 'utf8')) as CacheStats;
  } finally {
    expect(await daemon.stop()).toBe(0);
  }
}

/** The cache file in `cacheDir`: one per build, named after it. */
function cacheFileIn(cacheDir: string): string {
  const files = readdirSync(cacheDir).filter((f) => f.endsWith('.codecache'));
  expect(files).toHaveLength(1);
  return join(cacheDir, files[0]);
}

/** The cache's layout (scripts/code-cache.mjs): header length, JSON header with the index, then the entries' bytes. */
interface CacheHeader { index: Record<string, [string, number, number]>; resolutions: Record<string, string>; installStamp: string }
function readCacheFile(file: string): { header: CacheHeader; blobStart: number; bytes: Buffer } {
  const bytes = readFileSync(file);
  const headerLength = bytes.readUInt32LE(0);
  return { header: JSON.parse(bytes.toString('utf8', 4, 4 + headerLength)), blobStart: 4 + headerLength, bytes };
}

describe('06 daemon: the start-up code cache', () => {
  it('the first start writes the cache once serving; the next start compiles every module it loads from it, and serves', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'gw-cache-dir-'));
    const first = await startAndServe(cacheDir);
    expect(first.read).toBe(false);
    expect(first.accepted).toBe(0);
    expect(first.missing).toBeGreaterThan(50); // the bundle and the CommonJS packages of mqtt, aedes's store, classic-level...
    expect(first.saved).toBe(first.missing);
    expect(first.saveError).toBe('');
    const { header } = readCacheFile(cacheFileIn(cacheDir));
    expect(Object.keys(header.index).some((path) => /\/dist\/build-[^/]+\/mqtt-sn-gateway\.cjs$/.test(path))).toBe(true);
    expect(Object.keys(header.index).some((path) => path.includes('/node_modules/mqtt/'))).toBe(true);

    // import() still works in the code compiled from the cache: aedes (the embedded broker) at start-up, and
    // prom-client at the first scrape of /metrics.
    const second = await startAndServe(cacheDir, async (ports) => {
      const res = await fetch(`http://127.0.0.1:${ports[2]}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('mqttsn_broker_up');
    });
    expect(second).toMatchObject({ read: true, accepted: first.saved, rejected: 0, missing: 0, saved: 0 });
    // The files its require()s found at the first start are taken again, none looked for anew.
    expect(first.resolvedAnew).toBeGreaterThan(100);
    expect(second).toMatchObject({ resolved: first.resolvedAnew, resolvedAnew: 0 });
  }, 60_000);

  it('a cache V8 rejects (made by another V8 version) is ignored: the daemon serves, and writes the cache anew', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'gw-cache-dir-'));
    const first = await startAndServe(cacheDir);
    const file = cacheFileIn(cacheDir);
    const { header, blobStart, bytes } = readCacheFile(file);
    // Each entry starts with V8's own header: a magic number, then the hash of the V8 version that made it.
    for (const [, offset] of Object.values(header.index)) bytes.writeUInt32LE(~bytes.readUInt32LE(blobStart + offset + 4) >>> 0, blobStart + offset + 4);
    writeFileSync(file, bytes);

    const rejected = await startAndServe(cacheDir);
    expect(rejected).toMatchObject({ read: true, accepted: 0, rejected: first.saved, missing: 0, saved: first.saved });
    const third = await startAndServe(cacheDir);
    expect(third).toMatchObject({ accepted: first.saved, rejected: 0, missing: 0 });
  }, 60_000);

  it('a cache entry made for another text of the file is not used, whatever V8 would say (it checks only the length)', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'gw-cache-dir-'));
    const first = await startAndServe(cacheDir);
    editHeader(cacheFileIn(cacheDir), (header) => {
      const bundle = Object.keys(header.index).find((path) => path.endsWith('/mqtt-sn-gateway.cjs'))!;
      header.index[bundle][0] = 'another text';
    });

    const stale = await startAndServe(cacheDir);
    expect(stale).toMatchObject({ read: true, accepted: first.saved - 1, rejected: 0, missing: 1, saved: first.saved });
  }, 60_000);

  /** The cache file with its header changed by `edit`, its entries' bytes as they were. */
  function editHeader(file: string, edit: (header: CacheHeader) => void): void {
    const { header, blobStart, bytes } = readCacheFile(file);
    edit(header);
    const newHeader = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(newHeader.length);
    writeFileSync(file, Buffer.concat([length, newHeader, bytes.subarray(blobStart)]));
  }

  it('files found by require() under another install (npm\'s lock files changed since) are looked for anew', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'gw-cache-dir-'));
    const first = await startAndServe(cacheDir);
    editHeader(cacheFileIn(cacheDir), (header) => { header.installStamp = 'another install'; });

    const reinstalled = await startAndServe(cacheDir);
    expect(reinstalled).toMatchObject({ accepted: first.saved, resolved: 0, resolvedAnew: first.resolvedAnew });
    const next = await startAndServe(cacheDir);
    expect(next).toMatchObject({ resolved: first.resolvedAnew, resolvedAnew: 0 });
  }, 60_000);

  it('a file found by require() at an earlier start that is gone is looked for anew: the daemon serves', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'gw-cache-dir-'));
    const first = await startAndServe(cacheDir);
    editHeader(cacheFileIn(cacheDir), (header) => {
      const [key] = Object.entries(header.resolutions).find(([, path]) => path.includes('/node_modules/mqtt/'))!;
      header.resolutions[key] = join(cacheDir, 'gone.js');
    });

    const stale = await startAndServe(cacheDir);
    expect(stale).toMatchObject({ resolved: first.resolvedAnew - 1, resolvedAnew: 1 });
  }, 60_000);

  it('a damaged cache file (cut short) is ignored: the daemon serves, and writes it anew', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'gw-cache-dir-'));
    const first = await startAndServe(cacheDir);
    const file = cacheFileIn(cacheDir);
    writeFileSync(file, readFileSync(file).subarray(0, 100));

    const damaged = await startAndServe(cacheDir);
    expect(damaged).toMatchObject({ read: false, accepted: 0, missing: first.saved, saved: first.saved });
    expect(readFileSync(file).length).toBeGreaterThan(100);
  }, 60_000);

  it('a cache that cannot be written does not stop the start: the daemon serves without one', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'gw-cache-dir-'));
    const notADirectory = join(parent, 'file');
    writeFileSync(notADirectory, 'not a directory');
    const stats = await startAndServe(join(notADirectory, 'cache'));
    expect(stats.read).toBe(false);
    expect(stats.saved).toBe(0);
    expect(stats.saveError).toMatch(/ENOTDIR/);
  }, 60_000);

  it('a new build leaves the cache of the one before: the cache directory keeps one cache', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'gw-cache-dir-'));
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, 'build-old-mqtt-sn-gateway.cjs.codecache'), 'an earlier build\'s cache');
    await startAndServe(cacheDir);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.codecache'))).toEqual([expect.stringMatching(/^build-.*-mqtt-sn-gateway\.cjs\.codecache$/)]);
    expect(readdirSync(cacheDir)).not.toContain('build-old-mqtt-sn-gateway.cjs.codecache');
  }, 60_000);
});
