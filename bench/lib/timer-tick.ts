/**
 * The core's timer tick on its own (no sockets): N idle connected sessions on a MemoryRadio and a
 * ManualClock, µs per tick with the deadline heap, beside what the replaced once-a-second pass over every
 * session cost (the same per-session check, called on each of them).
 */
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import { GatewayCore } from '../../gateway/core/core.js';
import { MemoryRadio } from '../../test/support/memory-radio.js';
import { RecordingUpstream } from '../../test/support/recording-upstream.js';

export interface TickCost { sessions: number; heapUs: number; everySessionUs: number; examinedPerTick: number }

function usPerCall(f: () => void, calls: number): number {
  for (let k = 0; k < calls; k++) f(); // warm-up: let V8 optimise first
  const t = performance.now();
  for (let k = 0; k < calls; k++) f();
  return ((performance.now() - t) * 1000) / calls;
}

export function measureTick(sessions: number): TickCost {
  const clock = new ManualClock();
  const radio = new MemoryRadio();
  const upstream = new RecordingUpstream();
  const config = parseConfig('');
  const core = new GatewayCore({ gateway: { ...config.gateway, advertiseInterval: 0, maxClients: sessions + 1 }, topics: config.topics, upstream, clock });
  core.addRadio(radio);
  void radio.start(core.radioSink);
  void upstream.start(core.upstreamSink);
  for (let i = 0; i < sessions; i++) {
    radio.inject(`udp:127.0.0.1:${i}`, { type: 'CONNECT', will: false, cleanSession: true, duration: 3600, clientId: `idle-${i}` });
    radio.take(`udp:127.0.0.1:${i}`);
  }
  // The replaced sweep's per-session body, reached past `private` for this comparison only.
  const check = (core as unknown as { checkDeadlines(s: unknown, now: number): void }).checkDeadlines.bind(core);
  const everySession = (): void => {
    const now = clock.now();
    for (const s of core.sessionsById.values()) check(s, now);
  };
  const examined = core.sessionsExamined;
  const heapUs = usPerCall(() => core.sweep(), 200);
  return { sessions, heapUs, everySessionUs: usPerCall(everySession, 50), examinedPerTick: (core.sessionsExamined - examined) / 400 };
}
