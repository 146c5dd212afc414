/**
 * The gateway's own QoS 1 publishes awaiting their PUBACK, by packet id (1-65535). A Map keyed by
 * rotating ids leaves a deleted entry behind per message and rebuilds its table every few dozen
 * (about 70 bytes of garbage a message at 50-200 in flight, issue 13). This is an open-addressing table
 * instead: slot = id modulo its size (ids are handed out in turn, so they rarely collide), collisions
 * probe onwards, a delete shifts the run back so no marker is left, and it doubles when half full.
 */
export class InFlight<T> {
  private ids = new Int32Array(64);
  private values: (T | undefined)[] = new Array<T | undefined>(64).fill(undefined);
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const i = this.slotOf(id);
    return i < 0 ? undefined : this.values[i];
  }

  has(id: number): boolean {
    return this.slotOf(id) >= 0;
  }

  /** Adds or replaces the entry of `id` (1-65535). */
  set(id: number, value: T): void {
    if (2 * (this.count + 1) > this.ids.length) this.grow();
    const mask = this.ids.length - 1;
    let i = id & mask;
    while (this.ids[i] !== 0 && this.ids[i] !== id) i = (i + 1) & mask;
    if (this.ids[i] === 0) this.count++;
    this.ids[i] = id;
    this.values[i] = value;
  }

  delete(id: number): boolean {
    let i = this.slotOf(id);
    if (i < 0) return false;
    const mask = this.ids.length - 1;
    // Backward shift: entries further along the probe run move into the hole if their home allows it.
    for (let j = (i + 1) & mask; this.ids[j] !== 0; j = (j + 1) & mask) {
      const home = this.ids[j] & mask;
      // j's entry may fill i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        this.ids[i] = this.ids[j];
        this.values[i] = this.values[j];
        i = j;
      }
    }
    this.ids[i] = 0;
    this.values[i] = undefined;
    this.count--;
    return true;
  }

  /** The entries, in no particular order. */
  *entries(): IterableIterator<[number, T]> {
    for (let i = 0; i < this.ids.length; i++) if (this.ids[i] !== 0) yield [this.ids[i], this.values[i] as T];
  }

  private slotOf(id: number): number {
    const mask = this.ids.length - 1;
    for (let i = id & mask; this.ids[i] !== 0; i = (i + 1) & mask) if (this.ids[i] === id) return i;
    return -1;
  }

  private grow(): void {
    const old = [...this.entries()];
    const size = 2 * this.ids.length;
    this.ids = new Int32Array(size);
    this.values = new Array<T | undefined>(size).fill(undefined);
    this.count = 0;
    for (const [id, value] of old) this.set(id, value);
  }
}
