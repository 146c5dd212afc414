/**
 * A kept session's promises leave only once the store holds them: the REGACK for a topic id and the
 * DISCONNECT that lets a sensor sleep are sent after the transaction with the change has committed, so a
 * crash between the two can never leave a sensor relying on state the restarted gateway does not have.
 * (PUBREC and the broker's acknowledgements are covered by persistence-model.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config/config.js';
import { bootKeptCore, MemoryStore } from '../support/memory-store.js';

const CONFIG = parseConfig('gateway: { advertiseInterval: 0 }\n');
const SENSOR = 'udp:127.0.0.1:1';

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
});
