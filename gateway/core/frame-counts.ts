/**
 * Frames in and out per radio and message type, for /metrics and the status page. Plain objects
 * keyed by type, looked up once per frame: no string building, no allocation on the hot path.
 */
export type FrameDirection = 'in' | 'out';

export interface RadioFrameCounts {
  in: Record<string, number>;
  out: Record<string, number>;
}

export class FrameCounts {
  private readonly byRadio = new Map<string, RadioFrameCounts>();

  count(radio: string, type: string, direction: FrameDirection): void {
    let counts = this.byRadio.get(radio);
    if (counts === undefined) {
      counts = { in: Object.create(null) as Record<string, number>, out: Object.create(null) as Record<string, number> };
      this.byRadio.set(radio, counts);
    }
    const table = counts[direction];
    table[type] = (table[type] ?? 0) + 1;
  }

  /** radio → direction → message type → frames. Live objects: read them, do not change them. */
  entries(): IterableIterator<[string, RadioFrameCounts]> {
    return this.byRadio.entries();
  }

  /** All frames of one radio in one direction. */
  total(radio: string, direction: FrameDirection): number {
    const table = this.byRadio.get(radio)?.[direction];
    let sum = 0;
    if (table) for (const type in table) sum += table[type];
    return sum;
  }
}
