/**
 * A SessionStore in memory, for core tests: what a write committed survives a "crash" (a new core on
 * the same committed map); a write still in progress when the crash comes is lost, as on disk.
 * The real store (LevelDB) is tested in test/store and end to end.
 */
import type { SessionStore, StoreChange } from '../../gateway/store/store.js';

export class MemoryStore {
  /** ClientId → the record as JSON, as committed. */
  readonly committed = new Map<string, string>();
  readonly setAside: string[] = [];
  private current: Handle | undefined;

  /** A store for one core's life; the previous one's writes stop counting (the process died). */
  open(): SessionStore {
    if (this.current) this.current.dead = true;
    this.current = new Handle(this);
    return this.current;
  }
}

class Handle implements SessionStore {
  dead = false;
  constructor(private readonly disk: MemoryStore) {}

  load(): Promise<Map<string, unknown>> {
    return Promise.resolve(new Map([...this.disk.committed].map(([id, json]) => [id, JSON.parse(json) as unknown])));
  }

  async write(changes: StoreChange[]): Promise<void> {
    // Serialised now, committed a turn later: a crash in between loses the batch.
    const batch = changes.map((c) => (c.op === 'put' ? { id: c.clientId, json: JSON.stringify(c.record) } : { id: c.clientId, json: undefined }));
    await new Promise((resolve) => setImmediate(resolve));
    if (this.dead) throw new Error('the process is gone');
    for (const { id, json } of batch) {
      if (json === undefined) this.disk.committed.delete(id);
      else this.disk.committed.set(id, json);
    }
  }

  setAside(clientId: string): Promise<void> {
    this.disk.setAside.push(clientId);
    this.disk.committed.delete(clientId);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
