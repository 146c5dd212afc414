/**
 * A SessionStore in memory, for core tests: what a write committed survives a "crash" (a new core on
 * the same committed map); a write still in progress when the crash comes is lost, as on disk.
 * The real store (LevelDB) is tested in test/store and end to end.
 */
import type { GatewayConfig } from '../../gateway/config/config-types.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { GatewayCore } from '../../gateway/core/core.js';
import type { SessionStore, StoreChange } from '../../gateway/store/store.js';
import { MemoryRadio } from './memory-radio.js';
import { RecordingUpstream } from './recording-upstream.js';

export class MemoryStore {
  /** ClientId → the record as JSON, as committed. */
  readonly committed = new Map<string, string>();
  readonly setAside: string[] = [];
  /** Every change handed to write(), in order, committed or not. */
  readonly changesWritten: StoreChange[] = [];
  /** While set, every write fails as a full or broken disk would: nothing of it is committed. */
  failWrites = false;
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
    this.disk.changesWritten.push(...changes);
    // Serialised now, committed a turn later: a crash in between loses the batch.
    const batch = changes.map((c) => (c.op === 'put' ? { id: c.clientId, json: JSON.stringify(c.record) } : { id: c.clientId, json: undefined }));
    await new Promise((resolve) => setImmediate(resolve));
    if (this.dead) throw new Error('the process is gone');
    if (this.disk.failWrites) throw new Error('ENOSPC: no space left on device');
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

/** A core as the daemon runs it with a store: restored from what `disk` committed, radio and broker up. */
export interface KeptCore { core: GatewayCore; radio: MemoryRadio; upstream: RecordingUpstream; clock: ManualClock }

/** Starts a core on `disk` (a new process: the previous one's unfinished writes are lost). */
export async function bootKeptCore(disk: MemoryStore, config: GatewayConfig): Promise<KeptCore> {
  const clock = new ManualClock();
  const radio = new MemoryRadio();
  const upstream = new RecordingUpstream();
  const store = disk.open();
  const core = new GatewayCore({ gateway: config.gateway, topics: config.topics, upstream, clock, store });
  core.addRadio(radio);
  core.restore(await store.load(() => {}));
  await radio.start(core.radioSink);
  await upstream.start(core.upstreamSink);
  core.start();
  upstream.grantAll();
  return { core, radio, upstream, clock };
}
