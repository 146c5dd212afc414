/**
 * §6.7/§6.8 fleets: predefined topic templates expanded per client (`{clientId}`) and per address
 * (`{address}`), end to end through a real Mosquitto, checked by a plain MQTT subscriber.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config/config.js';
import { connect, gatewaySuite, until } from '../support/harness.js';

const topicsYaml = `
topics:
  predefined:
    21: fleet/{clientId}/temperature
    22: fleet/by-address/{address}
    23: fleet/plain
  clients:
    kitchen-node:
      predefined:
        30: kitchen/{clientId}/door
`;

describe('22 fleet templates (mosquitto)', () => {
  const logs: string[] = [];
  const t = gatewaySuite('mosquitto', {
    configure: (config) => { config.topics = parseConfig(topicsYaml, 'fleet.yaml').topics; },
    observe: [{ filter: 'fleet/#', qos: 1 }, { filter: 'kitchen/#', qos: 1 }],
    started: (gw) => gw.gateway.core.events.on('log', (level, message) => logs.push(`${level} ${message}`)),
  });

  const publish = (topicId: number, qos: -1 | 0 | 1, msgId: number, payload: string) => ({
    type: 'PUBLISH' as const, dup: false, qos, retain: false, topicIdType: 'predefined' as const, topicId, msgId, payload: Buffer.from(payload),
  });

  it('§6.7 two sensors publishing with the same predefined id land on their own {clientId} topics', async () => {
    const a = await t.gw.sensor();
    const b = await t.gw.sensor();
    await connect(a, 'fleet-a');
    await connect(b, 'fleet-b');
    a.send(publish(21, 1, 1, '20.5'));
    b.send(publish(21, 1, 1, '19.0'));
    expect(await a.expect('PUBACK')).toMatchObject({ topicId: 21, returnCode: 0 });
    expect(await b.expect('PUBACK')).toMatchObject({ topicId: 21, returnCode: 0 });
    expect((await t.observer.waitFor(1, 'fleet/fleet-a/temperature'))[0].payload).toBe('20.5');
    expect((await t.observer.waitFor(1, 'fleet/fleet-b/temperature'))[0].payload).toBe('19.0');
  });

  it('§6.8 QoS -1 from a sensor that never connected expands {address} to its radio address', async () => {
    const s = await t.gw.sensor();
    s.send(publish(22, -1, 0, 'ping'));
    const [m] = await t.observer.waitFor(1, `fleet/by-address/${s.localAddress}`);
    expect(m.payload).toBe('ping');
  });

  it('§6.7 a template that expands to an invalid topic refuses that PUBLISH with PUBACK 0x02 and a log line', async () => {
    const bad = await t.gw.sensor();
    await connect(bad, 'bad+node');
    bad.send(publish(21, 1, 5, 'lost?'));
    expect(await bad.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: 21, msgId: 5, returnCode: 2 });
    expect(logs.some((l) => l.startsWith('warn bad+node: predefined topic id 21 refused') && l.includes('"fleet/bad+node/temperature"'))).toBe(true);
    // The same sensor's next publish on a concrete id still goes through, and nothing else reached fleet/.
    bad.send(publish(23, 1, 6, 'still served'));
    expect(await bad.expect('PUBACK')).toMatchObject({ msgId: 6, returnCode: 0 });
    await t.observer.waitFor(1, 'fleet/plain');
    expect(t.observer.messages.filter((m) => m.topic.includes('bad'))).toEqual([]);
  });

  it('§6.8 QoS -1 on a {clientId} template from a sensor that never connected is dropped and counted', async () => {
    const s = await t.gw.sensor();
    const before = t.gw.gateway.core.stats.unexpected;
    s.send(publish(21, -1, 0, 'who?'));
    await s.flush();
    // The sender has no ClientId: nothing to expand, so nothing is published (a later message proves the order).
    await until(() => t.gw.gateway.core.stats.unexpected > before, 5000, () => 'the QoS -1 PUBLISH counted as unexpected');
    s.send(publish(23, -1, 0, 'after'));
    await t.observer.waitFor(1, 'fleet/plain');
    expect(t.observer.messages.filter((m) => m.payload === 'who?')).toEqual([]);
  });

  it('§6.9 SUBSCRIBE to a templated predefined id: SUBACK with that id, deliveries of the client\'s own topic by it', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'fleet-sub');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 9, topic: { topicIdType: 'predefined', topicId: 21 } });
    expect(await s.expect('SUBACK')).toMatchObject({ topicId: 21, msgId: 9, returnCode: 0, qos: 1 });
    await t.observer.publish('fleet/fleet-sub/temperature', 'set 18', 1);
    const delivery = await s.expect('PUBLISH');
    expect(delivery).toMatchObject({ topicIdType: 'predefined', topicId: 21, qos: 1 });
    expect(delivery.payload.toString()).toBe('set 18');
  });

  it('§6.7 a template in a per-client section expands for that client', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'kitchen-node');
    s.send(publish(30, 1, 2, 'open'));
    expect(await s.expect('PUBACK')).toMatchObject({ returnCode: 0 });
    expect((await t.observer.waitFor(1, 'kitchen/kitchen-node/door'))[0].payload).toBe('open');
  });
});
