/**
 * QoS 0 and QoS 1 publishes handed to the embedded broker in process (gateway/broker/aedes-in-process.ts): what
 * an outside MQTT client sees is what it saw when they travelled the in-memory connection as MQTT bytes.
 * Real parts: the embedded aedes broker, the gateway's MqttUpstream over its in-memory connection, a plain
 * mqtt.js subscriber over TCP, and (last test) the whole gateway with a UDP sensor.
 */
import { Aedes, type Client } from 'aedes';
import { MqttClient } from 'mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AedesInProcess, aedesRefusal } from '../../gateway/broker/aedes-in-process.js';
import { duplexPair } from '../../gateway/broker/duplex-pair.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/broker/embedded-broker.js';
import { MqttUpstream } from '../../gateway/broker/mqtt-upstream.js';
import type { UpstreamSink } from '../../gateway/broker/upstream.js';
import { connect, Observer, register, startGateway, testConfig, until, type GatewayUnderTest } from '../support/harness.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { embeddedBrokerSection } from '../support/embedded-gateway.js';

const cleanups = cleanupsAfterEach();

const brokerSection = embeddedBrokerSection('gw-in-process');

/** The embedded broker, the gateway's upstream on it (in memory, in process as shipped) and an outside subscriber on `#`. */
async function setUp(statusTopic?: string): Promise<{ broker: EmbeddedBroker; upstream: MqttUpstream; observer: Observer; connections: boolean[]; warnings: string[] }> {
  const broker = await startEmbeddedBroker({ port: 0 });
  cleanups.push(() => broker.close());
  const connections: boolean[] = [];
  const warnings: string[] = [];
  const sink: UpstreamSink = { message: () => undefined, connectionChanged: (up) => connections.push(up), log: (level, line) => { if (level === 'warn') warnings.push(line); } };
  const upstream = new MqttUpstream({ url: broker.url, connect: broker.connect, publishInProcess: broker.publishInProcess, refusesPublish: broker.refusesPublish, broker: brokerSection, maxQueued: 100, statusTopic });
  await upstream.start(sink);
  cleanups.push(() => upstream.stop());
  await until(() => upstream.connected);
  const observer = await Observer.connect(broker.url);
  cleanups.push(() => observer.close());
  await observer.subscribe('#', 1);
  return { broker, upstream, observer, connections, warnings };
}

