/**
 * The idle footprint of the daemon as a user starts it: `node bin/mqtt-sn-gateway.js --config gateway.yaml`
 * with the shipped gateway.yaml (UDP + embedded broker + persistence + HTTP), only its ports and stateDir
 * moved so that it cannot collide with anything else on the machine. Measures, in a fresh process each time:
 *  - its RSS once it has sat idle for a second after logging "running", no sensor ever served;
 *  - the time from spawning the process to its first CONNACK (a sensor retrying CONNECT every 5 ms), and its
 *    RSS a second after that sensor also REGISTERed and published one QoS 1 message (PUBACK);
 *  - which modules it loaded, per package (test/support/record-imports.mjs: ES modules as they resolve,
 *    CommonJS ones from the require cache at exit);
 *  - with --cpu-prof, where the start-up's CPU went, by origin (our code, mqtt, aedes, ...), and how many
 *    source files of each origin ran at all: what is loaded;
 *  - what the bins' build check costs (scripts/build.mjs isFresh(): a stat of every file the build was made
 *    from), and a rebuild.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { build, isFresh } from '../../scripts/build.mjs';
import { decode, encode } from '../../sn-codec/index.js';
import type { SnMessage } from '../../sn-codec/types.js';
import { origin, type Profile } from './cpuprofile-top.js';
import { sleep } from './timing.js';

export interface Footprint {
  /** Per start (`runs` of them): RSS idle after start-up, no sensor served. */
  idleRssBytes: number[];
  /** Per start: from spawn() to the first CONNACK. */
  servingMs: number[];
  /** Per start: RSS a second after the first sensor connected, registered and published QoS 1. */
  servedRssBytes: number[];
  /** Bare `node -e` with nothing loaded, the floor. */
  bareNodeRssBytes: number;
  /** Bare `node -e`: ms from process start to its first line of JavaScript, with this environment and without NODE_EXTRA_CA_CERTS (medians of 5). */
  bareNodeStartMs: { asIs: number; withoutExtraCaCerts: number };
  /** Per served start: what the code cache did (scripts/code-cache.mjs, MQTTSN_CODE_CACHE_STATS). */
  codeCache: { read: boolean; accepted: number; rejected: number; missing: number; saved: number }[];
  /** Per origin: busy ms during start-up and the number of distinct source files that ran. */
  origins: { origin: string; ms: number; files: number }[];
  /** Modules the daemon loaded, per package ('our code', 'node:' builtins, or the npm package). */
  modules: { origin: string; count: number }[];
  /** The bins' freshness check of a fresh build: median µs, and how many files it looks at. */
  buildCheck: { medianUs: number; files: number };
  /** A rebuild, as a bin does it when a source changed. */
  rebuildMs: number;
}

/**
 * A UDP port free now. Chosen by UDP, not by a TCP listener: the sensor's socket (bound to port 0 before this
 * is called) cannot be handed this port, which made the daemon's UDP bind fail with EADDRINUSE (no CONNACK).
 */
async function freeUdpPort(): Promise<number> {
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise<void>((resolve) => probe.close(resolve));
  return port;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** The shipped gateway.yaml with free ports and a fresh stateDir; everything else as shipped. */
async function shippedConfigCopy(dir: string): Promise<{ path: string; udpPort: number }> {
  const udpPort = await freeUdpPort();
  const brokerPort = await freePort();
  const httpPort = await freePort();
  const yaml = readFileSync('gateway.yaml', 'utf8')
    .replace(/^(\s+port:) 1883$/m, `$1 ${brokerPort}`)
    .replace(/^(\s+port:) 8080$/m, `$1 ${httpPort}`)
    .replace(/^(\s+port:) 10000$/m, `$1 ${udpPort}`)
    .replace(/^stateDir: .*$/m, `stateDir: ${join(dir, 'state')}`);
  const path = join(dir, 'gateway.yaml');
  writeFileSync(path, yaml);
  return { path, udpPort };
}

function rssOfPid(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) * 1024 : NaN;
}

