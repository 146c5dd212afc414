/**
 * A kept session's promises leave only once the store holds them: the REGACK for a topic id, the SUBACK
 * and UNSUBACK, the answers to a will update, the CONNACK, and the DISCONNECT that lets a sensor sleep are
 * sent after the transaction with the change has committed, so a crash between the two can never leave a
 * sensor relying on state the restarted gateway does not have.
 * (PUBREC and the broker's acknowledgements are covered by persistence-model.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config/config.js';
import { bootKeptCore, MemoryStore } from '../support/memory-store.js';

const CONFIG = parseConfig('gateway: { advertiseInterval: 0 }\n');
const SENSOR = 'udp:127.0.0.1:1';

const turn = () => new Promise((r) => setImmediate(r));
const turns = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

const boot = (disk: MemoryStore) => bootKeptCore(disk, CONFIG);

async function connected(disk: MemoryStore) {
  const r = await boot(disk);
  r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'kept' });
  await turns();
  expect(r.radio.takeOfType(SENSOR, 'CONNACK')).toHaveLength(1);
  return r;
}

/** A kept sensor subscribed to `topicName`: the broker granted it, and the SUBACK is in (and taken). */
async function subscribed(disk: MemoryStore, topicName: string, qos: 0 | 1 = 0) {
  const r = await connected(disk);
  r.radio.inject(SENSOR, { type: 'SUBSCRIBE', dup: false, qos, msgId: 1, topic: { topicIdType: 'normal', topicName } });
  r.upstream.grantAll();
  await turns();
  expect(r.radio.takeOfType(SENSOR, 'SUBACK')).toMatchObject([{ msgId: 1, returnCode: 0 }]);
  r.radio.take(SENSOR);
  return r;
}

