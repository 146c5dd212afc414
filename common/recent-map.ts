/**
 * A cache of what was used lately, bounded without a sweep: entries live in two generations. When the
 * current one holds `capacity` entries it becomes the previous one, and the previous one is dropped
 * whole; a hit in the previous generation moves the entry forward. So busy keys stay, keys not used
 * for `capacity` insertions go, and it never holds more than 2 × capacity entries (spoofed senders
 * cannot grow it either).
 */
export class RecentMap<K, V> {
  private current = new Map<K, V>();
  private previous = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.current.size + this.previous.size;
  }

  get(key: K): V | undefined {
    const value = this.current.get(key);
    if (value !== undefined) return value;
    const older = this.previous.get(key);
    if (older !== undefined) {
      this.previous.delete(key);
      this.set(key, older);
    }
    return older;
  }

  set(key: K, value: V): void {
    if (this.current.size >= this.capacity && !this.current.has(key)) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }
}
