/**
 * A binary min-heap of (deadline, item): the core's timers look only at what is due instead of
 * sweeping every session each tick, so per-tick work does not grow with the number of idle sensors.
 * Entries are never updated in place: a caller that moves a deadline earlier pushes a new entry and
 * ignores the stale one when it comes out (see GatewayCore.schedule). Plain arrays, no allocation per
 * entry beyond the two slots.
 */
export class DeadlineHeap<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.at.length;
  }

  /** The earliest deadline, or Infinity when empty. */
  peek(): number {
    return this.at.length ? this.at[0] : Infinity;
  }

  push(at: number, item: T): void {
    this.at.push(at);
    this.items.push(item);
    this.up(this.at.length - 1);
  }

  /** Removes and returns the item with the earliest deadline; undefined when empty. */
  pop(): T | undefined {
    const n = this.at.length;
    if (n === 0) return undefined;
    const top = this.items[0];
    const lastAt = this.at.pop()!;
    const lastItem = this.items.pop()!;
    if (n > 1) {
      this.at[0] = lastAt;
      this.items[0] = lastItem;
      this.down(0);
    }
    return top;
  }

  /** Every item due at or before `now`, earliest first, removed from the heap. */
  popDue(now: number): T[] {
    const due: T[] = [];
    while (this.at.length && this.at[0] <= now) due.push(this.pop()!);
    return due;
  }

  private up(i: number): void {
    const { at, items } = this;
    const a = at[i];
    const item = items[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (at[parent] <= a) break;
      at[i] = at[parent];
      items[i] = items[parent];
      i = parent;
    }
    at[i] = a;
    items[i] = item;
  }

  private down(i: number): void {
    const { at, items } = this;
    const n = at.length;
    const a = at[i];
    const item = items[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && at[child + 1] < at[child]) child++;
      if (at[child] >= a) break;
      at[i] = at[child];
      items[i] = items[child];
      i = child;
    }
    at[i] = a;
    items[i] = item;
  }
}
