/**
 * The gateway as the shipped gateway.yaml runs it: no broker URL (its own embedded aedes broker, reached in
 * memory), persistence and status topics on, real UDP sensors, and plain MQTT clients of that broker over
 * TCP. What they see must not depend on how the embedded broker keeps its subscriptions and retained
 * messages (gateway/broker/lean-persistence.ts, lean-mqemitter.ts; issue 13's per-sensor memory).
 */
import { describe, expect, it } from 'vitest';
import { SnUdpPeer } from '../../client/udp-peer.js';
import type { GatewayConfig } from '../../gateway/config/config-types.js';
import { ENDED_SESSION_KEPT_MS } from '../../gateway/core/core.js';
import { receivePublish, subscribe } from '../support/flows.js';
import * as fixture from '../support/embedded-gateway.js';
import { connect, Observer, until, type GatewayUnderTest } from '../support/harness.js';
import { metric, scrape } from '../support/http.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const PREFIX = 'mqtt-sn/7/';
const cleanups = cleanupsAfterEach();

/** The shipped config's shape, with status topics under PREFIX. */
const shippedLikeConfig = (stateDir: string, port = 0) => fixture.shippedLikeConfig(stateDir, port, `status: { prefix: ${PREFIX} }`);
const newStateDir = () => fixture.newStateDir(cleanups);
const up = (config: GatewayConfig) => fixture.up(cleanups, config);
const observer = (gw: GatewayUnderTest, ...filters: string[]) => fixture.observer(cleanups, gw, ...filters);

async function sensor(gw: GatewayUnderTest): Promise<SnUdpPeer> {
  return gw.sensor();
}

const statusOf = (payload: string): { clientId: string; state: string } => JSON.parse(payload) as { clientId: string; state: string };

