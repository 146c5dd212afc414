/**
 * The gateway's broker subscriptions on the embedded broker (gateway/broker/aedes-subscriptions.ts): what the
 * gateway's upstream receives, and what outside MQTT clients see, as when they were SUBSCRIBE packets over the
 * in-memory connection. Real parts: the embedded aedes broker, the gateway's MqttUpstream on it (as shipped),
 * outside mqtt.js clients over TCP.
 */
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/broker/embedded-broker.js';
import { MqttUpstream } from '../../gateway/broker/mqtt-upstream.js';
import type { BrokerQoS, UpstreamSink } from '../../gateway/broker/upstream.js';
import { Observer, until } from '../support/harness.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { embeddedBrokerSection } from '../support/embedded-gateway.js';

const cleanups = cleanupsAfterEach();

const brokerSection = embeddedBrokerSection('gw-subscriptions');

interface Received { topic: string; payload: string; qos: BrokerQoS; retain: boolean }

interface Setup {
  broker: EmbeddedBroker;
  upstream: MqttUpstream;
  /** What the upstream handed the gateway's core, in order. */
  received: Received[];
  connections: boolean[];
  /** The gateway's end of each in-memory connection, in order. */
  pipes: Duplex[];
  /** What the sink answers for each message (a promise delays the broker's acknowledgement). */
  answer: { next: (m: Received) => Promise<void> | undefined };
  subscribe(filter: string): Promise<number>;
  /** An outside MQTT client of the broker. */
  outside(): Promise<Observer>;
}

async function setUp(persistentSession = false): Promise<Setup> {
  const broker = await startEmbeddedBroker({ port: 0 });
  cleanups.push(() => broker.close());
  const received: Received[] = [];
  const connections: boolean[] = [];
  const pipes: Duplex[] = [];
  const answer: Setup['answer'] = { next: () => undefined };
  const sink: UpstreamSink = {
    message: (topic, payload, qos, retain) => {
      const m = { topic, payload: payload.toString(), qos, retain };
      received.push(m);
      return answer.next(m);
    },
    connectionChanged: (up) => connections.push(up),
    log: () => {},
  };
  const connect = (): Duplex => {
    const pipe = broker.connect();
    pipes.push(pipe);
    return pipe;
  };
  const upstream = new MqttUpstream({
    url: broker.url, connect, publishInProcess: broker.publishInProcess, refusesPublish: broker.refusesPublish, subscriber: broker.subscriber,
    broker: brokerSection, maxQueued: 100, persistentSession: persistentSession ? { expiry: 0 } : undefined,
  });
  await upstream.start(sink);
  cleanups.push(() => upstream.stop());
  await until(() => upstream.connected);
  return {
    broker, upstream, received, connections, pipes, answer,
    subscribe: (filter) => new Promise((resolve) => upstream.subscribe(filter, 2, resolve)),
    async outside() {
      const observer = await Observer.connect(broker.url);
      cleanups.push(() => observer.close());
      return observer;
    },
  };
}

const on = (received: Received[], topic: string) => received.filter((m) => m.topic === topic);

