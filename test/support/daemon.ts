/**
 * The daemon as users run it: `node bin/mqtt-sn-gateway.js --config FILE` in its own process, on the real
 * clock. Its log (stderr) is collected so tests can wait for a line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until, WAIT_MS } from './harness.js';
import { withFreePort } from './mosquitto.js';

const root = join(import.meta.dirname, '..', '..');
export const DAEMON_BIN = join(root, 'bin', 'mqtt-sn-gateway.js');
export const CLI_BIN = join(root, 'bin', 'mqtt-sn.js');
/** The daemon with zigbee-herdsman's adapter replaced by the test double (fake-zigbee-install.ts). */
export const DAEMON_WITH_FAKE_ZIGBEE = join(root, 'test', 'support', 'fake-zigbee-daemon.mjs');

export interface RunningDaemon {
  proc: ChildProcess;
  /** The ports handed to the config writer. */
  ports: number[];
  log(): string;
  /** Waits for a log line matching `pattern` (allow for a slow start on a loaded machine). */
  waitForLog(pattern: string | RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM, resolving with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Writes the config `yaml(ports)` to `dir/gateway.yaml` with `portCount` free TCP/UDP ports and starts the
 * daemon until it logs "running". A port taken meanwhile by another test file means new ports and a new try.
 */
export function startDaemon(dir: string, portCount: number, yaml: (ports: number[]) => string, args: string[] = [], entry = DAEMON_BIN, env: NodeJS.ProcessEnv = process.env): Promise<RunningDaemon> {
  return withFreePort(portCount, async (ports) => {
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, yaml(ports));
    const proc = spawn(process.execPath, [entry, '--config', config, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env });
    let log = '';
    let exitCode: number | null | undefined;
    proc.stderr!.on('data', (d) => { log += d; });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => { exitCode = code; resolve(code); }));
    const waitForLog = (pattern: string | RegExp, timeoutMs = WAIT_MS) => until(
      () => (typeof pattern === 'string' ? log.includes(pattern) : pattern.test(log)) || exitCode !== undefined,
      timeoutMs,
      () => `daemon log line ${pattern}; log so far:\n${log}`,
    ).then(() => {
      if (!(typeof pattern === 'string' ? log.includes(pattern) : pattern.test(log))) throw new Error(`daemon exited (${exitCode}) before logging ${pattern}:\n${log}`);
    });
    try {
      await waitForLog('running', 30_000);
      // A UDP port taken meanwhile is retried by the radio in the background; here it means new ports.
      if (/cannot listen on .*EADDRINUSE/.test(log)) throw new Error(`daemon: EADDRINUSE:\n${log}`);
    } catch (err) {
      proc.kill('SIGKILL');
      await exited;
      throw err;
    }
    return {
      proc,
      ports,
      log: () => log,
      waitForLog,
      async stop() {
        if (exitCode === undefined) proc.kill('SIGTERM');
        return exited;
      },
    };
  });
}
