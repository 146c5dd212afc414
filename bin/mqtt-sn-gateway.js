#!/usr/bin/env node
// The `mqtt-sn-gateway` daemon: plain JavaScript built ahead of time from gateway/main.ts (scripts/build.mjs),
// rebuilt first if a source changed since, so no TypeScript loader runs and no stale build does either.
import { setFlagsFromString } from 'node:v8';
import { builtEntry } from '../scripts/build.mjs';

// Start-up allocates in a burst (modules loaded and compiled, the config parsed), for which V8 would grow its
// young generation to 8 MB and then keep it. Held at its initial size until the gateway serves (main.ts lets it
// grow again, for the traffic), it leaves the idle daemon about 2.5 MB smaller (issue 13, README "Benchmarks").
setFlagsFromString('--semi-space-growth-factor=1');
setFlagsFromString('--no-sparkplug');

await import(await builtEntry('mqtt-sn-gateway'));
