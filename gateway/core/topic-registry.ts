/**
 * A client's registered topics (§6.5): name ↔ topic id, both ways. A sensor registers one to three
 * topics (and each name it subscribes to gets an id too), so the first two pairs sit in fields of their
 * own, more in one flat array [name0, id0, name1, id1, …] searched in order; past SMALL_MAP_LIMIT topics,
 * two Maps take over (a client may hold up to 0xFFFE ids). Two pairs in fields cost 32 bytes, in an
 * array 80 (its object and its elements: issue 13). Which id a name gets is the session's business
 * (session.ts registerTopic); this only keeps the pairs.
 */
import { SMALL_MAP_LIMIT } from './small-map.js';

/** The shared empty array of a registry that holds its pairs in fields. */
const NONE: readonly (string | number)[] = Object.freeze([]);

export class TopicRegistry implements Iterable<[name: string, id: number]> {
  /** The first and second pair while there are no more than two (`flat` is then NONE); undefined = none. */
  protected name0: string | undefined;
  protected id0 = 0;
  protected name1: string | undefined;
  protected id1 = 0;
  /** Three pairs or more while few; NONE with two or fewer, and once the Maps hold them. */
  protected flat: readonly (string | number)[] = NONE;
  protected byName: Map<string, number> | undefined;
  protected byId: Map<number, string> | undefined;

  get size(): number {
    if (this.byName) return this.byName.size;
    if (this.flat.length > 0) return this.flat.length >> 1;
    return this.name0 === undefined ? 0 : this.name1 === undefined ? 1 : 2;
  }

  idOf(name: string): number | undefined {
    if (this.byName) return this.byName.get(name);
    if (this.name0 === name) return this.id0;
    if (this.name1 === name) return this.id1;
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1] as number;
    return undefined;
  }

  nameOf(id: number): string | undefined {
    if (this.byId) return this.byId.get(id);
    if (this.name0 !== undefined && this.id0 === id) return this.name0;
    if (this.name1 !== undefined && this.id1 === id) return this.name1;
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
    } else if (this.name0 === undefined && this.flat.length === 0) {
      this.name0 = name;
      this.id0 = id;
    } else if (this.name1 === undefined && this.flat.length === 0) {
      this.name1 = name;
      this.id1 = id;
    } else if (this.flat.length === 0) {
      this.flat = [this.name0!, this.id0, this.name1!, this.id1, name, id];
      this.name0 = this.name1 = undefined;
    } else if (this.flat.length < 2 * SMALL_MAP_LIMIT) {
      this.flat = this.flat.concat([name, id]); // exactly sized, unlike push
    } else {
      this.byName = new Map([...this, [name, id]]);
      this.byId = new Map([...this.byName].map(([n, i]) => [i, n]));
      this.flat = NONE;
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
    if (this.name0 !== undefined && this.id0 === id) {
      const name = this.name0;
      // The second pair moves up: the pairs keep the order they were set in.
      this.name0 = this.name1;
      this.id0 = this.id1;
      this.name1 = undefined;
      return name;
    }
    if (this.name1 !== undefined && this.id1 === id) {
      const name = this.name1;
      this.name1 = undefined;
      return name;
    }
    const flat = this.flat;
    for (let i = 1; i < flat.length; i += 2) {
      if (flat[i] !== id) continue;
      if (flat.length === 6) {
        // Down to two pairs: back in the fields, in their order.
        const rest = flat.slice(0, i - 1).concat(flat.slice(i + 1));
        [this.name0, this.id0, this.name1, this.id1] = rest as [string, number, string, number];
        this.flat = NONE;
      } else {
        // A new array: stays exactly sized, and an iteration under way keeps its own.
        this.flat = flat.slice(0, i - 1).concat(flat.slice(i + 1));
      }
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
    if (flat.length === 0) {
      // As they were when the iteration began, as with the flat array (writes replace it).
      const { name0, id0, name1, id1 } = this;
      if (name0 !== undefined) yield [name0, id0];
      if (name1 !== undefined) yield [name1, id1];
      return;
    }
    for (let i = 0; i < flat.length; i += 2) yield [flat[i] as string, flat[i + 1] as number];
  }

  /** Whether the pairs are still held without Maps (for tests pinning the layout). */
  get isFlat(): boolean {
    return this.byName === undefined;
  }
}