/** A UDP socket on 127.0.0.1 talking MQTT-SN to the port given to target(). */
async function sensorSocket(): Promise<{ target(udpPort: number): void; send(m: SnMessage): void; next(type: SnMessage['type'], timeoutMs: number): Promise<SnMessage>; close(): void }> {
  let udpPort = 0;
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const inbox: SnMessage[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (frame) => {
    inbox.push(decode(frame));
    wake?.();
  });
  return {
    target: (port) => { udpPort = port; },
    send: (m) => socket.send(encode(m), udpPort, '127.0.0.1'),
    async next(type, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const i = inbox.findIndex((m) => m.type === type);
        if (i >= 0) return inbox.splice(i, 1)[0];
        if (performance.now() > deadline) throw new Error(`no ${type} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 50); });
      }
    },
    close: () => socket.close(),
  };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function spawnDaemon(nodeArgs: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; udpPort: number; startedAt: number; running: Promise<void>; log: () => string; dir: string }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-footprint-'));
  const { path, udpPort } = await shippedConfigCopy(dir);
  const startedAt = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, 'bin/mqtt-sn-gateway.js', '--config', path], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let log = '';
  const running = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      log += d;
      if (log.includes('running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the daemon exited (${code}) before running:\n${log}`)));
  });
  return { child, udpPort, startedAt, running, log: () => log, dir };
}

/** Started, idle for a second, never a sensor: RSS. */
async function idleStart(): Promise<number> {
  const { child, running } = await spawnDaemon([]);
  await running;
  await sleep(1000);
  const rss = rssOfPid(child.pid!);
  await stop(child);
  return rss;
}

/** Started with a sensor sending CONNECT every 5 ms: the first CONNACK's time, then one QoS 1 publish, then RSS. */
async function servedStart(): Promise<{ servingMs: number; rss: number; codeCache: Footprint['codeCache'][number] }> {
  // The sensor's socket first: the daemon's UDP port is chosen after it (freeUdpPort).
  const sensor = await sensorSocket();
  const statsFile = join(mkdtempSync(join(os.tmpdir(), 'bench-footprint-cache-')), 'stats.json');
  const { child, udpPort, startedAt, log } = await spawnDaemon([], { ...process.env, MQTTSN_CODE_CACHE_STATS: statsFile });
  sensor.target(udpPort);
  try {
    const retry = setInterval(() => sensor.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'footprint' }), 5);
    try {
      await sensor.next('CONNACK', 30_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the daemon's log:\n${log()}`);
    } finally {
      clearInterval(retry);
    }
    const servingMs = performance.now() - startedAt;
    sensor.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'bench/footprint' });
    const regack = await sensor.next('REGACK', 10_000);
    if (regack.type !== 'REGACK') throw new Error('REGACK expected');
    sensor.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: regack.topicId, msgId: 2, payload: Buffer.from('21.5') });
    await sensor.next('PUBACK', 10_000);
    await sleep(1000);
    return { servingMs, rss: rssOfPid(child.pid!), codeCache: JSON.parse(readFileSync(statsFile, 'utf8')) };
  } finally {
    sensor.close();
    await stop(child);
  }
}

