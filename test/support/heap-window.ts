/**
 * What the gateway's process allocated, and what its garbage collection cost, over a measuring window
 * (issue 13's QoS 1 tail: young-generation scavenges hold every PUBACK of their turn back).
 *
 * Bytes allocated are exact, not sampled: V8's GC profiler (node:v8 GCProfiler) reports the heap's used
 * size before and after each collection, so allocated = growth of the used heap over the window + what
 * every collection in it freed. No flag, no restart; it costs nothing between collections.
 */
import v8 from 'node:v8';

export interface HeapFigures {
  /** JavaScript heap bytes allocated over the window (Buffers' backing stores are outside the heap). */
  allocatedBytes: number;
  /** Young-generation collections (Scavenge, or MinorMarkCompact when V8 uses it). */
  scavenges: number;
  /** Their pauses, ms, ascending. */
  scavengeMs: number[];
  /** Full collections (mark-compact) that completed in the window. */
  markCompacts: number;
}

interface GcStatistics {
  gcType: string;
  cost: number;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

export class HeapWindow {
  private profiler: v8.GCProfiler | undefined;
  private usedAtStart = 0;

  start(): void {
    this.profiler = new v8.GCProfiler();
    this.profiler.start();
    this.usedAtStart = v8.getHeapStatistics().used_heap_size;
  }

  stop(): HeapFigures {
    const usedAtEnd = v8.getHeapStatistics().used_heap_size;
    const statistics = (this.profiler!.stop() as unknown as { statistics: GcStatistics[] }).statistics;
    this.profiler = undefined;
    let freed = 0;
    const scavengeMs: number[] = [];
    let markCompacts = 0;
    for (const gc of statistics) {
      freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
      if (gc.gcType === 'Scavenge' || gc.gcType === 'MinorMarkCompact') scavengeMs.push(gc.cost / 1000);
      else if (gc.gcType === 'MarkSweepCompact') markCompacts++;
    }
    scavengeMs.sort((a, b) => a - b);
    return { allocatedBytes: usedAtEnd - this.usedAtStart + freed, scavenges: scavengeMs.length, scavengeMs, markCompacts };
  }
}

/** One line: bytes a message, scavenges per 100,000 messages, and their pauses. */
export function formatHeapFigures(figures: HeapFigures, messages: number): string {
  const pauses = figures.scavengeMs;
  const at = (q: number): string => (pauses.length ? pauses[Math.min(pauses.length - 1, Math.floor(q * pauses.length))].toFixed(1) : '-');
  const per100k = messages > 0 ? ((figures.scavenges * 100_000) / messages).toFixed(1) : '?';
  return `heap: ${messages > 0 ? Math.round(figures.allocatedBytes / messages) : '?'} B allocated/msg; ${figures.scavenges} scavenges (${per100k} per 100,000 msg), ` +
    `pause median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${pauses.length ? pauses[pauses.length - 1].toFixed(1) : '-'} ms; ${figures.markCompacts} mark-compacts`;
}
