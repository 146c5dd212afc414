/** §5.5 Forwarder Encapsulation over UDP: nodes behind one forwarder are separate clients, answered encapsulated. */
import { describe, expect, it } from 'vitest';
import type { SnMessage } from '../../sn-codec/index.js';
import type { SnUdpPeer } from '../../client/udp-peer.js';
import { gatewaySuite } from '../support/harness.js';

describe('07 forwarder encapsulation (Mosquitto)', () => {
  const t = gatewaySuite('mosquitto', { observe: [{ filter: 'fwd/#' }] });

  const wrap = (nodeId: Buffer, message: SnMessage): SnMessage => ({ type: 'ENCAPSULATED', radius: 1, wirelessNodeId: nodeId, message });
  async function reply(forwarder: SnUdpPeer, nodeId: Buffer) {
    const m = await forwarder.expect('ENCAPSULATED');
    expect(m.wirelessNodeId.equals(nodeId)).toBe(true);
    return m.message;
  }

  it('§5.5 two nodes behind one forwarder connect, register and publish as two clients, each answered with its own Wireless Node Id', async () => {
    const forwarder = await t.gw.sensor();
    const nodeA = Buffer.from([0x00, 0x13, 0xa2, 0x00, 0x40, 0xa1, 0xb2, 0xc3]);
    const nodeB = Buffer.from([0x12, 0x34]);
    forwarder.send(wrap(nodeA, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'fwd-a' }));
    expect(await reply(forwarder, nodeA)).toEqual({ type: 'CONNACK', returnCode: 0 });
    forwarder.send(wrap(nodeB, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'fwd-b' }));
    expect(await reply(forwarder, nodeB)).toEqual({ type: 'CONNACK', returnCode: 0 });
    const core = t.gw.gateway.core;
    expect(core.client('fwd-a')).toMatchObject({ state: 'active', address: `udp:127.0.0.1:${forwarder.port}`, nodeId: nodeA.toString('hex') });
    expect(core.client('fwd-b')).toMatchObject({ state: 'active', nodeId: '1234' });

    forwarder.send(wrap(nodeA, { type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'fwd/a' }));
    const regA = await reply(forwarder, nodeA);
    expect(regA).toMatchObject({ type: 'REGACK', msgId: 1, returnCode: 0 });
    const topicId = (regA as { topicId: number }).topicId;
    forwarder.send(wrap(nodeA, { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 2, payload: Buffer.from('from-a') }));
    expect(await reply(forwarder, nodeA)).toMatchObject({ type: 'PUBACK', msgId: 2, returnCode: 0 });
    expect((await t.observer.waitFor(1, 'fwd/a'))[0].payload).toBe('from-a');

    // Node B never registered fwd/a: topic ids are per client, so B's use of A's id is refused.
    forwarder.send(wrap(nodeB, { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 3, payload: Buffer.from('b') }));
    expect(await reply(forwarder, nodeB)).toMatchObject({ type: 'PUBACK', msgId: 3, returnCode: 2 });
  });

  it('§5.5 broker messages to a node behind a forwarder go encapsulated to the forwarder', async () => {
    const forwarder = await t.gw.sensor();
    const node = Buffer.from('n1');
    forwarder.send(wrap(node, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'fwd-sub' }));
    await reply(forwarder, node);
    forwarder.send(wrap(node, { type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 4, topic: { topicIdType: 'normal', topicName: 'fwd/down' } }));
    const suback = await reply(forwarder, node);
    expect(suback).toMatchObject({ type: 'SUBACK', returnCode: 0 });
    await t.observer.publish('fwd/down', 'to-node', 1);
    const p = await reply(forwarder, node);
    expect(p).toMatchObject({ type: 'PUBLISH', qos: 1, payload: Buffer.from('to-node'), topicId: (suback as { topicId: number }).topicId });
    forwarder.send(wrap(node, { type: 'PUBACK', topicId: (p as { topicId: number }).topicId, msgId: (p as { msgId: number }).msgId, returnCode: 0 }));
  });

  it('§5.5 SEARCHGW relayed by a forwarder is answered with GWINFO to that forwarder and node', async () => {
    const forwarder = await t.gw.sensor();
    const node = Buffer.from([9]);
    forwarder.send(wrap(node, { type: 'SEARCHGW', radius: 1 }));
    expect(await reply(forwarder, node)).toEqual({ type: 'GWINFO', gwId: 7 });
  });
});
