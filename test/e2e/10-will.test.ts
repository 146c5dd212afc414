/**
 * Wills end to end (§6.2, §6.3, §6.4): the handshake frames a sensor sees, and what a plain MQTT
 * subscriber on the broker receives when the sensor is lost — or does not receive after a clean DISCONNECT.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  connect, Observer, register, startBroker, startGateway, testConfig, until, type Broker, type BrokerKind, type GatewayUnderTest,
} from '../support/harness.js';
import { brokerCaughtUp, connectWithWill, expectNothingPending, receivePublish, retainedOn, subscribe } from '../support/flows.js';

/** Keep-alive used by these tests; a client is lost once it is silent for more than 10 × 1.5 s. */
const KEEP_ALIVE = 10;
const PAST_KEEP_ALIVE = KEEP_ALIVE * 1.5 + 1;

function suite(kind: BrokerKind) {
  let broker: Broker;
  let observer: Observer;
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    broker = await startBroker(kind);
    observer = await Observer.connect(broker.url);
    await observer.subscribe('will/#', 2);
  });
  afterAll(async () => {
    await observer?.close();
    await broker?.stop();
  });
  beforeEach(async () => {
    gw = await startGateway(testConfig(broker.url));
  });
  afterEach(async () => {
    await gw?.stop();
  });
  return { broker: () => broker, observer: () => observer, gw: () => gw };
}

describe.each(['mosquitto', 'embedded'] as const)('wills with %s', (kind) => {
  const t = suite(kind);

  it('§6.2 CONNECT with Will=1: WILLTOPICREQ, WILLTOPIC, WILLMSGREQ, WILLMSG, then CONNACK; the will is published as given when the client is lost', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    const topic = `will/${kind}/flow`;
    s.send({ type: 'CONNECT', will: true, cleanSession: true, duration: KEEP_ALIVE, clientId: 'will-flow' });
    await s.expect('WILLTOPICREQ');
    expect(gw.gateway.core.client('will-flow')?.state).toBe('connecting');
    s.send({ type: 'WILLTOPIC', qos: 1, retain: true, willTopic: topic });
    await s.expect('WILLMSGREQ');
    s.send({ type: 'WILLMSG', willMsg: Buffer.from('gone') });
    expect(await s.expect('CONNACK')).toMatchObject({ returnCode: 0 });
    expect(gw.gateway.core.client('will-flow')).toMatchObject({ state: 'active', hasWill: true });
    await expectNothingPending(s);

    gw.advance(PAST_KEEP_ALIVE);
    expect(gw.gateway.core.client('will-flow')?.state).toBe('lost');
    const [will] = await t.observer().waitFor(1, topic);
    expect(will).toMatchObject({ payload: 'gone', qos: 1 });
    // Retain as given: a subscriber arriving later still gets it, flagged retained.
    expect(await retainedOn(t.broker().url, topic)).toMatchObject({ payload: 'gone', retain: true });
    await t.observer().publish(topic, '', 0, true); // clear the retained will
  });

  it('§6.12 a clean DISCONNECT does not publish the will', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    const topic = `will/${kind}/clean`;
    await connectWithWill(s, 'will-clean', { topic, message: 'gone', qos: 1, retain: false }, { duration: KEEP_ALIVE });
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    expect(gw.gateway.core.client('will-clean')?.state).toBe('disconnected');
    gw.advance(PAST_KEEP_ALIVE * 4);
    await brokerCaughtUp(gw, t.observer());
    expect(gw.gateway.core.stats.willsPublished).toBe(0);
    expect(t.observer().messages.filter((m) => m.topic === topic)).toEqual([]);
  });
});

