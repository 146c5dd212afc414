/**
 * A client's registered topics (§6.5): name ↔ topic id, both ways. A sensor registers one to three
 * topics, so they sit in one flat array [name0, id0, name1, id1, …] searched in order; past
 * SMALL_MAP_LIMIT topics, two Maps take over (a client may hold up to 0xFFFE ids). Which id a name
 * gets is the session's business (session.ts registerTopic); this only keeps the pairs.
 */
import { SMALL_MAP_LIMIT } from './small-map.js';

export class TopicRegistry implements Iterable<[name: string, id: number]> {
  /** The pairs while few; empty once the Maps hold them. */
  protected flat: (string | number)[] = [];
  protected byName: Map<string, number> | undefined;
  protected byId: Map<number, string> | undefined;

  get size(): number {
    return this.byName ? this.byName.size : this.flat.length >> 1;
  }

  idOf(name: string): number | undefined {
    if (this.byName) return this.byName.get(name);
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1] as number;
    return undefined;
  }

  nameOf(id: number): string | undefined {
    if (this.byId) return this.byId.get(id);
    const flat = this.flat;
    for (let i = 1; i < flat.length; i += 2) if (flat[i] === id) return flat[i - 1] as string;
    return undefined;
  }

  hasId(id: number): boolean {
    return this.nameOf(id) !== undefined;
  }

  /** Maps `name` to `id`, replacing whatever either was mapped to before (so the pairs stay one-to-one). */
  set(name: string, id: number): void {
    const oldId = this.idOf(name);
    if (oldId !== undefined) this.deleteId(oldId);
    this.deleteId(id);
    if (this.byName) {
      this.byName.set(name, id);
      this.byId!.set(id, name);
    } else if (this.flat.length < 2 * SMALL_MAP_LIMIT) {
      this.flat = this.flat.concat([name, id]); // exactly sized, unlike push
    } else {
      this.byName = new Map([...this, [name, id]]);
      this.byId = new Map([...this.byName].map(([n, i]) => [i, n]));
      this.flat = [];
    }
  }

  /** Forgets a topic id; returns the name it stood for. */
  deleteId(id: number): string | undefined {
    if (this.byId) {
      const name = this.byId.get(id);
      if (name === undefined) return undefined;
      this.byId.delete(id);
      this.byName!.delete(name);
      return name;
    }
    const flat = this.flat;
    for (let i = 1; i < flat.length; i += 2) {
      if (flat[i] !== id) continue;
      // A new array: stays exactly sized, and an iteration under way keeps its own.
      this.flat = flat.slice(0, i - 1).concat(flat.slice(i + 1));
      return flat[i - 1] as string;
    }
    return undefined;
  }

  *[Symbol.iterator](): IterableIterator<[name: string, id: number]> {
    if (this.byName) {
      yield* this.byName;
      return;
    }
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) yield [flat[i] as string, flat[i + 1] as number];
  }

  /** Whether the pairs are still in the flat array (for tests pinning the layout). */
  get isFlat(): boolean {
    return this.byName === undefined;
  }
}
