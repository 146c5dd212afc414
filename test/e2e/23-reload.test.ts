/**
 * Live reload: `Gateway.reload()` (what SIGHUP and POST /api/reload call) and the daemon's SIGHUP, with a
 * real Mosquitto and real UDP sensors, one connected and one asleep, neither of which a reload may drop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnUdpPeer } from '../../client/udp-peer.js';
import type { SnMessage } from '../../sn-codec/types.js';
import { connect, gatewaySuite, Observer, until } from '../support/harness.js';
import { freePort, startMosquitto, type RunningBroker } from '../support/mosquitto.js';

const root = join(import.meta.dirname, '..', '..');
const daemon = join(root, 'bin', 'mqtt-sn-gateway.js');

const publishById = (topicId: number, msgId: number, payload: string): SnMessage => ({
  type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'predefined', topicId, msgId, payload: Buffer.from(payload),
});

/** §6.14 wake-up: PINGREQ with ClientId, acknowledge what was buffered, until PINGRESP. Returns the payloads. */
async function wake(sensor: SnUdpPeer, clientId: string): Promise<string[]> {
  sensor.send({ type: 'PINGREQ', clientId });
  const payloads: string[] = [];
  for (;;) {
    const m = await sensor.next(10_000);
    if (m.type === 'PINGRESP') return payloads;
    if (m.type === 'REGISTER') sensor.send({ type: 'REGACK', topicId: m.topicId, msgId: m.msgId, returnCode: 0 });
    if (m.type === 'PUBLISH') {
      payloads.push(m.payload.toString());
      if (m.qos === 1) sensor.send({ type: 'PUBACK', topicId: m.topicId, msgId: m.msgId, returnCode: 0 });
    }
  }
}

