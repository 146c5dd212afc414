/**
 * What sensors in the field do, end to end with Mosquitto: C clients that count the terminating NUL,
 * sensors that publish while asleep, sensors talking to a gateway that no longer knows them (§5.4.21
 * DISCONNECT, rate-limited), and CONNECTs the gateway refuses (CONNACK 0x03, never silence).
 */
import { describe, expect, it } from 'vitest';
import type { SnUdpPeer } from '../../client/udp-peer.js';
import { encode, shortTopicId } from '../../sn-codec/index.js';
import type { SnMessage } from '../../sn-codec/types.js';
import { connect, gatewaySuite, register, until } from '../support/harness.js';
import { connectWithWill, subscribe } from '../support/flows.js';

/** Ceiling for one expected frame: ends as soon as it arrives. */
const WAIT = 5000;
const SLEEP = 60;
const SLEEP_DEADLINE = SLEEP * 1.5;

const t = gatewaySuite('mosquitto', {
  observe: [{ filter: 'field/#', qos: 2 }, { filter: 'sn/predefined/#', qos: 2 }, { filter: 'fw/#', qos: 2 }],
  configure: (config) => { config.gateway.maxClientIdLength = 23; },
});

function publish(qos: 0 | 1 | 2, topicIdType: 'normal' | 'predefined' | 'short', topicId: number, msgId: number, payload: string): SnMessage {
  return { type: 'PUBLISH', dup: false, qos, retain: false, topicIdType, topicId, msgId: qos === 0 ? 0 : msgId, payload: Buffer.from(payload) };
}

/** CONNECT, register `topic`, then DISCONNECT with Duration: asleep, with the topic id it registered. */
async function asleep(s: SnUdpPeer, clientId: string, topic: string): Promise<number> {
  await connect(s, clientId, { duration: 30 });
  const topicId = await register(s, topic);
  s.send({ type: 'DISCONNECT', duration: SLEEP });
  await s.expect('DISCONNECT', WAIT);
  expect(t.gw.gateway.core.client(clientId)?.state).toBe('asleep');
  return topicId;
}

