/** Bad input gets a clear error and loses nothing: malformed frames are counted, logged once with the sender, dropped. */
import { describe, expect, it } from 'vitest';
import { gatewaySuite, connect, register, until } from '../support/harness.js';
import { expectNothingBeforeConnack } from '../support/flows.js';

describe('05 malformed and unexpected frames (Mosquitto)', () => {
  const logs: string[] = [];
  const t = gatewaySuite('mosquitto', { observe: [{ filter: 'm/#' }], started: (gw) => gw.gateway.core.events.on('log', (level, message) => logs.push(`${level} ${message}`)) });

  it('§5.2 a malformed frame is counted, logged once with its sender, and dropped; other sensors are served meanwhile', async () => {
    const good = await t.gw.sensor();
    await connect(good, 'm-good');
    const id = await register(good, 'm/good');
    const bad = await t.gw.sensor();
    const core = t.gw.gateway.core;
    const before = core.stats.malformed;
    const garbage = [
      Buffer.from([0x05, 0x04, 0x00]),             // Length says 5, datagram has 3
      Buffer.from([0x03, 0x03, 0x00]),             // reserved message type 0x03
      Buffer.from([0x07, 0x0c, 0x03, 0, 1, 0, 1]), // PUBLISH with reserved TopicIdType
      Buffer.from([0x05, 0x04, 0x04, 0x01, 0]),     // CONNECT cut short inside Duration
      Buffer.alloc(0),
    ];
    for (const frame of garbage) bad.sendRaw(frame);
    good.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 1, payload: Buffer.from('fine') });
    expect(await good.expect('PUBACK')).toMatchObject({ msgId: 1, returnCode: 0 });
    expect((await t.observer.waitFor(1, 'm/good'))[0].payload).toBe('fine');
    await expectNothingBeforeConnack(bad, 'm-bad-marker', () => core.stats.malformed - before === garbage.length);
    // One log line names the sender; the flood after it is counted, not logged again.
    const lines = logs.filter((l) => l.includes(`udp:127.0.0.1:${bad.port}`));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warn udp0: malformed frame from udp:127\.0\.0\.1:\d+ dropped \(length-mismatch/);
    // The sender itself can still connect with a good frame.
    await connect(bad, 'm-was-bad');
  });

  it('a well-formed frame out of place (a CONNACK or a PUBACK from a client that never connected) is counted and dropped', async () => {
    const s = await t.gw.sensor();
    const core = t.gw.gateway.core;
    const before = core.stats.unexpected;
    s.send({ type: 'CONNACK', returnCode: 0 });
    s.send({ type: 'PUBACK', topicId: 1, msgId: 99, returnCode: 0 });
    await until(() => core.stats.unexpected - before === 2, undefined, () => `unexpected ${core.stats.unexpected - before}`);
    // Dropped, not answered: the next frame this sensor gets is the answer to its next request.
    s.send({ type: 'SEARCHGW', radius: 0 });
    await s.expect('GWINFO');
  });
});
