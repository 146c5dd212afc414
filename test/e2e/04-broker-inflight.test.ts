/**
 * The aggregating upstream's own QoS 1 path (pre-encoded PUBLISH, its own packet ids, PUBACKs matched
 * from the broker's answers): a connection that drops with messages in flight resends them with DUP
 * under the same ids once it is back, and only then are the sensors answered; mqtt.js's own packets
 * (the gateway's SUBSCRIBE) never take an id that is in flight. Real Mosquitto behind a recording proxy.
 */
import type { IPublishPacket, ISubscribePacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, Observer, register, startBroker, startGateway, testConfig, until, type Broker, type GatewayUnderTest } from '../support/harness.js';
import { expectNothingPending } from '../support/flows.js';
import { MqttProxy } from '../support/mqtt-proxy.js';

/** Mosquitto, a recording proxy in front of it, a gateway connected through the proxy, and an observer on Mosquitto. */
function suiteBehindProxy(protocolVersion: 4 | 5, observe: string): { proxy: MqttProxy; gw: GatewayUnderTest; observer: Observer } {
  const suite = {} as { broker: Broker; proxy: MqttProxy; gw: GatewayUnderTest; observer: Observer };
  beforeAll(async () => {
    suite.broker = await startBroker('mosquitto');
    suite.proxy = await MqttProxy.start(suite.broker.url, protocolVersion);
    const config = testConfig(suite.proxy.url);
    config.broker.protocolVersion = protocolVersion;
    suite.gw = await startGateway(config);
    suite.observer = await Observer.connect(suite.broker.url, undefined, { protocolVersion });
    await suite.observer.subscribe(observe);
  });
  afterAll(async () => {
    await suite.observer?.close();
    await suite.gw?.stop();
    await suite.proxy?.stop();
    await suite.broker?.stop();
  });
  return suite;
}

