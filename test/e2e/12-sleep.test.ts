/**
 * Sleeping clients (§6.14) end to end: the whole state machine as a sensor sees it (DISCONNECT with
 * Duration, PINGREQ with ClientId, buffered messages each completing its QoS flow, PINGRESP), the sleep
 * buffer's limits, and what the broker sees (the messages published to the sensor, its will when lost).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SnUdpPeer } from '../../client/udp-peer.js';
import type { ClientState } from '../../gateway/core/session.js';
import {
  connect, Observer, register, startBroker, startGateway, testConfig, until, type Broker, type BrokerKind, type GatewayUnderTest,
} from '../support/harness.js';
import { brokerCaughtUp, connectWithWill, expectNothingBeforeConnack, expectNothingPending, receivePublish, settled, subscribe } from '../support/flows.js';

const SLEEP = 60;
/** A sleeping client is lost once silent for more than Duration × keepAliveGrace (1.5). */
const SLEEP_DEADLINE = SLEEP * 1.5;

interface Context { broker: Broker; observer: Observer; gw: GatewayUnderTest }

function suite(kind: BrokerKind, configure: (config: ReturnType<typeof testConfig>) => void = () => {}) {
  const ctx = {} as Context;
  beforeAll(async () => {
    ctx.broker = await startBroker(kind);
    ctx.observer = await Observer.connect(ctx.broker.url);
    await ctx.observer.subscribe('will/#', 2);
  });
  afterAll(async () => {
    await ctx.observer?.close();
    await ctx.broker?.stop();
  });
  beforeEach(async () => {
    const config = testConfig(ctx.broker.url);
    configure(config);
    ctx.gw = await startGateway(config);
  });
  afterEach(async () => {
    await ctx.gw?.stop();
  });
  return ctx;
}

/** Records every clientState transition of one client. */
function transitions(gw: GatewayUnderTest, clientId: string): string[] {
  const seen: string[] = [];
  gw.gateway.core.events.on('clientState', (id: string, from: ClientState, to: ClientState) => {
    if (id === clientId) seen.push(`${from}→${to}`);
  });
  return seen;
}

/** CONNECT (with a will), SUBSCRIBE to `sleep/<id>` at QoS 2, then DISCONNECT with Duration: asleep. */
async function sleepingSensor(ctx: Context, clientId: string, duration = SLEEP): Promise<{ s: SnUdpPeer; topicId: number }> {
  const s = await ctx.gw.sensor();
  await connectWithWill(s, clientId, { topic: `will/${clientId}`, message: `${clientId} lost`, qos: 1, retain: false }, { duration: 30 });
  const { topicId } = await subscribe(s, `sleep/${clientId}`, 2);
  s.send({ type: 'DISCONNECT', duration });
  await s.expect('DISCONNECT');
  expect(ctx.gw.gateway.core.client(clientId)?.state).toBe('asleep');
  return { s, topicId };
}

/** Publishes on the broker and waits until the gateway has buffered `expectBuffered` messages for the client. */
async function publishWhileAsleep(ctx: Context, clientId: string, payloads: [string, 0 | 1 | 2][], expectBuffered: number): Promise<void> {
  for (const [payload, qos] of payloads) await ctx.observer.publish(`sleep/${clientId}`, payload, qos);
  await settled(ctx.gw, clientId, (c) => c.buffered === expectBuffered);
}

