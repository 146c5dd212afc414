/**
 * The LevelDB session store on a real disk (a temporary directory): transactions survive a reopen,
 * unreadable records and stores are set aside (never deleted) and the gateway starts with what could be
 * read, and a store of another format is refused with a message that says what to do.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import { GatewayCore } from '../../gateway/core/core.js';
import { newSession } from '../../gateway/core/session.js';
import { toRecord } from '../../gateway/core/session-record.js';
import { LevelSessionStore, StoreFormatError } from '../../gateway/store/level-store.js';
import { RecordingUpstream } from '../support/recording-upstream.js';

const logs: string[] = [];
const log = (level: string, message: string) => { logs.push(`${level} ${message}`); };

function freshDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'gw-store-')), 'sessions');
}

async function open(dir: string, fsyncIntervalMs = 1000): Promise<LevelSessionStore> {
  return LevelSessionStore.open(dir, { fsyncIntervalMs, log });
}

/** Writes raw keys behind the store's back, as a damaged disk or another program would. */
async function writeRaw(dir: string, entries: Record<string, string>): Promise<void> {
  const db = new ClassicLevel<string, string>(dir, { valueEncoding: 'utf8' });
  await db.open();
  for (const [k, v] of Object.entries(entries)) await db.put(k, v);
  await db.close();
}

describe('LevelSessionStore', () => {
  it('a committed batch of puts and deletes is what a reopened store loads', async () => {
    const dir = freshDir();
    const store = await open(dir);
    await store.write([{ op: 'put', clientId: 'a', record: { n: 1 } }, { op: 'put', clientId: 'b', record: { n: 2 } }]);
    await store.write([{ op: 'delete', clientId: 'a' }, { op: 'put', clientId: 'b', record: { n: 3 } }]);
    await store.close();
    const again = await open(dir);
    expect(await again.load(log)).toEqual(new Map([['b', { n: 3 }]]));
    await again.close();
  });

  it('fsyncInterval 0: every batch is written with sync and still loads back', async () => {
    const dir = freshDir();
    const store = await open(dir, 0);
    await store.write([{ op: 'put', clientId: 'x', record: { synced: true } }]);
    await store.close();
    const again = await open(dir, 0);
    expect((await again.load(log)).get('x')).toEqual({ synced: true });
    await again.close();
  });

  it('a record that is not JSON is moved to sessions-unreadable.jsonl with its bytes; the others load', async () => {
    const dir = freshDir();
    const store = await open(dir);
    await store.write([{ op: 'put', clientId: 'good', record: { ok: 1 } }]);
    await store.close();
    await writeRaw(dir, { 's/broken': '{"v":1,"clie' });
    const again = await open(dir);
    const loaded = await again.load(log);
    expect([...loaded.keys()]).toEqual(['good']);
    const aside = readFileSync(`${dir}-unreadable.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { clientId: string; record: string; reason: string });
    expect(aside).toMatchObject([{ clientId: 'broken', record: '{"v":1,"clie', reason: 'not JSON' }]);
    await again.close();
    // Moved, not kept twice: the next start does not meet it again.
    const third = await open(dir);
    expect([...(await third.load(log)).keys()]).toEqual(['good']);
    await third.close();
  });

  it('a store of another format is refused, naming both formats, and left as it is', async () => {
    const dir = freshDir();
    await (await open(dir)).close();
    await writeRaw(dir, { format: JSON.stringify({ version: 99 }), 's/kept': '{}' });
    await expect(open(dir)).rejects.toThrow(StoreFormatError);
    await expect(open(dir)).rejects.toThrow(/format 99, this gateway reads format 1/);
    const db = new ClassicLevel<string, string>(dir, { valueEncoding: 'utf8' });
    await db.open();
    expect(await db.get('s/kept')).toBe('{}');
    await db.close();
  });

  it('a second gateway on the same stateDir is refused: the store is in use', async () => {
    const dir = freshDir();
    const first = await open(dir);
    await expect(open(dir)).rejects.toThrow(/is in use by another process/);
    await first.close();
  });

  it('a store that does not open is copied aside, then repaired; the gateway starts', async () => {
    const dir = freshDir();
    const store = await open(dir);
    await store.write([{ op: 'put', clientId: 'survivor', record: { ok: true } }]);
    await store.close();
    writeFileSync(join(dir, 'CURRENT'), 'MANIFEST-999999\n'); // points at a manifest that is not there
    logs.length = 0;
    const again = await open(dir);
    const loaded = await again.load(log);
    await again.close();
    const parent = join(dir, '..');
    expect(readdirSync(parent).some((name) => name.startsWith('sessions.unreadable-'))).toBe(true);
    expect(logs.some((l) => l.startsWith('error session store') && l.includes('a copy is kept in'))).toBe(true);
    expect(loaded.get('survivor')).toEqual({ ok: true });
  });
});

describe('session records read back by the core', () => {
  const config = parseConfig('gateway: { advertiseInterval: 0 }');

  it('a record of another record version is refused with the reason, the others restored', () => {
    const core = new GatewayCore({ gateway: config.gateway, topics: config.topics, upstream: new RecordingUpstream(), clock: new ManualClock() });
    const good = newSession('good', { radio: 'udp0', address: 'udp:127.0.0.1:1' }, 0);
    good.cleanSession = false;
    good.state = 'disconnected';
    const records = new Map<string, unknown>([['good', toRecord(good)], ['future', { ...toRecord(good), clientId: 'future', v: 2 }]]);
    const unreadable = core.restore(records);
    expect(unreadable).toEqual([{ clientId: 'future', reason: 'record version 2, this gateway reads version 1' }]);
    expect(core.client('good')?.state).toBe('disconnected');
    expect(core.client('future')).toBeUndefined();
  });
});