describe('embedded broker: QoS 0 and 1 in process', () => {
  it('MQTT 3.1.1 §3.3: a QoS 0 publish reaches an outside subscriber with its topic, payload and retain flag, taken in process', async () => {
    const { broker, upstream, observer } = await setUp();
    expect(upstream.publish('home/kitchen/temp', Buffer.from('21.5'), 0, false)).toBe(true);
    expect(broker.publishedInProcess).toBe(1);
    expect(await observer.waitFor(1, 'home/kitchen/temp')).toEqual([{ topic: 'home/kitchen/temp', payload: '21.5', qos: 0, retain: false }]);
  });

  it('with the gateway\'s status topic (`online`, retained QoS 1, at each connect) on the connection first, QoS 0 goes in process once that is through', async () => {
    const { broker, upstream, observer } = await setUp('gw/status');
    await until(() => {
      upstream.publish('after/online', Buffer.from('z'), 0, false);
      return broker.publishedInProcess > 0;
    });
    expect((await observer.waitFor(1, 'gw/status'))[0]).toMatchObject({ payload: 'online', retain: true });
    await observer.waitFor(1, 'after/online');
  });

  it('MQTT 3.1.1 §3.3.1.3: a retained QoS 0 publish taken in process is kept for a later subscriber (the status topics)', async () => {
    const { broker, upstream } = await setUp();
    upstream.publish('fleet/clients/a', Buffer.from('{"state":"active"}'), 0, true);
    expect(broker.publishedInProcess).toBe(1);
    const late = await Observer.connect(broker.url);
    cleanups.push(() => late.close());
    await late.subscribe('fleet/clients/a', 0);
    expect(await late.waitFor(1, 'fleet/clients/a')).toEqual([{ topic: 'fleet/clients/a', payload: '{"state":"active"}', qos: 0, retain: true }]);
  });

  it('MQTT 3.1.1 §4.6: a QoS 0 publish behind one aedes has not yet emitted (a retained one waits for its store) goes down the connection, and arrives second', async () => {
    const { broker, upstream, observer } = await setUp();
    upstream.publish('order/t', Buffer.from('first, retained'), 0, true);
    upstream.publish('order/t', Buffer.from('second'), 0, false);
    expect(broker.publishedInProcess).toBe(1);
    const got = await observer.waitFor(2, 'order/t');
    expect(got.map((m) => m.payload)).toEqual(['first, retained', 'second']);
  });

  it('MQTT 3.1.1 §4.6: a QoS 0 publish while a QoS 2 one is still in the connection goes down the connection too; once aedes has emitted everything, QoS 0 is taken in process again', async () => {
    const { broker, upstream, observer } = await setUp();
    let acknowledged = false;
    upstream.publish('order/q2', Buffer.from('QoS 2'), 2, false, () => { acknowledged = true; });
    upstream.publish('order/q0', Buffer.from('QoS 0'), 0, false);
    expect(broker.publishedInProcess).toBe(0);
    await observer.waitFor(1, 'order/q0');
    await observer.waitFor(1, 'order/q2');
    await until(() => acknowledged);
    await until(() => {
      upstream.publish('order/later', Buffer.from('x'), 0, false);
      return broker.publishedInProcess > 0;
    });
    await observer.waitFor(1, 'order/later');
  });

  it('MQTT 3.1.1 §4.3.2: a QoS 1 publish with nothing ahead of it is taken in process; it is acknowledged after publish() returns and reaches a subscriber at QoS 1', async () => {
    const { broker, upstream, observer } = await setUp();
    const results: unknown[] = [];
    const latencies: number[] = [];
    upstream.onAcknowledged = (seconds) => latencies.push(seconds);
    expect(upstream.publish('q1/in', Buffer.from('one'), 1, false, (result) => results.push(result))).toBe(true);
    expect(broker.publishedInProcess).toBe(1);
    expect(latencies).toEqual([0]); // /metrics' acknowledgement histogram: no round trip to wait for
    expect(results).toEqual([]); // the caller records the message first, as for a PUBACK read later
    await Promise.resolve();
    expect(results).toEqual([{}]);
    expect(await observer.waitFor(1, 'q1/in')).toMatchObject([{ payload: 'one', qos: 1, retain: false }]);
  });

  it('a QoS 1 publish behind a QoS 2 one still in the connection goes down the connection too (aedes orders messages only within a QoS, MQTT 3.1.1 §4.6)', async () => {
    const { broker, upstream, observer } = await setUp();
    const acknowledged: string[] = [];
    upstream.publish('order/first', Buffer.from('QoS 2'), 2, false, () => acknowledged.push('first'));
    upstream.publish('order/second', Buffer.from('QoS 1'), 1, false, () => acknowledged.push('second'));
    expect(broker.publishedInProcess).toBe(0);
    await observer.waitFor(1, 'order/first');
    await observer.waitFor(1, 'order/second');
    await until(() => acknowledged.length === 2);
  });

  it('MQTT 3.1.1 §4.6: QoS 1 publishes in one turn: the first in process, the rest down the connection behind it (aedes has not emitted it yet), all in order; in later turns in process again', async () => {
    const { broker, upstream, observer } = await setUp();
    let acknowledged = 0;
    for (let i = 0; i < 10; i++) upstream.publish('burst/q1', Buffer.from(String(i)), 1, false, () => { acknowledged++; });
    expect(broker.publishedInProcess).toBe(1);
    const got = await observer.waitFor(10, 'burst/q1');
    expect(got.map((m) => Number(m.payload))).toEqual([...Array(10).keys()]);
    await until(() => acknowledged === 10);
    // Each in a turn of its own, with nothing owed on the connection: each in process.
    for (let i = 10; i < 15; i++) {
      upstream.publish('burst/q1', Buffer.from(String(i)), 1, false, () => { acknowledged++; });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(broker.publishedInProcess).toBe(6);
    expect((await observer.waitFor(15, 'burst/q1')).map((m) => Number(m.payload))).toEqual([...Array(15).keys()]);
    await until(() => acknowledged === 15);
  });

  it('MQTT 3.1.1 §4.6: consecutive QoS 0 publishes in one turn all go in process, in order', async () => {
    const { broker, upstream, observer } = await setUp();
    for (let i = 0; i < 20; i++) upstream.publish(`burst/${i % 3}`, Buffer.from(String(i)), 0, false);
    expect(broker.publishedInProcess).toBe(20);
    const got = await observer.waitFor(20);
    expect(got.map((m) => Number(m.payload))).toEqual([...Array(20).keys()]);
  });

  it('a topic aedes would answer by closing the connection (`$SYS/…`) is refused by the upstream itself (0x90): the connection stays up for every other message', async () => {
    const { broker, upstream, observer, connections, warnings } = await setUp();
    await observer.subscribe('$SYS/gw/#', 0);
    const results: unknown[] = [];
    expect(upstream.publish('$SYS/gw/x', Buffer.from('no'), 1, false, (result) => results.push(result.refused))).toBe(true);
    upstream.publish('$SYS/gw/y', Buffer.from('no'), 0, false);
    upstream.publish('$SYS/gw/y', Buffer.from('again'), 0, false);
    await until(() => results.length === 1);
    expect(results).toEqual([0x90]);
    // Logged once per topic, however often it comes.
    expect(warnings.filter((line) => line.includes('$SYS/gw/'))).toEqual([
      expect.stringContaining('"$SYS/gw/x"'),
      expect.stringContaining('"$SYS/gw/y"'),
    ]);
    upstream.publish('after/refusal', Buffer.from('y'), 1, false);
    await observer.waitFor(1, 'after/refusal');
    expect(connections).toEqual([true]); // never closed by aedes, never reconnected
    expect(broker.publishedInProcess).toBe(1); // only after/refusal (QoS 1, in process); neither $SYS message anywhere
    expect(observer.messages.some((m) => m.topic.startsWith('$SYS/gw'))).toBe(false);
  });

  it('aedesRefusal names what aedes refuses: $SYS/, wildcards, an empty topic, more levels than its limit', () => {
    expect(aedesRefusal('$SYS/broker/x', 100)).toMatch(/\$SYS/);
    expect(aedesRefusal('a/+/b', 100)).toMatch(/wildcard/);
    expect(aedesRefusal('', 100)).toMatch(/empty/);
    expect(aedesRefusal('a/b/c', 2)).toMatch(/more than 2/);
    expect(aedesRefusal('a/b', 2)).toBeUndefined();
    expect(aedesRefusal('$share-like/not-sys', 100)).toBeUndefined();
  });
});

/** A plain aedes with AedesInProcess attached, and a connection to it over a stream pair, tracked (no CONNECT yet). */
async function trackedPipe() {
  const inProcess = new AedesInProcess(100, 100);
  const aedes = await Aedes.createBroker({ mq: inProcess.mq });
  cleanups.push(() => new Promise<void>((resolve) => aedes.close(() => resolve())));
  inProcess.attach(aedes);
  const [end, brokerEnd] = duplexPair();
  const client: Client = aedes.handle(brokerEnd);
  inProcess.track(client);
  return { inProcess, aedes, end, client };
}

/** The same, connected by an mqtt.js client. */
async function trackedConnection(clientId: string) {
  const { inProcess, aedes, end, client } = await trackedPipe();
  const mqttClient = new MqttClient(() => end, { clientId, reconnectPeriod: 0 });
  cleanups.push(() => mqttClient.endAsync(true));
  await new Promise((resolve) => mqttClient.once('connect', resolve));
  await until(() => client.connected); // aedes marks it once its CONNACK is written
  return { inProcess, aedes, end, client, mqttClient };
}

describe('aedes as aedes-in-process.ts relies on it (fails if aedes changes under it)', () => {
  it('MQTT 3.1.1 §4.3.2: a QoS 1 message in process is accepted when authorizePublish allows it, before aedes routes it; refused, the connection ends as aedes ends it for a PUBLISH on the wire', async () => {
    const { inProcess, aedes, end, client, mqttClient } = await trackedConnection('q1-check');
    const authorize = aedes.authorizePublish;
    aedes.authorizePublish = (c, packet, callback) => (packet.topic.startsWith('denied/') ? callback(new Error('not for you')) : authorize.call(aedes, c, packet, callback));
    const events: string[] = [];
    aedes.on('publish', (packet) => { if (!packet.topic.startsWith('$SYS/')) events.push(`routed ${packet.topic} qos ${packet.qos}`); });

    expect(inProcess.publish(client, end.delivered, 'allowed/x', Buffer.from('a'), false, 1, (refused) => events.push(`accepted ${refused ?? 'ok'}`))).toBe(true);
    await until(() => events.length === 2);
    expect(events).toEqual(['accepted ok', 'routed allowed/x qos 1']);

    const closed = new Promise<void>((resolve) => mqttClient.once('close', () => resolve()));
    expect(inProcess.publish(client, end.delivered, 'denied/x', Buffer.from('d'), false, 1, (refused) => events.push(`accepted ${refused?.message}`))).toBe(true);
    expect(events.slice(2)).toEqual(['accepted not for you']);
    await closed;
    expect(events).not.toContain('routed denied/x qos 1');
  });

  it('a connection aedes has not marked connected yet is not settled (PUBLISH packets read meanwhile wait in aedes\'s queue, uncounted); a closed one is', async () => {
    const { inProcess, end, client } = await trackedPipe();
    expect(client.connected).toBe(false);
    expect(inProcess.settled(client, true)).toBe(false);
    end.destroy();
    await until(() => client.closed);
    expect(inProcess.settled(client, true)).toBe(true);
  });

  it('its PUBLISH handler asks authorizePublish with the connection\'s client, and publish(packet, client, cb) reports that client in the publish event', async () => {
    const { inProcess, aedes, end, client, mqttClient } = await trackedConnection('lib-check');
    const authorizedFor: (Client | null)[] = [];
    const authorize = aedes.authorizePublish;
    aedes.authorizePublish = (c, packet, callback) => {
      authorizedFor.push(c);
      authorize.call(aedes, c, packet, callback);
    };
    const publishedBy: [string, Client | null][] = [];
    aedes.on('publish', (packet, c) => { if (!packet.topic.startsWith('$SYS/')) publishedBy.push([packet.topic, c]); });

    await mqttClient.publishAsync('over/the/wire', 'w', { qos: 1 });
    await until(() => publishedBy.length === 1);
    expect(authorizedFor).toEqual([client]);
    expect(publishedBy).toEqual([['over/the/wire', client]]);

    expect(inProcess.publish(client, end.delivered, 'in/process', Buffer.from('p'), false)).toBe(true);
    await until(() => publishedBy.length === 2);
    expect(publishedBy).toEqual([['over/the/wire', client], ['in/process', client]]);
    expect(authorizedFor).toEqual([client, client]);

    // Bytes of a PUBLISH still in the pipe: the next one is not taken in process, past them.
    mqttClient.publish('over/the/wire', 'w2', { qos: 0 });
    expect(end.delivered).toBe(false);
    expect(inProcess.publish(client, end.delivered, 'in/process', Buffer.from('p2'), false)).toBe(false);
    await until(() => publishedBy.length === 3);
    expect(inProcess.publish(client, end.delivered, 'in/process', Buffer.from('p3'), false)).toBe(true);
  });
});

/** The gateway as the shipped config runs it: no broker URL (the embedded broker), optionally with its session store. */
async function shippedLikeGateway(persistence = false): Promise<GatewayUnderTest> {
  const config = testConfig('mqtt://unused');
  config.broker.url = undefined;
  config.broker.embedded = { ...config.broker.embedded, host: '127.0.0.1', port: 0 };
  if (persistence) {
    config.persistence = true;
    config.stateDir = mkdtempSync(join(tmpdir(), 'in-process-'));
    const dir = config.stateDir;
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  }
  const gw = await startGateway(config);
  cleanups.push(() => gw.stop());
  return gw;
}

/** That gateway, an MQTT subscriber of its broker on `filter`, and one UDP sensor of it. */
async function shippedLikeGatewayObserving(filter: string, qos: 0 | 1, persistence = false): Promise<{ gw: GatewayUnderTest; observer: Observer; sensor: Awaited<ReturnType<GatewayUnderTest['sensor']>> }> {
  const gw = await shippedLikeGateway(persistence);
  const observer = await Observer.connect(gw.gateway.brokerUrl);
  cleanups.push(() => observer.close());
  await observer.subscribe(filter, qos);
  return { gw, observer, sensor: await gw.sensor() };
}

describe('the gateway with the shipped config\'s embedded broker', () => {
  it.each([0, 1] as const)('§6.6 a sensor\'s QoS %i PUBLISH reaches an MQTT subscriber of the embedded broker at its QoS, handed over in process (QoS 1: PUBACK 0x00 once the broker accepted it)', async (qos) => {
    const { gw, observer, sensor } = await shippedLikeGatewayObserving(`sn/in-process-${qos}/#`, qos);
    await connect(sensor, `in-process-${qos}`);
    const topic = `sn/in-process-${qos}/t`;
    const topicId = await register(sensor, topic);
    const embedded = (gw.gateway as unknown as { embedded: EmbeddedBroker }).embedded;
    const before = embedded.publishedInProcess;
    sensor.send({ type: 'PUBLISH', dup: false, qos, retain: false, topicIdType: 'normal', topicId, msgId: qos === 0 ? 0 : 11, payload: Buffer.from('19.5') });
    if (qos === 1) expect(await sensor.expect('PUBACK')).toMatchObject({ msgId: 11, topicId, returnCode: 0 });
    expect(await observer.waitFor(1, topic)).toEqual([{ topic, payload: '19.5', qos, retain: false }]);
    expect(embedded.publishedInProcess).toBe(before + 1);
  });

  it('§6.7 a sensor\'s QoS 1 PUBLISH to `$SYS/…` gets PUBACK 0x03 (not supported) and the broker connection stays up: the next message goes through', async () => {
    const { gw, observer, sensor } = await shippedLikeGatewayObserving('sn/after-sys/#', 1);
    await connect(sensor, 'sys-publisher');
    const sysTopic = await register(sensor, '$SYS/broker/fake', 1);
    const goodTopic = await register(sensor, 'sn/after-sys/t', 2);
    const upstream = gw.gateway.upstream as MqttUpstream;
    const connectionsBefore = upstream.connections;
    sensor.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: sysTopic, msgId: 7, payload: Buffer.from('x') });
    expect(await sensor.expect('PUBACK')).toMatchObject({ msgId: 7, topicId: sysTopic, returnCode: 3 });
    // Nothing of it is left in flight: the same message again (DUP) is answered again, not taken for one on its way.
    sensor.send({ type: 'PUBLISH', dup: true, qos: 1, retain: false, topicIdType: 'normal', topicId: sysTopic, msgId: 7, payload: Buffer.from('x') });
    expect(await sensor.expect('PUBACK')).toMatchObject({ msgId: 7, topicId: sysTopic, returnCode: 3 });
    sensor.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: goodTopic, msgId: 8, payload: Buffer.from('y') });
    expect(await sensor.expect('PUBACK')).toMatchObject({ msgId: 8, returnCode: 0 });
    expect(await observer.waitFor(1, 'sn/after-sys/t')).toEqual([{ topic: 'sn/after-sys/t', payload: 'y', qos: 1, retain: false }]);
    expect(upstream.connections).toBe(connectionsBefore);
  });

  it('§6.6 QoS 0 PUBLISHes of a CleanSession=0 sensor write nothing to the session store (no transaction per message)', async () => {
    const { gw, observer, sensor } = await shippedLikeGatewayObserving('sn/kept/#', 0, true);
    await connect(sensor, 'kept-q0', { cleanSession: false });
    const topicId = await register(sensor, 'sn/kept/t');
    await gw.gateway.core.flush();
    const commits = gw.gateway.core.persistence.commits;
    expect(commits).toBeGreaterThan(0); // the CONNECT and REGISTER were stored
    for (let i = 0; i < 30; i++) sensor.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'normal', topicId, msgId: 0, payload: Buffer.from(String(i)) });
    await observer.waitFor(30, 'sn/kept/t');
    await gw.gateway.core.flush();
    expect(gw.gateway.core.persistence.commits).toBe(commits);
  });
});
