/**
 * What the core asks of a session store: the records of the sessions that outlive their connection,
 * read once at start-up, and batches of changes written as one transaction each. The core knows only
 * this interface (like broker/upstream.ts); the daemon picks the concrete store (level-store.ts).
 * Records are plain JSON-safe data (session-record.ts); the store never looks inside them.
 */
import type { LogLevel } from '../../radios/radio.js';

/** One change in a batch: a session's whole record replaced, or the session gone. */
export type StoreChange =
  | { op: 'put'; clientId: string; record: unknown }
  | { op: 'delete'; clientId: string };

export interface SessionStore {
  /** Every kept record, by ClientId. Unreadable ones are logged and set aside, never deleted, never returned. */
  load(log: (level: LogLevel, message: string) => void): Promise<Map<string, unknown>>;
  /**
   * Writes the changes as one atomic transaction. Resolves once it has committed (durable against a
   * process crash; against power loss after the next sync, see the fsync policy in README).
   */
  write(changes: StoreChange[]): Promise<void>;
  /** A record the core could not read: moved out of the store into a file beside it, with the reason. */
  setAside(clientId: string, reason: string): Promise<void>;
  close(): Promise<void>;
}
