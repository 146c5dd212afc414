/** The gateway at one moment, as /api/status and the status page's live updates carry it. */
import { clientView, type ClientView } from '../status/client-view.js';
import type { CoreStats } from '../core/core.js';
import type { HttpSources } from './sources.js';

export interface RadioView {
  name: string;
  kind: string;
  up: boolean;
  framesIn: number;
  framesOut: number;
}

export interface Snapshot {
  gatewayId: number;
  time: string;
  broker: { url: string; up: boolean; pending: number; reconnects: number };
  radios: RadioView[];
  stats: CoreStats;
  clients: ClientView[];
}

export function radioViews(sources: HttpSources): RadioView[] {
  const counts = sources.core.frameCounts;
  return sources.radios.map((r) => ({ name: r.name, kind: r.kind, up: r.up, framesIn: counts.total(r.name, 'in'), framesOut: counts.total(r.name, 'out') }));
}

export function clientViews(sources: HttpSources): ClientView[] {
  const now = Date.now();
  return sources.core.clients().map((c) => clientView(c, sources.core.clock, now));
}

export function snapshot(sources: HttpSources): Snapshot {
  const { broker } = sources;
  return {
    gatewayId: sources.gatewayId,
    time: new Date().toISOString(),
    broker: { url: broker.url, up: broker.connected, pending: broker.pending, reconnects: Math.max(0, broker.connections - 1) },
    radios: radioViews(sources),
    stats: { ...sources.core.stats },
    clients: clientViews(sources),
  };
}

/** Why the gateway is not healthy: the broker link down, a radio down. Empty = healthy. */
export function healthProblems(sources: HttpSources): string[] {
  const problems: string[] = [];
  if (!sources.broker.connected) problems.push(`broker link down (${sources.broker.url})`);
  for (const r of sources.radios) if (!r.up) problems.push(`radio ${r.name} down`);
  return problems;
}