describe('23 reload: Gateway.reload() returns what it did (mosquitto)', () => {
  const t = gatewaySuite('mosquitto', { observe: [{ filter: 'reload/#', qos: 1 }] });
  const dir = mkdtempSync(join(tmpdir(), 'gw-reload-'));
  const file = join(dir, 'gateway.yaml');
  const yaml = (topics: string, extra = '', http = 'false') => [
    `broker: { url: ${t.broker.url} }`,
    'radios: [ { type: udp, host: 127.0.0.1, port: 10000, broadcastAddress: 127.0.0.1 } ]',
    'topics:',
    '  predefined:',
    topics,
    extra,
    `http: ${http}`,
    'status: false',
  ].join('\n');

  it('a valid file: topic mappings applied at once, changed radio and broker keys listed as needing a restart', async () => {
    writeFileSync(file, yaml('    1: reload/inproc/new'));
    const result = await t.gw.gateway.reload(file);
    expect(result.ok).toBe(true);
    expect(result.errors).toEqual([]);
    expect(result.applied).toContain('topics.predefined.1');
    // The harness runs its radio on port 0 and faster reconnects: the file differs there.
    expect(result.needsRestart).toEqual(expect.arrayContaining(['radios[0].port', 'broker.reconnectMin']));
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);

    const s = await t.gw.sensor();
    await connect(s, 'inproc-a');
    s.send(publishById(1, 1, 'after reload'));
    expect(await s.expect('PUBACK')).toMatchObject({ returnCode: 0 });
    expect((await t.observer.waitFor(1, 'reload/inproc/new'))[0].payload).toBe('after reload');
  });

  it('reloading the same file again applies nothing new', async () => {
    writeFileSync(file, yaml('    1: reload/inproc/new'));
    await t.gw.gateway.reload(file);
    const again = await t.gw.gateway.reload(file);
    expect(again.applied).toEqual([]);
    expect(again.ok).toBe(true);
  });

  it('a file with errors is refused with every error, and the running mappings stay', async () => {
    writeFileSync(file, yaml('    1: reload/inproc/broken\n    2: reload/+/wild', 'gateway: { id: 300 }'));
    const result = await t.gw.gateway.reload(file);
    expect(result.ok).toBe(false);
    expect(result.applied).toEqual([]);
    expect(result.errors).toHaveLength(2);
    expect(result.errors[0]).toMatch(/gateway\.yaml:6:\d+ topics\.predefined\.2: a predefined topic must be a concrete name/);
    expect(result.errors[1]).toMatch(/gateway\.yaml:7:\d+ gateway\.id: must be an integer 0\.\.255 \(got 300\)/);

    const s = await t.gw.sensor();
    await connect(s, 'inproc-b');
    s.send(publishById(1, 2, 'still old'));
    expect(await s.expect('PUBACK')).toMatchObject({ returnCode: 0 });
    await t.observer.waitFor(2, 'reload/inproc/new');
    expect(t.observer.messages.filter((m) => m.topic === 'reload/inproc/broken')).toEqual([]);
  });

  it('§6.9 a subscription made by predefined id keeps its topic through a reload; UNSUBSCRIBE by that id still ends it', async () => {
    writeFileSync(file, yaml('    1: reload/inproc/first'));
    await t.gw.gateway.reload(file);
    const s = await t.gw.sensor();
    await connect(s, 'inproc-sub');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'predefined', topicId: 1 } });
    expect(await s.expect('SUBACK')).toMatchObject({ topicId: 1, returnCode: 0 });
    writeFileSync(file, yaml('    1: reload/inproc/second'));
    expect((await t.gw.gateway.reload(file)).applied).toContain('topics.predefined.1');
    expect(t.gw.gateway.core.client('inproc-sub')!.subscriptions).toEqual([{ filter: 'reload/inproc/first', qos: 0 }]);
    s.send({ type: 'UNSUBSCRIBE', msgId: 2, topic: { topicIdType: 'predefined', topicId: 1 } });
    await s.expect('UNSUBACK');
    expect(t.gw.gateway.core.client('inproc-sub')!.subscriptions).toEqual([]);
  });

  it('new access rules judge the next CONNECT; a sensor connected before stays connected', async () => {
    writeFileSync(file, yaml('    1: reload/inproc/new'));
    await t.gw.gateway.reload(file);
    const before = await t.gw.sensor();
    await connect(before, 'acc-before');
    writeFileSync(file, yaml('    1: reload/inproc/new', "access: { rules: [ { clientId: 'acc-allowed' } ] }"));
    expect((await t.gw.gateway.reload(file)).applied).toContain('access.rules');
    const refused = await t.gw.sensor();
    refused.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'acc-refused' });
    expect(await refused.expect('CONNACK')).toMatchObject({ returnCode: 3 });
    const allowed = await t.gw.sensor();
    await connect(allowed, 'acc-allowed');
    expect(t.gw.gateway.core.client('acc-before')!.state).toBe('active');
    writeFileSync(file, yaml('    1: reload/inproc/new'));
    expect((await t.gw.gateway.reload(file)).applied).toContain('access.rules');
    await connect(refused, 'acc-refused');
  });

  it('the http section reloads live: the status page opens on its new address, and closes with http: false', async () => {
    writeFileSync(file, yaml('    1: reload/inproc/new', '', '{ host: 127.0.0.1, port: 0 }'));
    expect((await t.gw.gateway.reload(file)).applied).toEqual(expect.arrayContaining(['http']));
    const url = t.gw.gateway.http?.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/api/clients`)).status).toBe(200);
    writeFileSync(file, yaml('    1: reload/inproc/new'));
    expect((await t.gw.gateway.reload(file)).applied).toEqual(expect.arrayContaining(['http']));
    expect(t.gw.gateway.http).toBeUndefined();
    await expect(fetch(`${url}/api/clients`)).rejects.toThrow();
  });

  it('a file that cannot be read is refused and named', async () => {
    const result = await t.gw.gateway.reload(join(dir, 'missing.yaml'));
    expect(result.ok).toBe(false);
    expect(result.errors[0]).toContain('cannot read the configuration file');
  });
});

describe('23 reload: SIGHUP to the daemon with a connected and a sleeping sensor (mosquitto)', () => {
  let broker: RunningBroker;
  let proc: ChildProcess | undefined;
  let log = '';
  const dir = mkdtempSync(join(tmpdir(), 'gw-sighup-'));
  const file = join(dir, 'gateway.yaml');
  let udpPort = 0;
  let httpPort = 0;
  const config = (lines: string[]) => writeFileSync(file, [
    'gateway: { id: 4, advertiseInterval: 0 }',
    `broker: { url: ${broker.url}, keepalive: ${lines.includes('#keepalive 30') ? 30 : 60} }`,
    `radios: [ { type: udp, host: 127.0.0.1, port: ${udpPort}, broadcastAddress: 127.0.0.1 } ]`,
    ...lines,
    `http: { host: 127.0.0.1, port: ${httpPort} }`,
    'status: false',
    '',
  ].join('\n'));

  beforeAll(async () => {
    broker = await startMosquitto();
    udpPort = await freePort();
    httpPort = await freePort();
  });
  afterAll(async () => {
    proc?.kill('SIGKILL');
    await broker?.stop();
  });

  it('a good file takes effect, a bad one is refused with every error logged; neither sensor is dropped', async () => {
    config(['topics:', '  predefined:', '    5: reload/old']);
    proc = spawn(process.execPath, [daemon, '--config', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stderr!.on('data', (d) => { log += d; });
    await until(() => log.includes('running'), 15_000, () => `daemon start-up; log so far:\n${log}`);
    const observer = await Observer.connect(broker.url);
    const awake = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: udpPort } });
    const sleeper = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: udpPort } });
    try {
      await observer.subscribe('reload/#');
      await connect(awake, 'reload-awake', { duration: 120 });
      await connect(sleeper, 'reload-sleeper', { duration: 120 });
      sleeper.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topic: { topicIdType: 'normal', topicName: 'reload/to-sleeper' } });
      expect(await sleeper.expect('SUBACK')).toMatchObject({ returnCode: 0 });
      sleeper.send({ type: 'DISCONNECT', duration: 600 });
      await sleeper.expect('DISCONNECT');

      // A good file: predefined id 5 moves, and a broker key changes (which needs a restart).
      config(['topics:', '  predefined:', '    5: reload/new', 'log: { level: debug }', '#keepalive 30']);
      proc.kill('SIGHUP');
      // The restart line comes last: once it is in, so is the line before it.
      await until(() => log.includes('reload: changed but not applied'), 10_000, () => `reload; log so far:\n${log}`);
      expect(log).toContain('reload: applied topics.predefined.5, log.level');
      expect(log).toMatch(/WARN  reload: changed but not applied until a restart: broker\.keepalive\n/);
      awake.send(publishById(5, 1, 'moved'));
      expect(await awake.expect('PUBACK')).toMatchObject({ returnCode: 0 });
      expect((await observer.waitFor(1, 'reload/new'))[0].payload).toBe('moved');

      // A bad file: every error is logged with its line, and id 5 keeps its reloaded meaning.
      config(['topics:', '  predefined:', '    5: reload/bad', '    6: reload/#', 'log: { level: loud }']);
      proc.kill('SIGHUP');
      await until(() => log.includes('reload refused'), 10_000, () => `refused reload; log so far:\n${log}`);
      // The last error line (stderr may arrive in pieces): every error is in the log once it is.
      await until(() => log.includes('log.level: must be one of'), 10_000, () => `every error logged; log so far:\n${log}`);
      expect(log).toContain('reload refused, the running configuration stays: 2 problems');
      expect(log).toMatch(/gateway\.yaml:7:\d+ topics\.predefined\.6: a predefined topic must be a concrete name/);
      expect(log).toMatch(/gateway\.yaml:8:\d+ log\.level: must be one of error, warn, info, debug \(got "loud"\)/);
      awake.send(publishById(5, 2, 'still new'));
      expect(await awake.expect('PUBACK')).toMatchObject({ returnCode: 0 });
      expect((await observer.waitFor(2, 'reload/new'))[1].payload).toBe('still new');
      expect(observer.messages.filter((m) => m.topic === 'reload/bad')).toEqual([]);

      // §6.14 the sleeping sensor kept its session through both reloads: it wakes to what was buffered.
      await observer.publish('reload/to-sleeper', 'while you slept', 1);
      // SIGUSR2's status report shows both states, and the sleeper's buffer once the message is in it.
      const buffered = /client reload-sleeper: asleep, .* buffered 1,/;
      let asked = 0;
      await until(() => {
        if (buffered.test(log)) return true;
        if (Date.now() - asked > 200) [asked] = [Date.now(), proc!.kill('SIGUSR2')];
        return false;
      }, 10_000, () => `status report with the buffered message; log so far:\n${log}`);
      expect(log).toMatch(/client reload-awake: active,/);
      expect(await wake(sleeper, 'reload-sleeper')).toEqual(['while you slept']);
      // log.level: debug took effect: the wake-up is logged, the fall asleep before the reload was not.
      await until(() => log.includes('client reload-sleeper: asleep → awake'), 10_000, () => `debug line; log so far:\n${log}`);
      expect(log).not.toContain('client reload-sleeper: active → asleep');

      // POST /api/reload (loopback) does the same and answers JSON: 200 applied, 422 refused with every error.
      const reloadUrl = `http://127.0.0.1:${httpPort}/api/reload`;
      config(['topics:', '  predefined:', '    5: reload/via-http', 'log: { level: debug }', '#keepalive 30']);
      const good = await fetch(reloadUrl, { method: 'POST' });
      expect(good.status).toBe(200);
      expect(await good.json()).toEqual({ ok: true, applied: ['topics.predefined.5'], needsRestart: ['broker.keepalive'], errors: [] });
      awake.send(publishById(5, 3, 'by http'));
      expect(await awake.expect('PUBACK')).toMatchObject({ returnCode: 0 });
      expect((await observer.waitFor(1, 'reload/via-http'))[0].payload).toBe('by http');
      config(['topics:', '  predefined:', '    5: reload/bad', '    6: reload/#', 'log: { level: loud }']);
      const bad = await fetch(reloadUrl, { method: 'POST' });
      expect(bad.status).toBe(422);
      const refused = await bad.json() as { ok: boolean; errors: string[] };
      expect(refused.ok).toBe(false);
      expect(refused.errors).toHaveLength(2);
    } finally {
      await observer.close();
      await awake.close();
      await sleeper.close();
    }
  });
});
