/**
 * `npm run bench:config`: what validating gateway.yaml costs at start-up, for the daemon's precompiled Ajv
 * validator and for the alternatives it was chosen over (README, Configuration). Each figure is one fresh
 * process (bench/lib/config-validator-variant.mjs); medians and ranges of RUNS runs.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const RUNS = 7;
const root = join(import.meta.dirname, '..');
const variants = ['ajv precompiled (the daemon\'s)', 'ajv compiled at start', 'typebox Compile', 'typebox Value.Errors'];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const range = (values: number[], digits: number) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

console.log(`validator for gateway.schema.json, load + check of gateway.yaml, ${RUNS} fresh processes each`);
for (const variant of variants) {
  const runs = Array.from({ length: RUNS }, () => {
    const run = spawnSync(process.execPath, [join(root, 'bench', 'lib', 'config-validator-variant.mjs'), variant, root], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${variant}: ${run.stderr}`);
    return JSON.parse(run.stdout) as { ms: number; mb: number; valid: boolean };
  });
  if (runs.some((r) => !r.valid)) throw new Error(`${variant} refused the shipped gateway.yaml`);
  const ms = runs.map((r) => r.ms);
  const mb = runs.map((r) => r.mb);
  console.log(`${variant.padEnd(32)} ${median(ms).toFixed(0).padStart(5)} ms (${range(ms, 0)})   RSS +${median(mb).toFixed(1)} MB (${range(mb, 1)})`);
}
