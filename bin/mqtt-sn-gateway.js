#!/usr/bin/env node
// The `mqtt-sn-gateway` daemon: plain JavaScript built ahead of time from gateway/main.ts (scripts/build.mjs),
// rebuilt first if a source changed since, so no TypeScript loader runs and no stale build does either.
import { setFlagsFromString } from 'node:v8';
import { builtEntry } from '../scripts/build.mjs';

// Start-up allocates in a burst (modules loaded and compiled, the config parsed), for which V8 would grow its
// young generation to 8 MB and then keep it. Held at its initial size until the gateway serves (main.ts lets it
// grow again, for the traffic), it leaves the idle daemon about 2.5 MB smaller (issue 13, README "Benchmarks").
setFlagsFromString('--semi-space-growth-factor=1');
// Nothing runs long enough during start-up to pay back TurboFan, yet optimizing the few functions that get hot
// there (the YAML parser, the config walk) pulls about 4 MB of the compiler's own machine code and data into
// memory, and keeps it there while the daemon idles. Sparkplug, the cheap baseline compiler, stays on: without
// it start-up is slower. main.ts turns TurboFan on again once serving; hot code then optimizes as usual.
setFlagsFromString('--no-turbofan');

await import(await builtEntry('mqtt-sn-gateway'));
