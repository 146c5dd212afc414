/**
 * What sensors and outside MQTT clients see of the gateway's broker subscriptions on the shipped config's
 * embedded broker, now registered with aedes in process (gateway/broker/aedes-subscriptions.ts), not as
 * SUBSCRIBE packets over the in-memory connection. Real parts: the gateway with its embedded broker,
 * persistence on, real UDP sensors, plain MQTT clients of that broker over TCP.
 */
import { describe, expect, it } from 'vitest';
import { SnUdpPeer } from '../../client/udp-peer.js';
import type { GatewayConfig } from '../../gateway/config/config-types.js';
import { receivePublish, settled, subscribe } from '../support/flows.js';
import * as fixture from '../support/embedded-gateway.js';
import { connect, Observer, until, type GatewayUnderTest } from '../support/harness.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const cleanups = cleanupsAfterEach();

const { shippedLikeConfig } = fixture;
const newStateDir = () => fixture.newStateDir(cleanups);
const up = (config: GatewayConfig) => fixture.up(cleanups, config);
const outside = (gw: GatewayUnderTest, ...filters: string[]) => fixture.observer(cleanups, gw, ...filters);

/** The sensor's next PUBLISH, after answering the REGISTER a wildcard subscription brings first (§6.5). */
async function nextOnWildcard(s: SnUdpPeer, topicName: string): Promise<{ payload: string; qos: number; retain: boolean }> {
  const reg = await s.expect('REGISTER');
  expect(reg.topicName).toBe(topicName);
  s.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
  const p = await receivePublish(s);
  return { payload: p.payload.toString(), qos: p.qos, retain: p.retain };
}

/** Nothing more is queued for the sensor: its PINGREQ is answered next. */
async function nothingMore(s: SnUdpPeer): Promise<void> {
  s.send({ type: 'PINGREQ' });
  await s.expect('PINGRESP');
}

describe('34 the embedded broker: the gateway\'s subscriptions in process', () => {
  it('§6.9 MQTT 3.1.1 §3.8.4: a subscribing sensor gets the broker\'s retained message flagged retained; a second sensor on the same filter gets it too, the first not again', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const publisher = await outside(gw);
    await publisher.publish('cfg/room', 'kept', 1, true);
    const first = await gw.sensor();
    const second = await gw.sensor();
    await connect(first, 'ret-1');
    await connect(second, 'ret-2');
    const { topicId } = await subscribe(first, 'cfg/room', 1);
    const p1 = await receivePublish(first);
    expect([p1.payload.toString(), p1.retain, p1.topicId, p1.qos]).toEqual(['kept', true, topicId, 1]);
    await subscribe(second, 'cfg/room', 1);
    const p2 = await receivePublish(second);
    expect([p2.payload.toString(), p2.retain]).toEqual(['kept', true]);
    await nothingMore(first);
    // Live messages afterwards: to both, not flagged retained.
    await publisher.publish('cfg/room', 'live', 1, true);
    for (const s of [first, second]) {
      const live = await receivePublish(s);
      expect([live.payload.toString(), live.retain]).toEqual(['live', false]);
    }
  });

  it('§6.10 MQTT 3.1.1 §3.3.5: a sensor with overlapping subscriptions gets a message once, at the higher of its grants', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const s = await gw.sensor();
    await connect(s, 'overlap-1');
    await subscribe(s, 'ov/#', 0);
    await subscribe(s, 'ov/+', 1, 101);
    const publisher = await outside(gw);
    await publisher.publish('ov/x', 'once', 2);
    expect(await nextOnWildcard(s, 'ov/x')).toEqual({ payload: 'once', qos: 1, retain: false });
    await nothingMore(s);
  });

  it('§6.9 each sensor gets a broker message at its own grant: QoS 0 for one granted 0, QoS 1 for one granted 1', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const low = await gw.sensor();
    const high = await gw.sensor();
    await connect(low, 'grant-0');
    await connect(high, 'grant-1');
    await subscribe(low, 'grant/t', 0);
    await subscribe(high, 'grant/t', 1);
    const publisher = await outside(gw);
    await publisher.publish('grant/t', 'x', 2);
    expect((await receivePublish(low)).qos).toBe(0);
    expect((await receivePublish(high)).qos).toBe(1);
  });

  it('§6.9 MQTT 3.1.1 §4.7.2 [MQTT-4.7.2-1]: a sensor subscribed to # does not get a `$` topic', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const s = await gw.sensor();
    await connect(s, 'all-1');
    await subscribe(s, '#', 0);
    const publisher = await outside(gw);
    await publisher.publish('$dollar/x', 'not for #', 1);
    await publisher.publish('plain/x', 'for #', 1);
    expect(await nextOnWildcard(s, 'plain/x')).toMatchObject({ payload: 'for #' });
  });

  it('MQTT 3.1.1: outside clients still see the broker\'s $SYS/<id>/new/subscribes for the gateway\'s subscription', async () => {
    const gw = await up(shippedLikeConfig(newStateDir()));
    const watcher = await outside(gw, '$SYS/+/new/subscribes');
    const s = await gw.sensor();
    await connect(s, 'announced-1');
    await subscribe(s, 'announce/me', 1);
    await until(() => watcher.messages.some((m) => m.payload.includes('announce/me')));
    const body = JSON.parse(watcher.messages.find((m) => m.payload.includes('announce/me'))!.payload) as unknown;
    expect(body).toEqual({ clientId: gw.gateway.config.broker.clientId, subs: [{ topic: 'announce/me', qos: 2 }] });
  });

  it('§6.9 status topics: a sensor subscribing to another sensor\'s status topic gets its current state as a retained message (rendered by the broker on demand)', async () => {
    const gw = await up(shippedLikeConfig(newStateDir(), 0, 'status: { prefix: st/7/ }'));
    const watched = await gw.sensor();
    await connect(watched, 'watched-1');
    const watcher = await gw.sensor();
    await connect(watcher, 'watcher-1');
    const { topicId } = await subscribe(watcher, 'st/7/clients/watched-1', 0);
    const p = await receivePublish(watcher);
    expect([p.topicId, p.retain]).toEqual([topicId, true]);
    expect(JSON.parse(p.payload.toString())).toMatchObject({ clientId: 'watched-1', state: 'active' });
  });

  it('§6.14 a QoS 1 message from an outside publisher to a sleeping CleanSession=0 sensor survives a gateway restart', async () => {
    const stateDir = newStateDir();
    const first = await up(shippedLikeConfig(stateDir));
    const port = first.port;
    const { sensor: s, topicId } = await fixture.keptSubscriber(cleanups, first, 'sleeper-e', 'cmd/sleeper-e', 1);
    s.send({ type: 'DISCONNECT', duration: 600 });
    await s.expect('DISCONNECT');
    const publisher = await outside(first);
    await publisher.publish('cmd/sleeper-e', 'wake up', 1);
    await settled(first, 'sleeper-e', (c) => c.buffered === 1);
    await first.stop();

    const second = await up(shippedLikeConfig(stateDir, port));
    expect(second.gateway.core.client('sleeper-e')).toMatchObject({ state: 'asleep', buffered: 1 });
    s.send({ type: 'PINGREQ', clientId: 'sleeper-e' });
    const p = await receivePublish(s);
    expect([p.payload.toString(), p.qos, p.topicId]).toEqual(['wake up', 1, topicId]);
    await s.expect('PINGRESP');
  });
});
