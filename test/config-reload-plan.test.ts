/** What a reload changes: key paths compared section by section, live ones apart from restart ones. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../gateway/config/config.js';
import { changedPaths, planReload } from '../gateway/config/reload-plan.js';

describe('reload plan', () => {
  const base = parseConfig('topics: { predefined: { 1: a/b, 2: c/d } }\nradios: [ { type: udp, port: 10000 } ]\n');

  it('the same file changes nothing', () => {
    expect(planReload(base, parseConfig('topics: { predefined: { 2: c/d, 1: a/b } }\nradios: [ { type: udp, port: 10000 } ]\n'))).toEqual({ live: [], restart: [] });
  });

  it('topic ids and the log level are live, named down to the changed id', () => {
    const next = parseConfig('topics: { predefined: { 1: a/x, 3: e/f } }\nradios: [ { type: udp, port: 10000 } ]\nlog: { level: debug }\n');
    expect(planReload(base, next)).toEqual({ live: ['topics.predefined.1', 'topics.predefined.2', 'topics.predefined.3', 'log.level'], restart: [] });
  });

  it('radios, broker and gateway keys need a restart, named down to the key', () => {
    const next = parseConfig('topics: { predefined: { 1: a/b, 2: c/d } }\nradios: [ { type: udp, port: 10001 } ]\nbroker: { url: mqtt://127.0.0.1:1884 }\ngateway: { retry: { count: 5 } }\n');
    expect(planReload(base, next)).toEqual({ live: [], restart: ['gateway.retry.count', 'broker.url', 'radios[0].port', 'radios[0].broadcastPort'] });
  });

  it('a list that grows is named as a whole', () => {
    expect(changedPaths([1], [1, 2], ['radios'])).toEqual(['radios']);
  });
});
