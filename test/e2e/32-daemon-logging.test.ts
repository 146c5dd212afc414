/**
 * The daemon's logs as an operator reads them: `log.format: json` (one JSON object per line, for
 * journald or Loki) and `-v` (every frame in and out, decoded, one line each, like `mosquitto -v`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SnUdpPeer } from '../../client/udp-peer.js';
import { connect, startBroker, until, type Broker } from '../support/harness.js';
import { freePort } from '../support/mosquitto.js';

const root = join(import.meta.dirname, '..', '..');

interface Daemon { proc: ChildProcess; port: number; log: () => string }

describe('32 daemon logging', () => {
  let broker: Broker;
  const running: ChildProcess[] = [];
  beforeAll(async () => { broker = await startBroker('mosquitto'); });
  afterEach(() => { for (const p of running.splice(0)) p.kill('SIGKILL'); });
  afterAll(async () => { await broker?.stop(); });

  async function daemon(extraYaml: string, args: string[]): Promise<Daemon> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gw-log-'));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, [
      'gateway: { advertiseInterval: 0 }',
      `broker: { url: ${broker.url} }`,
      `radios: [ { type: udp, host: 127.0.0.1, port: ${port}, broadcastAddress: 127.0.0.1 } ]`,
      'http: false',
      'status: false',
      extraYaml,
      '',
    ].join('\n'));
    const proc = spawn(process.execPath, [join(root, 'bin', 'mqtt-sn-gateway.js'), '--config', config, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    running.push(proc);
    let log = '';
    proc.stderr!.on('data', (d) => { log += d; });
    await until(() => log.includes('running'), 15_000, () => `daemon start-up; log so far:\n${log}`);
    return { proc, port, log: () => log };
  }

  async function connectSensor(port: number, clientId: string): Promise<SnUdpPeer> {
    const s = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port } });
    await connect(s, clientId);
    return s;
  }

  it('log.format: json writes one JSON object per line: time, level, msg', async () => {
    const d = await daemon('log: { format: json }', []);
    const lines = d.log().trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(entry)).toEqual(['time', 'level', 'msg']);
      expect(Date.parse(entry.time as string)).not.toBeNaN();
    }
    expect(lines.map((l) => JSON.parse(l).msg)).toContainEqual(expect.stringMatching(/^MQTT-SN gateway 1 running/));
  });

  it('-v logs every frame in (<) and out (>), decoded, one line each, with radio and sender', async () => {
    const d = await daemon('', ['-v']);
    const s = await connectSensor(d.port, 'trace-me');
    try {
      const peer = s.localAddress;
      await until(() => d.log().includes('CONNACK'), 10_000, () => d.log());
      expect(d.log()).toMatch(new RegExp(`DEBUG udp0 < ${peer.replace(/[.[\]]/g, '\\$&')} CONNECT \\{.*"clientId":"trace-me".*\\}\\n`));
      expect(d.log()).toMatch(new RegExp(`DEBUG udp0 > ${peer.replace(/[.[\]]/g, '\\$&')} CONNACK \\{"returnCode":0\\}\\n`));
    } finally {
      await s.close();
    }
  });

  it('without -v no frame is logged (checked up to the SIGUSR2 report that follows the CONNACK)', async () => {
    const d = await daemon('log: { level: debug }', []);
    const s = await connectSensor(d.port, 'quiet-one');
    try {
      d.proc.kill('SIGUSR2');
      await until(() => d.log().includes('client quiet-one: active'), 10_000, () => d.log());
      expect(d.log()).not.toMatch(/udp0 [<>] /);
    } finally {
      await s.close();
    }
  });
});
