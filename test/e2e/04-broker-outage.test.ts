/**
 * Aggregating upstream: a broker outage loses no QoS 1/2 message; the gateway reconnects with backoff,
 * holds what sensors send (bounded), and answers congestion past the bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, Observer, register, startBroker, startGateway, testConfig, until, type Broker, type GatewayUnderTest } from '../support/harness.js';
import { expectNothingPending } from '../support/flows.js';

describe('04 broker outage (Mosquitto)', () => {
  let broker: Broker;
  let gw: GatewayUnderTest;

  beforeAll(async () => {
    broker = await startBroker('mosquitto');
    const config = testConfig(broker.url);
    config.gateway.maxOutgoingQueue = 3;
    gw = await startGateway(config);
  });
  afterAll(async () => {
    await gw?.stop();
    await broker?.stop();
  });

  it('QoS 1/2 messages sent while the broker is away are held, acknowledged once it returns, and delivered; past the bound PUBACK 0x01', async () => {
    const s = await gw.sensor();
    await connect(s, 'o-sensor');
    const id = await register(s, 'o/held');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 90, topic: { topicIdType: 'normal', topicName: 'o/back' } });
    await s.expect('SUBACK');

    await broker.kill!();
    await until(() => !gw.gateway.upstream.connected, undefined, () => 'gateway noticed the outage');

    // Retained, so the observer that connects after the outage sees what the broker accepted.
    const send = (msgId: number, qos: 1 | 2, topicId = id) =>
      s.send({ type: 'PUBLISH', dup: false, qos, retain: true, topicIdType: 'normal', topicId, msgId, payload: Buffer.from(`m${msgId}`) });
    const id2 = await register(s, 'o/held2');
    const id3 = await register(s, 'o/held3');
    send(1, 1);
    send(2, 2, id2);
    // A DUP resend of a held message is not held twice.
    s.send({ type: 'PUBLISH', dup: true, qos: 1, retain: true, topicIdType: 'normal', topicId: id, msgId: 1, payload: Buffer.from('m1') });
    send(3, 1, id3);
    await expectNothingPending(s); // nothing is acknowledged while the broker is away
    send(4, 1, id3);
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 4, returnCode: 1 }); // congestion: queue of 3 is full

    await broker.restart!();
    const acks = [await s.next(), await s.next(), await s.next()];
    expect(acks.map((a) => a.type === 'PUBACK' || a.type === 'PUBREC' ? [a.type, a.msgId] : a.type).sort()).toEqual([['PUBACK', 1], ['PUBACK', 3], ['PUBREC', 2]]);
    s.send({ type: 'PUBREL', msgId: 2 });
    expect(await s.expect('PUBCOMP')).toEqual({ type: 'PUBCOMP', msgId: 2 });

    const observer = await Observer.connect(broker.url);
    try {
      await observer.subscribe('o/#');
      const got = await observer.waitFor(3);
      expect(got.map((m) => `${m.topic}=${m.payload}`).sort()).toEqual(['o/held2=m2', 'o/held3=m3', 'o/held=m1']);
      // The gateway subscribed again after the outage: broker → sensor flows.
      await observer.publish('o/back', 'again', 1);
      const p = await s.expect('PUBLISH');
      expect(p.payload.toString()).toBe('again');
    } finally {
      await observer.close();
    }
  });
});