describe('04 broker connection lost with QoS 1 in flight (Mosquitto)', () => {
  const suite = suiteBehindProxy(4, 'inflight/#');

  it('§6.6 QoS 1 messages in flight when the connection drops are resent with DUP under the same ids, then PUBACKed to the sensor', async () => {
    const s = await suite.gw.sensor();
    await connect(s, 'inflight-sensor');
    const topicId = await register(s, 'inflight/a');
    const first = suite.proxy.connectionCount;

    suite.proxy.holdBrokerAnswers = true;
    for (const msgId of [11, 12, 13]) {
      s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId, payload: Buffer.from(`m${msgId}`) });
    }
    await until(() => suite.proxy.publishes(first).length === 3, undefined, () => `gateway wrote ${suite.proxy.publishes(first).length}/3 PUBLISHes`);
    // A SUBSCRIBE while they are in flight: mqtt.js's id must not be one of ours.
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 14, topic: { topicIdType: 'normal', topicName: 'inflight/back' } });
    await until(() => suite.proxy.fromGateway.some((p) => p.connection === first && p.packet.cmd === 'subscribe'), undefined, () => 'gateway sent SUBSCRIBE');
    await expectNothingPending(s); // the broker's PUBACKs are held back: nothing is acknowledged

    const sent = suite.proxy.publishes(first) as IPublishPacket[];
    expect(sent.map((p) => [p.qos, p.dup, p.payload.toString()])).toEqual([[1, false, 'm11'], [1, false, 'm12'], [1, false, 'm13']]);
    const ids = sent.map((p) => p.messageId);
    expect(new Set(ids).size).toBe(3);
    const subscribeId = (suite.proxy.fromGateway.find((p) => p.connection === first && p.packet.cmd === 'subscribe')!.packet as ISubscribePacket).messageId;
    expect(ids).not.toContain(subscribeId);

    suite.proxy.holdBrokerAnswers = false;
    suite.proxy.cut();
    await until(() => suite.proxy.publishes(first + 1).length >= 3, undefined, () => `after reconnecting the gateway resent ${suite.proxy.publishes(first + 1).length}/3`);
    const resent = suite.proxy.publishes(first + 1) as IPublishPacket[];
    expect(resent.slice(0, 3).map((p) => [p.messageId, p.dup, p.payload.toString()])).toEqual(sent.map((p) => [p.messageId, true, p.payload.toString()]));

    // The SUBSCRIBE's answer comes among them (the connection it went on is gone: SUBACK 0x03, existing behaviour).
    const answers = [await s.next(), await s.next(), await s.next(), await s.next()];
    const acks = answers.flatMap((a) => (a.type === 'PUBACK' ? [[a.msgId, a.returnCode]] : []));
    expect(acks.sort()).toEqual([[11, 0], [12, 0], [13, 0]]);
    expect(answers.filter((a) => a.type === 'SUBACK')).toHaveLength(1);
    // At least once: each reached the broker's subscribers (the first copies may have too).
    const got = await suite.observer.waitFor(3, 'inflight/a');
    expect(new Set(got.map((m) => m.payload))).toEqual(new Set(['m11', 'm12', 'm13']));
    expect(suite.gw.gateway.upstream.pending).toBe(0);
  });

  it('§6.6 after the resend, new QoS 1 messages go without DUP and are acknowledged as usual', async () => {
    const s = await suite.gw.sensor();
    await connect(s, 'inflight-after');
    const topicId = await register(s, 'inflight/b');
    const connection = suite.proxy.connectionCount;
    const before = suite.proxy.publishes(connection).length;
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 21, payload: Buffer.from('fresh') });
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 21, returnCode: 0 });
    const written = suite.proxy.publishes(connection).slice(before) as IPublishPacket[];
    expect(written.map((p) => [p.topic, p.dup, p.payload.toString()])).toEqual([['inflight/b', false, 'fresh']]);
  });

  it('§6.6 PUBLISHes at QoS 1, 0, 2 and 1 sent back to back reach the broker in that order (the batched ones are written before a QoS 2 one goes through mqtt.js)', async () => {
    const s = await suite.gw.sensor();
    await connect(s, 'inflight-order');
    const topicId = await register(s, 'inflight/order');
    const connection = suite.proxy.connectionCount;
    const before = suite.proxy.publishes(connection).length;
    const qos = [1, 0, 2, 1] as const;
    qos.forEach((q, i) => s.send({ type: 'PUBLISH', dup: false, qos: q, retain: false, topicIdType: 'normal', topicId, msgId: 31 + i, payload: Buffer.from(`o${i + 1}`) }));
    await until(() => suite.proxy.publishes(connection).length - before === 4, undefined, () => `gateway wrote ${suite.proxy.publishes(connection).length - before}/4 PUBLISHes`);
    const written = suite.proxy.publishes(connection).slice(before) as IPublishPacket[];
    expect(written.map((p) => [p.qos, p.payload.toString()])).toEqual([[1, 'o1'], [0, 'o2'], [2, 'o3'], [1, 'o4']]);
  });
});

describe('04 the pre-encoded PUBLISH on MQTT 5 (Mosquitto)', () => {
  const suite = suiteBehindProxy(5, 'v5pre/#');

  it('§6.6 MQTT 5: QoS 0 and retained QoS 1 messages reach the broker as sent, and the QoS 1 one is PUBACKed', async () => {
    const s = await suite.gw.sensor();
    await connect(s, 'v5-pre');
    const topicId = await register(s, 'v5pre/a');
    s.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'normal', topicId, msgId: 0, payload: Buffer.from('zero') });
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: true, topicIdType: 'normal', topicId, msgId: 5, payload: Buffer.from('one') });
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 5, returnCode: 0 });
    const got = await suite.observer.waitFor(2, 'v5pre/a');
    expect(got.map((m) => [m.payload, m.qos, m.retain])).toEqual([['zero', 0, false], ['one', 1, false]]);
    // On the wire: one QoS 0 and one retained QoS 1 PUBLISH, read back by an MQTT 5 parser.
    const wire = suite.proxy.publishes(suite.proxy.connectionCount) as IPublishPacket[];
    expect(wire.map((p) => [p.topic, p.qos, p.retain, p.payload.toString()])).toEqual([['v5pre/a', 0, false, 'zero'], ['v5pre/a', 1, true, 'one']]);
  });
});
