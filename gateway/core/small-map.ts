/**
 * A Map for the few entries a sensor's session holds (a subscription or two): the entries sit in one
 * flat array [key0, value0, key1, value1, …], searched in order, and move into a real Map only past
 * SMALL_MAP_LIMIT entries. A JavaScript Map costs about 180 bytes even with one entry; this costs one
 * exactly sized array. Same behaviour as a Map (insertion order, set on a present key keeps its place).
 */
export const SMALL_MAP_LIMIT = 8;

export class SmallMap<K, V> implements Iterable<[K, V]> {
  /** The entries while small; empty once `map` holds them. */
  protected flat: unknown[] = [];
  protected map: Map<K, V> | undefined;

  get size(): number {
    return this.map ? this.map.size : this.flat.length >> 1;
  }

  get(key: K): V | undefined {
    if (this.map) return this.map.get(key);
    const i = this.indexOf(key);
    return i < 0 ? undefined : (this.flat[i + 1] as V);
  }

  has(key: K): boolean {
    return this.map ? this.map.has(key) : this.indexOf(key) >= 0;
  }

  set(key: K, value: V): this {
    if (this.map) {
      this.map.set(key, value);
      return this;
    }
    const i = this.indexOf(key);
    if (i >= 0) this.flat[i + 1] = value;
    else if (this.flat.length < 2 * SMALL_MAP_LIMIT) this.flat = this.flat.concat([key, value]); // exactly sized, unlike push
    else {
      this.map = new Map(this.entries());
      this.map.set(key, value);
      this.flat = [];
    }
    return this;
  }

  delete(key: K): boolean {
    if (this.map) return this.map.delete(key);
    const i = this.indexOf(key);
    if (i < 0) return false;
    // A new array, not splice: stays exactly sized, and an iteration under way keeps its own.
    this.flat = this.flat.slice(0, i).concat(this.flat.slice(i + 2));
    return true;
  }

  *entries(): IterableIterator<[K, V]> {
    if (this.map) {
      yield* this.map.entries();
      return;
    }
    // Writes replace the array (set on a present key aside): an iteration sees the entries as they were.
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) yield [flat[i] as K, flat[i + 1] as V];
  }

  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** Whether the entries are still in the flat array (for tests pinning the layout). */
  get isFlat(): boolean {
    return this.map === undefined;
  }

  private indexOf(key: K): number {
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === key) return i;
    return -1;
  }
}
