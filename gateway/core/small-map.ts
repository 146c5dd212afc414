/**
 * A Map for the few entries a sensor's session holds (a subscription or two): one entry sits in two
 * fields of its own; more sit in one flat array [key0, value0, key1, value1, …], searched in order, and
 * move into a real Map only past SMALL_MAP_LIMIT entries. A JavaScript Map costs about 180 bytes even
 * with one entry, an array of one pair 64 (its object and its elements); the two fields 16. Same
 * behaviour as a Map (insertion order, set on a present key keeps its place).
 */
export const SMALL_MAP_LIMIT = 8;

/** The shared empty array of a SmallMap that holds no more than one entry. */
const NONE: readonly unknown[] = Object.freeze([]);
/** `onlyKey` when there is no only entry (a key may be undefined). */
const ABSENT = Symbol('absent');

export class SmallMap<K, V> implements Iterable<[K, V]> {
  /** The only entry, when there is exactly one (`flat` is then NONE): no array of its own. */
  protected onlyKey: K | typeof ABSENT = ABSENT;
  protected onlyValue: V | undefined;
  /** Two entries or more while small; NONE with one or none, and once `map` holds them. */
  protected flat: readonly unknown[] = NONE;
  protected map: Map<K, V> | undefined;

  get size(): number {
    if (this.map) return this.map.size;
    return this.onlyKey !== ABSENT ? 1 : this.flat.length >> 1;
  }

  get(key: K): V | undefined {
    if (this.map) return this.map.get(key);
    if (this.onlyKey !== ABSENT) return this.onlyKey === key ? this.onlyValue : undefined;
    const i = this.indexOf(key);
    return i < 0 ? undefined : (this.flat[i + 1] as V);
  }

  has(key: K): boolean {
    if (this.map) return this.map.has(key);
    if (this.onlyKey !== ABSENT) return this.onlyKey === key;
    return this.indexOf(key) >= 0;
  }

  set(key: K, value: V): this {
    if (this.map) {
      this.map.set(key, value);
      return this;
    }
    if (this.onlyKey !== ABSENT) {
      if (this.onlyKey === key) this.onlyValue = value;
      else {
        this.flat = [this.onlyKey, this.onlyValue, key, value];
        this.clearOnly();
      }
      return this;
    }
    const i = this.indexOf(key);
    if (i >= 0) (this.flat as unknown[])[i + 1] = value;
    else if (this.flat.length === 0) {
      this.onlyKey = key;
      this.onlyValue = value;
    } else if (this.flat.length < 2 * SMALL_MAP_LIMIT) this.flat = this.flat.concat([key, value]); // exactly sized, unlike push
    else {
      this.map = new Map(this.entries());
      this.map.set(key, value);
      this.flat = NONE;
    }
    return this;
  }

  delete(key: K): boolean {
    if (this.map) return this.map.delete(key);
    if (this.onlyKey !== ABSENT) {
      if (this.onlyKey !== key) return false;
      this.clearOnly();
      return true;
    }
    const i = this.indexOf(key);
    if (i < 0) return false;
    if (this.flat.length === 4) {
      // Down to one entry: back in the fields.
      this.onlyKey = this.flat[2 - i] as K;
      this.onlyValue = this.flat[3 - i] as V;
      this.flat = NONE;
      return true;
    }
    // A new array, not splice: stays exactly sized, and an iteration under way keeps its own.
    this.flat = this.flat.slice(0, i).concat(this.flat.slice(i + 2));
    return true;
  }

  *entries(): IterableIterator<[K, V]> {
    if (this.map) {
      yield* this.map.entries();
      return;
    }
    if (this.onlyKey !== ABSENT) {
      yield [this.onlyKey, this.onlyValue as V];
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

  private clearOnly(): void {
    this.onlyKey = ABSENT;
    this.onlyValue = undefined;
  }

  private indexOf(key: K): number {
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === key) return i;
    return -1;
  }
}
