/** Reading the gateway's HTTP face in tests: plain fetch, Prometheus text parsed by name and labels. */
import type { GatewayUnderTest } from './harness.js';

export function httpUrl(gw: GatewayUnderTest): string {
  const url = gw.gateway.http?.url;
  if (!url) throw new Error('the gateway has no HTTP server listening');
  return url;
}

export async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

/**
 * The value of one sample in Prometheus text: `name` with at least these labels (others, such as the
 * gateway's own label, are ignored). 0 when the sample is absent (a counter not yet moved).
 */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(match[3]);
  }
  return 0;
}

export async function scrape(gw: GatewayUnderTest): Promise<string> {
  const res = await get(`${httpUrl(gw)}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.body}`);
  return res.body;
}