describe('15 field clients: a trailing NUL (C strlen + 1) is forgiven', () => {
  it('§5.4.10 REGISTER of "name\\0" registers "name": the PUBLISH on its id reaches the broker under "name"', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'nul-reg');
    const before = t.gw.gateway.core.stats.trailingNulStripped;
    s.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'field/nul/reg\0' });
    const regack = await s.expect('REGACK', WAIT);
    expect(regack).toMatchObject({ msgId: 1, returnCode: 0 });
    expect(t.gw.gateway.core.stats.trailingNulStripped).toBe(before + 1);
    s.send(publish(1, 'normal', regack.topicId, 2, 'registered'));
    expect(await s.expect('PUBACK', WAIT)).toMatchObject({ msgId: 2, returnCode: 0 });
    expect((await t.observer.waitFor(1, 'field/nul/reg'))[0].payload).toBe('registered');
  });

  it('§5.4.10 only one NUL is forgiven, and only at the end: "a\\0b" and "name\\0\\0" are refused REGACK 0x03', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'nul-inside');
    s.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'field/a\0b' });
    expect(await s.expect('REGACK', WAIT)).toMatchObject({ msgId: 1, returnCode: 3 });
    s.send({ type: 'REGISTER', topicId: 0, msgId: 2, topicName: 'field/two\0\0' });
    expect(await s.expect('REGACK', WAIT)).toMatchObject({ msgId: 2, returnCode: 3 });
  });

  it('§5.4.15 SUBSCRIBE to "filter\\0" subscribes to "filter": a broker message reaches the sensor', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'nul-sub');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 5, topic: { topicIdType: 'normal', topicName: 'field/nul/sub/+\0' } });
    expect(await s.expect('SUBACK', WAIT)).toMatchObject({ msgId: 5, returnCode: 0 });
    expect(t.gw.gateway.core.client('nul-sub')?.subscriptions).toEqual([{ filter: 'field/nul/sub/+', qos: 0 }]);
    await t.observer.publish('field/nul/sub/x', 'down');
    // A wildcard subscription: the gateway REGISTERs the topic first (§6.5).
    const reg = await s.expect('REGISTER', WAIT);
    expect(reg.topicName).toBe('field/nul/sub/x');
    s.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    expect((await s.expect('PUBLISH', WAIT)).payload.toString()).toBe('down');
  });

  it('§5.4.17 UNSUBSCRIBE of "filter\\0" removes the subscription to "filter"', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'nul-unsub');
    await subscribe(s, 'field/nul/unsub', 0, 6);
    s.send({ type: 'UNSUBSCRIBE', msgId: 7, topic: { topicIdType: 'normal', topicName: 'field/nul/unsub\0' } });
    expect(await s.expect('UNSUBACK', WAIT)).toEqual({ type: 'UNSUBACK', msgId: 7 });
    expect(t.gw.gateway.core.client('nul-unsub')?.subscriptions).toEqual([]);
  });

  it('§5.4.4 CONNECT with ClientId "id\\0" connects as "id" (23 characters plus the NUL still fit)', async () => {
    const s = await t.gw.sensor();
    const id = 'nul-client-id-23-chars!';
    expect(id).toHaveLength(23);
    s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 30, clientId: `${id}\0` });
    expect(await s.expect('CONNACK', WAIT)).toEqual({ type: 'CONNACK', returnCode: 0 });
    expect(t.gw.gateway.core.client(id)?.state).toBe('active');
    expect(t.gw.gateway.core.client(`${id}\0`)).toBeUndefined();
  });

  it('§5.4.4 a NUL inside the ClientId ("a\\0b") is refused with CONNACK 0x03', async () => {
    const s = await t.gw.sensor();
    s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 30, clientId: 'nul\0inside' });
    expect(await s.expect('CONNACK', WAIT)).toEqual({ type: 'CONNACK', returnCode: 3 });
    expect(t.gw.gateway.core.client('nul\0inside')).toBeUndefined();
  });

  it('§5.4.7 WILLTOPIC "topic\\0" installs the will on "topic": published there when the client is lost', async () => {
    const s = await t.gw.sensor();
    await connectWithWill(s, 'nul-will', { topic: 'field/nul/will\0', message: 'gone', qos: 1, retain: false }, { duration: 10 });
    t.gw.advance(16);
    expect(t.gw.gateway.core.client('nul-will')?.state).toBe('lost');
    expect((await t.observer.waitFor(1, 'field/nul/will'))[0].payload).toBe('gone');
  });

  it('§5.4.22 WILLTOPICUPD "topic\\0" sets the will on "topic"; a wildcard will topic is refused WILLTOPICRESP 0x03, keeping it', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'nul-willupd', { duration: 10 });
    s.send({ type: 'WILLTOPICUPD', qos: 1, retain: false, willTopic: 'field/nul/willupd\0' });
    expect(await s.expect('WILLTOPICRESP', WAIT)).toEqual({ type: 'WILLTOPICRESP', returnCode: 0 });
    s.send({ type: 'WILLMSGUPD', willMsg: Buffer.from('updated will') });
    expect(await s.expect('WILLMSGRESP', WAIT)).toEqual({ type: 'WILLMSGRESP', returnCode: 0 });
    s.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: 'field/#' });
    expect(await s.expect('WILLTOPICRESP', WAIT)).toEqual({ type: 'WILLTOPICRESP', returnCode: 3 });
    t.gw.advance(16);
    expect(t.gw.gateway.core.client('nul-willupd')?.state).toBe('lost');
    expect(await t.observer.waitFor(1, 'field/nul/willupd')).toMatchObject([{ payload: 'updated will', qos: 1 }]);
  });

  it('§5.4.19 PINGREQ with ClientId "id\\0" wakes the sleeping client "id"', async () => {
    const s = await t.gw.sensor();
    await asleep(s, 'nul-wake', 'field/nul/wake');
    s.send({ type: 'PINGREQ', clientId: 'nul-wake\0' });
    await s.expect('PINGRESP', WAIT);
    expect(t.gw.gateway.core.client('nul-wake')?.state).toBe('asleep');
  });
});

