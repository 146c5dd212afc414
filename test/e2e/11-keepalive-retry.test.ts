/**
 * Keep-alive (§6.11) and retransmission (§6.13) end to end: the gateway's clock is moved by hand, the
 * sensor sees each resend, and the broker sees the will once the client counts as lost.
 * The gateway here uses retry.interval 10 s, retry.count 3 (testConfig) and keepAliveGrace 1.5 (default).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SnUdpPeer } from '../../client/udp-peer.js';
import {
  connect, Observer, startBroker, startGateway, testConfig, type Broker, type GatewayUnderTest,
} from '../support/harness.js';
import { brokerCaughtUp, connectWithWill, expectNothingBeforeConnack, expectNothingPending, receivePublish, settled, subscribe } from '../support/flows.js';

const RETRY_INTERVAL = 10;
const RETRY_COUNT = 3;

describe.each(['mosquitto', 'embedded'] as const)('§6.11 keep-alive with %s', (kind) => {
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
  afterEach(async () => {
    await gw?.stop();
  });

  it('§6.11 a client silent for Duration × 1.5 is not lost yet; one second more and it is, and its will is published', async () => {
    gw = await startGateway(testConfig(broker.url));
    const s = await gw.sensor();
    const topic = `will/${kind}/keepalive`;
    await connectWithWill(s, 'ka', { topic, message: 'ka lost', qos: 1, retain: false }, { duration: 20 });
    gw.advance(30); // exactly 20 × 1.5
    expect(gw.gateway.core.client('ka')?.state).toBe('active');
    expect(gw.gateway.core.stats.willsPublished).toBe(0);
    gw.advance(1);
    expect(gw.gateway.core.client('ka')?.state).toBe('lost');
    expect(await observer.waitFor(1, topic)).toMatchObject([{ payload: 'ka lost', qos: 1 }]);
  });

  it('§6.11 PINGREQ keeps a client alive: the keep-alive counts from the last frame', async () => {
    gw = await startGateway(testConfig(broker.url));
    const s = await gw.sensor();
    const topic = `will/${kind}/pinged`;
    await connectWithWill(s, 'pinger', { topic, message: 'x', qos: 0, retain: false }, { duration: 10 });
    gw.advance(14);
    s.send({ type: 'PINGREQ' });
    await s.expect('PINGRESP');
    gw.advance(15); // 29 s after CONNECT, 15 s after the PINGREQ
    expect(gw.gateway.core.client('pinger')?.state).toBe('active');
    gw.advance(1);
    expect(gw.gateway.core.client('pinger')?.state).toBe('lost');
    await observer.waitFor(1, topic);
  });
});

describe('§6.11/§6.13 keep-alive grace and retransmission with mosquitto', () => {
  let broker: Broker;
  let observer: Observer;
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    broker = await startBroker('mosquitto');
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

  /** A sensor with a will, subscribed to `topic` at `qos`, keep-alive long enough not to interfere. */
  async function subscribedSensor(clientId: string, topic: string, qos: 0 | 1 | 2): Promise<SnUdpPeer> {
    const s = await gw.sensor();
    await connectWithWill(s, clientId, { topic: `will/${clientId}`, message: `${clientId} lost`, qos: 1, retain: false }, { duration: 300 });
    await subscribe(s, topic, qos);
    return s;
  }

  /** Moves time by whole retry intervals, expecting the resend each time. */
  async function expectResends<T extends 'PUBLISH' | 'PUBREL' | 'REGISTER' | 'WILLTOPICREQ' | 'WILLMSGREQ'>(s: SnUdpPeer, type: T) {
    const resends = [];
    for (let i = 0; i < RETRY_COUNT; i++) {
      gw.advance(RETRY_INTERVAL - 1);
      await expectNothingPending(s); // not resent before the interval
      gw.advance(1);
      resends.push(await s.expect(type));
    }
    return resends;
  }

  async function expectLostWithWill(s: SnUdpPeer, clientId: string) {
    gw.advance(RETRY_INTERVAL - 1);
    expect(gw.gateway.core.client(clientId)?.state).toBe('active');
    gw.advance(1);
    expect(gw.gateway.core.client(clientId)?.state).toBe('lost');
    expect(await observer.waitFor(1, `will/${clientId}`)).toMatchObject([{ payload: `${clientId} lost` }]);
    await expectNothingBeforeConnack(s, `${clientId}-marker`); // nothing more was sent to the lost client
  }

  it('§6.11 keepAliveGrace from the config sets the margin (grace 2: lost after Duration × 2)', async () => {
    await gw.stop();
    const config = testConfig(broker.url);
    config.gateway.keepAliveGrace = 2;
    gw = await startGateway(config);
    const s = await gw.sensor();
    await connect(s, 'grace2', { duration: 10 });
    gw.advance(20);
    expect(gw.gateway.core.client('grace2')?.state).toBe('active');
    gw.advance(1);
    expect(gw.gateway.core.client('grace2')?.state).toBe('lost');
  });

  it('§6.11 keep-alive 0 turns the check off', async () => {
    const s = await gw.sensor();
    await connect(s, 'no-ka', { duration: 0 });
    gw.advance(3600);
    expect(gw.gateway.core.client('no-ka')?.state).toBe('active');
  });

  it('§6.13 PUBLISH QoS 1 unanswered: resent with DUP and the same MsgId every retry.interval, retry.count times, then the client is lost and its will published', async () => {
    const s = await subscribedSensor('retry-q1', 'retry/q1', 1);
    await observer.publish('retry/q1', 'm1', 1);
    const first = await s.expect('PUBLISH');
    expect(first).toMatchObject({ dup: false, qos: 1 });
    const resends = await expectResends(s, 'PUBLISH');
    for (const r of resends) {
      expect(r).toMatchObject({ dup: true, qos: 1, msgId: first.msgId, topicId: first.topicId });
      expect(r.payload.toString()).toBe('m1');
    }
    await expectLostWithWill(s, 'retry-q1');
  });

  it('§6.13 PUBLISH QoS 2 unanswered: resent with DUP, then the client is lost', async () => {
    const s = await subscribedSensor('retry-q2', 'retry/q2', 2);
    await observer.publish('retry/q2', 'm2', 2);
    const first = await s.expect('PUBLISH');
    expect(first).toMatchObject({ dup: false, qos: 2 });
    const resends = await expectResends(s, 'PUBLISH');
    for (const r of resends) expect(r).toMatchObject({ dup: true, qos: 2, msgId: first.msgId });
    await expectLostWithWill(s, 'retry-q2');
  });

  it('§6.13 PUBREL unanswered (PUBREC came, PUBCOMP does not): PUBREL resent, then the client is lost', async () => {
    const s = await subscribedSensor('retry-rel', 'retry/rel', 2);
    await observer.publish('retry/rel', 'm', 2);
    const publish = await s.expect('PUBLISH');
    s.send({ type: 'PUBREC', msgId: publish.msgId });
    expect(await s.expect('PUBREL')).toMatchObject({ msgId: publish.msgId });
    const resends = await expectResends(s, 'PUBREL');
    for (const r of resends) expect(r).toMatchObject({ msgId: publish.msgId });
    await expectLostWithWill(s, 'retry-rel');
  });

  it('§6.13 REGISTER unanswered (wildcard subscription, §6.5): REGISTER resent with the same MsgId, TopicId and name, then the client is lost', async () => {
    const s = await subscribedSensor('retry-reg', 'retry/reg/#', 1);
    await observer.publish('retry/reg/a', 'm', 1);
    const first = await s.expect('REGISTER');
    expect(first).toMatchObject({ topicName: 'retry/reg/a' });
    const resends = await expectResends(s, 'REGISTER');
    for (const r of resends) expect(r).toMatchObject({ msgId: first.msgId, topicId: first.topicId, topicName: 'retry/reg/a' });
    await expectLostWithWill(s, 'retry-reg');
  });

  it('§6.13 WILLTOPICREQ unanswered during the §6.2 handshake: resent, then the client is lost without CONNACK', async () => {
    const s = await gw.sensor();
    s.send({ type: 'CONNECT', will: true, cleanSession: true, duration: 300, clientId: 'mute' });
    await s.expect('WILLTOPICREQ');
    await expectResends(s, 'WILLTOPICREQ');
    gw.advance(RETRY_INTERVAL);
    expect(gw.gateway.core.client('mute')?.state).toBe('lost');
    await expectNothingBeforeConnack(s, 'mute-marker'); // no CONNACK, no more WILLTOPICREQ
  });

  it('§6.2/§6.13 a CleanSession=0 client that abandons a new will handshake is lost with its previous will', async () => {
    const s = await gw.sensor();
    await connectWithWill(s, 'abandon', { topic: 'will/abandon', message: 'previous', qos: 1, retain: false }, { cleanSession: false, duration: 300 });
    s.send({ type: 'CONNECT', will: true, cleanSession: false, duration: 300, clientId: 'abandon' });
    await s.expect('WILLTOPICREQ');
    s.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'will/abandon-new' });
    await s.expect('WILLMSGREQ'); // and nothing more from the client
    await expectResends(s, 'WILLMSGREQ');
    gw.advance(RETRY_INTERVAL);
    expect(gw.gateway.core.client('abandon')?.state).toBe('lost');
    expect(await observer.waitFor(1, 'will/abandon')).toMatchObject([{ payload: 'previous' }]);
    await brokerCaughtUp(gw, observer);
    expect(observer.messages.filter((m) => m.topic === 'will/abandon-new')).toEqual([]);
  });

  it('§6.13 a QoS 2 delivery cut short before PUBCOMP: after a CleanSession=0 reconnect the gateway sends PUBREL again, and answers a retransmitted PUBREC too', async () => {
    const s = await gw.sensor();
    await connect(s, 'rec-again', { cleanSession: false, duration: 300 });
    await subscribe(s, 'retry/rec-again', 2);
    await observer.publish('retry/rec-again', 'once', 2);
    const publish = await s.expect('PUBLISH');
    s.send({ type: 'PUBREC', msgId: publish.msgId });
    await s.expect('PUBREL'); // lost on the way, say; the client reconnects
    await connect(s, 'rec-again', { cleanSession: false, duration: 300 });
    expect(await s.expect('PUBREL')).toMatchObject({ msgId: publish.msgId });
    s.send({ type: 'PUBREC', msgId: publish.msgId });
    expect(await s.expect('PUBREL')).toMatchObject({ msgId: publish.msgId });
    s.send({ type: 'PUBCOMP', msgId: publish.msgId });
    await expectNothingPending(s);
    expect(gw.gateway.core.client('rec-again')).toMatchObject({ state: 'active', inflight: 0, buffered: 0 });
  });

  it('§6.13 an answer to a resend ends the retransmission: the client stays active and the next message flows', async () => {
    const s = await subscribedSensor('retry-ok', 'retry/ok', 1);
    await observer.publish('retry/ok', 'a', 1);
    await observer.publish('retry/ok', 'b', 1);
    const first = await s.expect('PUBLISH');
    gw.advance(RETRY_INTERVAL);
    const dup = await s.expect('PUBLISH');
    expect(dup).toMatchObject({ dup: true, msgId: first.msgId });
    s.send({ type: 'PUBACK', topicId: dup.topicId, msgId: dup.msgId, returnCode: 0 });
    const second = await receivePublish(s);
    expect(second).toMatchObject({ dup: false });
    expect(second.payload.toString()).toBe('b');
    await settled(gw, 'retry-ok', (c) => c.inflight === 0);
    gw.advance(RETRY_INTERVAL * (RETRY_COUNT + 2));
    await expectNothingPending(s); // nothing resent
    expect(gw.gateway.core.client('retry-ok')?.state).toBe('active');
    await brokerCaughtUp(gw, observer);
    expect(observer.messages.filter((m) => m.topic === 'will/retry-ok')).toEqual([]);
  });
});