describe('wills with mosquitto: CleanSession and updates', () => {
  const t = suite('mosquitto');
  const willsOn = (topic: string) => t.observer().messages.filter((m) => m.topic === topic);

  it('§6.3 CleanSession=1 deletes the will: reconnecting with CS=1 and no will, then being lost, publishes nothing', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    const topic = 'will/cs1';
    await connectWithWill(s, 'cs1', { topic, message: 'old', qos: 0, retain: false }, { cleanSession: false, duration: KEEP_ALIVE });
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    expect(gw.gateway.core.client('cs1')?.hasWill).toBe(true); // a CS=0 session keeps it while disconnected
    await connect(s, 'cs1', { cleanSession: true, duration: KEEP_ALIVE });
    expect(gw.gateway.core.client('cs1')?.hasWill).toBe(false);
    gw.advance(PAST_KEEP_ALIVE);
    expect(gw.gateway.core.client('cs1')?.state).toBe('lost');
    await brokerCaughtUp(gw, t.observer());
    expect(gw.gateway.core.stats.willsPublished).toBe(0);
    expect(willsOn(topic)).toEqual([]);
  });

  // The session being resumed must itself be a CleanSession=0 one: a CS=1 session ends with its
  // connection, as in MQTT (docs/spec-interpretation.md §6.3).
  it('§6.3 CleanSession=0 without Will keeps the old will: CONNACK at once, and the old will is published when lost', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    const topic = 'will/cs0-keep';
    await connectWithWill(s, 'cs0-keep', { topic, message: 'old will', qos: 1, retain: false }, { cleanSession: false, duration: KEEP_ALIVE });
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    s.send({ type: 'CONNECT', will: false, cleanSession: false, duration: KEEP_ALIVE, clientId: 'cs0-keep' });
    expect(await s.expect('CONNACK')).toMatchObject({ returnCode: 0 });
    expect(gw.gateway.core.client('cs0-keep')?.hasWill).toBe(true);
    gw.advance(PAST_KEEP_ALIVE);
    const wills = await t.observer().waitFor(1, topic);
    expect(wills.map((m) => m.payload)).toEqual(['old will']);
  });

  it('§6.3 CleanSession=0 with Will=1 replaces the old will with the new one', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    await connectWithWill(s, 'cs0-new', { topic: 'will/cs0-old', message: 'old', qos: 0, retain: false }, { cleanSession: false, duration: KEEP_ALIVE });
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    await connectWithWill(s, 'cs0-new', { topic: 'will/cs0-new', message: 'new', qos: 1, retain: false }, { cleanSession: false, duration: KEEP_ALIVE });
    gw.advance(PAST_KEEP_ALIVE);
    expect(await t.observer().waitFor(1, 'will/cs0-new')).toMatchObject([{ payload: 'new', qos: 1 }]);
    await brokerCaughtUp(gw, t.observer());
    expect(willsOn('will/cs0-old')).toEqual([]);
    expect(gw.gateway.core.stats.willsPublished).toBe(1);
  });

  it('§6.2 an empty WILLTOPIC deletes the will: CONNACK follows at once, without WILLMSGREQ', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    const topic = 'will/emptied';
    await connectWithWill(s, 'emptied', { topic, message: 'old', qos: 0, retain: false }, { cleanSession: false, duration: KEEP_ALIVE });
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    s.send({ type: 'CONNECT', will: true, cleanSession: false, duration: KEEP_ALIVE, clientId: 'emptied' });
    await s.expect('WILLTOPICREQ');
    s.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: '' });
    expect(await s.expect('CONNACK')).toMatchObject({ returnCode: 0 }); // no WILLMSGREQ
    await expectNothingPending(s);
    expect(gw.gateway.core.client('emptied')?.hasWill).toBe(false);
    gw.advance(PAST_KEEP_ALIVE);
    expect(gw.gateway.core.client('emptied')?.state).toBe('lost');
    await brokerCaughtUp(gw, t.observer());
    expect(willsOn(topic)).toEqual([]);
  });

  it('§6.3 CleanSession=1 deletes subscriptions and registered topic ids', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    await connect(s, 'cs1-subs', { cleanSession: false });
    await subscribe(s, 'cs1/data', 1);
    const id = await register(s, 'cs1/out');
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    expect(gw.gateway.core.client('cs1-subs')?.subscriptions).toHaveLength(1);
    await connect(s, 'cs1-subs', { cleanSession: true });
    expect(gw.gateway.core.client('cs1-subs')?.subscriptions).toEqual([]);
    await subscribe(s, 'cs1/marker', 0);
    await t.observer().publish('cs1/data', 'not for you', 1);
    await t.observer().publish('cs1/marker', 'marker', 0);
    // The marker, published after it, is the next thing the client gets; the broker subscription went with
    // the session, so the gateway's connection never even received the first message.
    expect((await s.expect('PUBLISH')).payload.toString()).toBe('marker');
    expect(gw.brokerMessages.filter((m) => m.topic === 'cs1/data')).toEqual([]);
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 9, payload: Buffer.from('x') });
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 9, topicId: id, returnCode: 2 });
  });

  it('§6.3 CleanSession=0 keeps subscriptions and their topic ids, and the topic ids the client registered', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    await connect(s, 'cs0-subs', { cleanSession: false });
    const { topicId } = await subscribe(s, 'cs0/data', 1);
    const id = await register(s, 'cs0/out');
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    await connect(s, 'cs0-subs', { cleanSession: false });
    expect(gw.gateway.core.client('cs0-subs')?.subscriptions).toEqual([{ filter: 'cs0/data', qos: 1 }]);
    await t.observer().publish('cs0/data', 'still subscribed', 1);
    const publish = await receivePublish(s);
    expect(publish).toMatchObject({ topicIdType: 'normal', topicId, qos: 1 });
    expect(publish.payload.toString()).toBe('still subscribed');
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 9, payload: Buffer.from('x') });
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 9, topicId: id, returnCode: 0 });
  });

  it('§6.3 CleanSession=0: messages published while the client is disconnected are delivered after its next CONNACK; CleanSession=1: they are not kept', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    await connect(s, 'away0', { cleanSession: false });
    await subscribe(s, 'away/zero', 1);
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    await t.observer().publish('away/zero', 'kept for you', 1);
    await until(() => gw.gateway.core.client('away0')?.buffered === 1, undefined, () => 'buffered for the disconnected client');
    await connect(s, 'away0', { cleanSession: false });
    expect((await receivePublish(s)).payload.toString()).toBe('kept for you');

    const s1 = await gw.sensor();
    await connect(s1, 'away1', { cleanSession: true });
    await subscribe(s1, 'away/one', 1);
    s1.send({ type: 'DISCONNECT' });
    await s1.expect('DISCONNECT');
    await t.observer().publish('away/one', 'gone', 1);
    // Behind it on the broker, a message the gateway does hold a subscription for.
    await subscribe(s, 'away/marker', 1);
    await t.observer().publish('away/marker', 'marker', 1);
    await until(() => gw.brokerMessages.some((m) => m.topic === 'away/marker'));
    await connect(s1, 'away1', { cleanSession: false });
    await expectNothingPending(s1);
    expect(gw.gateway.core.client('away1')).toMatchObject({ buffered: 0, subscriptions: [] });
  });

  it('§6.4 WILLTOPICUPD and WILLMSGUPD while connected: WILLTOPICRESP, WILLMSGRESP, and the updated will is the one published', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    await connectWithWill(s, 'upd', { topic: 'will/upd-old', message: 'old', qos: 0, retain: false }, { duration: KEEP_ALIVE });
    s.send({ type: 'WILLTOPICUPD', qos: 2, retain: true, willTopic: 'will/upd-new' });
    expect(await s.expect('WILLTOPICRESP')).toMatchObject({ returnCode: 0 });
    s.send({ type: 'WILLMSGUPD', willMsg: Buffer.from('updated') });
    expect(await s.expect('WILLMSGRESP')).toMatchObject({ returnCode: 0 });
    gw.advance(PAST_KEEP_ALIVE);
    expect(await t.observer().waitFor(1, 'will/upd-new')).toMatchObject([{ payload: 'updated', qos: 2 }]);
    expect(await retainedOn(t.broker().url, 'will/upd-new')).toMatchObject({ payload: 'updated', retain: true });
    await t.observer().publish('will/upd-new', '', 0, true);
    expect(willsOn('will/upd-old')).toEqual([]);
  });

  it('§6.2 a will with QoS -1 (possible in the flags byte) is published at QoS 0', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    await connectWithWill(s, 'will-qm1', { topic: 'will/qm1', message: 'minus one', qos: -1, retain: false }, { duration: KEEP_ALIVE });
    gw.advance(PAST_KEEP_ALIVE);
    expect(await t.observer().waitFor(1, 'will/qm1')).toMatchObject([{ payload: 'minus one', qos: 0 }]);
  });

  it('§6.4 a client that connected without a will can set one later with WILLTOPICUPD then WILLMSGUPD', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    await connect(s, 'upd-late', { duration: KEEP_ALIVE });
    s.send({ type: 'WILLTOPICUPD', qos: 1, retain: false, willTopic: 'will/late' });
    expect(await s.expect('WILLTOPICRESP')).toMatchObject({ returnCode: 0 });
    s.send({ type: 'WILLMSGUPD', willMsg: Buffer.from('late will') });
    expect(await s.expect('WILLMSGRESP')).toMatchObject({ returnCode: 0 });
    gw.advance(PAST_KEEP_ALIVE);
    expect(await t.observer().waitFor(1, 'will/late')).toMatchObject([{ payload: 'late will', qos: 1 }]);
  });

  it('§6.4 an empty WILLTOPICUPD deletes the will', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    await connectWithWill(s, 'upd-del', { topic: 'will/upd-del', message: 'x', qos: 0, retain: false }, { duration: KEEP_ALIVE });
    s.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: '' });
    expect(await s.expect('WILLTOPICRESP')).toMatchObject({ returnCode: 0 });
    expect(gw.gateway.core.client('upd-del')?.hasWill).toBe(false);
    gw.advance(PAST_KEEP_ALIVE);
    expect(gw.gateway.core.client('upd-del')?.state).toBe('lost');
    await brokerCaughtUp(gw, t.observer());
    expect(willsOn('will/upd-del')).toEqual([]);
  });

  it('§6.11 a will due while the broker is away is published once it is back', async () => {
    const gw = t.gw();
    const broker = t.broker();
    const s = await gw.sensor();
    await connectWithWill(s, 'outage-will', { topic: 'will/outage', message: 'lost in the dark', qos: 1, retain: true }, { duration: KEEP_ALIVE });
    await broker.kill!();
    await until(() => !gw.gateway.upstream.connected, undefined, () => 'gateway noticed the broker is gone');
    gw.advance(PAST_KEEP_ALIVE);
    expect(gw.gateway.core.client('outage-will')?.state).toBe('lost');
    await broker.restart!();
    await until(() => gw.gateway.upstream.connected, 10_000, () => 'gateway reconnected');
    // Retained, so a subscriber arriving after the outage can check it reached the broker.
    await until(() => t.observer().client.connected, 10_000, () => 'observer reconnected');
    // The will was held as a QoS 1 publish: once the broker has acknowledged it, it is retained there.
    await until(() => gw.gateway.upstream.pending === 0, undefined, () => 'the held will acknowledged by the broker');
    expect(await retainedOn(broker.url, 'will/outage')).toMatchObject({ payload: 'lost in the dark', retain: true });
    await t.observer().publish('will/outage', '', 0, true);
    await t.observer().subscribe('will/#', 2); // the observer's session was clean: subscribe again for later tests
  });

  it('§6.4 WILLMSGUPD with no will topic is refused (rc 0x03: not supported), and nothing is published', async () => {
    const gw = t.gw();
    const s = await gw.sensor();
    await connect(s, 'upd-msg-only', { duration: KEEP_ALIVE });
    s.send({ type: 'WILLMSGUPD', willMsg: Buffer.from('orphan') });
    expect(await s.expect('WILLMSGRESP')).toMatchObject({ returnCode: 3 });
    gw.advance(PAST_KEEP_ALIVE);
    await brokerCaughtUp(gw, t.observer());
    expect(gw.gateway.core.stats.willsPublished).toBe(0);
  });
});