describe('acknowledgements of kept-session state wait for the store (persistence)', () => {
  it('§6.5 REGACK is sent only after the topic id is committed; a crash before that leaves no promise behind', async () => {
    const disk = new MemoryStore();
    const r = await connected(disk);
    r.radio.inject(SENSOR, { type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'kept/topic' });
    expect(r.radio.takeOfType(SENSOR, 'REGACK')).toEqual([]); // not before the commit
    expect(disk.committed.get('kept') ?? '').not.toContain('kept/topic');
    await turns();
    const [regack] = r.radio.takeOfType(SENSOR, 'REGACK');
    expect(regack).toMatchObject({ msgId: 1, returnCode: 0 });
    expect(disk.committed.get('kept')).toContain('kept/topic');

    // Restarted on what the store holds: the promised id still names the topic.
    const again = await boot(disk);
    expect(again.core.sessionsById.get('kept')?.topics.nameOf(regack.topicId)).toBe('kept/topic');
  });

  it('§6.14 the DISCONNECT that lets a sensor sleep is sent only after "asleep" is committed', async () => {
    const disk = new MemoryStore();
    const r = await connected(disk);
    r.radio.inject(SENSOR, { type: 'DISCONNECT', duration: 600 });
    expect(r.radio.takeOfType(SENSOR, 'DISCONNECT')).toEqual([]);
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'DISCONNECT')).toHaveLength(1);
    const again = await boot(disk);
    expect(again.core.sessionsById.get('kept')?.state).toBe('asleep');
  });

  it('§6.9 SUBACK is sent only after the subscription is committed; restarted, the gateway still holds it', async () => {
    const disk = new MemoryStore();
    const r = await connected(disk);
    r.radio.inject(SENSOR, { type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 7, topic: { topicIdType: 'normal', topicName: 'kept/in' } });
    r.upstream.grantAll(); // the broker answers at once: only the store is left to wait for
    expect(r.radio.takeOfType(SENSOR, 'SUBACK')).toEqual([]);
    expect(disk.committed.get('kept') ?? '').not.toContain('kept/in');
    await turns();
    const [suback] = r.radio.takeOfType(SENSOR, 'SUBACK');
    expect(suback).toMatchObject({ msgId: 7, qos: 1, returnCode: 0 });
    expect(disk.committed.get('kept')).toContain('kept/in');

    // Restarted on what the store holds: the subscription is there, and so is the topic id the SUBACK gave.
    const again = await boot(disk);
    const kept = again.core.sessionsById.get('kept')!;
    expect([...kept.subscriptions.keys()]).toEqual(['kept/in']);
    expect(kept.topics.nameOf(suback.topicId)).toBe('kept/in');
  });

  it('§6.9 a broker message that arrives before the SUBACK leaves waits for it: SUBACK first, then the PUBLISH', async () => {
    const disk = new MemoryStore();
    const r = await connected(disk);
    r.radio.inject(SENSOR, { type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 8, topic: { topicIdType: 'normal', topicName: 'kept/first' } });
    r.upstream.grantAll();
    r.upstream.deliver('kept/first', 'retained', 0, true);
    expect(r.radio.take(SENSOR).map((m) => m.type)).toEqual([]);
    await turns();
    expect(r.radio.take(SENSOR).map((m) => m.type)).toEqual(['SUBACK', 'PUBLISH']);
  });

  it('§6.9 UNSUBACK is sent only after the removal is committed; restarted, the subscription stays gone', async () => {
    const disk = new MemoryStore();
    const r = await subscribed(disk, 'kept/gone');
    const storedFilters = () => (JSON.parse(disk.committed.get('kept')!) as { subscriptions: { filter: string }[] }).subscriptions.map((sub) => sub.filter);
    expect(storedFilters()).toEqual(['kept/gone']);

    r.radio.inject(SENSOR, { type: 'UNSUBSCRIBE', msgId: 2, topic: { topicIdType: 'normal', topicName: 'kept/gone' } });
    expect(r.radio.takeOfType(SENSOR, 'UNSUBACK')).toEqual([]);
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'UNSUBACK')).toMatchObject([{ msgId: 2 }]);
    expect(storedFilters()).toEqual([]);

    const again = await boot(disk);
    expect(again.core.sessionsById.get('kept')?.subscriptions.size).toBe(0);
    expect(again.upstream.subscribes.map((s) => s.filter)).not.toContain('kept/gone');
  });

  it('§6.4 WILLTOPICRESP and WILLMSGRESP are sent only after the updated will is committed; restarted, the gateway holds it', async () => {
    const disk = new MemoryStore();
    const r = await connected(disk);
    const storedWill = () => (JSON.parse(disk.committed.get('kept')!) as { will?: { topic: string; message: string } }).will;
    r.radio.inject(SENSOR, { type: 'WILLTOPICUPD', qos: 1, retain: false, willTopic: 'kept/will' });
    expect(r.radio.takeOfType(SENSOR, 'WILLTOPICRESP')).toEqual([]);
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'WILLTOPICRESP')).toMatchObject([{ returnCode: 0 }]);
    expect(storedWill()?.topic).toBe('kept/will');

    r.radio.inject(SENSOR, { type: 'WILLMSGUPD', willMsg: Buffer.from('gone') });
    expect(r.radio.takeOfType(SENSOR, 'WILLMSGRESP')).toEqual([]);
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'WILLMSGRESP')).toMatchObject([{ returnCode: 0 }]);

    const again = await boot(disk);
    const will = again.core.sessionsById.get('kept')?.will;
    expect(will?.topic).toBe('kept/will');
    expect(will?.message.toString()).toBe('gone');
  });

  it('§6.2 the CONNACK of a kept session is sent only after the session is committed; restarted, it is there', async () => {
    const disk = new MemoryStore();
    const r = await boot(disk);
    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'kept' });
    expect(r.radio.takeOfType(SENSOR, 'CONNACK')).toEqual([]);
    expect(disk.committed.has('kept')).toBe(false);
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'CONNACK')).toMatchObject([{ returnCode: 0 }]);
    expect(disk.committed.has('kept')).toBe(true);
    const again = await boot(disk);
    expect(again.core.sessionsById.get('kept')?.state).toBe('active');
  });

  it('§6.2 CleanSession=1 over a kept session: the CONNACK waits for the old session\'s removal; restarted, it does not come back', async () => {
    const disk = new MemoryStore();
    const r = await subscribed(disk, 'kept/old');
    expect(disk.committed.has('kept')).toBe(true);

    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'kept' });
    expect(r.radio.takeOfType(SENSOR, 'CONNACK')).toEqual([]);
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'CONNACK')).toMatchObject([{ returnCode: 0 }]);
    expect(disk.committed.has('kept')).toBe(false);
    const again = await boot(disk);
    expect(again.core.sessionsById.has('kept')).toBe(false);
    expect(again.upstream.subscribes.map((sub) => sub.filter)).not.toContain('kept/old');
  });

  it('§6.2 a broker message for a kept session while its CONNACK waits for the store goes after the CONNACK', async () => {
    const disk = new MemoryStore();
    const r = await subscribed(disk, 'kept/news');

    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'kept' });
    r.upstream.deliver('kept/news', 'now');
    expect(r.radio.take(SENSOR)).toEqual([]);
    await turns();
    expect(r.radio.take(SENSOR).map((m) => m.type)).toEqual(['CONNACK', 'PUBLISH']);
  });

  it('§6.14 a sensor that sleeps before its CONNACK left gets no CONNACK then, and its messages stay buffered until it wakes', async () => {
    const disk = new MemoryStore();
    const r = await subscribed(disk, 'kept/wake', 1);

    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'kept' });
    r.upstream.deliver('kept/wake', 'for later', 1);
    r.radio.inject(SENSOR, { type: 'DISCONNECT', duration: 600 });
    await turns();
    expect(r.radio.take(SENSOR).map((m) => m.type)).toEqual(['DISCONNECT']);
    expect(r.core.sessionsById.get('kept')?.state).toBe('asleep');

    r.radio.inject(SENSOR, { type: 'PINGREQ', clientId: 'kept' });
    await turns();
    const [publish, pingresp] = r.radio.take(SENSOR);
    expect(publish).toMatchObject({ type: 'PUBLISH', payload: Buffer.from('for later') });
    expect(pingresp).toBeUndefined(); // PINGRESP waits for the PUBLISH's PUBACK (§6.14)
  });

  it('§6.9 a SUBACK the store could not commit is withheld, and the sensor\'s messages are not held for good: SUBSCRIBE again, SUBACK, deliveries', async () => {
    const disk = new MemoryStore();
    const r = await connected(disk);
    disk.failWrites = true;
    r.radio.inject(SENSOR, { type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'normal', topicName: 'kept/disk' } });
    r.upstream.grantAll();
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'SUBACK')).toEqual([]);
    expect(r.core.sessionsById.get('kept')?.acksOwed).toBe(0);

    disk.failWrites = false;
    r.radio.inject(SENSOR, { type: 'SUBSCRIBE', dup: true, qos: 0, msgId: 1, topic: { topicIdType: 'normal', topicName: 'kept/disk' } });
    r.upstream.grantAll();
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'SUBACK')).toMatchObject([{ msgId: 1, returnCode: 0 }]);
    r.radio.take(SENSOR);
    r.upstream.deliver('kept/disk', 'after');
    expect(r.radio.take(SENSOR)).toMatchObject([{ type: 'PUBLISH', payload: Buffer.from('after') }]);
  });

  it('§6.2 a CONNACK the store could not commit is withheld and the session is not connected yet; messages wait in its queue until the CONNECT that gets one', async () => {
    const disk = new MemoryStore();
    const r = await subscribed(disk, 'kept/later');
    disk.failWrites = true;
    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'kept' });
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'CONNACK')).toEqual([]);
    expect(r.core.sessionsById.get('kept')).toMatchObject({ state: 'connecting', acksOwed: 0 });
    r.upstream.deliver('kept/later', 'queued');
    expect(r.radio.take(SENSOR)).toEqual([]);

    disk.failWrites = false;
    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'kept' });
    await turns();
    expect(r.radio.take(SENSOR).map((m) => m.type)).toEqual(['CONNACK', 'PUBLISH']);
  });

  it('§6.2 a CONNECT sent again with CleanSession=1 while the first is being stored is answered once, after it is stored itself: a crash right after that CONNACK brings back no old subscription', async () => {
    const disk = new MemoryStore();
    const r = await subscribed(disk, 'kept/old');
    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'kept' });
    await turn(); // the first CONNECT's transaction is being written
    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'kept' });
    await turn(); // ... and committed: it answers nothing now
    expect(r.radio.takeOfType(SENSOR, 'CONNACK')).toEqual([]);
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'CONNACK')).toHaveLength(1);
    const again = await boot(disk); // a crash right after the CONNACK
    expect(again.core.sessionsById.get('kept')).toBeUndefined();
    expect(again.upstream.subscribes.map((sub) => sub.filter)).not.toContain('kept/old');
  });

  it('§6.2 the first CONNECT\'s failed transaction does not undo a second CONNECT: the second still gets its CONNACK once stored', async () => {
    const disk = new MemoryStore();
    const r = await subscribed(disk, 'kept/again');
    disk.failWrites = true;
    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'kept' });
    await turn(); // the first CONNECT's transaction is being written
    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'kept' });
    await turn(); // ... and fails
    disk.failWrites = false;
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'CONNACK')).toHaveLength(1);
    expect(r.core.sessionsById.get('kept')).toMatchObject({ state: 'active', acksOwed: 0 });
  });

  it('§6.9 a SUBACK refusing what the broker refused waits for the undo to be stored: restarted, the gateway does not hold the refused subscription', async () => {
    const disk = new MemoryStore();
    const r = await connected(disk);
    r.radio.inject(SENSOR, { type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 4, topic: { topicIdType: 'normal', topicName: 'kept/refused' } });
    await turns(); // the tentative subscription is stored meanwhile
    r.upstream.subscribes.at(-1)!.grant(0x80);
    expect(r.radio.takeOfType(SENSOR, 'SUBACK')).toEqual([]);
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'SUBACK')).toMatchObject([{ msgId: 4, returnCode: 3 }]);
    const again = await boot(disk);
    expect(again.core.sessionsById.get('kept')?.subscriptions.size).toBe(0);
  });
});
