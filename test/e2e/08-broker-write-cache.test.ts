/**
 * Issue 13, idle footprint: the gateway's broker connection asks mqtt.js for `writeCache: false`, so mqtt-packet
 * writes each two-byte number as it goes instead of building a Buffer for each of the 65,536 of them (6 MB of
 * heap) on the first packet. A file of its own: mqtt-packet's switch is per process, and nothing else here
 * opens an MQTT connection before the gateway does.
 */
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, register, startBroker, startGateway, testConfig, type Broker, type GatewayUnderTest } from '../support/harness.js';

/** The mqtt-packet that mqtt.js itself loads (and aedes with it, deduplicated). */
const fromMqtt = createRequire(createRequire(import.meta.url).resolve('mqtt'));
const writeToStream = fromMqtt('mqtt-packet').writeToStream as { cacheNumbers: boolean };
const numbers = fromMqtt('mqtt-packet/numbers.js') as { cache: Record<number, Buffer> };

describe('08 broker connection: mqtt-packet\'s number cache', () => {
  let broker: Broker | undefined;
  let gw: GatewayUnderTest | undefined;
  afterAll(async () => {
    await gw?.stop();
    await broker?.stop();
  });

  it('the gateway\'s connection turns it off, and a QoS 1 publish through it builds none', async () => {
    expect(writeToStream.cacheNumbers).toBe(true); // mqtt-packet's default, before any connection
    broker = await startBroker('mosquitto');
    gw = await startGateway(testConfig(broker.url));
    expect(writeToStream.cacheNumbers).toBe(false);
    const s = await gw.sensor();
    await connect(s, 'write-cache');
    const topicId = await register(s, 'memory/write-cache');
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 2, payload: Buffer.from('x') });
    expect(await s.expect('PUBACK')).toMatchObject({ returnCode: 0 });
    expect(Object.keys(numbers.cache).length).toBe(0);
  });
});
