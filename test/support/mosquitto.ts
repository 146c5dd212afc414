/**
 * Starts a real Mosquitto (Debian package `mosquitto`) on a free loopback port for one test file.
 * No mocked broker: tests talk to it over TCP like any MQTT client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningBroker {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Kills the broker (an outage); `restart()` brings it back on the same port. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** What the broker wrote on stderr so far (its log, with `log_dest stderr`). */
  output(): string;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => { sock.destroy(); resolve(); });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`mosquitto did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}


export interface MosquittoOptions {
  /** Extra lines for the listener (TLS files, password_file...), given the broker's directory. */
  listenerLines?: (dir: string) => string[];
  /** Anonymous clients allowed (default true). */
  allowAnonymous?: boolean;
  /** Writes files (certificates, passwords) into the broker's directory before it starts. */
  files?: (dir: string) => void;
  /** URL scheme the tests connect with (default mqtt). */
  scheme?: 'mqtt' | 'mqtts';
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<RunningBroker & { dir: string }> {
  const port = await freePort();
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
  ];
  writeFileSync(conf, lines.join('\n') + '\n');
  let proc: ChildProcess | undefined;
  let output = '';
  const bin = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
  const launch = async () => {
    proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (d) => { stderr += d; output += d; });
    const exited = new Promise<never>((_, reject) => proc!.once('exit', (code) => reject(new Error(`mosquitto exited (${code}): ${stderr}`))));
    exited.catch(() => {});
    await Promise.race([waitForPort(port), exited]);
  };
  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => { p.once('exit', () => resolve()); p.kill('SIGKILL'); });
  };
  await launch();
  return {
    url: `${options.scheme ?? 'mqtt'}://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    restart: launch,
    output: () => output,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