describe('embedded broker: the gateway\'s subscriptions', () => {
  it('MQTT 3.1.1 §3.8.4: a new subscription gets the matching retained messages after it is granted, retain = 1, at their QoS', async () => {
    const { upstream, received, outside } = await setUp();
    const publisher = await outside();
    await publisher.publish('ret/a', 'kept a', 1, true);
    await publisher.publish('ret/b', 'kept b', 0, true);
    // A QoS 0 PUBLISH resolves once written: a later subscriber of its own shows the broker has stored it.
    const check = await outside();
    await check.subscribe('ret/#', 0);
    await check.waitFor(2);
    let grantedAt = -1;
    let granted = -1;
    upstream.subscribe('ret/+', 2, (g) => { granted = g; grantedAt = received.length; });
    await until(() => granted !== -1);
    expect(granted).toBe(2);
    await until(() => received.length === 2);
    expect(grantedAt).toBe(0);
    expect([...received].sort((x, y) => x.topic.localeCompare(y.topic))).toEqual([
      { topic: 'ret/a', payload: 'kept a', qos: 1, retain: true },
      { topic: 'ret/b', payload: 'kept b', qos: 0, retain: true },
    ]);
  });

  it('MQTT 3.1.1 §3.3.1.3: subscribing to a filter held already sends its retained messages again, and it is still delivered once', async () => {
    const { broker, received, subscribe, outside } = await setUp();
    const publisher = await outside();
    await publisher.publish('again/t', 'kept', 1, true);
    await subscribe('again/t');
    await until(() => received.length === 1);
    await subscribe('again/t');
    await until(() => received.length === 2);
    expect(received.map((m) => [m.retain, m.qos])).toEqual([[true, 1], [true, 1]]);
    expect(broker.subscriptionsInProcess).toBe(1);
    await publisher.publish('again/t', 'live', 0);
    await until(() => received.length === 3);
    await publisher.publish('again/t', 'marker', 0);
    await until(() => received.length === 4);
    expect(received.map((m) => m.payload)).toEqual(['kept', 'kept', 'live', 'marker']);
  });

  it('MQTT 3.1.1 §3.3.1.3: a live message reaches an existing subscription with retain = 0, even when published retained', async () => {
    const { received, subscribe, outside } = await setUp();
    await subscribe('live/#');
    const publisher = await outside();
    await publisher.publish('live/x', 'r', 1, true);
    await publisher.publish('live/y', 'p', 0, false);
    await until(() => received.length === 2);
    expect(received).toEqual([
      { topic: 'live/x', payload: 'r', qos: 1, retain: false },
      { topic: 'live/y', payload: 'p', qos: 0, retain: false },
    ]);
  });

  it('MQTT 3.1.1 §4.3: each message arrives at the QoS it was published with (the gateway subscribes at QoS 2)', async () => {
    const { received, subscribe, outside } = await setUp();
    await subscribe('q/+');
    const publisher = await outside();
    await publisher.publish('q/0', 'a', 0);
    await publisher.publish('q/1', 'b', 1);
    await publisher.publish('q/2', 'c', 2);
    await until(() => received.length === 3);
    expect(received.map((m) => [m.topic, m.qos])).toEqual([['q/0', 0], ['q/1', 1], ['q/2', 2]]);
  });

  it('MQTT 3.1.1 §4.7.2 [MQTT-4.7.2-1]: a `$` topic does not reach filters that start with a wildcard, only one that names it', async () => {
    const { received, subscribe, outside } = await setUp();
    await subscribe('#');
    await subscribe('+/d');
    await subscribe('$dollar/#');
    const publisher = await outside();
    await publisher.publish('$dollar/d', 'for $dollar/# only', 1);
    await until(() => received.length === 1);
    await publisher.publish('plain/d', 'for # and +/d', 1);
    await until(() => received.length === 2);
    expect(received.map((m) => m.topic)).toEqual(['$dollar/d', 'plain/d']);
  });

  it('MQTT 3.1.1 §3.3.5: a message matching several of the gateway\'s filters reaches it once', async () => {
    const { received, subscribe, outside } = await setUp();
    await subscribe('over/#');
    await subscribe('over/+');
    await subscribe('over/lap');
    const publisher = await outside();
    await publisher.publish('over/lap', 'q0', 0);
    await publisher.publish('over/lap', 'q1', 1);
    await publisher.publish('over/other', 'marker', 1);
    await until(() => on(received, 'over/other').length === 1);
    expect(received.map((m) => m.payload)).toEqual(['q0', 'q1', 'marker']);
  });

  it('MQTT 3.1.1 §3.10: after unsubscribing, the filter\'s messages stop; the others go on', async () => {
    const { upstream, received, subscribe, outside } = await setUp();
    await subscribe('un/a');
    await subscribe('un/b');
    const publisher = await outside();
    await publisher.publish('un/a', 'before', 1);
    await until(() => received.length === 1);
    upstream.unsubscribe('un/a');
    // A later subscription granted: the broker has taken the unsubscription before it.
    await subscribe('un/c');
    await publisher.publish('un/a', 'after', 1);
    await publisher.publish('un/b', 'marker', 1);
    await until(() => on(received, 'un/b').length === 1);
    expect(received.map((m) => m.payload)).toEqual(['before', 'marker']);
  });

  it('MQTT 3.1.1 §4.6: a retained publish of the gateway\'s own followed by its subscription to that topic arrives once, as retained', async () => {
    const { upstream, received, subscribe, outside } = await setUp();
    upstream.publish('own/t', Buffer.from('mine'), 0, true);
    await subscribe('own/t');
    const publisher = await outside();
    await publisher.publish('own/t', 'marker', 1);
    await until(() => on(received, 'own/t').some((m) => m.payload === 'marker'));
    expect(received).toEqual([
      { topic: 'own/t', payload: 'mine', qos: 0, retain: true },
      { topic: 'own/t', payload: 'marker', qos: 1, retain: false },
    ]);
  });

  it('MQTT 3.1.1 §4.6: under continuous QoS 1 publishing by the gateway, a subscription takes effect behind what was written before it, without waiting for the traffic to stop', async () => {
    const { upstream, received, outside } = await setUp();
    let turns = 0;
    let granted = -1;
    const pump = (): void => {
      if (granted !== -1) return;
      turns++;
      for (let i = 0; i < 20; i++) upstream.publish('busy/t', Buffer.from('x'), 1, false);
      setImmediate(pump);
    };
    pump();
    const turnsBefore = turns;
    upstream.subscribe('busy/sub', 2, (g) => { granted = g; });
    await until(() => granted !== -1);
    expect(granted).toBe(2);
    // Bytes and PUBLISH packets written before it are few turns' worth; traffic never paused (pump ran on).
    expect(turns - turnsBefore).toBeLessThan(100);
    const publisher = await outside();
    await publisher.publish('busy/sub', 'works', 1);
    await until(() => on(received, 'busy/sub').length === 1);
  });

  it('MQTT 3.1.1 §4.3.3: a QoS 2 message the gateway stores first: the publisher\'s PUBREC (so its PUBCOMP) comes once the store resolved', async () => {
    const { received, subscribe, outside, answer } = await setUp(true);
    await subscribe('held/+');
    let release!: () => void;
    answer.next = (m) => (m.topic === 'held/q2' ? new Promise<void>((resolve) => { release = resolve; }) : undefined);
    const publisher = await outside();
    let acknowledged = false;
    void publisher.publish('held/q2', 'stored first', 2).then(() => { acknowledged = true; });
    await until(() => received.length === 1);
    // Another client's message, acknowledged and delivered, while the first one's store is pending.
    const other = await outside();
    await other.publish('held/other', 'meanwhile', 2);
    await until(() => received.length === 2);
    expect(acknowledged).toBe(false);
    release();
    await until(() => acknowledged);
  });

  it('MQTT 3.1.1 §4.3.3: store waits hold at most half of the broker\'s emitter: with the store stuck for 120 QoS 2 messages, other clients\' messages still flow', async () => {
    const { broker, received, subscribe, outside, answer } = await setUp(true);
    await subscribe('stuck/+');
    answer.next = (m) => (m.topic === 'stuck/q2' ? new Promise<void>(() => {}) : undefined);
    const publisher = await outside();
    // More than aedes's emitter takes at once (100): held, they would stop every message of the broker.
    for (let i = 0; i < 120; i++) void publisher.publish('stuck/q2', String(i), 2).catch(() => {});
    await until(() => received.length === 120);
    // Half the emitter (50) waits for the store; the other 70 were acknowledged at once, and counted.
    expect(broker.acknowledgedEarly).toBe(70);
    const bystander = await outside();
    await bystander.subscribe('elsewhere/#', 1);
    const other = await outside();
    await other.publish('elsewhere/x', 'flows', 1);
    await bystander.waitFor(1, 'elsewhere/x');
    await other.publish('stuck/free', 'to the gateway too, acknowledged', 2);
    expect(on(received, 'stuck/free')).toHaveLength(1);
    expect(broker.acknowledgedEarly).toBe(70); // nothing waited for it: not early
  });

  it('after the upstream\'s stop, nothing more reaches the gateway', async () => {
    const { broker, upstream, received, subscribe, outside } = await setUp();
    await subscribe('stop/a');
    await subscribe('stop/+');
    expect(broker.subscriptionsInProcess).toBe(2);
    const bystander = await outside();
    await bystander.subscribe('stop/a', 1);
    const publisher = await outside();
    await publisher.publish('stop/a', 'before', 1);
    await bystander.waitFor(1);
    await until(() => received.length === 1);
    await upstream.stop();
    expect(broker.subscriptionsInProcess).toBe(0);
    await publisher.publish('stop/a', 'after', 1);
    await bystander.waitFor(2);
    expect(received.map((m) => m.payload)).toEqual(['before']);
  });

  it('MQTT 3.1.1 §3.8.4: a filter the broker refuses (more levels than its limit) is answered 0x80, and the connection stays', async () => {
    const { upstream, connections, received, subscribe, outside } = await setUp();
    expect(await subscribe(Array(101).fill('x').join('/'))).toBe(0x80);
    await subscribe('after/refusal');
    const publisher = await outside();
    await publisher.publish('after/refusal', 'ok', 1);
    await until(() => received.length === 1);
    expect(connections).toEqual([true]);
    expect(upstream.connected).toBe(true);
  });

  it('MQTT 3.1.1 §3.10: an unsubscription right after a subscription of the same filter leaves it unsubscribed; subscribing again right after an unsubscription leaves it subscribed', async () => {
    const { broker, upstream, received, subscribe, outside } = await setUp();
    upstream.subscribe('flip/a', 2);
    upstream.unsubscribe('flip/a');
    await subscribe('flip/b');
    upstream.unsubscribe('flip/b');
    await subscribe('flip/b');
    expect(broker.subscriptionsInProcess).toBe(1);
    const publisher = await outside();
    await publisher.publish('flip/a', 'not subscribed', 1);
    await publisher.publish('flip/b', 'subscribed', 1);
    await until(() => received.length === 1);
    await publisher.publish('flip/b', 'marker', 1);
    await until(() => received.length === 2);
    expect(received.map((m) => m.payload)).toEqual(['subscribed', 'marker']);
  });

  it('a reconnection of the in-memory connection: the core\'s resubscription registers nothing twice, and messages published meanwhile are not lost', async () => {
    const { broker, upstream, received, connections, pipes, subscribe, outside } = await setUp(true);
    await subscribe('re/+');
    const publisher = await outside();
    await publisher.publish('re/before', 'b', 1);
    await until(() => received.length === 1);
    pipes[0]!.destroy();
    await until(() => connections.length === 2); // [true, false]
    await publisher.publish('re/between', 'w', 1);
    await until(() => upstream.connected && connections.length === 3);
    // What the core does on connectionChanged(true) (shared-subscriptions.ts resubscribeAll).
    await subscribe('re/+');
    expect(broker.subscriptionsInProcess).toBe(1);
    await publisher.publish('re/after', 'a', 1);
    await until(() => on(received, 're/after').length === 1);
    expect(received.map((m) => m.topic)).toEqual(['re/before', 're/between', 're/after']);
  });
});

