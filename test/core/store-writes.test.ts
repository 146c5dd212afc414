/**
 * What reaches the session store: only sessions that outlive their connection (CleanSession=0, or asleep,
 * §6.3, §6.14) are written, and a delete only for a record the store holds. A CleanSession=1 sensor that
 * never sleeps costs the store nothing (issue 13: 100,000 CONNECTs wrote 100,000 deletes, and LevelDB's
 * memory grew with them).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config/config.js';
import { bootKeptCore, MemoryStore } from '../support/memory-store.js';

const CONFIG = parseConfig('gateway: { advertiseInterval: 0 }\n');
const SENSOR = 'udp:127.0.0.1:1';

const turns = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('session store writes', () => {
  it('§6.3 a CleanSession=1 sensor that connects, registers and disconnects writes nothing', async () => {
    const disk = new MemoryStore();
    const r = await bootKeptCore(disk, CONFIG);
    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'passing' });
    r.radio.inject(SENSOR, { type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'passing/t' });
    await turns();
    r.radio.inject(SENSOR, { type: 'DISCONNECT' });
    await turns();
    expect(r.radio.takeOfType(SENSOR, 'REGACK')).toHaveLength(1);
    expect(r.radio.takeOfType(SENSOR, 'DISCONNECT')).toHaveLength(1);
    expect(disk.changesWritten).toEqual([]);
  });

  it('§6.14 a CleanSession=1 sensor that sleeps is written, and deleted once when it ends', async () => {
    const disk = new MemoryStore();
    const r = await bootKeptCore(disk, CONFIG);
    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'napper' });
    await turns();
    r.radio.inject(SENSOR, { type: 'DISCONNECT', duration: 600 });
    await turns();
    expect(disk.committed.has('napper')).toBe(true);
    r.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'napper' });
    await turns();
    r.radio.inject(SENSOR, { type: 'DISCONNECT' });
    await turns();
    expect(disk.committed.has('napper')).toBe(false);
    expect(disk.changesWritten.filter((c) => c.clientId === 'napper').map((c) => c.op)).toEqual(['put', 'delete']);
  });

  it('§6.3 a record restored at start-up is deleted when its client comes back with CleanSession=1', async () => {
    const disk = new MemoryStore();
    const first = await bootKeptCore(disk, CONFIG);
    first.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'returning' });
    await turns();
    expect(disk.committed.has('returning')).toBe(true);

    const again = await bootKeptCore(disk, CONFIG);
    again.radio.inject(SENSOR, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'returning' });
    await turns();
    expect(again.radio.takeOfType(SENSOR, 'CONNACK')).toHaveLength(1);
    expect(disk.committed.has('returning')).toBe(false);
  });
});
