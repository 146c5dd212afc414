/**
 * Starts a real Mosquitto (Debian package `mosquitto`) on a free loopback port for one test file.
 * No mocked broker: tests talk to it over TCP like any MQTT client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningBroker {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Kills the broker (an outage); `restart()` brings it back on the same port. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Everything the broker logged on stderr so far (what `log_type` lets through), across restarts. */
  log(): string;
  /** The same log, under the name other tests use. */
  output(): string;
}

/**
 * A port nobody uses right now, for TCP and UDP alike, taken below the kernel's ephemeral range: sockets
 * bound to port 0 (every sensor, every client) never get it, so only another explicit pick can collide, and
 * whoever binds it retries with a new one on EADDRINUSE (`withFreePort`). A gateway restarted on the same
 * port meanwhile cannot lose it to an ephemeral socket.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [low] = ephemeralRange();
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (await tcpFree(port, host) && await udpFree(port, host)) return port;
  }
}

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low! > 11_000) return [low!, high!];
  } catch { /* not Linux: the IANA range */ }
  return [49_152, 65_535];
}

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => { socket.close(); resolve(false); });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/** True for the error a process or socket gives when the port it was handed has been taken meanwhile. */
export function isAddressInUse(err: unknown): boolean {
  return /EADDRINUSE|address already in use/i.test(err instanceof Error ? err.message : String(err));
}

/**
 * Runs `start` with free ports, and again with new ones when it fails because one was taken between
 * `freePort()` and the bind (the race a parallel test file can win).
 */
export async function withFreePort<T>(count: number, start: (ports: number[]) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    try {
      return await start(ports);
    } catch (err) {
      if (attempt >= attempts || !isAddressInUse(err)) throw err;
    }
  }
}

export interface MosquittoOptions {
  /** Extra lines for the listener (TLS files, password_file...), given the broker's directory. */
  listenerLines?: (dir: string) => string[];
  /** Anonymous clients allowed (default true). */
  allowAnonymous?: boolean;
  /** Writes files (certificates, passwords) into the broker's directory before it starts. */
  files?: (dir: string) => void;
  /** Lines after the listener's (log_type, acl_file...), given the broker's directory. */
  extraLines?: (dir: string) => string[];
  /** URL scheme the tests connect with (default mqtt). */
  scheme?: 'mqtt' | 'mqtts';
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<RunningBroker & { dir: string }> {
  return withFreePort(1, ([port]) => startMosquittoOn(port!, options));
}

async function startMosquittoOn(port: number, options: MosquittoOptions): Promise<RunningBroker & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mosq-'));
  // Mosquitto started as root drops to its own user before reading certificates and password files.
  chmodSync(dir, 0o755);
  options.files?.(dir);
  const conf = join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    ...(options.listenerLines?.(dir) ?? []),
    `allow_anonymous ${options.allowAnonymous ?? true}`,
    'persistence false',
    'max_queued_messages 10000',
    ...(options.extraLines?.(dir) ?? []),
  ];
  writeFileSync(conf, lines.join('\n') + '\n');
  let proc: ChildProcess | undefined;
  let log = '';
  const bin = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
  const launch = async () => {
    const p = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc = p;
    const startedAt = log.length;
    // Mosquitto logs to stderr; "running" comes once every listener is open (so a port taken by someone
    // else is an exit with "Address already in use", never a false start on their socket).
    const running = new Promise<void>((resolve, reject) => {
      p.stderr!.on('data', (d) => {
        log += d;
        if (log.slice(startedAt).includes(' running')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`mosquitto exited (${code}): ${log.slice(startedAt)}`)));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`mosquitto did not start on ${port}: ${log.slice(startedAt)}`)), 15_000);
    });
    await Promise.race([running, timeout]).finally(() => clearTimeout(timer));
  };
  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => { p.once('exit', () => resolve()); p.kill('SIGKILL'); });
  };
  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `${options.scheme ?? 'mqtt'}://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    restart: launch,
    log: () => log,
    output: () => log,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
