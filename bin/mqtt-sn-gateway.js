#!/usr/bin/env node
// The `mqtt-sn-gateway` daemon: plain JavaScript built ahead of time from gateway/main.ts (scripts/build.mjs),
// rebuilt first if a source changed since, so no TypeScript loader runs and no stale build does either.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { builtEntry } from '../scripts/build.mjs';
import { codeCacheFile, startupCodeCache } from '../scripts/code-cache.mjs';

/** What main.ts emits on `process` once the gateway serves. */
const SERVING = 'mqtt-sn-gateway:serving';
/** How long after that start-up is taken to be over: the first sensors' frames go first. */
const AFTER_SERVING_MS = 250;

// V8's flags for start-up, and what they go back to once it is over (issue 13, README "Benchmarks"):
// - Start-up allocates in a burst (modules loaded and compiled, the config parsed), for which V8 would grow its
//   young generation to 8 MB and then keep it. Held at its initial size until the gateway serves, it leaves the
//   idle daemon about 2.5 MB smaller; then it may grow with the traffic, so a busy gateway collects as often as
//   it would without the cap.
// - Nothing runs long enough during start-up to pay back TurboFan, yet optimizing the few functions that get
//   hot there (the YAML parser, the config walk) pulls about 4 MB of the compiler's own machine code and data
//   into memory, and keeps it there while the daemon idles. Sparkplug, the cheap baseline compiler, stays on:
//   without it start-up is slower. Traffic wants TurboFan: hot code then optimizes as usual.
const START_UP_FLAGS = ['--semi-space-growth-factor=1', '--no-turbofan'];
const SERVING_FLAGS = ['--semi-space-growth-factor=2', '--turbofan'];
for (const flag of START_UP_FLAGS) setFlagsFromString(flag);

const entry = fileURLToPath(await builtEntry('mqtt-sn-gateway'));
// The compiled code of everything start-up loads (the bundle, the packages it requires), kept from an earlier
// start (scripts/code-cache.mjs); MQTTSN_CODE_CACHE=off does without, to compare or to rule it out.
const codeCache = process.env.MQTTSN_CODE_CACHE === 'off' ? undefined : startupCodeCache(codeCacheFile(entry));
process.once(SERVING, () => {
  setTimeout(() => {
    // Saved while the start-up flags still hold: V8 accepts a cache only under the flags it was made with.
    codeCache?.save();
    for (const flag of SERVING_FLAGS) setFlagsFromString(flag);
    // One full collection: start-up's garbage includes large objects (the bundle's text as Node read it, the
    // code cache's bytes) that only a full collection frees, and an idle daemon may not run one for hours.
    // Freed, they leave RSS at once (about 1.5 MB).
    setFlagsFromString('--expose-gc');
    runInNewContext('gc')();
  }, AFTER_SERVING_MS);
});
createRequire(import.meta.url)(entry);
