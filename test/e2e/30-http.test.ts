/**
 * The HTTP face with real parts: a real Mosquitto, the gateway's HTTP server on a free loopback port,
 * real UDP sensors; /metrics, /healthz, /api and the status page's files and event stream over real HTTP.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnUdpPeer } from '../../client/udp-peer.js';
import type { MqttUpstream } from '../../gateway/broker/mqtt-upstream.js';
import { Gateway } from '../../gateway/gateway.js';
import { HttpServer, isLoopback } from '../../gateway/http/http-server.js';
import { STAT_METRICS } from '../../gateway/http/metrics.js';
import type { ReloadOutcome } from '../../gateway/http/sources.js';
import { connect, gatewaySuite, register, startBroker, startGateway, testConfig, until, type Broker, type GatewayUnderTest } from '../support/harness.js';
import { connectWithWill, settled, subscribe } from '../support/flows.js';
import { get, httpUrl, metric, scrape } from '../support/http.js';

const HTTP_ON = 'http: { host: 127.0.0.1, port: 0 }';

describe('30 HTTP face with mosquitto', () => {
  const t = gatewaySuite('mosquitto', {
    configure: (config) => {
      config.http = { host: '127.0.0.1', port: 0 };
      config.gateway.sleepBuffer = 1;
    },
  });

  it('/metrics: frames in and out by message type and radio move with real UDP traffic', async () => {
    const before = await scrape(t.gw);
    const s = await t.gw.sensor();
    await connect(s, 'metrics-frames');
    const topicId = await register(s, 'http/metrics/frames');
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 2, payload: Buffer.from('21.5') });
    await s.expect('PUBACK');
    const after = await scrape(t.gw);
    const moved = (name: string, labels: Record<string, string> = {}) => metric(after, name, labels) - metric(before, name, labels);
    expect(moved('mqttsn_frames_received_total', { radio: 'udp0', type: 'CONNECT' })).toBe(1);
    expect(moved('mqttsn_frames_received_total', { radio: 'udp0', type: 'REGISTER' })).toBe(1);
    expect(moved('mqttsn_frames_received_total', { radio: 'udp0', type: 'PUBLISH' })).toBe(1);
    expect(moved('mqttsn_frames_sent_total', { radio: 'udp0', type: 'CONNACK' })).toBe(1);
    expect(moved('mqttsn_frames_sent_total', { radio: 'udp0', type: 'PUBACK' })).toBe(1);
    expect(moved('mqttsn_publishes_to_broker_total')).toBe(1);
  });

  it('/metrics: a QoS 1 publish to the broker lands in the acknowledgement latency histogram', async () => {
    const before = await scrape(t.gw);
    const s = await t.gw.sensor();
    await connect(s, 'metrics-latency');
    const topicId = await register(s, 'http/metrics/latency');
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 2, payload: Buffer.from('x') });
    await s.expect('PUBACK');
    const after = await scrape(t.gw);
    expect(metric(after, 'mqttsn_broker_ack_seconds_count') - metric(before, 'mqttsn_broker_ack_seconds_count')).toBe(1);
    expect(metric(after, 'mqttsn_broker_ack_seconds_sum')).toBeGreaterThan(metric(before, 'mqttsn_broker_ack_seconds_sum'));
  });

  it('§5 /metrics: a malformed datagram is counted as malformed, not by type', async () => {
    const before = await scrape(t.gw);
    const s = await t.gw.sensor();
    s.sendRaw(Buffer.from([0x05, 0x04, 0x00])); // Length says 5, three bytes came
    await until(() => t.gw.gateway.core.stats.malformed > 0, 5000);
    const after = await scrape(t.gw);
    expect(metric(after, 'mqttsn_frames_malformed_total') - metric(before, 'mqttsn_frames_malformed_total')).toBe(1);
  });

  it('§6.14 /metrics: clients by state, buffered messages and drops by reason for a sleeping sensor', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'metrics-sleeper');
    await subscribe(s, 'http/metrics/sleep', 1);
    s.send({ type: 'DISCONNECT', duration: 300 });
    await s.expect('DISCONNECT');
    const before = await scrape(t.gw);
    await t.observer.publish('http/metrics/sleep', 'one', 1);
    await t.observer.publish('http/metrics/sleep', 'two', 1); // sleepBuffer is 1: the older one is dropped
    await settled(t.gw, 'metrics-sleeper', (c) => c.dropped === 1);
    const after = await scrape(t.gw);
    expect(metric(after, 'mqttsn_clients', { state: 'asleep' })).toBeGreaterThanOrEqual(1);
    expect(metric(after, 'mqttsn_messages_buffered')).toBeGreaterThanOrEqual(1);
    const drops = (text: string) => metric(text, 'mqttsn_messages_dropped_total', { reason: 'sleep buffer full' });
    expect(drops(after) - drops(before)).toBe(1);
  });

  it('§6.13 /metrics: a PUBLISH to a sensor resent after T_RETRY counts as a retry', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'metrics-retry', { duration: 600 });
    await subscribe(s, 'http/metrics/retry', 1);
    const before = await scrape(t.gw);
    await t.observer.publish('http/metrics/retry', 'ack me', 1);
    const first = await s.expect('PUBLISH');
    t.gw.advance(11); // retry.interval is 10 s; no PUBACK from the sensor
    const again = await s.expect('PUBLISH');
    expect(again).toMatchObject({ dup: true, msgId: first.msgId });
    const after = await scrape(t.gw);
    expect(metric(after, 'mqttsn_retries_total') - metric(before, 'mqttsn_retries_total')).toBe(1);
    expect(metric(after, 'mqttsn_deliveries_total') - metric(before, 'mqttsn_deliveries_total')).toBe(1);
    s.send({ type: 'PUBACK', topicId: again.topicId, msgId: again.msgId, returnCode: 0 });
    await settled(t.gw, 'metrics-retry', (c) => c.inflight === 0);
  });

  it('§6.11 /metrics: a sensor lost to its keep-alive has its will published and counted', async () => {
    const s = await t.gw.sensor();
    await connectWithWill(s, 'metrics-will', { topic: 'http/metrics/will', message: 'gone', qos: 0, retain: false }, { duration: 10 });
    const before = await scrape(t.gw);
    t.gw.advance(16); // 10 s × 1.5, and a sweep
    await settled(t.gw, 'metrics-will', (c) => c.state === 'lost');
    const after = await scrape(t.gw);
    expect(metric(after, 'mqttsn_wills_published_total') - metric(before, 'mqttsn_wills_published_total')).toBe(1);
  });

  it('/metrics: every counter the core keeps is exported with the core\'s value; a trailing NUL stripped moves its counter', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'metrics-nul');
    const before = await scrape(t.gw);
    s.send({ type: 'REGISTER', topicId: 0, msgId: 7, topicName: 'http/metrics/nul\0' });
    expect(await s.expect('REGACK')).toMatchObject({ msgId: 7, returnCode: 0 });
    const after = await scrape(t.gw);
    expect(metric(after, 'mqttsn_trailing_nul_stripped_total') - metric(before, 'mqttsn_trailing_nul_stripped_total')).toBe(1);
    const stats = t.gw.gateway.core.stats;
    for (const [key, exported] of Object.entries(STAT_METRICS)) {
      if (!exported) continue;
      expect(after, `${exported[0]} (stats.${key}) is exported`).toContain(`# TYPE ${exported[0]} counter`);
      expect(metric(after, exported[0]), `${exported[0]} (stats.${key})`).toBe(stats[key as keyof typeof stats]);
    }
  });

  it('/metrics: process metrics, broker and radio gauges, in Prometheus text format', async () => {
    const res = await get(`${httpUrl(t.gw)}/metrics`);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('# TYPE mqttsn_frames_received_total counter');
    expect(metric(res.body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(metric(res.body, 'mqttsn_broker_up')).toBe(1);
    expect(res.body).not.toContain('mqttsn_embedded_broker_early_acks_total'); // Mosquitto here: no embedded broker
    expect(metric(res.body, 'mqttsn_radio_up', { radio: 'udp0', kind: 'udp' })).toBe(1);
  });

  it('/api/clients lists sensors; /api/clients/<ClientId> shows one, percent-decoded; unknown is 404', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'api client/1', { duration: 45 });
    const all = await get(`${httpUrl(t.gw)}/api/clients`);
    expect(all.status).toBe(200);
    expect(all.type).toMatch(/^application\/json/);
    const list = JSON.parse(all.body) as { clientId: string }[];
    expect(list.map((c) => c.clientId)).toContain('api client/1');
    const one = await get(`${httpUrl(t.gw)}/api/clients/${encodeURIComponent('api client/1')}`);
    expect(one.status).toBe(200);
    expect(JSON.parse(one.body)).toMatchObject({ clientId: 'api client/1', state: 'active', radio: 'udp0', address: s.localAddress, keepAlive: 45, subscriptions: [] });
    const status = JSON.parse((await get(`${httpUrl(t.gw)}/api/status`)).body);
    expect(status).toMatchObject({ gatewayId: 7, broker: { url: t.broker.url, up: true }, radios: [{ name: 'udp0', kind: 'udp', up: true }] });
    expect(status.clients.map((c: { clientId: string }) => c.clientId)).toContain('api client/1');
    const none = await get(`${httpUrl(t.gw)}/api/clients/nobody`);
    expect(none.status).toBe(404);
    expect(JSON.parse(none.body)).toEqual({ error: 'no client "nobody"' });
  });

  it('/ serves the status page and its script and style from the gateway itself (no CDN)', async () => {
    const page = await get(`${httpUrl(t.gw)}/`);
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<table id="clients">');
    expect(page.body).not.toMatch(/https?:\/\//);
    expect((await get(`${httpUrl(t.gw)}/app.js`)).body).toContain("new EventSource('events')");
    expect((await get(`${httpUrl(t.gw)}/style.css`)).type).toBe('text/css; charset=utf-8');
  });

  it('/events streams a snapshot at once, then a client\'s new state when it changes', async () => {
    const controller = new AbortController();
    const res = await fetch(`${httpUrl(t.gw)}/events`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const read = async (until: (t: string) => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!until(text)) {
        if (Date.now() > deadline) throw new Error(`no such event; stream so far:\n${text}`);
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += value;
      }
    };
    try {
      await read((x) => x.includes('event: snapshot'));
      const s = await t.gw.sensor();
      await connect(s, 'sse-sensor');
      await read((x) => /event: clients\ndata: .*"clientId":"sse-sensor","state":"active"/.test(x));
    } finally {
      controller.abort();
    }
  });

  it('anything but GET/HEAD is 405 (read-only); an unknown path is 404', async () => {
    const post = await fetch(`${httpUrl(t.gw)}/api/clients`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await get(`${httpUrl(t.gw)}/nope`)).status).toBe(404);
  });
});

describe('30 /metrics: an acknowledgement before the first scrape (prom-client is loaded by that scrape)', () => {
  const t = gatewaySuite('mosquitto', { configure: (config) => { config.http = { host: '127.0.0.1', port: 0 }; } });

  it('a broker acknowledgement before any scrape is in the first scrape\'s latency histogram', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'unscraped-ack');
    const topicId = await register(s, 'http/unscraped/ack');
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 2, payload: Buffer.from('x') });
    await s.expect('PUBACK');
    const first = await scrape(t.gw);
    expect(metric(first, 'mqttsn_broker_ack_seconds_count')).toBe(1);
    expect(metric(first, 'mqttsn_broker_ack_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(metric(first, 'mqttsn_broker_ack_seconds_sum')).toBeGreaterThan(0);
    expect(metric(first, 'process_resident_memory_bytes')).toBeGreaterThan(0); // prom-client's own metrics are there too
  });

  it('the first scrape loaded prom-client: a later acknowledgement lands in the same histogram', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'unscraped-ack-2');
    const topicId = await register(s, 'http/unscraped/ack2');
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 2, payload: Buffer.from('x') });
    await s.expect('PUBACK');
    expect(metric(await scrape(t.gw), 'mqttsn_broker_ack_seconds_count')).toBe(2);
  });
});

describe('30 /metrics: a drop before the first scrape', () => {
  const t = gatewaySuite('mosquitto', {
    configure: (config) => {
      config.http = { host: '127.0.0.1', port: 0 };
      config.gateway.sleepBuffer = 1;
    },
  });

  it('§6.14 a message dropped from a sleeping sensor\'s full buffer before any scrape is in the first scrape', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'unscraped-sleeper');
    await subscribe(s, 'http/unscraped/sleep', 1);
    s.send({ type: 'DISCONNECT', duration: 300 });
    await s.expect('DISCONNECT');
    await t.observer.publish('http/unscraped/sleep', 'one', 1);
    await t.observer.publish('http/unscraped/sleep', 'two', 1); // sleepBuffer is 1: the older one is dropped
    await settled(t.gw, 'unscraped-sleeper', (c) => c.dropped === 1);
    expect(metric(await scrape(t.gw), 'mqttsn_messages_dropped_total', { reason: 'sleep buffer full' })).toBe(1);
  });
});

describe('30 /healthz follows the broker link', () => {
  const t = gatewaySuite('mosquitto', { configure: (config) => { config.http = { host: '127.0.0.1', port: 0 }; } });

  it('200 "ok" while the broker and every radio are up; 503 naming the broker when Mosquitto stops; 200 when it is back', async () => {
    const health = () => get(`${httpUrl(t.gw)}/healthz`);
    expect(await health()).toMatchObject({ status: 200, body: 'ok\n' });
    await t.broker.kill!();
    await until(() => !t.gw.gateway.upstream.connected, 10_000, () => 'the gateway noticed the broker was gone');
    const res = await health();
    expect(res.status).toBe(503);
    expect(res.body).toBe(`broker link down (${t.broker.url})\n`);
    await t.broker.restart!();
    await until(() => t.gw.gateway.upstream.connected, 10_000, () => 'the gateway reconnected');
    expect(await health()).toMatchObject({ status: 200, body: 'ok\n' });
  });

  it('/metrics counts the broker reconnect of the outage above, and shows the link up', async () => {
    const text = await scrape(t.gw);
    expect(metric(text, 'mqttsn_broker_reconnects_total')).toBe(1);
    expect(metric(text, 'mqttsn_broker_up')).toBe(1);
  });
});

describe('30 HTTP port already taken', () => {
  let broker: Broker;
  let blocker: Server;
  let gateway: Gateway | undefined;
  beforeAll(async () => {
    broker = await startBroker('mosquitto');
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await gateway?.stop();
    await new Promise((resolve) => blocker.close(resolve));
    await broker?.stop();
  });

  it('the gateway logs which port and why, and serves sensors without its status page', async () => {
    const port = (blocker.address() as { port: number }).port;
    const logs: string[] = [];
    const config = testConfig(broker.url, `http: { host: 127.0.0.1, port: ${port} }`);
    gateway = await Gateway.start(config, { logger: { log: (level, message) => logs.push(`${level} ${message}`) } });
    expect(gateway.http?.url).toBeUndefined();
    expect(logs).toContainEqual(expect.stringMatching(new RegExp(`^error http: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*choose another http\\.port, or http: false`)));
    const s = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: (gateway.radios[0] as unknown as { port: number }).port } });
    try {
      await until(() => gateway!.upstream.connected, 5000);
      await connect(s, 'served-anyway');
    } finally {
      await s.close();
    }
  });
});

describe('30 /healthz names a radio that is down', () => {
  let broker: Broker;
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    broker = await startBroker('mosquitto');
    const config = testConfig(broker.url, HTTP_ON);
    config.radios.push({ type: 'serial', name: 'unplugged', path: '/dev/ttyNOSUCHDEVICE0', baudRate: 115200, framing: 'raw', interByteGapMs: 100, maxFrameSize: 255 });
    gw = await startGateway(config);
  });
  afterAll(async () => {
    await gw?.stop();
    await broker?.stop();
  });

  it('503 "radio unplugged down" while its serial port cannot be opened, the broker link being up', async () => {
    const res = await get(`${httpUrl(gw)}/healthz`);
    expect(res).toMatchObject({ status: 503, body: 'radio unplugged down\n' });
    const metrics = await scrape(gw);
    expect(metric(metrics, 'mqttsn_radio_up', { radio: 'unplugged', kind: 'serial' })).toBe(0);
    expect(metric(metrics, 'mqttsn_radio_up', { radio: 'udp0', kind: 'udp' })).toBe(1);
  });
});

describe('30 POST /api/reload', () => {
  let broker: Broker;
  let gw: GatewayUnderTest;
  let server: HttpServer;
  const outcomes: ReloadOutcome[] = [];
  let reloads = 0;
  beforeAll(async () => {
    broker = await startBroker('mosquitto');
    gw = await startGateway(testConfig(broker.url, HTTP_ON));
    // The gateway's own parts, with a reload that answers what it is told to (reloading itself is Gateway.reload's).
    const g = gw.gateway;
    server = new HttpServer(
      {
        gatewayId: 7, core: g.core, radios: g.radios, broker: g.upstream as MqttUpstream, observeAcknowledgements: () => {},
        reload: async () => { reloads++; return outcomes.shift()!; },
      },
      () => {},
    );
    await server.start({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await server?.stop();
    await gw?.stop();
    await broker?.stop();
  });

  it('from this machine: 200 with what was applied, 422 with the errors of a refused file', async () => {
    outcomes.push({ ok: true, applied: ['topics'] }, { ok: false, errors: ['gateway.yaml:3:5 topics.predefined.x: …'] });
    const good = await fetch(`${server.url}/api/reload`, { method: 'POST' });
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ ok: true, applied: ['topics'] });
    const bad = await fetch(`${server.url}/api/reload`, { method: 'POST' });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({ ok: false, errors: ['gateway.yaml:3:5 topics.predefined.x: …'] });
    expect(reloads).toBe(2);
  });

  it('GET /api/reload is 405 and reloads nothing', async () => {
    const before = reloads;
    const res = await fetch(`${server.url}/api/reload`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(reloads).toBe(before);
  });

  it('a gateway without a reload answers 501', async () => {
    const res = await fetch(`${httpUrl(gw)}/api/reload`, { method: 'POST' });
    expect(res.status).toBe(501);
  });

  it('only loopback senders may reload: 127.0.0.0/8, ::1, ::ffff:127.x; not a LAN address', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['192.168.1.20', '::ffff:10.0.0.1', 'fe80::1', undefined].map(isLoopback)).toEqual([false, false, false, false]);
  });
});

describe('30 the HTTP face moves to a new port (configuration reload)', () => {
  const t = gatewaySuite('mosquitto', { configure: (config) => { config.http = { host: '127.0.0.1', port: 0 }; } });

  it('the old port stops answering, the new one serves, and the counters carry on', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'moved');
    const oldUrl = httpUrl(t.gw);
    const before = metric(await scrape(t.gw), 'mqttsn_frames_received_total', { radio: 'udp0', type: 'CONNECT' });
    expect(before).toBe(1);
    await t.gw.gateway.http!.moveTo({ host: '127.0.0.1', port: 0 });
    expect(httpUrl(t.gw)).not.toBe(oldUrl);
    await expect(fetch(`${oldUrl}/healthz`)).rejects.toThrow();
    expect(metric(await scrape(t.gw), 'mqttsn_frames_received_total', { radio: 'udp0', type: 'CONNECT' })).toBe(1);
  });
});
