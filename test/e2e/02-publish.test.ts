/** §6.5-§6.8: REGISTER and PUBLISH from sensors to the broker, checked by a plain MQTT subscriber. */
import { describe, expect, it } from 'vitest';
import { shortTopicId } from '../../sn-codec/index.js';
import { gatewaySuite, connect, Observer, register, type BrokerKind } from '../support/harness.js';
import { brokerCaughtUp, expectNothingPending, expectNothingBeforeConnack } from '../support/flows.js';

describe.each<BrokerKind>(['mosquitto', 'embedded'])('02 publish (%s)', (kind) => {
  const t = gatewaySuite(kind, { observe: [{ filter: '#', qos: 2 }] });

  const publish = (topicId: number, qos: -1 | 0 | 1 | 2, msgId: number, payload: string, extra: { topicIdType?: 'normal' | 'predefined' | 'short'; retain?: boolean; dup?: boolean } = {}) => ({
    type: 'PUBLISH' as const, dup: extra.dup ?? false, qos, retain: extra.retain ?? false,
    topicIdType: extra.topicIdType ?? 'normal', topicId, msgId, payload: Buffer.from(payload),
  });

  it('§6.5 REGISTER gives per-client topic ids, stable for the session', async () => {
    const a = await t.gw.sensor();
    const b = await t.gw.sensor();
    await connect(a, 'p-reg-a');
    await connect(b, 'p-reg-b');
    const a1 = await register(a, 'p/reg/one', 1);
    const a2 = await register(a, 'p/reg/two', 2);
    expect(a1).not.toBe(a2);
    expect(await register(a, 'p/reg/one', 3)).toBe(a1);
    // Another client's ids are its own: its first registration does not see a's.
    const b2 = await register(b, 'p/reg/two', 1);
    expect(b2).toBe(1);
    expect(a2).toBe(2);
  });

  it('§6.5 REGISTER of a topic name with a wildcard is refused (rc 0x03)', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-reg-wild');
    s.send({ type: 'REGISTER', topicId: 0, msgId: 4, topicName: 'p/+/x' });
    expect(await s.expect('REGACK')).toMatchObject({ msgId: 4, returnCode: 3 });
  });

  it('§6.6 PUBLISH QoS 0 on a registered id reaches the broker at QoS 0', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-q0');
    const id = await register(s, 'p/q0');
    s.send(publish(id, 0, 0, 'zero'));
    const [m] = await t.observer.waitFor(1, 'p/q0');
    expect(m).toMatchObject({ payload: 'zero', qos: 0, retain: false });
    await expectNothingPending(s); // no PUBACK at QoS 0
  });

  it('§6.6 PUBLISH QoS 1: PUBACK follows once the broker accepted it', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-q1');
    const id = await register(s, 'p/q1');
    s.send(publish(id, 1, 77, '21.5'));
    expect(await s.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: id, msgId: 77, returnCode: 0 });
    expect((await t.observer.waitFor(1, 'p/q1'))[0]).toMatchObject({ payload: '21.5', qos: 1 });
  });

  it('§6.6 PUBLISH QoS 2: PUBREC, PUBREL, PUBCOMP, exactly once even when the client resends with DUP', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-q2');
    const id = await register(s, 'p/q2');
    s.send(publish(id, 2, 300, 'once'));
    expect(await s.expect('PUBREC')).toEqual({ type: 'PUBREC', msgId: 300 });
    // The client did not see our PUBREC and resends: answered again, not published again.
    s.send(publish(id, 2, 300, 'once', { dup: true }));
    expect(await s.expect('PUBREC')).toEqual({ type: 'PUBREC', msgId: 300 });
    s.send({ type: 'PUBREL', msgId: 300 });
    expect(await s.expect('PUBCOMP')).toEqual({ type: 'PUBCOMP', msgId: 300 });
    await t.observer.waitFor(1, 'p/q2');
    await brokerCaughtUp(t.gw, t.observer);
    expect(t.observer.messages.filter((m) => m.topic === 'p/q2')).toEqual([{ topic: 'p/q2', payload: 'once', qos: 2, retain: false }]);
  });

  it('§6.7 PUBLISH on a global predefined id goes to its configured topic', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-pre');
    s.send(publish(2, 1, 5, 'pre', { topicIdType: 'predefined' }));
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 5, topicId: 2, returnCode: 0 });
    expect((await t.observer.waitFor(1, 'sn/predefined/two'))[0].payload).toBe('pre');
  });

  it('§6.7 per-client predefined ids override the global ones for that client only', async () => {
    const special = await t.gw.sensor();
    await connect(special, 'special-node');
    special.send(publish(1, 1, 6, 'mine', { topicIdType: 'predefined' }));
    await special.expect('PUBACK');
    special.send(publish(10, 1, 7, 'ten', { topicIdType: 'predefined' }));
    await special.expect('PUBACK');
    expect((await t.observer.waitFor(1, 'sn/special/one'))[0].payload).toBe('mine');
    expect((await t.observer.waitFor(1, 'sn/special/ten'))[0].payload).toBe('ten');
    // Another client does not know id 10.
    const other = await t.gw.sensor();
    await connect(other, 'p-other');
    other.send(publish(10, 1, 8, 'nope', { topicIdType: 'predefined' }));
    expect(await other.expect('PUBACK')).toMatchObject({ msgId: 8, returnCode: 2 });
  });

  it('§6.7 PUBLISH on a short topic name goes to the two-character topic', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-short');
    s.send(publish(shortTopicId('ab'), 1, 9, 'short', { topicIdType: 'short' }));
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 9, returnCode: 0 });
    expect((await t.observer.waitFor(1, 'ab'))[0].payload).toBe('short');
  });

  it('§6.6 PUBLISH on an unknown topic id is answered PUBACK 0x02 (invalid topic id) and not published', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-unknown');
    s.send(publish(4242, 1, 10, 'lost'));
    expect(await s.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: 4242, msgId: 10, returnCode: 2 });
    s.send(publish(999, 1, 11, 'lost', { topicIdType: 'predefined' }));
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 11, returnCode: 2 });
    await brokerCaughtUp(t.gw, t.observer);
    expect(t.observer.messages.filter((m) => m.payload === 'lost')).toEqual([]);
  });

  it('§6.6 PUBLISH QoS 0 on an unknown topic id is answered PUBACK 0x02 too, so the client learns to register', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-unknown-q0');
    s.send(publish(4243, 0, 0, 'lost-q0'));
    expect(await s.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: 4243, msgId: 0, returnCode: 2 });
    await brokerCaughtUp(t.gw, t.observer);
    expect(t.observer.messages.filter((m) => m.payload === 'lost-q0')).toEqual([]);
  });

  it('§6.6 PUBLISH QoS 2 on an unknown topic id is answered PUBACK 0x02, not PUBREC', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-unknown-q2');
    s.send(publish(4244, 2, 12, 'lost-q2'));
    expect(await s.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: 4244, msgId: 12, returnCode: 2 });
    await brokerCaughtUp(t.gw, t.observer);
    expect(t.observer.messages.filter((m) => m.payload === 'lost-q2')).toEqual([]);
  });

  it('§6.6 PUBREL for a MsgId the gateway does not know is answered PUBCOMP', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-pubrel-unknown');
    s.send({ type: 'PUBREL', msgId: 77 });
    expect(await s.expect('PUBCOMP')).toEqual({ type: 'PUBCOMP', msgId: 77 });
  });

  it('§6.6 the Retain flag is carried through to the broker', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-retain');
    const id = await register(s, 'p/retained');
    s.send(publish(id, 1, 12, 'kept', { retain: true }));
    await s.expect('PUBACK');
    const late = await Observer.connect(t.broker.url);
    try {
      await late.subscribe('p/retained');
      expect((await late.waitFor(1, 'p/retained'))[0]).toMatchObject({ payload: 'kept', retain: true });
    } finally {
      await t.observer.publish('p/retained', '', 0, true); // clear it
      await late.close();
    }
  });

  it('§6.8 QoS -1 from a sensor that never connected: predefined ids and short names are published', async () => {
    const s = await t.gw.sensor();
    s.send(publish(1, -1, 0, 'fire', { topicIdType: 'predefined' }));
    s.send(publish(shortTopicId('zz'), -1, 0, 'forget', { topicIdType: 'short' }));
    expect((await t.observer.waitFor(1, 'sn/predefined/one'))[0]).toMatchObject({ payload: 'fire', qos: 0 });
    expect((await t.observer.waitFor(1, 'zz'))[0]).toMatchObject({ payload: 'forget', qos: 0 });
    // A normal topic id means nothing without a session: dropped, no answer.
    const before = t.gw.gateway.core.stats.unexpected;
    s.send(publish(1, -1, 0, 'nobody', { topicIdType: 'normal' }));
    await expectNothingBeforeConnack(s, 'p-qm1-marker', () => t.gw.gateway.core.stats.unexpected === before + 1);
  });

  it('§5.2.1 topic names longer than 255 bytes register and publish (three-byte Length form)', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'p-long');
    const topic = 'p/long/' + 'x'.repeat(400);
    const id = await register(s, topic);
    s.send(publish(id, 1, 13, 'y'.repeat(500)));
    await s.expect('PUBACK');
    expect((await t.observer.waitFor(1, topic))[0].payload).toBe('y'.repeat(500));
  });
});
