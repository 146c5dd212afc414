/**
 * Multicast discovery (§6.1) as Paho's MQTT-SN clients use it, on the wire. Multicast must never leave
 * this machine, so the whole scene runs in a network namespace this test creates (`unshare --net`):
 * only a loopback, up, with a route for 224.0.0.0/4. test/support/multicast-namespace-child.ts runs in
 * it (Mosquitto, gateway, sensors) and reports what happened as one JSON line. Without unshare this test
 * fails; it does not skip. The socket options themselves: test/radios/udp-multicast.test.ts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('../support/multicast-namespace-child.ts', import.meta.url));
/** Namespace set-up, then the child; root needs no user namespace (and Mosquitto then drops to its own user). */
const NAMESPACE_SETUP = 'ip link set lo up && ip route add 224.0.0.0/4 dev lo && exec "$0" --import tsx "$1"';

interface Report {
  advertise?: { type: string; gwId: number; from: string };
  found?: { gwId: number; host: string; port: number; via: string }[];
  gwinfoOnGroup?: { type: string; gwId: number; from: string };
  cli?: { code: number | null; stdout: string; stderr: string };
  published?: string[];
  error?: string;
  logs?: string[];
}

function runInNamespace(): Promise<Report> {
  const userNamespace = process.getuid?.() !== 0;
  const unshareFlags = userNamespace ? ['--map-root-user', '--net'] : ['--net'];
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', [...unshareFlags, 'sh', '-c', NAMESPACE_SETUP, process.execPath, CHILD], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MULTICAST_TEST_USER_NAMESPACE: userNamespace ? '1' : '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', (err) => reject(new Error(`cannot run unshare (util-linux) to make a network namespace: ${err.message}`)));
    child.once('close', (code) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`the namespace run failed (exit ${code}): ${stderr.trim() || stdout.trim()}`));
        return;
      }
      resolve(JSON.parse(line) as Report);
    });
  });
}

/** One run of the scene for all the tests below; each awaits it, so a failed run fails each of them. */
let run: Promise<Report> | undefined;
async function scene(): Promise<Report> {
  run ??= runInNamespace();
  const report = await run;
  expect(report.error, JSON.stringify(report.logs)).toBeUndefined();
  return report;
}

describe('13 multicast discovery in a network namespace of its own', { timeout: 60_000 }, () => {
  it('§6.1 ADVERTISE reaches a sensor listening on 225.1.1.1:1883, sent from the gateway\'s own address', async () => {
    const report = await scene();
    expect(report.advertise).toEqual({ type: 'ADVERTISE', gwId: 42, from: '127.0.0.1:10000' });
  });

  it('§6.1 a SEARCHGW sent to the group is answered: GWINFO to the searcher, from the address to CONNECT to', async () => {
    const report = await scene();
    expect(report.found).toEqual([{ gwId: 42, host: '127.0.0.1', port: 10000, via: 'GWINFO' }]);
  });

  it('§6.1 the GWINFO also goes to the group, so other searchers there can cancel theirs', async () => {
    const report = await scene();
    expect(report.gwinfoOnGroup).toEqual({ type: 'GWINFO', gwId: 42, from: '127.0.0.1:10000' });
  });

  it('§6.1 `mqtt-sn search -h 225.1.1.1 -p 1883` finds the gateway', async () => {
    const report = await scene();
    expect(report.cli).toEqual({ code: 0, stdout: 'GWINFO gwId=42 from 127.0.0.1:10000\n', stderr: '' });
  });

  it('§6.1 the sensor that found the gateway by multicast connects and publishes to Mosquitto through it', async () => {
    const report = await scene();
    expect(report.published).toEqual(['mc/hello found by multicast']);
  });
});
