/** §6.9, §6.10, §6.5: subscriptions, broker → sensor delivery in every QoS, REGISTER for wildcard matches. */
import { describe, expect, it } from 'vitest';
import { shortTopicId } from '../../sn-codec/index.js';
import type { SnUdpPeer } from '../../client/udp-peer.js';
import { gatewaySuite, connect, until, type BrokerKind } from '../support/harness.js';
import { expectNothingPending, receivePublish } from '../support/flows.js';

describe.each<BrokerKind>(['mosquitto', 'embedded'])('03 subscribe (%s)', (kind) => {
  const t = gatewaySuite(kind, {});

  const subscribeByName = (topicName: string, qos: 0 | 1 | 2, msgId: number) =>
    ({ type: 'SUBSCRIBE' as const, dup: false, qos, msgId, topic: { topicIdType: 'normal' as const, topicName } });

  /** A message on `topic` no longer reaches `s`: a marker published after it, on a filter `s` holds, comes first. */
  async function expectNoLongerDelivered(s: SnUdpPeer, topic: string): Promise<void> {
    s.send(subscribeByName(`s/marker/${s.port}`, 0, 90));
    await s.expect('SUBACK');
    await t.observer.publish(topic, 'not any more', 0);
    await t.observer.publish(`s/marker/${s.port}`, 'marker', 0);
    expect((await s.expect('PUBLISH')).payload.toString()).toBe('marker');
  }

  it('§6.9 SUBSCRIBE by name: SUBACK carries the topic id and granted QoS; §6.10 QoS 0 delivery uses that id', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-name');
    s.send(subscribeByName('s/name', 0, 1));
    const suback = await s.expect('SUBACK');
    expect(suback).toMatchObject({ msgId: 1, qos: 0, returnCode: 0 });
    expect(suback.topicId).toBeGreaterThan(0);
    await t.observer.publish('s/name', 'hello', 0);
    expect(await s.expect('PUBLISH')).toMatchObject({ qos: 0, topicIdType: 'normal', topicId: suback.topicId, msgId: 0, payload: Buffer.from('hello') });
  });

  it('§6.10 broker → sensor QoS 1: PUBLISH, PUBACK', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-q1');
    s.send(subscribeByName('s/q1', 1, 2));
    const { topicId } = await s.expect('SUBACK');
    await t.observer.publish('s/q1', 'one', 1);
    const p = await s.expect('PUBLISH');
    expect(p).toMatchObject({ qos: 1, topicId, dup: false, payload: Buffer.from('one') });
    expect(p.msgId).toBeGreaterThan(0);
    s.send({ type: 'PUBACK', topicId, msgId: p.msgId, returnCode: 0 });
    await until(() => t.gw.gateway.core.client('s-q1')!.inflight === 0);
  });

  it('§6.10 broker → sensor QoS 2: PUBLISH, PUBREC, PUBREL, PUBCOMP', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-q2');
    s.send(subscribeByName('s/q2', 2, 3));
    expect(await s.expect('SUBACK')).toMatchObject({ qos: 2, returnCode: 0 });
    await t.observer.publish('s/q2', 'two', 2);
    const p = await s.expect('PUBLISH');
    expect(p).toMatchObject({ qos: 2, payload: Buffer.from('two') });
    s.send({ type: 'PUBREC', msgId: p.msgId });
    expect(await s.expect('PUBREL')).toEqual({ type: 'PUBREL', msgId: p.msgId });
    s.send({ type: 'PUBCOMP', msgId: p.msgId });
    await until(() => t.gw.gateway.core.client('s-q2')!.inflight === 0);
  });

  it('§6.10 delivery QoS is the lower of the subscription and the message', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-min');
    s.send(subscribeByName('s/min', 0, 4));
    await s.expect('SUBACK');
    await t.observer.publish('s/min', 'x', 2);
    expect(await s.expect('PUBLISH')).toMatchObject({ qos: 0, msgId: 0 });
  });

  it('§6.9 §6.5 wildcard SUBSCRIBE: SUBACK topic id 0x0000; each new topic is REGISTERed before its PUBLISH', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-wild');
    s.send(subscribeByName('s/wild/+/temp', 1, 5));
    expect(await s.expect('SUBACK')).toMatchObject({ topicId: 0, qos: 1, returnCode: 0 });
    s.send(subscribeByName('s/deep/#', 1, 6));
    expect(await s.expect('SUBACK')).toMatchObject({ topicId: 0, returnCode: 0 });
    await t.observer.publish('s/wild/kitchen/temp', '20', 1);
    const reg = await s.expect('REGISTER');
    expect(reg).toMatchObject({ topicName: 's/wild/kitchen/temp' });
    expect(reg.topicId).toBeGreaterThan(0);
    // Nothing is published before the REGACK.
    await expectNothingPending(s);
    s.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const p = await s.expect('PUBLISH');
    expect(p).toMatchObject({ topicIdType: 'normal', topicId: reg.topicId, payload: Buffer.from('20') });
    s.send({ type: 'PUBACK', topicId: p.topicId, msgId: p.msgId, returnCode: 0 });
    // The same topic again needs no second REGISTER.
    await t.observer.publish('s/wild/kitchen/temp', '21', 1);
    const again = await s.expect('PUBLISH');
    expect(again).toMatchObject({ topicId: reg.topicId, payload: Buffer.from('21') });
    s.send({ type: 'PUBACK', topicId: again.topicId, msgId: again.msgId, returnCode: 0 });
    await t.observer.publish('s/deep/a/b/c', 'deep', 0);
    const reg2 = await s.expect('REGISTER');
    expect(reg2.topicName).toBe('s/deep/a/b/c');
    s.send({ type: 'REGACK', topicId: reg2.topicId, msgId: reg2.msgId, returnCode: 0 });
    expect(await s.expect('PUBLISH')).toMatchObject({ qos: 0, topicId: reg2.topicId, payload: Buffer.from('deep') });
  });

  it('§6.9 SUBSCRIBE by short name: deliveries carry the short name', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-short');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 7, topic: { topicIdType: 'short', topicId: shortTopicId('qq') } });
    expect(await s.expect('SUBACK')).toMatchObject({ returnCode: 0, msgId: 7 });
    await t.observer.publish('qq', 'shorty', 0);
    expect(await s.expect('PUBLISH')).toMatchObject({ topicIdType: 'short', topicId: shortTopicId('qq'), payload: Buffer.from('shorty') });
  });

  it('§6.9 SUBSCRIBE by predefined id: SUBACK carries the id, deliveries use it; an unknown id is refused', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-pre');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 8, topic: { topicIdType: 'predefined', topicId: 2 } });
    expect(await s.expect('SUBACK')).toMatchObject({ topicId: 2, qos: 1, returnCode: 0 });
    await t.observer.publish('sn/predefined/two', 'p2', 1);
    const p = await s.expect('PUBLISH');
    expect(p).toMatchObject({ topicIdType: 'predefined', topicId: 2, payload: Buffer.from('p2') });
    s.send({ type: 'PUBACK', topicId: 2, msgId: p.msgId, returnCode: 0 });
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 9, topic: { topicIdType: 'predefined', topicId: 777 } });
    expect(await s.expect('SUBACK')).toMatchObject({ msgId: 9, returnCode: 2 });
  });

  it('§6.9 an invalid filter is refused with SUBACK 0x02', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-bad');
    s.send(subscribeByName('s/#/x', 0, 10));
    expect(await s.expect('SUBACK')).toMatchObject({ msgId: 10, returnCode: 2 });
  });

  it('§6.9 retained messages on the broker reach a new subscriber, flagged retained, and only that subscriber', async () => {
    await t.observer.publish('s/ret/a', 'stored', 1, true);
    const first = await t.gw.sensor();
    await connect(first, 's-ret-1');
    first.send(subscribeByName('s/ret/a', 0, 11));
    await first.expect('SUBACK');
    expect(await first.expect('PUBLISH')).toMatchObject({ retain: true, payload: Buffer.from('stored') });
    const second = await t.gw.sensor();
    await connect(second, 's-ret-2');
    second.send(subscribeByName('s/ret/a', 0, 12));
    await second.expect('SUBACK');
    expect(await second.expect('PUBLISH')).toMatchObject({ retain: true, payload: Buffer.from('stored') });
    // The first subscriber already had it: it does not get it again.
    await expectNothingPending(first);
    // A live message goes to both, not flagged retained.
    await t.observer.publish('s/ret/a', 'live', 0);
    expect(await first.expect('PUBLISH')).toMatchObject({ retain: false, payload: Buffer.from('live') });
    expect(await second.expect('PUBLISH')).toMatchObject({ retain: false, payload: Buffer.from('live') });
    await t.observer.publish('s/ret/a', '', 1, true);
  });

  it('§6.10 overlapping subscriptions: one copy, at the highest QoS among them', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-overlap');
    s.send(subscribeByName('s/over/#', 0, 1));
    await s.expect('SUBACK');
    s.send(subscribeByName('s/over/x', 2, 2));
    const { topicId } = await s.expect('SUBACK');
    s.send(subscribeByName('s/over/+', 1, 3));
    await s.expect('SUBACK');
    await t.observer.publish('s/over/x', 'once', 2);
    const p = await receivePublish(s);
    expect(p).toMatchObject({ qos: 2, topicId, payload: Buffer.from('once') });
    // A marker behind it on the broker: the next frame is its PUBLISH, not a second copy.
    await t.observer.publish('s/over/x', 'marker', 0);
    expect((await receivePublish(s)).payload.toString()).toBe('marker');
  });

  it('§6.9 UNSUBSCRIBE by short name ends the subscription made by short name', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-unsub-short');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'short', topicId: shortTopicId('us') } });
    await s.expect('SUBACK');
    s.send({ type: 'UNSUBSCRIBE', msgId: 2, topic: { topicIdType: 'short', topicId: shortTopicId('us') } });
    expect(await s.expect('UNSUBACK')).toEqual({ type: 'UNSUBACK', msgId: 2 });
    expect(t.gw.gateway.core.client('s-unsub-short')!.subscriptions).toEqual([]);
    await expectNoLongerDelivered(s, 'us');
  });

  it('§6.9 UNSUBSCRIBE by predefined id ends the subscription made by that id', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-unsub-pre');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'predefined', topicId: 1 } });
    expect(await s.expect('SUBACK')).toMatchObject({ topicId: 1, returnCode: 0 });
    s.send({ type: 'UNSUBSCRIBE', msgId: 2, topic: { topicIdType: 'predefined', topicId: 1 } });
    expect(await s.expect('UNSUBACK')).toEqual({ type: 'UNSUBACK', msgId: 2 });
    expect(t.gw.gateway.core.client('s-unsub-pre')!.subscriptions).toEqual([]);
    await expectNoLongerDelivered(s, 'sn/predefined/one');
  });

  it('§6.9 UNSUBSCRIBE for a filter the client does not hold is still answered UNSUBACK, and changes nothing', async () => {
    const s = await t.gw.sensor();
    await connect(s, 's-unsub-none');
    s.send(subscribeByName('s/kept', 0, 1));
    await s.expect('SUBACK');
    s.send({ type: 'UNSUBSCRIBE', msgId: 2, topic: { topicIdType: 'normal', topicName: 's/never/held' } });
    expect(await s.expect('UNSUBACK')).toEqual({ type: 'UNSUBACK', msgId: 2 });
    expect(t.gw.gateway.core.client('s-unsub-none')!.subscriptions.map((x) => x.filter)).toEqual(['s/kept']);
  });

  it('aggregating: two sensors on one filter share one broker subscription, dropped when the last leaves', async () => {
    const a = await t.gw.sensor();
    const b = await t.gw.sensor();
    await connect(a, 's-share-a');
    await connect(b, 's-share-b');
    const core = t.gw.gateway.core;
    const filtersBefore = core.subscriptions.size;
    a.send(subscribeByName('s/share/#', 0, 1));
    await a.expect('SUBACK');
    b.send(subscribeByName('s/share/#', 0, 1));
    await b.expect('SUBACK');
    expect(core.subscriptions.size).toBe(filtersBefore + 1);
    await t.observer.publish('s/share/x', 'both', 0);
    expect((await a.expect('REGISTER')).topicName).toBe('s/share/x');
    expect((await b.expect('REGISTER')).topicName).toBe('s/share/x');
    for (const s of [a, b]) {
      const reg = s.received.at(-1) as { topicId: number; msgId: number };
      s.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
      expect(await s.expect('PUBLISH')).toMatchObject({ payload: Buffer.from('both') });
    }
    a.send({ type: 'UNSUBSCRIBE', msgId: 2, topic: { topicIdType: 'normal', topicName: 's/share/#' } });
    expect(await a.expect('UNSUBACK')).toEqual({ type: 'UNSUBACK', msgId: 2 });
    await t.observer.publish('s/share/x', 'only-b', 0);
    expect(await b.expect('PUBLISH')).toMatchObject({ payload: Buffer.from('only-b') });
    await expectNothingPending(a);
    b.send({ type: 'UNSUBSCRIBE', msgId: 3, topic: { topicIdType: 'normal', topicName: 's/share/#' } });
    await b.expect('UNSUBACK');
    expect(core.subscriptions.size).toBe(filtersBefore);
  });

  it('aggregating: the broker subscription is released when the last client leaves (the broker stops sending)', async () => {
    const a = await t.gw.sensor();
    await connect(a, 's-release');
    a.send(subscribeByName('s/release/#', 0, 1));
    await a.expect('SUBACK');
    a.send(subscribeByName('s/release-marker', 0, 2));
    await a.expect('SUBACK');
    a.send({ type: 'UNSUBSCRIBE', msgId: 3, topic: { topicIdType: 'normal', topicName: 's/release/#' } });
    await a.expect('UNSUBACK');
    // Broker side: a probe on the released filter, then a marker on a filter still held. One publisher, so
    // the broker sends them in that order: once the marker is in, the probe would have been in before it.
    await t.observer.publish('s/release/x', 'probe', 0);
    await t.observer.publish('s/release-marker', 'marker', 0);
    await until(() => t.gw.brokerMessages.some((m) => m.topic === 's/release-marker'), undefined, () => JSON.stringify(t.gw.brokerMessages));
    expect(t.gw.brokerMessages.filter((m) => m.topic.startsWith('s/release/'))).toEqual([]);
  });
});
