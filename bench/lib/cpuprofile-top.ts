/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, or bench/lib/window-profiler.ts): where the busy
 * samples went, by function (self time), by function including callees, and by origin (our code, mqtt.js,
 * Node internals, GC).
 *
 *   node --cpu-prof --cpu-prof-dir=.tmp/prof --import tsx bench/gateway.ts qos1
 *   npx tsx bench/lib/cpuprofile-top.ts .tmp/prof/CPU.*.0.001.cpuprofile [top=25]
 *
 * Percentages are of busy samples: (idle) is left out, everything else (GC, (program)) counts.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface CallFrame { functionName: string; url: string; lineNumber: number }
export interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const REPO_MARKERS = ['/gateway/', '/radios/', '/sn-codec/', '/client/', '/bench/', '/common/', '/dist/', '/bin/', '/scripts/'];

function label(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const short = frame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/work\/(main|wt\/[^/]+)\//, '');
  return `${name} ${short}:${frame.lineNumber + 1}`;
}

export function origin(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  if (REPO_MARKERS.some((m) => url.includes(m))) return 'our code';
  return 'other';
}

export interface ProfileSummary {
  /** Busy (non-idle) sampled time, µs. */
  busyUs: number;
  /** [label, µs], largest first. */
  origins: [string, number][];
  self: [string, number][];
  inclusive: [string, number][];
}

export function summarise(profile: Profile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Sample weight = the time until the next sample (µs).
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  });

  let busy = 0;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const origins = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    busy += us;
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + us);
    origins.set(origin(node.callFrame), (origins.get(origin(node.callFrame)) ?? 0) + us);
    // Each function on the stack once, however often it recurs.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = label(byId.get(at)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const sorted = (table: Map<string, number>): [string, number][] => [...table].sort((a, b) => b[1] - a[1]);
  return { busyUs: busy, origins: sorted(origins), self: sorted(self), inclusive: sorted(inclusive) };
}

/** The summary as text: `top` rows of each table. */
export function formatSummary(summary: ProfileSummary, top: number): string[] {
  const lines: string[] = [];
  const share = (us: number): string => `${((100 * us) / summary.busyUs).toFixed(1).padStart(5)}%`;
  lines.push(`by origin (self): ${summary.origins.slice(0, 10).map(([k, us]) => `${k} ${share(us).trim()}`).join(', ')}`);
  lines.push('by function, self time:');
  for (const [k, us] of summary.self.slice(0, top)) lines.push(`  ${share(us)}  ${k}`);
  lines.push('by function, including callees:');
  for (const [k, us] of summary.inclusive.slice(0, top)) lines.push(`  ${share(us)}  ${k}`);
  return lines;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: cpuprofile-top.ts FILE.cpuprofile [top]');
  const summary = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  console.log(`${file}: ${(summary.busyUs / 1e6).toFixed(2)} s busy`);
  for (const l of formatSummary(summary, Number(topArg ?? 25))) console.log(l);
}

// Run as a script; imported (bench/lib/footprint.ts, window-profiler.ts) for origin() and summarise().
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