describe.each(['mosquitto', 'embedded'] as const)('§6.14 sleeping clients with %s', (kind) => {
  const ctx = suite(kind);

  it('§6.14 active → asleep → awake → asleep: DISCONNECT(Duration) answered by DISCONNECT; messages buffered; PINGREQ(ClientId) gets them in order, each completing its QoS flow, then PINGRESP', async () => {
    const seen = transitions(ctx.gw, 'dozy');
    const { s, topicId } = await sleepingSensor(ctx, 'dozy');
    await publishWhileAsleep(ctx, 'dozy', [['q0', 0], ['q1', 1], ['q2', 2]], 3);
    await expectNothingPending(s); // nothing reaches a sleeping sensor (a plain PINGREQ does not wake it)

    s.send({ type: 'PINGREQ', clientId: 'dozy' });
    const p0 = await receivePublish(s);
    expect(p0).toMatchObject({ qos: 0, topicIdType: 'normal', topicId });
    const p1 = await receivePublish(s); // PUBACK sent
    expect(p1).toMatchObject({ qos: 1, topicId });
    const p2 = await receivePublish(s); // PUBREC, PUBREL, PUBCOMP
    expect(p2).toMatchObject({ qos: 2, topicId });
    expect([p0, p1, p2].map((p) => p.payload.toString())).toEqual(['q0', 'q1', 'q2']);
    await s.expect('PINGRESP');
    await expectNothingPending(s);
    expect(ctx.gw.gateway.core.client('dozy')).toMatchObject({ state: 'asleep', buffered: 0, inflight: 0 });
    expect(seen).toEqual(['connecting→active', 'active→asleep', 'asleep→awake', 'awake→asleep']);
  });

  it('§6.14 a sleeping client that misses its wake-up is lost and its will published; not before Duration × 1.5', async () => {
    await sleepingSensor(ctx, 'missed');
    ctx.gw.advance(SLEEP_DEADLINE);
    expect(ctx.gw.gateway.core.client('missed')?.state).toBe('asleep');
    expect(ctx.gw.gateway.core.stats.willsPublished).toBe(0);
    ctx.gw.advance(1);
    expect(ctx.gw.gateway.core.client('missed')?.state).toBe('lost');
    expect(await ctx.observer.waitFor(1, 'will/missed')).toMatchObject([{ payload: 'missed lost', qos: 1 }]);
  });
});

