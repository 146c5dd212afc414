/**
 * The idle footprint of the daemon as a user starts it: `node bin/mqtt-sn-gateway.js --config gateway.yaml`
 * with the shipped gateway.yaml (UDP + embedded broker), only its ports and stateDir moved so that it
 * cannot collide with anything else on the machine. Measures, in a fresh process each time:
 *  - the time from spawning the process to its first CONNACK (a sensor retrying CONNECT every 5 ms);
 *  - its RSS once it has sat idle for a second;
 *  - which modules it loaded, per package (test/support/record-imports.mjs: a resolve hook; modules
 *    required from CommonJS code are not seen, only the packages' entry points);
 *  - with --cpu-prof, where the start-up's CPU went, by origin (our code, tsx, mqtt, aedes, ...), and how
 *    many source files of each origin ran at all: what is loaded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { decode, encode } from '../../sn-codec/index.js';
import { origin, type Profile } from './cpuprofile-top.js';
import { sleep } from './timing.js';

export interface Footprint {
  /** From spawn() to the first CONNACK. */
  servingMs: number;
  rssBytes: number;
  /** Bare `node -e` with nothing loaded, the floor. */
  bareNodeRssBytes: number;
  /** Per origin: busy ms during start-up and the number of distinct source files that ran. */
  origins: { origin: string; ms: number; files: number }[];
  /** Modules the daemon resolved (loaded), per package ('our code', 'node:' builtins, or the npm package). */
  modules: { origin: string; count: number }[];
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
  const udpPort = await freePort();
  const brokerPort = await freePort();
  const yaml = readFileSync('gateway.yaml', 'utf8')
    .replace(/^(\s+port:) 1883$/m, `$1 ${brokerPort}`)
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

/** Sends CONNECT every 5 ms until a CONNACK comes; resolves with the time it came. */
async function firstConnack(udpPort: number, timeoutMs: number): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const connect = encode({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'footprint' });
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => socket.send(connect, udpPort, '127.0.0.1'), 5);
      const giveUp = setTimeout(() => { clearInterval(timer); reject(new Error(`no CONNACK within ${timeoutMs} ms`)); }, timeoutMs);
      socket.on('message', (frame) => {
        if (decode(frame).type !== 'CONNACK') return;
        clearInterval(timer);
        clearTimeout(giveUp);
        resolve(performance.now());
      });
    });
  } finally {
    socket.close();
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function startDaemon(nodeArgs: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; servingMs: number }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-footprint-'));
  const { path, udpPort } = await shippedConfigCopy(dir);
  const startedAt = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, 'bin/mqtt-sn-gateway.js', '--config', path], { stdio: 'ignore', env });
  const servedAt = await firstConnack(udpPort, 30_000);
  return { child, servingMs: servedAt - startedAt };
}

function originsOf(profileDir: string): Footprint['origins'] {
  const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
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

export async function measureFootprint(): Promise<Footprint> {
  const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
  await sleep(1000);
  const bareNodeRssBytes = rssOfPid(bare.pid!);
  bare.kill();

  const { child, servingMs } = await startDaemon([]);
  await sleep(1000);
  const rssBytes = rssOfPid(child.pid!);
  await stop(child);

  // Profiled separately, with the module recorder of the tests: their cost stays out of the time and RSS above.
  const profileDir = mkdtempSync(join(os.tmpdir(), 'bench-footprint-prof-'));
  const record = join(profileDir, 'modules.txt');
  const profiled = await startDaemon(['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--import', './test/support/record-imports.mjs'], { ...process.env, RECORD_IMPORTS_FILE: record });
  await stop(profiled.child);
  return { servingMs, rssBytes, bareNodeRssBytes, origins: originsOf(profileDir), modules: modulesOf(record) };
}

function modulesOf(record: string): Footprint['modules'] {
  const counts = new Map<string, number>();
  for (const url of new Set(readFileSync(record, 'utf8').split('\n').filter(Boolean))) {
    const o = origin({ functionName: '', url, lineNumber: 0 });
    counts.set(o, (counts.get(o) ?? 0) + 1);
  }
  return [...counts].map(([o, count]) => ({ origin: o, count })).sort((a, b) => b.count - a.count);
}
