/**
 * Access rules (issue 10, both modes): which ClientIds may connect, from where, and which topics each may
 * publish to and subscribe within; refusals on the wire, counted, and logged once a minute per client.
 * The same rules in both broker modes. Real Mosquitto, real UDP sensors.
 */
import { describe, expect, it } from 'vitest';
import { gatewaySuite, connect, register, until } from '../support/harness.js';
import { connectWithWill, receivePublish } from '../support/flows.js';
import { parseConfig } from '../../gateway/config/config.js';

const ACCESS_YAML = `
access:
  rules:
    - clientId: 'far-*'
      from: ['udp:10.0.0.*']
    - clientId: 'dev-*'
      from: ['udp:127.0.0.1:*']
      publish: ['devices/{clientId}/#', 'sn/predefined/one']
      subscribe: ['commands/{clientId}/#', 'broadcast/+']
    - clientId: 'radio-?'
      from: [udp0]
    - clientId: exact-node
      publish: []
      subscribe: []
  anonymous:
    publish: ['sn/predefined/two']
`;

describe.each(['aggregating', 'transparent'] as const)('15 access rules (mosquitto, %s mode)', (mode) => {
  const t = gatewaySuite('mosquitto', {
    configure: (config) => {
      config.access = parseConfig(ACCESS_YAML, 'access.yaml').access;
      config.broker.mode = mode;
    },
    observe: [{ filter: '#', qos: 2 }],
  });

  const publish = (topicId: number, qos: -1 | 0 | 1 | 2, msgId: number, payload: string, topicIdType: 'normal' | 'predefined' | 'short' = 'normal') => ({
    type: 'PUBLISH' as const, dup: false, qos, retain: false, topicIdType, topicId, msgId, payload: Buffer.from(payload),
  });
  const refused = () => t.gw.gateway.core.stats.refused;

  it('§6.2 CONNECT of a ClientId no rule names: CONNACK 0x03, counted', async () => {
    const s = await t.gw.sensor();
    const before = refused();
    s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'stranger' });
    expect(await s.expect('CONNACK')).toEqual({ type: 'CONNACK', returnCode: 3 });
    expect(refused()).toBe(before + 1);
    expect(t.gw.gateway.core.client('stranger')).toBeUndefined();
  });

  it('§6.2 CONNECT matching a glob rule (dev-*) and an exact rule is accepted', async () => {
    await connect(await t.gw.sensor(), 'dev-glob');
    await connect(await t.gw.sensor(), 'exact-node');
    expect(t.gw.gateway.core.client('dev-glob')?.state).toBe('active');
  });

  it('§6.2 CONNECT from an address outside the rule\'s `from` patterns: CONNACK 0x03', async () => {
    const s = await t.gw.sensor();
    s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'far-away' });
    expect(await s.expect('CONNACK')).toMatchObject({ returnCode: 3 });
  });

  it('§6.2 `from` may name the radio (udp0); `?` matches one character only', async () => {
    await connect(await t.gw.sensor(), 'radio-1');
    const s = await t.gw.sensor();
    s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'radio-12' });
    expect(await s.expect('CONNACK')).toMatchObject({ returnCode: 3 });
  });

  it('§6.2 a refused CONNECT leaves the client already connected at that address alone', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'dev-stays');
    s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'stranger-2' });
    expect(await s.expect('CONNACK')).toMatchObject({ returnCode: 3 });
    const id = await register(s, 'devices/dev-stays/t', 2);
    s.send(publish(id, 1, 3, 'still here'));
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 3, returnCode: 0 });
  });

  it('§6.5 REGISTER of a topic the client may neither publish nor subscribe: REGACK 0x03', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'dev-reg');
    s.send({ type: 'REGISTER', topicId: 0, msgId: 9, topicName: 'devices/dev-other/t' });
    expect(await s.expect('REGACK')).toEqual({ type: 'REGACK', topicId: 0, msgId: 9, returnCode: 3 });
  });

  it('§6.5 REGISTER of a topic it may only subscribe to is accepted ({clientId} expanded)', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'dev-sub-only');
    expect(await register(s, 'commands/dev-sub-only/reboot', 1)).toBeGreaterThan(0);
  });

  it('§6.6 PUBLISH QoS 1 to a topic it may not publish to: PUBACK 0x03, nothing reaches the broker', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'dev-q1');
    const id = await register(s, 'commands/dev-q1/reboot', 1); // subscribable, not publishable
    s.send(publish(id, 1, 11, 'forbidden'));
    expect(await s.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: id, msgId: 11, returnCode: 3 });
    // The allowed publish after it arrives; the forbidden one, sent first, never does.
    const ok = await register(s, 'devices/dev-q1/temp', 2);
    s.send(publish(ok, 1, 12, 'allowed'));
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 12, returnCode: 0 });
    await t.observer.waitFor(1, 'devices/dev-q1/temp');
    expect(t.observer.messages.filter((m) => m.topic === 'commands/dev-q1/reboot')).toEqual([]);
  });

  it('§6.6 PUBLISH QoS 2 to a forbidden predefined topic: PUBACK 0x03 (no PUBREC)', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'dev-q2');
    s.send(publish(2, 2, 21, 'forbidden', 'predefined')); // sn/predefined/two: not in dev-*'s publish list
    expect(await s.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: 2, msgId: 21, returnCode: 3 });
  });

  it('§6.6 PUBLISH QoS 0 to a forbidden topic is dropped and counted', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'dev-q0');
    const before = refused();
    s.send(publish(2, 0, 0, 'forbidden', 'predefined'));
    s.send(publish(1, 0, 0, 'allowed', 'predefined'));
    await t.observer.waitFor(1, 'sn/predefined/one');
    await until(() => refused() === before + 1, 5000, () => `refused ${refused()}`);
    expect(t.observer.messages.filter((m) => m.payload === 'forbidden')).toEqual([]);
  });

  it('§6.8 QoS -1 from a sender that never connected: only the anonymous rule\'s topics', async () => {
    const s = await t.gw.sensor();
    const before = refused();
    s.send(publish(1, -1, 0, 'anon-forbidden', 'predefined'));
    s.send(publish(2, -1, 0, 'anon-allowed', 'predefined'));
    await t.observer.waitFor(1, 'sn/predefined/two');
    await until(() => refused() === before + 1, 5000, () => `refused ${refused()}`);
    expect(t.observer.messages.filter((m) => m.payload === 'anon-forbidden')).toEqual([]);
  });

  it('§6.9 SUBSCRIBE outside its filters: SUBACK 0x03; a narrower filter inside them is granted', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'dev-subs');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 31, topic: { topicIdType: 'normal', topicName: 'commands/#' } });
    expect(await s.expect('SUBACK')).toEqual({ type: 'SUBACK', qos: 0, topicId: 0, msgId: 31, returnCode: 3 });
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 32, topic: { topicIdType: 'normal', topicName: 'commands/dev-subs/+' } });
    expect(await s.expect('SUBACK')).toMatchObject({ msgId: 32, returnCode: 0 });
    await t.observer.publish('commands/dev-subs/led', 'on', 1);
    const reg = await s.expect('REGISTER'); // a wildcard subscription: the gateway names the topic first (§6.5)
    expect(reg.topicName).toBe('commands/dev-subs/led');
    s.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    expect((await receivePublish(s)).payload.toString()).toBe('on');
  });

  it('§6.9 SUBSCRIBE to another client\'s {clientId} filter: SUBACK 0x03, no broker subscription', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'dev-nosy');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 33, topic: { topicIdType: 'normal', topicName: 'commands/dev-subs/led' } });
    expect(await s.expect('SUBACK')).toMatchObject({ msgId: 33, returnCode: 3 });
    expect(t.gw.gateway.core.client('dev-nosy')?.subscriptions).toEqual([]);
  });

  it('§6.9 an empty subscribe list refuses every SUBSCRIBE, also by predefined id', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'exact-node');
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 34, topic: { topicIdType: 'predefined', topicId: 1 } });
    expect(await s.expect('SUBACK')).toEqual({ type: 'SUBACK', qos: 0, topicId: 1, msgId: 34, returnCode: 3 });
  });

  // (In transparent mode every WILLTOPICUPD is answered 0x03: test/e2e/17-transparent.test.ts.)
  if (mode === 'aggregating') it('§6.4 WILLTOPICUPD to a topic it may not publish to: WILLTOPICRESP 0x03, will unchanged', async () => {
    const s = await t.gw.sensor();
    await connectWithWill(s, 'dev-will', { topic: 'devices/dev-will/status', message: 'gone', qos: 0, retain: false });
    s.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: 'alarms/all' });
    expect(await s.expect('WILLTOPICRESP')).toEqual({ type: 'WILLTOPICRESP', returnCode: 3 });
    expect(t.gw.gateway.core.client('dev-will')?.hasWill).toBe(true);
  });

  it('refusals are logged once a minute per client, with the count of those in between', async () => {
    const lines: string[] = [];
    const onLog = (_level: string, message: string) => { if (message.includes('dev-loop')) lines.push(message); };
    t.gw.gateway.core.events.on('log', onLog);
    try {
      const s = await t.gw.sensor();
      await connect(s, 'dev-loop');
      for (let i = 1; i <= 5; i++) {
        s.send({ type: 'REGISTER', topicId: 0, msgId: i, topicName: 'forbidden/topic' });
        expect(await s.expect('REGACK')).toMatchObject({ msgId: i, returnCode: 3 });
      }
      expect(lines).toHaveLength(1);
      t.gw.advance(61);
      s.send({ type: 'PINGREQ' }); // keeps it connected across the minute
      await s.expect('PINGRESP');
      s.send({ type: 'REGISTER', topicId: 0, msgId: 6, topicName: 'forbidden/topic' });
      expect(await s.expect('REGACK')).toMatchObject({ msgId: 6, returnCode: 3 });
      expect(lines).toHaveLength(2);
      expect(lines[1]).toContain('and 4 more refusals');
    } finally {
      t.gw.gateway.core.events.off('log', onLog);
    }
  });
});