describe('§6.14 sleeping clients with mosquitto', () => {
  const ctx = suite('mosquitto');

  it('§6.14 the sleep timer restarts on each wake-up (PINGREQ with ClientId)', async () => {
    const { s } = await sleepingSensor(ctx, 'napper');
    ctx.gw.advance(SLEEP_DEADLINE - 10);
    s.send({ type: 'PINGREQ', clientId: 'napper' });
    await s.expect('PINGRESP'); // nothing buffered: PINGRESP at once, asleep again
    expect(ctx.gw.gateway.core.client('napper')?.state).toBe('asleep');
    ctx.gw.advance(SLEEP_DEADLINE);
    expect(ctx.gw.gateway.core.client('napper')?.state).toBe('asleep');
    ctx.gw.advance(1);
    expect(ctx.gw.gateway.core.client('napper')?.state).toBe('lost');
    await ctx.observer.waitFor(1, 'will/napper');
  });

  it('§6.14 CONNECT from asleep makes the client active; with CleanSession=0 what was buffered follows CONNACK', async () => {
    const seen = transitions(ctx.gw, 'riser');
    const { s } = await sleepingSensor(ctx, 'riser');
    await publishWhileAsleep(ctx, 'riser', [['while asleep', 1]], 1);
    s.send({ type: 'CONNECT', will: false, cleanSession: false, duration: 30, clientId: 'riser' });
    await s.expect('CONNACK');
    const p = await receivePublish(s);
    expect(p.payload.toString()).toBe('while asleep');
    await settled(ctx.gw, 'riser', (c) => c.inflight === 0);
    expect(ctx.gw.gateway.core.client('riser')?.state).toBe('active');
    // Active again means keep-alive again (30 s × 1.5), not the sleep timer.
    ctx.gw.advance(46);
    expect(ctx.gw.gateway.core.client('riser')?.state).toBe('lost');
    expect(seen).toEqual(['connecting→active', 'active→asleep', 'asleep→connecting', 'connecting→active', 'active→lost']);
    await ctx.observer.waitFor(1, 'will/riser'); // CleanSession=0 without a new will keeps the old one (§6.3)
  });

  it('§6.14 DISCONNECT without Duration while asleep: answered by DISCONNECT, the client is disconnected and its will is not published', async () => {
    const { s } = await sleepingSensor(ctx, 'leaver');
    s.send({ type: 'DISCONNECT' });
    await s.expect('DISCONNECT');
    expect(ctx.gw.gateway.core.client('leaver')?.state).toBe('disconnected');
    ctx.gw.advance(SLEEP_DEADLINE * 3);
    expect(ctx.gw.gateway.core.stats.willsPublished).toBe(0);
    await brokerCaughtUp(ctx.gw, ctx.observer);
    expect(ctx.observer.messages.filter((m) => m.topic === 'will/leaver')).toEqual([]);
  });

  it('§6.14 an awake client publishes with the topic ids it registered before sleeping', async () => {
    const s = await ctx.gw.sensor();
    await connect(s, 'reporter', { duration: 30 });
    await subscribe(s, 'sleep/reporter', 1);
    const outId = await register(s, 'sleep/reporter/out');
    s.send({ type: 'DISCONNECT', duration: SLEEP });
    await s.expect('DISCONNECT');
    await publishWhileAsleep(ctx, 'reporter', [['cmd', 1]], 1);
    await ctx.observer.subscribe('sleep/reporter/out', 1);

    s.send({ type: 'PINGREQ', clientId: 'reporter' });
    const cmd = await s.expect('PUBLISH');
    expect(ctx.gw.gateway.core.client('reporter')?.state).toBe('awake');
    s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: outId, msgId: 77, payload: Buffer.from('reading') });
    expect(await s.expect('PUBACK')).toMatchObject({ msgId: 77, topicId: outId, returnCode: 0 });
    s.send({ type: 'PUBACK', topicId: cmd.topicId, msgId: cmd.msgId, returnCode: 0 });
    await s.expect('PINGRESP');
    expect(await ctx.observer.waitFor(1, 'sleep/reporter/out')).toMatchObject([{ payload: 'reading', qos: 1 }]);
  });

  it('§6.5/§6.14 a REGISTER still unanswered when the client falls asleep is sent again on waking: the id was never confirmed', async () => {
    const s = await ctx.gw.sensor();
    await connect(s, 'unregistered', { duration: 30 });
    await subscribe(s, 'sleep/unregistered/#', 1);
    await ctx.observer.publish('sleep/unregistered/a', 'first', 1);
    const before = await s.expect('REGISTER');
    s.send({ type: 'DISCONNECT', duration: SLEEP }); // asleep without REGACK
    await s.expect('DISCONNECT');
    s.send({ type: 'PINGREQ', clientId: 'unregistered' });
    const again = await s.expect('REGISTER');
    expect(again).toMatchObject({ topicName: 'sleep/unregistered/a' });
    expect(again.msgId).not.toBe(before.msgId);
    s.send({ type: 'REGACK', topicId: again.topicId, msgId: again.msgId, returnCode: 0 });
    const p = await receivePublish(s);
    expect(p).toMatchObject({ topicIdType: 'normal', topicId: again.topicId });
    expect(p.payload.toString()).toBe('first');
    await s.expect('PINGRESP');
  });

  it('§6.14/§6.13 a PUBLISH still unacknowledged when the client falls asleep goes again on waking with DUP=1 and the same MsgId (QoS 2 stays exactly once)', async () => {
    const { s } = await sleepingSensor(ctx, 'half-done');
    s.send({ type: 'CONNECT', will: false, cleanSession: false, duration: 30, clientId: 'half-done' });
    await s.expect('CONNACK');
    await ctx.observer.publish('sleep/half-done', 'exactly once', 2);
    const first = await s.expect('PUBLISH');
    expect(first).toMatchObject({ qos: 2, dup: false });
    s.send({ type: 'DISCONNECT', duration: SLEEP }); // asleep before its PUBREC
    await s.expect('DISCONNECT');
    expect(ctx.gw.gateway.core.client('half-done')).toMatchObject({ buffered: 1, inflight: 0 });
    s.send({ type: 'PINGREQ', clientId: 'half-done' });
    const again = await receivePublish(s);
    expect(again).toMatchObject({ qos: 2, dup: true, msgId: first.msgId, topicId: first.topicId });
    expect(again.payload.toString()).toBe('exactly once');
    await s.expect('PINGRESP');
    // Exactly once: the flow completed, so the next wake-up brings the next message, not this one again.
    await ctx.observer.publish('sleep/half-done', 'next', 2);
    await until(() => ctx.gw.gateway.core.client('half-done')?.buffered === 1);
    s.send({ type: 'PINGREQ', clientId: 'half-done' });
    expect((await receivePublish(s)).payload.toString()).toBe('next');
    await s.expect('PINGRESP');
    // The client saw it twice on the wire (the first try and its DUP, one MsgId), which QoS 2 makes one delivery.
    const copies = s.received.filter((m) => m.type === 'PUBLISH' && m.payload.toString() === 'exactly once');
    expect(copies.map((m) => m.type === 'PUBLISH' && [m.dup, m.msgId])).toEqual([[false, first.msgId], [true, first.msgId]]);
  });

  it('§6.14 PINGREQ without ClientId from a sleeping client: PINGRESP and a restarted deadline, but no delivery (only the ClientId form wakes it)', async () => {
    const { s } = await sleepingSensor(ctx, 'plainping');
    await publishWhileAsleep(ctx, 'plainping', [['held', 1]], 1);
    ctx.gw.advance(SLEEP_DEADLINE - 5);
    s.send({ type: 'PINGREQ' });
    await s.expect('PINGRESP');
    await expectNothingPending(s); // and no delivery behind it
    ctx.gw.advance(SLEEP_DEADLINE);
    expect(ctx.gw.gateway.core.client('plainping')).toMatchObject({ state: 'asleep', buffered: 1 });
  });

  it('§6.14 a client that is not asleep cannot wake: PINGREQ with the ClientId of a lost client is answered DISCONNECT (§5.4.21), so it reconnects', async () => {
    const { s } = await sleepingSensor(ctx, 'too-late');
    ctx.gw.advance(SLEEP_DEADLINE + 1);
    expect(ctx.gw.gateway.core.client('too-late')?.state).toBe('lost');
    s.send({ type: 'PINGREQ', clientId: 'too-late' });
    expect(await s.expect('DISCONNECT')).toEqual({ type: 'DISCONNECT' });
    expect(ctx.gw.gateway.core.client('too-late')?.state).toBe('lost');
    expect(ctx.gw.gateway.core.stats.unexpected).toBe(1);
  });

  it('§6.14 §6.4 an awake client may update its will: WILLTOPICRESP and WILLMSGRESP, and the updated will is the one published when it is lost', async () => {
    const { s, topicId } = await sleepingSensor(ctx, 'awake-will');
    await publishWhileAsleep(ctx, 'awake-will', [['keeps it awake', 1]], 1);
    s.send({ type: 'PINGREQ', clientId: 'awake-will' });
    const p = await s.expect('PUBLISH'); // awake until it acknowledges this
    expect(ctx.gw.gateway.core.client('awake-will')?.state).toBe('awake');
    s.send({ type: 'WILLTOPICUPD', qos: 1, retain: false, willTopic: 'will/awake-will-new' });
    expect(await s.expect('WILLTOPICRESP')).toEqual({ type: 'WILLTOPICRESP', returnCode: 0 });
    s.send({ type: 'WILLMSGUPD', willMsg: Buffer.from('updated while awake') });
    expect(await s.expect('WILLMSGRESP')).toEqual({ type: 'WILLMSGRESP', returnCode: 0 });
    s.send({ type: 'PUBACK', topicId, msgId: p.msgId, returnCode: 0 });
    await s.expect('PINGRESP');
    ctx.gw.advance(SLEEP_DEADLINE + 1);
    expect(ctx.gw.gateway.core.client('awake-will')?.state).toBe('lost');
    expect(await ctx.observer.waitFor(1, 'will/awake-will-new')).toMatchObject([{ payload: 'updated while awake', qos: 1 }]);
    await brokerCaughtUp(ctx.gw, ctx.observer);
    expect(ctx.observer.messages.filter((m) => m.topic === 'will/awake-will')).toEqual([]);
  });

  it('§6.14 a sensor may wake from a new address: the buffered messages go there', async () => {
    const { s } = await sleepingSensor(ctx, 'mover');
    await publishWhileAsleep(ctx, 'mover', [['for the new address', 1]], 1);
    await s.close();
    const moved = await ctx.gw.sensor();
    moved.send({ type: 'PINGREQ', clientId: 'mover' });
    const p = await receivePublish(moved);
    expect(p.payload.toString()).toBe('for the new address');
    await moved.expect('PINGRESP');
    expect(ctx.gw.gateway.core.client('mover')?.address).toBe(moved.localAddress);
  });

  it('§6.14 a sensor sleeps through 50 QoS 1 messages and gets all of them on waking, in order, each PUBACKed, then PINGRESP', async () => {
    const { s } = await sleepingSensor(ctx, 'sleeper50');
    const payloads = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await publishWhileAsleep(ctx, 'sleeper50', payloads.map((p) => [p, 1]), 50);
    s.send({ type: 'PINGREQ', clientId: 'sleeper50' });
    const got: string[] = [];
    const msgIds = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const p = await receivePublish(s);
      expect(p).toMatchObject({ qos: 1, dup: false });
      got.push(p.payload.toString());
      msgIds.add(p.msgId);
    }
    await s.expect('PINGRESP');
    expect(got).toEqual(payloads);
    expect(msgIds.size).toBe(50);
    expect(ctx.gw.gateway.core.client('sleeper50')).toMatchObject({ state: 'asleep', buffered: 0, inflight: 0, dropped: 0 });
  });

  it('§6.14 buffered messages survive the broker going away and coming back; the subscription still works afterwards', async () => {
    const { s } = await sleepingSensor(ctx, 'outage');
    await publishWhileAsleep(ctx, 'outage', [['before', 1]], 1);
    await ctx.broker.kill!();
    await until(() => !ctx.gw.gateway.upstream.connected, undefined, () => 'gateway noticed the broker is gone');
    await ctx.broker.restart!();
    await until(() => ctx.gw.gateway.upstream.connected, 10_000, () => 'gateway reconnected');
    // The observer reconnects on its own; the gateway resubscribed for the sleeping client.
    await until(() => ctx.observer.client.connected, 10_000, () => 'observer reconnected');
    await ctx.observer.subscribe('will/#', 2);
    // Resubscription is asynchronous: publish until the gateway buffers one from after the outage.
    await until(() => {
      void ctx.observer.publish('sleep/outage', 'after', 1);
      return (ctx.gw.gateway.core.client('outage')?.buffered ?? 0) >= 2;
    }, 10_000, () => `buffered after the outage: ${JSON.stringify(ctx.gw.gateway.core.client('outage'))}`);
    s.send({ type: 'PINGREQ', clientId: 'outage' });
    const first = await receivePublish(s);
    const second = await receivePublish(s);
    expect([first.payload.toString(), second.payload.toString()]).toEqual(['before', 'after']);
  });
});