describe('15 field clients: PUBLISH from an asleep client is served (§6.14)', () => {
  it('§6.14 QoS 1 on a registered id while asleep: PUBACK, the broker gets it, the client stays asleep', async () => {
    const s = await t.gw.sensor();
    const topicId = await asleep(s, 'sleep-q1', 'field/asleep/q1');
    s.send(publish(1, 'normal', topicId, 11, 'awake-enough'));
    expect(await s.expect('PUBACK', WAIT)).toMatchObject({ topicId, msgId: 11, returnCode: 0 });
    expect((await t.observer.waitFor(1, 'field/asleep/q1'))[0]).toMatchObject({ payload: 'awake-enough' });
    expect(t.gw.gateway.core.client('sleep-q1')?.state).toBe('asleep');
  });

  it('§6.14 QoS 2 on a registered id while asleep: PUBREC, PUBREL → PUBCOMP, published once, still asleep', async () => {
    const s = await t.gw.sensor();
    const topicId = await asleep(s, 'sleep-q2', 'field/asleep/q2');
    s.send(publish(2, 'normal', topicId, 12, 'exactly-once'));
    expect(await s.expect('PUBREC', WAIT)).toEqual({ type: 'PUBREC', msgId: 12 });
    s.send({ type: 'PUBREL', msgId: 12 });
    expect(await s.expect('PUBCOMP', WAIT)).toEqual({ type: 'PUBCOMP', msgId: 12 });
    expect(await t.observer.waitFor(1, 'field/asleep/q2')).toMatchObject([{ payload: 'exactly-once', qos: 2 }]);
    expect(t.gw.gateway.core.client('sleep-q2')?.state).toBe('asleep');
  });

  it('§6.14 QoS 0 on a predefined id and on a short name while asleep reach the broker', async () => {
    const s = await t.gw.sensor();
    await asleep(s, 'sleep-q0', 'field/asleep/q0');
    s.send(publish(0, 'predefined', 1, 0, 'predefined-asleep'));
    s.send(publish(0, 'short', shortTopicId('fw'), 0, 'short-asleep'));
    expect((await t.observer.waitFor(1, 'sn/predefined/one'))[0].payload).toBe('predefined-asleep');
    expect((await t.observer.waitFor(1, 'fw'))[0].payload).toBe('short-asleep');
    expect(t.gw.gateway.core.client('sleep-q0')?.state).toBe('asleep');
  });

  const combos: [0 | 1 | 2, 'normal' | 'predefined' | 'short'][] = [[0, 'normal'], [1, 'predefined'], [1, 'short'], [2, 'predefined'], [2, 'short']];
  for (const [qos, kind] of combos) {
    it(`§6.14 QoS ${qos} on a ${kind} topic id while asleep reaches the broker, with its QoS flow`, async () => {
      const s = await t.gw.sensor();
      const clientId = `sleep-${qos}-${kind}`;
      const registered = await asleep(s, clientId, `field/asleep/${qos}/${kind}`);
      const [topicId, topic] = kind === 'normal' ? [registered, `field/asleep/${qos}/${kind}`]
        : kind === 'predefined' ? [1, 'sn/predefined/one'] : [shortTopicId('fw'), 'fw'];
      const before = t.observer.messages.filter((m) => m.topic === topic).length;
      s.send(publish(qos, kind, topicId, 50 + qos, `${qos}-${kind}`));
      if (qos === 1) expect(await s.expect('PUBACK', WAIT)).toMatchObject({ msgId: 51, returnCode: 0 });
      if (qos === 2) {
        await s.expect('PUBREC', WAIT);
        s.send({ type: 'PUBREL', msgId: 52 });
        await s.expect('PUBCOMP', WAIT);
      }
      const seen = await t.observer.waitFor(before + 1, topic);
      expect(seen.at(-1)).toMatchObject({ payload: `${qos}-${kind}` });
      expect(t.gw.gateway.core.client(clientId)?.state).toBe('asleep');
    });
  }

  it('§6.14 a PUBLISH while asleep is a sign of life: the sleep deadline counts from it', async () => {
    const s = await t.gw.sensor();
    const topicId = await asleep(s, 'sleep-alive', 'field/asleep/alive');
    t.gw.advance(SLEEP_DEADLINE - 10);
    s.send(publish(1, 'normal', topicId, 13, 'still here'));
    await s.expect('PUBACK', WAIT);
    t.gw.advance(20); // past the deadline counted from DISCONNECT, within the one counted from the PUBLISH
    expect(t.gw.gateway.core.client('sleep-alive')?.state).toBe('asleep');
    t.gw.advance(SLEEP_DEADLINE);
    expect(t.gw.gateway.core.client('sleep-alive')?.state).toBe('lost');
  });

  it('§6.14 wake-up PINGREQ and PUBLISH back to back: PINGRESP, then PUBACK; the message is published', async () => {
    const s = await t.gw.sensor();
    const topicId = await asleep(s, 'sleep-burst', 'field/asleep/burst');
    s.send({ type: 'PINGREQ', clientId: 'sleep-burst' });
    s.send(publish(1, 'normal', topicId, 14, 'burst'));
    await s.expect('PINGRESP', WAIT);
    expect(await s.expect('PUBACK', WAIT)).toMatchObject({ msgId: 14, returnCode: 0 });
    expect((await t.observer.waitFor(1, 'field/asleep/burst'))[0].payload).toBe('burst');
    expect(t.gw.gateway.core.client('sleep-burst')?.state).toBe('asleep');
  });

  it('§6.14 buffered messages still wait for the PINGREQ: a PUBLISH while asleep delivers nothing', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'sleep-held', { duration: 30 });
    const { topicId } = await subscribe(s, 'field/asleep/held/in', 1, 20);
    const outId = await register(s, 'field/asleep/held/out', 21);
    s.send({ type: 'DISCONNECT', duration: SLEEP });
    await s.expect('DISCONNECT', WAIT);
    await t.observer.publish('field/asleep/held/in', 'for-later', 1);
    await until(() => t.gw.gateway.core.client('sleep-held')?.buffered === 1, WAIT);
    s.send(publish(1, 'normal', outId, 22, 'out'));
    // The PUBACK is the next frame: no buffered PUBLISH came before it.
    expect(await s.expect('PUBACK', WAIT)).toMatchObject({ msgId: 22 });
    expect(t.gw.gateway.core.client('sleep-held')).toMatchObject({ state: 'asleep', buffered: 1 });
    s.send({ type: 'PINGREQ', clientId: 'sleep-held' });
    const delivered = await s.expect('PUBLISH', WAIT);
    expect(delivered).toMatchObject({ topicId, payload: Buffer.from('for-later') });
    s.send({ type: 'PUBACK', topicId, msgId: delivered.msgId, returnCode: 0 });
    await s.expect('PINGRESP', WAIT);
  });

  it('§6.14 a QoS 2 delivery interrupted by sleep completes while asleep: PUBREC → PUBREL, PUBCOMP; nothing is sent again on waking', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'sleep-rec', { duration: 30 });
    const { topicId } = await subscribe(s, 'field/asleep/rec', 2, 30);
    await t.observer.publish('field/asleep/rec', 'q2-down', 2);
    const delivery = await s.expect('PUBLISH', WAIT);
    expect(delivery).toMatchObject({ qos: 2, topicId });
    // The sensor falls asleep before answering, then answers while asleep.
    s.send({ type: 'DISCONNECT', duration: SLEEP });
    await s.expect('DISCONNECT', WAIT);
    s.send({ type: 'PUBREC', msgId: delivery.msgId });
    expect(await s.expect('PUBREL', WAIT)).toEqual({ type: 'PUBREL', msgId: delivery.msgId });
    s.send({ type: 'PUBCOMP', msgId: delivery.msgId });
    await until(() => t.gw.gateway.core.client('sleep-rec')?.buffered === 0, WAIT);
    s.send({ type: 'PINGREQ', clientId: 'sleep-rec' });
    // Neither the PUBLISH nor the PUBREL comes again: the next frame is PINGRESP.
    await s.expect('PINGRESP', WAIT);
    expect(t.gw.gateway.core.client('sleep-rec')).toMatchObject({ state: 'asleep', buffered: 0, inflight: 0 });
  });
});