function originsOf(profileDir: string): Footprint['origins'] {
  // One profile per thread (the module recorder's hooks run on a loader thread of their own): the main thread's
  // is the largest.
  const file = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(join(profileDir, b)).size - statSync(join(profileDir, a)).size)[0];
  if (!file) return [];
  const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as Profile;
  const busyUs = new Map<string, number>();
  const files = new Map<string, Set<string>>();
  const nodeOrigin = new Map<number, string>();
  for (const n of profile.nodes) {
    const o = origin(n.callFrame);
    nodeOrigin.set(n.id, o);
    if (n.callFrame.url) {
      if (!files.has(o)) files.set(o, new Set());
      files.get(o)!.add(n.callFrame.url);
    }
  }
  profile.samples.forEach((id, i) => {
    const o = nodeOrigin.get(id)!;
    if (o === '(idle)') return;
    busyUs.set(o, (busyUs.get(o) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  });
  return [...busyUs].map(([o, us]) => ({ origin: o, ms: us / 1000, files: files.get(o)?.size ?? 0 })).sort((a, b) => b.ms - a.ms);
}

/** The bins' check of a fresh build, timed; then one rebuild. */
async function buildCosts(): Promise<Pick<Footprint, 'buildCheck' | 'rebuildMs'>> {
  const rebuildStart = performance.now();
  const current = await build();
  const rebuildMs = performance.now() - rebuildStart;
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    if (!isFresh()) throw new Error('the build just made is not fresh');
    times.push((performance.now() - t) * 1000);
  }
  times.sort((a, b) => a - b);
  return { buildCheck: { medianUs: times[times.length >> 1], files: Object.keys(current.inputs).length }, rebuildMs };
}

export async function measureFootprint(runs = 3): Promise<Footprint> {
  const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
  await sleep(1000);
  const bareNodeRssBytes = rssOfPid(bare.pid!);
  bare.kill();
  const bareNodeStartMs = { asIs: await bareStartMs(process.env), withoutExtraCaCerts: await bareStartMs({ ...process.env, NODE_EXTRA_CA_CERTS: '' }) };

  // The build first: every daemon below then finds it fresh, as an installed one does.
  const costs = await buildCosts();
  const idleRssBytes: number[] = [];
  const servingMs: number[] = [];
  const servedRssBytes: number[] = [];
  const codeCache: Footprint['codeCache'] = [];
  for (let i = 0; i < runs; i++) {
    idleRssBytes.push(await idleStart());
    const served = await servedStart();
    servingMs.push(served.servingMs);
    servedRssBytes.push(served.rss);
    codeCache.push(served.codeCache);
  }

  // Profiled separately, with the module recorder of the tests: their cost stays out of the time and RSS above.
  // A profiled run that ends without writing its profile is run again (up to three times).
  for (let attempt = 1; ; attempt++) {
    const profileDir = mkdtempSync(join(os.tmpdir(), 'bench-footprint-prof-'));
    const record = join(profileDir, 'modules.txt');
    const profiled = await spawnDaemon(['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--import', './test/support/record-imports.mjs'], { ...process.env, RECORD_IMPORTS_FILE: record });
    await profiled.running;
    await stop(profiled.child);
    const origins = originsOf(profileDir);
    if (origins.length > 0 || attempt === 3) {
      return { idleRssBytes, servingMs, servedRssBytes, bareNodeRssBytes, bareNodeStartMs, codeCache, origins, modules: modulesOf(record), ...costs };
    }
  }
}

/**
 * Median ms from a bare `node -e`'s process start to its first line of JavaScript. Node 20 reads and parses
 * NODE_EXTRA_CA_CERTS (if set) before that, at every start (this machine sets it: about 45 ms here).
 */
async function bareStartMs(env: NodeJS.ProcessEnv): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const child = spawn(process.execPath, ['-e', 'process.stdout.write(String(performance.now()))'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => { out += d; });
    await new Promise((resolve) => child.once('exit', resolve));
    times.push(Number(out));
  }
  return times.sort((a, b) => a - b)[2];
}

function modulesOf(record: string): Footprint['modules'] {
  const counts = new Map<string, number>();
  for (const url of new Set(readFileSync(record, 'utf8').split('\n').filter(Boolean))) {
    if (url.includes('/test/support/')) continue; // the recorder itself
    const o = origin({ functionName: '', url, lineNumber: 0 });
    counts.set(o, (counts.get(o) ?? 0) + 1);
  }
  return [...counts].map(([o, count]) => ({ origin: o, count })).sort((a, b) => b.count - a.count);
}
