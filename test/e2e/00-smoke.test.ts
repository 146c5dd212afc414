import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, Observer, register, startBroker, startGateway, testConfig, type Broker, type GatewayUnderTest } from '../support/harness.js';

describe('smoke', () => {
  let broker: Broker;
  let gw: GatewayUnderTest;
  let observer: Observer;
  beforeAll(async () => {
    broker = await startBroker('mosquitto');
    gw = await startGateway(testConfig(broker.url));
    observer = await Observer.connect(broker.url);
    await observer.subscribe('#');
  });
  afterAll(async () => {
    await observer?.close();
    await gw?.stop();
    await broker?.stop();
  });
  it('publishes QoS 1', async () => {
    const s = await gw.sensor();
    await connect(s, 'smoke1');
    const id = await register(s, 'home/x');
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 5, payload: Buffer.from('21.5') });
    const ack = await s.expect('PUBACK');
    expect(ack).toMatchObject({ msgId: 5, returnCode: 0, topicId: id });
    const got = await observer.waitFor(1, 'home/x');
    expect(got[0]).toMatchObject({ payload: '21.5', qos: 1 });
  });
});