describe('15 field clients: DISCONNECT to what the gateway cannot map to a session (§5.4.21)', () => {
  const unmapped: [string, SnMessage][] = [
    ['PUBLISH QoS 0', publish(0, 'normal', 1, 0, 'x')],
    ['PUBLISH QoS 1', publish(1, 'normal', 1, 1, 'x')],
    ['PUBLISH QoS 2', publish(2, 'predefined', 1, 2, 'x')],
    ['REGISTER', { type: 'REGISTER', topicId: 0, msgId: 3, topicName: 'field/nobody' }],
    ['SUBSCRIBE', { type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 4, topic: { topicIdType: 'normal', topicName: 'field/#' } }],
    ['UNSUBSCRIBE', { type: 'UNSUBSCRIBE', msgId: 5, topic: { topicIdType: 'normal', topicName: 'field/#' } }],
    ['PINGREQ', { type: 'PINGREQ' }],
    ['WILLTOPICUPD', { type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: 'field/w' }],
    ['WILLMSGUPD', { type: 'WILLMSGUPD', willMsg: Buffer.from('w') }],
  ];
  for (const [name, message] of unmapped) {
    it(`§5.4.21 ${name} from an address with no session is answered DISCONNECT`, async () => {
      const s = await t.gw.sensor();
      const before = t.gw.gateway.core.stats.unmappedDisconnects;
      s.send(message);
      expect(await s.expect('DISCONNECT', WAIT)).toEqual({ type: 'DISCONNECT' });
      expect(t.gw.gateway.core.stats.unmappedDisconnects).toBe(before + 1);
    });
  }

  it('§5.4.21 PINGREQ with a ClientId the gateway does not know is answered DISCONNECT', async () => {
    const s = await t.gw.sensor();
    s.send({ type: 'PINGREQ', clientId: 'never-seen' });
    expect(await s.expect('DISCONNECT', WAIT)).toEqual({ type: 'DISCONNECT' });
  });

  it('§5.4.21 a sensor the gateway forgot reconnects at once: PUBLISH → DISCONNECT → CONNECT → PUBLISH reaches the broker', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'forgotten', { duration: 10 });
    const id = await register(s, 'field/forgotten');
    t.gw.advance(16); // keep-alive expired: the gateway lost it
    expect(t.gw.gateway.core.client('forgotten')?.state).toBe('lost');
    s.send(publish(1, 'normal', id, 40, 'lost one'));
    await s.expect('DISCONNECT', WAIT);
    await connect(s, 'forgotten', { duration: 10 });
    const again = await register(s, 'field/forgotten', 41);
    s.send(publish(1, 'normal', again, 42, 'back'));
    expect(await s.expect('PUBACK', WAIT)).toMatchObject({ msgId: 42, returnCode: 0 });
    expect((await t.observer.waitFor(1, 'field/forgotten')).map((m) => m.payload)).toEqual(['back']);
  });

  it('§5.4.21 a flood from one address gets at most one DISCONNECT per second; the rest are counted', async () => {
    const s = await t.gw.sensor();
    const stats = t.gw.gateway.core.stats;
    const sent = stats.unmappedDisconnects;
    const suppressed = stats.unmappedDisconnectsSuppressed;
    for (let i = 0; i < 50; i++) s.send({ type: 'PINGREQ' });
    await until(() => stats.unmappedDisconnects - sent + stats.unmappedDisconnectsSuppressed - suppressed === 50, WAIT,
      () => `sent ${stats.unmappedDisconnects - sent}, suppressed ${stats.unmappedDisconnectsSuppressed - suppressed}`);
    expect(stats.unmappedDisconnects - sent).toBe(1);
    expect(stats.unmappedDisconnectsSuppressed - suppressed).toBe(49);
    t.gw.advance(1);
    s.send({ type: 'PINGREQ' });
    await until(() => stats.unmappedDisconnects - sent === 2, WAIT);
    // Exactly two DISCONNECTs reached the sensor: the first of the flood, and the one a second later.
    await s.expect('DISCONNECT', WAIT);
    await s.expect('DISCONNECT', WAIT);
    s.send({ type: 'SEARCHGW', radius: 0 });
    await s.expect('GWINFO', WAIT);
  });
  it('§5.4.21/§5.5 nodes behind one forwarder share its address\'s one DISCONNECT per second', async () => {
    const node1 = Buffer.from([0x01]);
    const fw = await t.gw.sensor({ forwarder: { wirelessNodeId: node1 } });
    const stats = t.gw.gateway.core.stats;
    const suppressed = stats.unmappedDisconnectsSuppressed;
    fw.send({ type: 'PINGREQ' });
    expect(await fw.expect('DISCONNECT', WAIT)).toEqual({ type: 'DISCONNECT' });
    // Node 2 behind the same forwarder, within the same second: counted, not answered.
    fw.sendRaw(encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([0x02]), message: { type: 'PINGREQ' } }));
    await until(() => stats.unmappedDisconnectsSuppressed === suppressed + 1, WAIT);
    t.gw.advance(1);
    fw.send({ type: 'PINGREQ' });
    // The next frame is node 1's DISCONNECT (one wrapped for node 2 would fail this peer's unwrap check).
    expect(await fw.expect('DISCONNECT', WAIT)).toEqual({ type: 'DISCONNECT' });
  });
});

