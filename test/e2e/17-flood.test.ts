/**
 * Flood limits (issue 10): a per-address frame-rate limit, a cap on clients in `connecting`, and
 * per-client bounds on topic ids and subscriptions. A flooding node costs bounded CPU and memory and
 * never starves a well-behaved sensor. Real Mosquitto, real UDP datagrams, loopback only.
 */
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { encode } from '../../sn-codec/index.js';
import { gatewaySuite, connect, register, until } from '../support/harness.js';

const FRAME_BURST = 200;

describe('17 flood limits (mosquitto)', () => {
  const t = gatewaySuite('mosquitto', {
    configure: (config) => {
      // The harness's clock only moves when a test says so: each sender has FRAME_BURST frames until then.
      config.limits = { frameRate: 100, frameBurst: FRAME_BURST, maxConnecting: 3, maxTopicIdsPerClient: 5, maxSubscriptionsPerClient: 3 };
    },
    observe: [{ filter: 'flood/#', qos: 1 }],
  });
  const core = () => t.gw.gateway.core;

  it('20,000 frames/s from one address: another sensor\'s QoS 1 round trips keep succeeding; the flood is counted as limited', async () => {
    const good = await t.gw.sensor();
    await connect(good, 'flood-good');
    const id = await register(good, 'flood/good');

    const flooder = createSocket('udp4');
    await new Promise<void>((resolve) => flooder.bind(0, '127.0.0.1', resolve));
    const limitedBefore = core().stats.rateLimited;
    const framesBefore = core().stats.framesIn;
    // A CONNECT storm from one address, paced at 20,000 frames/s: 100 every 5 ms, until 20,000 frames
    // are sent or 4 s of wall-clock time have passed, whichever comes first.
    let sent = 0;
    const started = Date.now();
    let flooding = true;
    const flood = (async () => {
      while (sent < 20_000 && Date.now() - started < 4000) {
        for (let i = 0; i < 100; i++, sent++) {
          flooder.send(encode({ type: 'CONNECT', will: true, cleanSession: true, duration: 60, clientId: `flood-${sent}` }), t.gw.port, '127.0.0.1');
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })().finally(() => { flooding = false; });
    // QoS 1 round trips for as long as the flood lasts (at most 150: the good sensor's own burst is 200 frames).
    let roundTrips = 0;
    for (let msgId = 1; (flooding || roundTrips < 5) && msgId <= 150; msgId++) {
      good.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId, payload: Buffer.from(`m${msgId}`) });
      expect(await good.expect('PUBACK', 10_000)).toMatchObject({ msgId, returnCode: 0 });
      roundTrips++;
      await new Promise((r) => setTimeout(r, 5));
    }
    await flood;
    expect(roundTrips).toBeGreaterThanOrEqual(5);
    await t.observer.waitFor(roundTrips, 'flood/good', 10_000);
    // Every flood frame the gateway read beyond the burst was dropped unread (the rest were the good sensor's PUBLISHes).
    await until(() => core().stats.framesIn - framesBefore >= FRAME_BURST + roundTrips, 5000, () => `framesIn ${core().stats.framesIn - framesBefore}`);
    const readFromFlooder = core().stats.framesIn - framesBefore - roundTrips;
    expect(core().stats.rateLimited - limitedBefore).toBe(readFromFlooder - FRAME_BURST);
    expect(sent).toBeGreaterThan(FRAME_BURST);
    flooder.close();
  });

  it('a limited sender is logged (once a minute) and served again once its bucket refills (limits.frameRate per second)', async () => {
    const s = await t.gw.sensor();
    const lines: string[] = [];
    const onLog = (_level: string, message: string) => { if (message.includes(s.localAddress)) lines.push(message); };
    core().events.on('log', onLog);
    try {
      // Junk (reserved message type 0x03): malformed, dropped unanswered; past the burst it is not even read.
      for (let i = 0; i < FRAME_BURST + 5; i++) s.sendRaw(Buffer.from([0x02, 0x03]));
      await until(() => lines.some((l) => l.includes('frames over the limit are dropped')), 5000, () => lines.join('\n'));
      t.gw.advance(1); // 100 frames' worth of tokens
      await connect(s, 'flood-refilled');
      expect(core().client('flood-refilled')?.state).toBe('active');
      expect(lines.filter((l) => l.includes('frames over the limit'))).toHaveLength(1);
    } finally {
      core().events.off('log', onLog);
    }
  });

  it('§6.2 beyond limits.maxConnecting clients in their will handshake, CONNACK 0x01 (congestion)', async () => {
    const held = await Promise.all([1, 2, 3].map(() => t.gw.sensor()));
    // The flood test's CONNECTs left will handshakes open: let them time out first (§6.13), then count afresh.
    t.gw.advance(50);
    expect(core().connectingCount).toBe(0);
    for (const [i, s] of held.entries()) {
      s.send({ type: 'CONNECT', will: true, cleanSession: true, duration: 60, clientId: `half-open-${i}` });
      await s.expect('WILLTOPICREQ');
    }
    const late = await t.gw.sensor();
    late.send({ type: 'CONNECT', will: true, cleanSession: true, duration: 60, clientId: 'half-open-late' });
    expect(await late.expect('CONNACK')).toEqual({ type: 'CONNACK', returnCode: 1 });
    // One handshake completing makes room again.
    held[0].send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: '' });
    expect(await held[0].expect('CONNACK')).toMatchObject({ returnCode: 0 });
    await connect(late, 'half-open-late');
  });

  it('§6.5 past limits.maxTopicIdsPerClient, REGISTER gets REGACK 0x01; known names still resolve', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'flood-reg');
    for (let i = 1; i <= 5; i++) await register(s, `flood/reg/${i}`, i);
    s.send({ type: 'REGISTER', topicId: 0, msgId: 6, topicName: 'flood/reg/6' });
    expect(await s.expect('REGACK')).toEqual({ type: 'REGACK', topicId: 0, msgId: 6, returnCode: 1 });
    expect(await register(s, 'flood/reg/3', 7)).toBe(3);
  });

  it('§6.9 past limits.maxSubscriptionsPerClient, SUBSCRIBE gets SUBACK 0x01', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'flood-sub');
    for (let i = 1; i <= 3; i++) {
      s.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: i, topic: { topicIdType: 'normal', topicName: `flood/sub/${i}/#` } });
      expect(await s.expect('SUBACK')).toMatchObject({ msgId: i, returnCode: 0 });
    }
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 4, topic: { topicIdType: 'normal', topicName: 'flood/sub/4/#' } });
    expect(await s.expect('SUBACK')).toEqual({ type: 'SUBACK', qos: 0, topicId: 0, msgId: 4, returnCode: 1 });
    expect(core().client('flood-sub')?.subscriptions).toHaveLength(3);
  });
});
