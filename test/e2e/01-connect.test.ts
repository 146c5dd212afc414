/** §6.2, §6.11, §6.12: connecting, keep-alive pings, disconnecting, takeover and congestion, over real UDP. */
import { describe, expect, it } from 'vitest';
import { gatewaySuite, connect, register } from '../support/harness.js';
import { brokerCaughtUp } from '../support/flows.js';

describe('01 connect (Mosquitto)', () => {
  const t = gatewaySuite('mosquitto', { configure: (config) => { config.gateway.maxClients = 3; }, observe: [{ filter: 'c/#' }] });

  it('§6.2 CONNECT without will is answered CONNACK accepted and the client is active', async () => {
    const s = await t.gw.sensor();
    s.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 30, clientId: 'c-plain' });
    expect(await s.expect('CONNACK')).toEqual({ type: 'CONNACK', returnCode: 0 });
    expect(t.gw.gateway.core.client('c-plain')).toMatchObject({ state: 'active', keepAlive: 30, address: `udp:127.0.0.1:${s.port}` });
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
  });

  it('§6.2 CONNECT with Will=1 does not hang: WILLTOPICREQ, WILLTOPIC, WILLMSGREQ, WILLMSG, CONNACK', async () => {
    const s = await t.gw.sensor();
    s.send({ type: 'CONNECT', will: true, cleanSession: true, duration: 30, clientId: 'c-will' });
    await s.expect('WILLTOPICREQ');
    s.send({ type: 'WILLTOPIC', qos: 1, retain: false, willTopic: 'c/will' });
    await s.expect('WILLMSGREQ');
    s.send({ type: 'WILLMSG', willMsg: Buffer.from('gone') });
    expect(await s.expect('CONNACK')).toMatchObject({ returnCode: 0 });
    expect(t.gw.gateway.core.client('c-will')).toMatchObject({ state: 'active', hasWill: true });
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
  });

  it('§6.11 PINGREQ from a connected client is answered PINGRESP', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'c-ping');
    s.send({ type: 'PINGREQ' });
    await s.expect('PINGRESP');
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
  });

  it('§6.12 DISCONNECT is answered DISCONNECT; the client is disconnected and may no longer publish (§5.4.21: told so by DISCONNECT)', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'c-bye');
    const id = await register(s, 'c/bye');
    s.send({ type: 'DISCONNECT' });
    expect(await s.expect('DISCONNECT')).toEqual({ type: 'DISCONNECT' });
    expect(t.gw.gateway.core.client('c-bye')?.state).toBe('disconnected');
    const unexpectedBefore = t.gw.gateway.core.stats.unexpected;
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 9, payload: Buffer.from('late') });
    expect(await s.expect('DISCONNECT')).toEqual({ type: 'DISCONNECT' });
    expect(t.gw.gateway.core.stats.unexpected).toBe(unexpectedBefore + 1);
    await brokerCaughtUp(t.gw, t.observer);
    expect(t.observer.messages.filter((m) => m.topic === 'c/bye')).toEqual([]);
  });

  it('§6.2 a second CONNECT with the same ClientId from a new address takes the session over', async () => {
    const first = await t.gw.sensor();
    await connect(first, 'c-roam');
    const second = await t.gw.sensor();
    await connect(second, 'c-roam');
    expect(t.gw.gateway.core.client('c-roam')).toMatchObject({ state: 'active', address: `udp:127.0.0.1:${second.port}` });
    // The old address no longer speaks for c-roam: it is told so with DISCONNECT (§5.4.21), not a REGACK.
    first.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'c/roam' });
    expect(await first.expect('DISCONNECT')).toEqual({ type: 'DISCONNECT' });
    const id = await register(second, 'c/roam');
    second.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 2, payload: Buffer.from('moved') });
    await second.expect('PUBACK');
    expect((await t.observer.waitFor(1, 'c/roam'))[0].payload).toBe('moved');
    second.send({ type: 'DISCONNECT' });
    await second.expect('DISCONNECT');
  });

  it('§6.2 CONNECT past maxClients is answered CONNACK 0x01 (congestion); a freed place can be taken', async () => {
    const sensors = await Promise.all([t.gw.sensor(), t.gw.sensor(), t.gw.sensor(), t.gw.sensor()]);
    for (let i = 0; i < 3; i++) await connect(sensors[i], `c-full-${i}`);
    sensors[3].send({ type: 'CONNECT', will: false, cleanSession: true, duration: 30, clientId: 'c-full-3' });
    expect(await sensors[3].expect('CONNACK')).toEqual({ type: 'CONNACK', returnCode: 1 });
    expect(t.gw.gateway.core.client('c-full-3')).toBeUndefined();
    // A connected client reconnecting is not a newcomer and is not refused.
    await connect(sensors[0], 'c-full-0');
    sensors[1].send({ type: 'DISCONNECT' });
    await sensors[1].expect('DISCONNECT');
    await connect(sensors[3], 'c-full-3');
    for (const i of [0, 2, 3]) {
      sensors[i].send({ type: 'DISCONNECT' });
      await sensors[i].expect('DISCONNECT');
    }
  });
});