describe('§6.14 sleep buffer limits (sleepBuffer: 4) with mosquitto', () => {
  const ctx = suite('mosquitto', (config) => { config.gateway.sleepBuffer = 4; });

  it('§6.14 when the buffer is full the oldest QoS 0 message goes first, QoS 1/2 are kept over QoS 0, and every drop is counted', async () => {
    const dropped: string[] = [];
    ctx.gw.gateway.core.events.on('messageDropped', (id, topic, reason) => { if (id === 'tight') dropped.push(reason); });
    const { s } = await sleepingSensor(ctx, 'tight');
    // One at a time, so the broker's order is the buffer's order.
    const sequence: [string, 0 | 1][] = [['a0', 0], ['b1', 1], ['c0', 0], ['d1', 1], ['e1', 1], ['f1', 1], ['g0', 0], ['h1', 1]];
    let received = 0;
    for (const [payload, qos] of sequence) {
      await ctx.observer.publish('sleep/tight', payload, qos);
      received++;
      await settled(ctx.gw, 'tight', (c) => c.buffered + c.dropped === received);
    }
    // e1 pushed out a0 (oldest QoS 0), f1 pushed out c0, g0 found only QoS 1 and was itself dropped,
    // h1 found no QoS 0 left and pushed out the oldest QoS 1 (b1): the buffer stays bounded.
    expect(ctx.gw.gateway.core.client('tight')).toMatchObject({ buffered: 4, dropped: 4 });
    expect(ctx.gw.gateway.core.stats.droppedForClients).toBe(4);
    expect(dropped).toEqual(Array(4).fill('sleep buffer full'));
    s.send({ type: 'PINGREQ', clientId: 'tight' });
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push((await receivePublish(s)).payload.toString());
    await s.expect('PINGRESP');
    expect(got).toEqual(['d1', 'e1', 'f1', 'h1']);
  });

  it('§6.14 sleepBuffer 0 buffers nothing: every message for a sleeping client is dropped and counted', async () => {
    await ctx.gw.stop();
    const config = testConfig(ctx.broker.url);
    config.gateway.sleepBuffer = 0;
    ctx.gw = await startGateway(config);
    const { s } = await sleepingSensor(ctx, 'no-buffer');
    await ctx.observer.publish('sleep/no-buffer', 'lost', 1);
    await settled(ctx.gw, 'no-buffer', (c) => c.dropped === 1);
    s.send({ type: 'PINGREQ', clientId: 'no-buffer' });
    await s.expect('PINGRESP');
    expect(ctx.gw.gateway.core.client('no-buffer')).toMatchObject({ buffered: 0, dropped: 1 });
  });
});
