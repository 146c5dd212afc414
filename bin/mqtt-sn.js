#!/usr/bin/env node
// The `mqtt-sn` command: plain JavaScript built ahead of time from client/cli.ts (scripts/build.mjs),
// rebuilt first if a source changed since, so no TypeScript loader runs and no stale build does either.
import { builtEntry } from '../scripts/build.mjs';

await import(await builtEntry('mqtt-sn'));
