#!/usr/bin/env node
// The `mqtt-sn-gateway` daemon: plain JavaScript built ahead of time from gateway/main.ts (scripts/build.mjs),
// rebuilt first if a source changed since, so no TypeScript loader runs and no stale build does either.
import { builtEntry } from '../scripts/build.mjs';

await import(await builtEntry('mqtt-sn-gateway'));
