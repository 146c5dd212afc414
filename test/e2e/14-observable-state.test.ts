/**
 * What an operator (or a status page) can read off the gateway: core.client(id) / core.clients() and the
 * 'clientState' event, checked against real sensors driving a client through every §6.14 state.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClientState } from '../../gateway/core/session.js';
import { connect, Observer, startBroker, startGateway, testConfig, type Broker, type GatewayUnderTest } from '../support/harness.js';
import { connectWithWill, receivePublish, settled, subscribe } from '../support/flows.js';

describe('observable client state with mosquitto', () => {
  let broker: Broker;
  let observer: Observer;
  let gw: GatewayUnderTest;
  let transitions: [string, ClientState, ClientState][];
  beforeAll(async () => {
    broker = await startBroker('mosquitto');
    observer = await Observer.connect(broker.url);
  });
  afterAll(async () => {
    await observer?.close();
    await broker?.stop();
  });
  beforeEach(async () => {
    gw = await startGateway(testConfig(broker.url));
    transitions = [];
    gw.gateway.core.events.on('clientState', (id, from, to) => transitions.push([id, from, to]));
  });
  afterEach(async () => {
    await gw?.stop();
  });

  const core = () => gw.gateway.core;
  const of = (id: string) => transitions.filter(([who]) => who === id).map(([, from, to]) => `${from}→${to}`);

  it('core.client(id) shows a connected client: state, radio, address, lastSeen, keep-alive, will, subscriptions, counters', async () => {
    const s = await gw.sensor();
    const connectedAt = gw.clock.now();
    await connectWithWill(s, 'shown', { topic: 'will/shown', message: 'x', qos: 0, retain: false }, { duration: 25 });
    expect(core().client('shown')).toEqual({
      clientId: 'shown', state: 'active', radio: 'udp0', address: s.localAddress, nodeId: undefined,
      lastSeen: connectedAt, keepAlive: 25, buffered: 0, inflight: 0, dropped: 0, subscriptions: [], hasWill: true,
    });
    expect(core().client('nobody')).toBeUndefined();
  });

  it('lastSeen is the gateway clock at the client\'s latest frame', async () => {
    const s = await gw.sensor();
    await connect(s, 'seen', { duration: 60 });
    gw.advance(7);
    s.send({ type: 'PINGREQ' });
    await s.expect('PINGRESP');
    expect(core().client('seen')?.lastSeen).toBe(gw.clock.now());
    gw.advance(3);
    expect(core().client('seen')?.lastSeen).toBe(gw.clock.now() - 3000);
  });

  it('subscriptions appear with SUBSCRIBE (filter and granted QoS) and go with UNSUBSCRIBE', async () => {
    const s = await gw.sensor();
    await connect(s, 'subs');
    await subscribe(s, 'obs/a', 1, 1);
    await subscribe(s, 'obs/+/b', 2, 2);
    expect(core().client('subs')?.subscriptions).toEqual([{ filter: 'obs/a', qos: 1 }, { filter: 'obs/+/b', qos: 2 }]);
    s.send({ type: 'UNSUBSCRIBE', msgId: 3, topic: { topicIdType: 'normal', topicName: 'obs/a' } });
    await s.expect('UNSUBACK');
    expect(core().client('subs')?.subscriptions).toEqual([{ filter: 'obs/+/b', qos: 2 }]);
  });

  it('inflight counts a PUBLISH awaiting its PUBACK; buffered counts messages held for a sleeping client', async () => {
    const s = await gw.sensor();
    await connect(s, 'counts', { duration: 60 });
    await subscribe(s, 'obs/counts', 1);
    await observer.publish('obs/counts', 'one', 1);
    const p = await s.expect('PUBLISH');
    expect(core().client('counts')).toMatchObject({ inflight: 1, buffered: 0 });
    s.send({ type: 'PUBACK', topicId: p.topicId, msgId: p.msgId, returnCode: 0 });
    await settled(gw, 'counts', (c) => c.inflight === 0);
    s.send({ type: 'DISCONNECT', duration: 100 });
    await s.expect('DISCONNECT');
    await observer.publish('obs/counts', 'two', 1);
    await observer.publish('obs/counts', 'three', 1);
    await settled(gw, 'counts', (c) => c.buffered === 2);
    expect(core().client('counts')).toMatchObject({ state: 'asleep', inflight: 0, buffered: 2 });
  });

  it('clientState fires on every transition: connecting→active→asleep→awake→asleep→lost, then lost→connecting→active→disconnected', async () => {
    const s = await gw.sensor();
    await connect(s, 'lifecycle', { duration: 30 });
    await subscribe(s, 'obs/life', 1);
    s.send({ type: 'DISCONNECT', duration: 20 });
    await s.expect('DISCONNECT');
    await observer.publish('obs/life', 'wake me', 1);
    await settled(gw, 'lifecycle', (c) => c.buffered === 1);
    s.send({ type: 'PINGREQ', clientId: 'lifecycle' });
    await receivePublish(s);
    await s.expect('PINGRESP');
    gw.advance(31); // past 20 s × 1.5 without a wake-up
    expect(core().client('lifecycle')?.state).toBe('lost');
    await connect(s, 'lifecycle', { duration: 30 });
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    expect(of('lifecycle')).toEqual([
      'connecting→active', 'active→asleep', 'asleep→awake', 'awake→asleep', 'asleep→lost',
      'lost→connecting', 'connecting→active', 'active→disconnected',
    ]);
  });

  it('core.clients() lists every client the gateway knows, in whatever state, with its own address', async () => {
    const a = await gw.sensor();
    const b = await gw.sensor();
    const c = await gw.sensor();
    await connect(a, 'list-a', { duration: 10 });
    await connect(b, 'list-b', { duration: 100 });
    await connect(c, 'list-c', { duration: 100 });
    b.send({ type: 'DISCONNECT', duration: 100 });
    await b.expect('DISCONNECT');
    c.send({ type: 'DISCONNECT' });
    await c.expect('DISCONNECT');
    gw.advance(16);
    const byId = new Map(core().clients().map((x) => [x.clientId, x]));
    expect([...byId.keys()].sort()).toEqual(['list-a', 'list-b', 'list-c']);
    expect(byId.get('list-a')).toMatchObject({ state: 'lost', address: a.localAddress });
    expect(byId.get('list-b')).toMatchObject({ state: 'asleep', address: b.localAddress });
    expect(byId.get('list-c')).toMatchObject({ state: 'disconnected', address: c.localAddress });
    expect(core().connectedCount).toBe(1); // only the sleeping one still counts against maxClients
  });

  it('§5.5 a client behind a forwarder shows the forwarder\'s address and its Wireless Node Id', async () => {
    const nodeId = Buffer.from([0x01, 0x02, 0x03]);
    const f = await gw.sensor({ forwarder: { wirelessNodeId: nodeId } });
    await connect(f, 'behind-forwarder');
    expect(core().client('behind-forwarder')).toMatchObject({ state: 'active', address: f.localAddress, nodeId: '010203' });
  });
});
