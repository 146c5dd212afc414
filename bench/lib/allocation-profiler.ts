/**
 * `--alloc-profile`: V8's sampling heap profiler over a measuring window, counting objects already
 * collected as well (what a per-message path allocates dies young), summarised by the function that
 * allocated and by origin. Sampled (one sample per `intervalBytes` allocated on average): shares, not
 * exact bytes; bench/lib/heap-window.ts gives the exact total.
 */
import { Session } from 'node:inspector/promises';
import { origin, type CallFrame } from './cpuprofile-top.js';

interface SamplingNode { callFrame: CallFrame; selfSize: number; children: SamplingNode[] }

export class AllocationProfiler {
  private session: Session | undefined;
  private started: Promise<unknown> | undefined;

  /**
   * `retainedOnly`: count only what is still in the heap when the window ends, promoted garbage included
   * (what survived scavenges: the objects that make them slow), rather than everything allocated.
   */
  constructor(private readonly retainedOnly = false, private readonly intervalBytes = 512, private readonly top = 45) {}

  start(): void {
    const s = (this.session = new Session());
    s.connect();
    this.started = s.post('HeapProfiler.startSampling', {
      samplingInterval: this.intervalBytes,
      includeObjectsCollectedByMajorGC: !this.retainedOnly,
      includeObjectsCollectedByMinorGC: !this.retainedOnly,
    } as never);
  }

  private profile: Promise<SamplingNode | undefined> | undefined;

  /** Stops sampling (at the window's end; summary() reads the result). */
  stop(): void {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    this.profile = (async () => {
      await this.started;
      const { profile } = (await s.post('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
      s.disconnect();
      return profile.head;
    })();
  }

  /** Summary lines: bytes per message by allocating function (with its caller), and by origin. */
  async summary(messages: number): Promise<string[]> {
    const head = await this.profile;
    if (!head) return [];
    const bySite = new Map<string, number>();
    const byOrigin = new Map<string, number>();
    let total = 0;
    const walk = (node: SamplingNode, caller: string): void => {
      const name = `${node.callFrame.functionName || '(anonymous)'} ${shortUrl(node.callFrame)}`;
      if (node.selfSize > 0) {
        total += node.selfSize;
        const site = `${name} ← ${caller}`;
        bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
        const o = origin(node.callFrame);
        byOrigin.set(o, (byOrigin.get(o) ?? 0) + node.selfSize);
      }
      for (const child of node.children) walk(child, node.callFrame.functionName || '(anonymous)');
    };
    walk(head, '');
    const perMessage = (bytes: number): string => (messages > 0 ? `${(bytes / messages).toFixed(0)} B/msg` : `${bytes} B`);
    const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
    return [
      `${this.retainedOnly ? 'retained at the window\'s end' : 'allocation profile'} (sampled): ${perMessage(total)}; by origin: ${sorted(byOrigin).slice(0, 8).map(([k, b]) => `${k} ${perMessage(b)}`).join(', ')}`,
      ...sorted(bySite).slice(0, this.top).map(([site, bytes]) => `  ${perMessage(bytes).padStart(10)}  ${site}`),
    ];
  }
}

function shortUrl(frame: CallFrame): string {
  if (!frame.url) return '';
  return `${frame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/work\/(main|wt\/[^/]+)\//, '')}:${frame.lineNumber + 1}`;
}
