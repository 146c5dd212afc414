/**
 * The session store on LevelDB (classic-level, prebuilt binaries for x64, arm64 and armv7 inside its
 * npm package). LevelDB appends each batch to a checksummed write-ahead log before applying it, so a
 * batch is all or nothing; a torn tail after a power cut is dropped on the next open.
 *
 * fsync policy: every batch is written to the operating system before its promise resolves, so a
 * crash of the process (kill -9, the OOM killer) loses nothing acknowledged. The log is fsynced every
 * `fsyncIntervalMs` (a power cut loses at most that much), or with every batch when it is 0.
 *
 * Layout under `<dir>`: key `format` → { version }, key `s/<ClientId>` → the session's JSON record.
 * Records the gateway cannot read go to `<dir>-unreadable.jsonl` beside it; a store that does not
 * open is copied aside to `<dir>.unreadable-<time>` and repaired. Nothing is ever deleted.
 */
import { appendFileSync, cpSync, mkdirSync, renameSync } from 'node:fs';
import { ClassicLevel } from 'classic-level';
import type { LogLevel } from '../../radios/radio.js';
import type { SessionStore, StoreChange } from './store.js';

/** Bump when the layout or the meaning of keys changes; open() refuses other versions. */
export const STORE_FORMAT = 1;
const SESSION = 's/';

export class StoreFormatError extends Error {
  override readonly name = 'StoreFormatError';
}

type Log = (level: LogLevel, message: string) => void;

export interface LevelStoreOptions {
  /** 0 = fsync every batch before it counts as committed. */
  fsyncIntervalMs: number;
  log: Log;
}

export class LevelSessionStore implements SessionStore {
  private syncTimer: NodeJS.Timeout | undefined;
  private unsynced = false;
  private readonly raw = new Map<string, string>();

  private constructor(
    private readonly db: ClassicLevel<string, string>,
    readonly dir: string,
    private readonly options: LevelStoreOptions,
  ) {
    if (options.fsyncIntervalMs > 0) {
      this.syncTimer = setInterval(() => void this.sync(), options.fsyncIntervalMs);
      this.syncTimer.unref();
    }
  }

  static async open(dir: string, options: LevelStoreOptions): Promise<LevelSessionStore> {
    mkdirSync(dir, { recursive: true });
    const db = await openOrSalvage(dir, options.log);
    await checkFormat(db, dir);
    return new LevelSessionStore(db, dir, options);
  }

  async load(log: Log): Promise<Map<string, unknown>> {
    const records = new Map<string, unknown>();
    for await (const [key, value] of this.db.iterator({ gt: SESSION, lt: SESSION + '\uffff' })) {
      const clientId = key.slice(SESSION.length);
      try {
        records.set(clientId, JSON.parse(value));
        this.raw.set(clientId, value);
      } catch (err) {
        log('error', `session store: record of ${clientId} is not JSON (${(err as Error).message})`);
        this.raw.set(clientId, value);
        await this.setAside(clientId, 'not JSON');
      }
    }
    this.raw.clear();
    return records;
  }

  async setAside(clientId: string, reason: string): Promise<void> {
    const value = this.raw.get(clientId) ?? (await this.db.get(SESSION + clientId));
    const file = `${this.dir}-unreadable.jsonl`;
    appendFileSync(file, JSON.stringify({ at: new Date().toISOString(), clientId, reason, record: value }) + '\n');
    this.options.log('warn', `session store: session ${clientId} could not be read (${reason}); moved to ${file}`);
    await this.db.del(SESSION + clientId, { sync: true });
  }

  async write(changes: StoreChange[]): Promise<void> {
    const ops = changes.map((c) =>
      c.op === 'put'
        ? { type: 'put' as const, key: SESSION + c.clientId, value: JSON.stringify(c.record) }
        : { type: 'del' as const, key: SESSION + c.clientId },
    );
    const sync = this.options.fsyncIntervalMs === 0;
    await this.db.batch(ops, { sync });
    if (!sync) this.unsynced = true;
  }

  /** Flushes the log to the disk: a synced write makes every write before it durable. */
  private async sync(): Promise<void> {
    if (!this.unsynced || this.db.status !== 'open') return;
    this.unsynced = false;
    try {
      await this.db.put('synced', new Date().toISOString(), { sync: true });
    } catch (err) {
      this.options.log('warn', `session store: fsync failed: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.syncTimer);
    await this.sync();
    await this.db.close();
  }
}

async function openOrSalvage(dir: string, log: Log): Promise<ClassicLevel<string, string>> {
  const db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  try {
    await db.open();
    return db;
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause ?? (err as Error);
    if ((err as { code?: string }).code === 'LEVEL_LOCKED' || /lock/i.test(cause.message)) {
      throw new Error(`session store ${dir} is in use by another process (another gateway with the same stateDir?): ${cause.message}`);
    }
    const aside = `${dir}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    log('error', `session store ${dir} does not open (${cause.message}); a copy is kept in ${aside}; repairing and starting with what can be read`);
    cpSync(dir, aside, { recursive: true });
    try {
      await ClassicLevel.repair(dir);
      const repaired = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
      await repaired.open();
      return repaired;
    } catch (again) {
      log('error', `session store ${dir} cannot be repaired (${(again as Error).message}); starting with an empty store (the old one stays in ${aside})`);
      renameSync(dir, `${aside}-unrepaired`);
      mkdirSync(dir, { recursive: true });
      const fresh = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
      await fresh.open();
      return fresh;
    }
  }
}

/** A new store is stamped with STORE_FORMAT; a store of another format is refused, never misread. */
async function checkFormat(db: ClassicLevel<string, string>, dir: string): Promise<void> {
  const stamp = await db.get('format');
  if (stamp === undefined) {
    for await (const _key of db.keys({ limit: 1 })) {
      await db.close();
      throw new StoreFormatError(`session store ${dir} has no format stamp: not written by this gateway; move it aside to start without it`);
    }
    await db.put('format', JSON.stringify({ version: STORE_FORMAT }), { sync: true });
    return;
  }
  let version: unknown;
  try {
    version = (JSON.parse(stamp) as { version?: unknown }).version;
  } catch {
    version = stamp;
  }
  if (version !== STORE_FORMAT) {
    await db.close();
    throw new StoreFormatError(
      `session store ${dir} is in format ${JSON.stringify(version)}, this gateway reads format ${STORE_FORMAT}: ` +
      'run the gateway version that wrote it, or move the directory aside to start without the kept sessions',
    );
  }
}

