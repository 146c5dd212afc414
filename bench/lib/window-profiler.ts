/**
 * `--profile`: a CPU profile of the gateway's process over each measuring window only (not the set-up
 * around it), taken through node:inspector so it needs no restart, and summarised into the bench's
 * output. The sampling itself costs CPU (a profiler thread, a sample every 250 µs): with --profile, the
 * CPU figures are not those of the gateway as shipped; compare shares, not totals.
 */
import { Session } from 'node:inspector/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { formatSummary, summarise, type Profile } from './cpuprofile-top.js';

export class WindowProfiler {
  private session: Session | undefined;
  private started: Promise<unknown> | undefined;

  constructor(private readonly dir: string | undefined, private readonly top = 12) {}

  start(): void {
    this.session = new Session();
    this.session.connect();
    const s = this.session;
    this.started = s.post('Profiler.enable').then(() => s.post('Profiler.setSamplingInterval', { interval: 250 })).then(() => s.post('Profiler.start'));
  }

  /** Stops, writes the profile (when a directory was given) and returns the summary lines. */
  async stop(name: string): Promise<string[]> {
    const s = this.session;
    if (!s) return [];
    await this.started;
    const { profile } = (await s.post('Profiler.stop')) as { profile: Profile };
    s.disconnect();
    this.session = undefined;
    if (this.dir) {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(`${this.dir}/${name}.cpuprofile`, JSON.stringify(profile));
    }
    const summary = summarise(profile);
    return [`profile of the window: ${(summary.busyUs / 1000).toFixed(0)} ms busy`, ...formatSummary(summary, this.top)];
  }
}
