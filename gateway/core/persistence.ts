/**
 * The core's side of the session store: which sessions changed in this event-loop turn, written as
 * one transaction at the end of the turn (a later turn's changes wait for the write in progress and
 * go together in the next, so batches grow with the load); and acknowledgements that may leave only
 * once the transaction holding what they acknowledge has committed.
 * Without a store every call is a no-op and `afterCommit` runs at once: behaviour and speed as before.
 */
import type { LogLevel } from '../../radios/radio.js';
import type { SessionStore, StoreChange } from '../store/store.js';
import type { Session } from './session.js';
import { recordHoldsPublishes, toRecord } from './session-record.js';

export class SessionPersistence {
  private dirty = new Set<Session>();
  private waiting: (() => void)[] = [];
  /** What to do instead, for those of `waiting` that said, if their transaction fails. */
  private ifFailed: (() => void)[] = [];
  private scheduled = false;
  private writing: Promise<void> | undefined;
  /** Sessions whose stored record holds a client message on its way to the broker. */
  private readonly storedWithPublishes = new WeakSet<Session>();
  /**
   * ClientIds with a record in the store (or in a write under way): only those need a delete. A
   * CleanSession=1 client that never slept has none, so its CONNECT and DISCONNECT write nothing
   * (issue 13: 100,000 such CONNECTs wrote 100,000 deletes, and LevelDB's memory grew by 0.8 KB a sensor).
   */
  private readonly storedIds = new Set<string>();
  /** Batches written, for tests and the status report. */
  commits = 0;

  constructor(
    readonly store: SessionStore | undefined,
    /** Whether the session is to be kept (else its record is deleted), and is still the one by its ClientId. */
    private readonly keeps: (session: Session) => boolean,
    private readonly log: (level: LogLevel, message: string) => void,
  ) {}

  get enabled(): boolean {
    return this.store !== undefined;
  }

  /** A record read back from the store at start-up: it is there until deleted. */
  restored(clientId: string): void {
    this.storedIds.add(clientId);
  }

  changed(session: Session): void {
    if (!this.store) return;
    this.dirty.add(session);
    this.schedule();
  }

  /** Marks the session only if its stored record holds a client publish (so its removal is written too). */
  changedIfKept(session: Session): void {
    if (this.store && this.storedWithPublishes.has(session)) this.changed(session);
  }

  /**
   * Runs `fn` once everything changed so far is committed; at once without a store. If that transaction
   * fails, `fn` never runs (nothing is acknowledged that is not stored) and `failed` runs instead.
   */
  afterCommit(fn: () => void, failed?: () => void): void {
    if (!this.store) {
      fn();
      return;
    }
    this.waiting.push(fn);
    if (failed) this.ifFailed.push(failed);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Writes what changed; resolves when it (and any write in progress) committed. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (!this.store || (this.dirty.size === 0 && this.waiting.length === 0)) return;
    const changes: StoreChange[] = [];
    for (const session of this.dirty) {
      if (this.keeps(session)) {
        const record = toRecord(session);
        if (recordHoldsPublishes(record)) this.storedWithPublishes.add(session);
        else this.storedWithPublishes.delete(session);
        changes.push({ op: 'put', clientId: session.clientId, record });
        this.storedIds.add(session.clientId);
      } else {
        this.storedWithPublishes.delete(session);
        if (this.storedIds.delete(session.clientId)) changes.push({ op: 'delete', clientId: session.clientId });
      }
    }
    const waiting = this.waiting;
    const ifFailed = this.ifFailed;
    this.dirty = new Set();
    this.waiting = [];
    this.ifFailed = [];
    const write = changes.length ? this.store.write(changes) : Promise.resolve();
    this.writing = write.then(
      () => {
        this.commits++;
        this.runEach(waiting, 'after commit');
      },
      (err: unknown) => {
        // Records this batch was to delete may still be there: deleted again with the next change.
        for (const change of changes) if (change.op === 'delete') this.storedIds.add(change.clientId);
        // Nothing is acknowledged that is not stored: senders retry, the broker redelivers.
        this.log('error', `session store: write of ${changes.length} change(s) failed, ${waiting.length} acknowledgement(s) withheld: ${(err as Error).message}`);
        this.runEach(ifFailed, 'after a failed commit');
      },
    ).finally(() => {
      this.writing = undefined;
      if (this.dirty.size || this.waiting.length) this.schedule();
    });
    await this.writing;
  }

  /** Runs each of `fns`; one that throws is logged and the others still run. */
  private runEach(fns: (() => void)[], when: string): void {
    for (const fn of fns) {
      try {
        fn();
      } catch (err) {
        this.log('error', `${when}: ${(err as Error).stack ?? err}`);
      }
    }
  }
}
