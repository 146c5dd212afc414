/**
 * A client's QoS 1/2 PUBLISHes by MsgId (Session.incoming). A sensor has one at a time, or a few: a
 * JavaScript Map rebuilds its hash table when its last entry is deleted, so a set and a delete per
 * message cost about 150 bytes of garbage (issue 13). Here the entries sit in one array
 * [msgId, entry, msgId, entry, …], searched in order and removed in place, in insertion order (the
 * array keeps its length, its free slots emptied: shortening it would give its storage up, and the next
 * message would allocate it again); past FLAT_LIMIT entries (a client with many messages held while the broker is away) they move to a Map.
 * Not to be changed while being iterated: copy first ([...incoming]).
 * Not SmallMap (small-map.ts), which it resembles: SmallMap replaces its array on every set and delete (exactly
 * sized, for the subscriptions of 10,000s of sessions, and safe to change while iterated), which is just the
 * per-message garbage this avoids for entries that come and go with every message.
 */
import type { IncomingPublish } from './session.js';

export const FLAT_LIMIT = 16;

export class IncomingPublishes implements Iterable<[number, IncomingPublish]> {
  /** Pairs in use: flat[0 .. 2 × count); the slots after them are undefined. */
  private flat: (number | IncomingPublish | undefined)[] = [];
  private count = 0;
  private map: Map<number, IncomingPublish> | undefined;

  get size(): number {
    return this.map ? this.map.size : this.count;
  }

  get(msgId: number): IncomingPublish | undefined {
    if (this.map) return this.map.get(msgId);
    const i = this.indexOf(msgId);
    return i < 0 ? undefined : (this.flat[i + 1] as IncomingPublish);
  }

  set(msgId: number, entry: IncomingPublish): void {
    if (this.map) {
      this.map.set(msgId, entry);
      return;
    }
    const i = this.indexOf(msgId);
    if (i >= 0) this.flat[i + 1] = entry;
    else if (this.count < FLAT_LIMIT) {
      const end = 2 * this.count++;
      if (end < this.flat.length) {
        this.flat[end] = msgId;
        this.flat[end + 1] = entry;
      } else this.flat.push(msgId, entry);
    } else {
      this.map = new Map(this.entries());
      this.map.set(msgId, entry);
      this.flat = [];
      this.count = 0;
    }
  }

  delete(msgId: number): boolean {
    if (this.map) return this.map.delete(msgId);
    const i = this.indexOf(msgId);
    if (i < 0) return false;
    const flat = this.flat;
    const end = 2 * this.count--;
    for (let j = i + 2; j < end; j++) flat[j - 2] = flat[j];
    flat[end - 2] = undefined;
    flat[end - 1] = undefined;
    return true;
  }

  *entries(): IterableIterator<[number, IncomingPublish]> {
    if (this.map) {
      yield* this.map.entries();
      return;
    }
    const flat = this.flat;
    for (let i = 0; i < 2 * this.count; i += 2) yield [flat[i] as number, flat[i + 1] as IncomingPublish];
  }

  *values(): IterableIterator<IncomingPublish> {
    for (const [, entry] of this.entries()) yield entry;
  }

  [Symbol.iterator](): IterableIterator<[number, IncomingPublish]> {
    return this.entries();
  }

  private indexOf(msgId: number): number {
    const flat = this.flat;
    const end = 2 * this.count;
    for (let i = 0; i < end; i += 2) if (flat[i] === msgId) return i;
    return -1;
  }
}