describe('34 the shipped config\'s embedded broker', () => {
  it('§6.9 a CleanSession=0 sensor\'s subscription still delivers after a gateway restart with persistence (a new embedded broker, subscribed again)', async () => {
    const stateDir = newStateDir();
    const first = await up(shippedLikeConfig(stateDir));
    const port = first.port;
    const { sensor: s, topicId } = await fixture.keptSubscriber(cleanups, first, 'kept-sub', 'cmd/kept-sub/set', 1);
    await first.stop();

    const second = await up(shippedLikeConfig(stateDir, port));
    const publisher = await observer(second);
    // The gateway subscribes again at its new broker as it connects: QoS 0 probes until one reaches it.
    await until(() => {
      void publisher.publish('cmd/kept-sub/set', 'probe', 0);
      return second.brokerMessages.some((m) => m.topic === 'cmd/kept-sub/set');
    });
    await publisher.publish('cmd/kept-sub/set', 'on', 1);
    let p = await receivePublish(s);
    while (p.payload.toString() === 'probe') p = await receivePublish(s);
    expect([p.payload.toString(), p.topicId, p.qos]).toEqual(['on', topicId, 1]);
  });

  it('§6.10 MQTT 3.1.1 §4.7: an exact and a wildcard subscription of two sensors both get a QoS 1 message, once each', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const exact = await sensor(gw);
    const wild = await sensor(gw);
    await connect(exact, 'exact-1');
    await connect(wild, 'wild-1');
    await subscribe(exact, 'cmd/exact-1/set', 1);
    await subscribe(wild, 'cmd/+/set', 1);
    const publisher = await observer(gw);
    await publisher.publish('cmd/exact-1/set', 'first', 1);
    await publisher.publish('cmd/other/set', 'second', 1);
    expect((await receivePublish(exact)).payload.toString()).toBe('first');
    for (const [topicName, payload] of [['cmd/exact-1/set', 'first'], ['cmd/other/set', 'second']]) {
      // A wildcard subscription: the gateway names each topic first (§6.5, §6.10).
      const reg = await wild.expect('REGISTER');
      expect(reg.topicName).toBe(topicName);
      wild.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
      expect((await receivePublish(wild)).payload.toString()).toBe(payload);
    }
    // Nothing more for the exact one: its PINGREQ is answered next.
    exact.send({ type: 'PINGREQ' });
    await exact.expect('PINGRESP');
  });

  it('status topics: a subscriber that comes later gets a sensor\'s state by exact topic and by wildcard, the fields as published, lastSeen as of then', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const live = await observer(gw, `${PREFIX}clients/#`);
    const s = await sensor(gw);
    await connect(s, 'status-late');
    const topic = `${PREFIX}clients/status-late`;
    const [published] = await live.waitFor(1, topic);
    const { lastSeen: publishedSeen, ...fields } = JSON.parse(published.payload) as Record<string, unknown>;
    expect(fields).toMatchObject({ clientId: 'status-late', state: 'active' });

    const late = await observer(gw, topic, `${PREFIX}clients/+`);
    const retained = await late.waitFor(2, topic);
    for (const message of retained) {
      expect({ ...message, payload: '' }).toEqual({ topic, payload: '', qos: 0, retain: true });
      const { lastSeen, ...rest } = JSON.parse(message.payload) as Record<string, unknown>;
      expect(rest).toEqual(fields);
      // Rendered from the session when asked: the same frame seen, the time read off the clock again.
      expect(Date.parse(lastSeen as string)).toBeGreaterThanOrEqual(Date.parse(publishedSeen as string) - 1);
    }
  });

  it('status topics: the broker stores none of them; a later subscriber gets each sensor\'s state now, one per session', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const broker = gw.gateway.embeddedBroker!;
    const live = await observer(gw, `${PREFIX}clients/+`);
    const storedBefore = broker.retainedStored; // <prefix>status ("online"), the gateway's own
    const sleeper = await sensor(gw);
    await connect(sleeper, 'status-now-sleeper', { duration: 30 });
    const awake = await sensor(gw);
    await connect(awake, 'status-now-awake');
    sleeper.send({ type: 'DISCONNECT', duration: 600 });
    await sleeper.expect('DISCONNECT');
    await until(() => live.messages.some((m) => m.topic.endsWith('/status-now-sleeper') && statusOf(m.payload).state === 'asleep'));
    expect(broker.retainedStored).toBe(storedBefore);

    const late = await observer(gw, `${PREFIX}clients/+`);
    const retained = await late.waitFor(2);
    expect(retained.map((m) => [m.topic, statusOf(m.payload).state, m.retain]).sort()).toEqual([
      [`${PREFIX}clients/status-now-awake`, 'active', true],
      [`${PREFIX}clients/status-now-sleeper`, 'asleep', true],
    ]);
  });

  it('status topics: a ClientId with "/" or "+" is found by its percent-encoded level, exactly and by wildcard; a level that only decodes to it is not its topic', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const live = await observer(gw, `${PREFIX}clients/+`);
    const s = await sensor(gw);
    await connect(s, 'room/1+A');
    const topic = `${PREFIX}clients/room%2F1%2BA`;
    await live.waitFor(1, topic);
    // `%72oom%2F1%2BA` (%72 is "r") decodes to the same ClientId but is not how its topic is written: the marker comes, nothing for it.
    await live.publish('marker/encoded', 'marker', 1, true);
    const late = await Observer.connect(gw.gateway.brokerUrl);
    cleanups.push(() => late.close());
    await late.client.subscribeAsync([topic, `${PREFIX}clients/%72oom%2F1%2BA`, `${PREFIX}clients/+`, 'marker/encoded'], { qos: 1 });
    await late.waitFor(1, 'marker/encoded');
    expect(late.messages.map((m) => m.topic)).toEqual([topic, topic, 'marker/encoded']);
    expect(statusOf(late.messages[0].payload).clientId).toBe('room/1+A');
  });

  it('status topics: a retained message another client publishes under <prefix>clients/ is delivered live, not kept: the topic\'s retained message stays the gateway\'s', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const live = await observer(gw, `${PREFIX}clients/+`);
    const s = await sensor(gw);
    await connect(s, 'status-owned');
    const topic = `${PREFIX}clients/status-owned`;
    await live.waitFor(1, topic);
    const other = await observer(gw);
    await other.publish(topic, 'not the gateway\'s', 1, true);
    await other.publish(`${PREFIX}clients/no-such-sensor`, 'nor this', 1, true);
    await live.waitFor(1, `${PREFIX}clients/no-such-sensor`);
    expect(live.messages.filter((m) => m.topic === topic).map((m) => m.payload)).toContain('not the gateway\'s');

    await other.publish('marker/owned', 'marker', 1, true);
    const late = await Observer.connect(gw.gateway.brokerUrl);
    cleanups.push(() => late.close());
    await late.client.subscribeAsync([`${PREFIX}clients/+`, 'marker/owned'], { qos: 1 });
    await late.waitFor(1, 'marker/owned');
    expect(late.messages.map((m) => m.topic)).toEqual([topic, 'marker/owned']);
    expect(statusOf(late.messages[0].payload)).toMatchObject({ clientId: 'status-owned', state: 'active' });
  });

  it('status topics: a forgotten session\'s retained state is cleared: a later subscriber gets none, only the retained message of the topic it asked for after it', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const live = await observer(gw, `${PREFIX}clients/#`);
    const s = await sensor(gw);
    await connect(s, 'status-gone');
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    const topic = `${PREFIX}clients/status-gone`;
    await until(() => live.messages.some((m) => m.topic === topic && m.payload !== '' && statusOf(m.payload).state === 'disconnected'));
    gw.advance(ENDED_SESSION_KEPT_MS / 1000 + 2);
    await until(() => live.messages.some((m) => m.topic === topic && m.payload === ''), undefined, () => JSON.stringify(live.messages));

    // The broker sends the retained messages of one SUBSCRIBE's filters in their order: the marker's
    // arrives after anything for the cleared topic would have.
    await live.publish('marker/after-cleared', 'marker', 1, true);
    const late = await Observer.connect(gw.gateway.brokerUrl);
    cleanups.push(() => late.close());
    await late.client.subscribeAsync([topic, 'marker/after-cleared'], { qos: 1 });
    await late.waitFor(1, 'marker/after-cleared');
    expect(late.messages.map((m) => m.topic)).toEqual(['marker/after-cleared']);
  });

  it('MQTT 3.1.1 §3.3.1.3: a sensor\'s retained QoS 1 PUBLISH is kept by the embedded broker at QoS 1, payload bytes as sent', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const s = await sensor(gw);
    await connect(s, 'retainer-1');
    s.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'sn/retained/bin' });
    const { topicId } = await s.expect('REGACK');
    const bytes = Buffer.from([0x00, 0xff, 0x80, 0xc3, 0x28]);
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: true, topicIdType: 'normal', topicId, msgId: 2, payload: bytes });
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 2, returnCode: 0 });
    const late = await Observer.connect(gw.gateway.brokerUrl);
    cleanups.push(() => late.close());
    const got = new Promise<{ payload: Buffer; qos: number; retain: boolean }>((resolve) => late.client.once('message', (_t, payload, packet) => resolve({ payload, qos: packet.qos, retain: packet.retain })));
    await late.subscribe('sn/retained/+', 1);
    expect(await got).toEqual({ payload: bytes, qos: 1, retain: true });
  });

  it('/metrics of the shipped config counts the embedded broker\'s early QoS 2 acknowledgements, as the broker does', async () => {
    const config = shippedLikeConfig(newStateDir());
    config.http = { host: '127.0.0.1', port: 0 };
    const gw = await up(config);
    const publisher = await observer(gw);
    await publisher.publish('early/none', 'stored in time', 2);
    const text = await scrape(gw);
    expect(text).toContain('# TYPE mqttsn_embedded_broker_early_acks_total counter');
    expect(metric(text, 'mqttsn_embedded_broker_early_acks_total')).toBe(gw.gateway.embeddedBroker!.acknowledgedEarly);
  });

  it('the embedded broker keeps MQTT clients\' retained messages in memory only: after a restart a new subscriber gets the gateway\'s own status, not a retained message a client published before', async () => {
    const stateDir = newStateDir();
    const first = await up(shippedLikeConfig(stateDir));
    const publisher = await observer(first);
    await publisher.publish('house/mode', 'away', 1, true);
    const meanwhile = await observer(first, 'house/mode');
    expect(await meanwhile.waitFor(1, 'house/mode')).toMatchObject([{ payload: 'away', retain: true }]);
    await first.stop();

    const second = await up(shippedLikeConfig(stateDir, first.port));
    // Retained messages come right after their SUBACK, subscription by subscription: house/mode's would come first.
    const later = await observer(second, 'house/mode', `${PREFIX}status`);
    expect(await later.waitFor(1, `${PREFIX}status`)).toMatchObject([{ payload: 'online', retain: true }]);
    expect(later.messages.filter((m) => m.topic === 'house/mode')).toEqual([]);
  });
});