describe('15 field clients: every refused CONNECT gets a CONNACK (§5.4.5)', () => {
  it('§5.4.4 CONNECT with an empty ClientId is answered CONNACK 0x03', async () => {
    const s = await t.gw.sensor();
    s.sendRaw(Buffer.from([0x06, 0x04, 0x04, 0x01, 0x00, 0x3c]));
    expect(await s.expect('CONNACK', WAIT)).toEqual({ type: 'CONNACK', returnCode: 3 });
  });

  it('§5.4.4 CONNECT with a ClientId longer than maxClientIdLength is answered CONNACK 0x03', async () => {
    const s = await t.gw.sensor();
    const before = t.gw.gateway.core.stats.connectsRefused;
    s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 30, clientId: 'x'.repeat(24) });
    expect(await s.expect('CONNACK', WAIT)).toEqual({ type: 'CONNACK', returnCode: 3 });
    expect(t.gw.gateway.core.client('x'.repeat(24))).toBeUndefined();
    expect(t.gw.gateway.core.stats.connectsRefused).toBe(before + 1);
  });

  it('§5.4.4 CONNECT with ProtocolId 0x02 is answered CONNACK 0x03 and creates no session', async () => {
    const s = await t.gw.sensor();
    const frame = Buffer.from([0x0b, 0x04, 0x04, 0x02, 0x00, 0x3c, ...Buffer.from('p-two')]);
    s.sendRaw(frame);
    expect(await s.expect('CONNACK', WAIT)).toEqual({ type: 'CONNACK', returnCode: 3 });
    expect(t.gw.gateway.core.client('p-two')).toBeUndefined();
  });

  it('§5.4.4 a refused CONNECT leaves the connected session of that ClientId as it was', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-kept');
    const other = await t.gw.sensor();
    other.sendRaw(Buffer.from([0x0c, 0x04, 0x04, 0x03, 0x00, 0x3c, ...Buffer.from('p-kept')]));
    expect(await other.expect('CONNACK', WAIT)).toEqual({ type: 'CONNACK', returnCode: 3 });
    expect(t.gw.gateway.core.client('p-kept')).toMatchObject({ state: 'active', address: s.localAddress });
  });

  it('§6.2 a will topic that is not a valid topic name ends the handshake with CONNACK 0x03', async () => {
    const s = await t.gw.sensor();
    s.send({ type: 'CONNECT', will: true, cleanSession: true, duration: 30, clientId: 'bad-will' });
    await s.expect('WILLTOPICREQ', WAIT);
    s.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'field/#' });
    expect(await s.expect('CONNACK', WAIT)).toEqual({ type: 'CONNACK', returnCode: 3 });
    expect(t.gw.gateway.core.client('bad-will')).toMatchObject({ state: 'disconnected', hasWill: false });
    // Not connected: the next request is told so.
    s.send({ type: 'PINGREQ' });
    await s.expect('DISCONNECT', WAIT);
  });

  it('§5.5 a refused CONNECT through a forwarder is answered CONNACK 0x03 wrapped for that node', async () => {
    const fw = await t.gw.sensor({ forwarder: { wirelessNodeId: Buffer.from([0x42]) } });
    fw.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 30, clientId: 'y'.repeat(30) });
    expect(await fw.expect('CONNACK', WAIT)).toEqual({ type: 'CONNACK', returnCode: 3 });
  });
});
