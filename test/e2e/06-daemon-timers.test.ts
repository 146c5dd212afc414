/**
 * The daemon's timers on the real clock, as users run them: every other end-to-end gateway runs on the
 * manual test clock, so this file is what fails when the real clock's timers do not fire. Short real
 * durations (keep-alive 2 s, retry interval 2 s, ADVERTISE every 1 s: long enough for the test to answer
 * each handshake step in time on a busy machine); every wait ends on the event itself
 * (the will at the broker, the frame at the sensor), never on elapsed time.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnUdpPeer } from '../../client/udp-peer.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { connectWithWill, subscribe } from '../support/flows.js';
import { Observer } from '../support/harness.js';
import { startMosquitto, type RunningBroker } from '../support/mosquitto.js';

describe('06 daemon timers on the real clock (Mosquitto)', () => {
  let broker: RunningBroker;
  let daemon: RunningDaemon;
  let observer: Observer;
  /** Bound before the daemon starts, so it hears the start-up ADVERTISE too. */
  let listener: SnUdpPeer;
  const peers: SnUdpPeer[] = [];
  const sensor = async () => {
    const peer = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: daemon.ports[0] } });
    peers.push(peer);
    return peer;
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    observer = await Observer.connect(broker.url);
    await observer.subscribe('timers/#', 1);
    listener = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: 1 } });
    daemon = await startDaemon(mkdtempSync(join(tmpdir(), 'gw-timers-')), 1, ([udpPort]) => [
      'gateway: { id: 9, advertiseInterval: 1, keepAliveGrace: 1.5, retry: { interval: 2, count: 1 } }',
      `broker: { url: ${broker.url}, reconnectMin: 0.2, reconnectMax: 1 }`,
      `radios: [ { type: udp, host: 127.0.0.1, port: ${udpPort}, broadcastAddress: 127.0.0.1, broadcastPort: ${listener.port} } ]`,
      'http: false',
      '',
    ].join('\n'));
    await daemon.waitForLog('broker: connected');
  });
  afterAll(async () => {
    await Promise.all([...peers, listener].map((p) => p?.close()));
    await daemon?.stop();
    await observer?.close();
    await broker?.stop();
  });

  it('§6.1 ADVERTISE at start-up and again every advertiseInterval, Duration = the interval', async () => {
    // The first comes from start-up; the second only from the real clock's timer.
    expect(await listener.expect('ADVERTISE')).toEqual({ type: 'ADVERTISE', gwId: 9, duration: 1 });
    expect(await listener.expect('ADVERTISE')).toEqual({ type: 'ADVERTISE', gwId: 9, duration: 1 });
  });

  it('§6.11 a client silent past Duration × keepAliveGrace is lost and its will published', async () => {
    const s = await sensor();
    await connectWithWill(s, 'rt-silent', { topic: 'timers/keepalive', message: 'gone', qos: 1, retain: false }, { duration: 2 });
    expect((await observer.waitFor(1, 'timers/keepalive'))[0]).toMatchObject({ payload: 'gone', qos: 1 });
    await daemon.waitForLog('client rt-silent lost: keep-alive expired (2 s');
  });

  it('§6.13 an unacknowledged PUBLISH is resent with DUP after retry.interval, then the client is lost', async () => {
    const s = await sensor();
    await connectWithWill(s, 'rt-retry', { topic: 'timers/retry-will', message: 'no answer', qos: 0, retain: false }, { duration: 60 });
    await subscribe(s, 'timers/retry', 1);
    await observer.publish('timers/retry', 'ack me', 1);
    const first = await s.expect('PUBLISH');
    expect(first).toMatchObject({ dup: false, qos: 1, payload: Buffer.from('ack me') });
    // Not acknowledged: the sweep on the real clock resends it once (retry.count 1) ...
    expect(await s.expect('PUBLISH')).toMatchObject({ dup: true, msgId: first.msgId, payload: Buffer.from('ack me') });
    // ... and one interval later the client is lost.
    expect((await observer.waitFor(1, 'timers/retry-will'))[0]).toMatchObject({ payload: 'no answer' });
    await daemon.waitForLog('client rt-retry lost: no answer to PUBLISH after 1 retries');
  });

  it('§6.14 a sleeping client that misses its wake-up (Duration × keepAliveGrace) is lost and its will published', async () => {
    const s = await sensor();
    await connectWithWill(s, 'rt-sleeper', { topic: 'timers/sleep-will', message: 'overslept', qos: 1, retain: false }, { duration: 60 });
    s.send({ type: 'DISCONNECT', duration: 1 });
    expect(await s.expect('DISCONNECT')).toMatchObject({ type: 'DISCONNECT' });
    expect((await observer.waitFor(1, 'timers/sleep-will'))[0]).toMatchObject({ payload: 'overslept' });
    await daemon.waitForLog('client rt-sleeper lost: missed its wake-up (slept 1 s)');
  });
});