describe('aedes as aedes-subscriptions.ts relies on it (fails if aedes changes under it)', () => {
  /** A plain aedes on a TCP port, with one server-side subscription whose callback the test holds. */
  async function plainAedes(): Promise<{ aedes: Aedes; url: string; calls: { topic: string; qos: number; message: unknown; done: () => void }[] }> {
    const aedes = await Aedes.createBroker();
    const server = createServer(aedes.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => { server.close(() => resolve()); aedes.close(() => {}); }));
    const calls: { topic: string; qos: number; message: unknown; done: () => void }[] = [];
    const func = (message: { topic: string; qos: number }, done: () => void): void => { calls.push({ topic: message.topic, qos: message.qos, message, done }); };
    await new Promise<void>((resolve) => aedes.subscribe('pin/#', func as never, resolve));
    await new Promise<void>((resolve) => aedes.subscribe('pin/+', func as never, resolve));
    return { aedes, url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
  }

  it('MQTT 3.1.1 §4.3.2: aedes answers a QoS 1 PUBLISH with PUBACK before its subscribers called back; a QoS 2 PUBLISH gets PUBREC only after', async () => {
    const { url, calls } = await plainAedes();
    const publisher = await Observer.connect(url);
    cleanups.push(() => publisher.close());
    await publisher.publish('pin/q1', 'one', 1); // acknowledged with both calls still held
    expect(calls.filter((c) => c.topic === 'pin/q1')).toHaveLength(2);
    let q2Acknowledged = false;
    void publisher.publish('pin/q2', 'two', 2).then(() => { q2Acknowledged = true; });
    await until(() => calls.filter((c) => c.topic === 'pin/q2').length === 2);
    await publisher.publish('pin/later', 'marker', 1);
    expect(q2Acknowledged).toBe(false);
    for (const c of calls) c.done();
    await until(() => q2Acknowledged);
  });

  it('a message matching several server-side subscriptions reaches each as the same object, one call after another, at the QoS published', async () => {
    const { url, calls } = await plainAedes();
    const publisher = await Observer.connect(url);
    cleanups.push(() => publisher.close());
    await publisher.publish('pin/x', 'x', 1);
    await until(() => calls.length === 2);
    expect(calls[0]!.message).toBe(calls[1]!.message);
    expect(calls.map((c) => c.qos)).toEqual([1, 1]);
    for (const c of calls) c.done();
  });
});
