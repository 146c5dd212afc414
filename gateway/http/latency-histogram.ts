/**
 * A Prometheus histogram kept without prom-client, so it records from the gateway's start while prom-client
 * itself is loaded only on the first scrape (metrics.ts). Cumulative buckets, sum and count, rendered in
 * Prometheus' text exposition format.
 */
export class LatencyHistogram {
  /** Observations at or below each bound (not yet cumulative). */
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bucket = this.bounds.findIndex((bound) => value <= bound);
    if (bucket >= 0) this.counts[bucket]++;
  }

  /** `# HELP`, `# TYPE` and the `_bucket` (cumulative, then `+Inf`), `_sum` and `_count` samples, each with `labels`. */
  prometheusText(name: string, help: string, labels: Record<string, string>): string {
    const label = (extra: Record<string, string> = {}) => {
      const pairs = Object.entries({ ...extra, ...labels }).map(([key, value]) => `${key}="${escapeLabel(value)}"`);
      return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
    };
    const lines = [`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} histogram`];
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += this.counts[i];
      lines.push(`${name}_bucket${label({ le: String(bound) })} ${cumulative}`);
    });
    lines.push(`${name}_bucket${label({ le: '+Inf' })} ${this.count}`, `${name}_sum${label()} ${this.sum}`, `${name}_count${label()} ${this.count}`);
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
