// One measurement in a fresh process (spawned by bench/config-validators.ts): the time and the RSS growth
// to get a validator for gateway.schema.json and check the shipped gateway.yaml's value with it.
// Plain JavaScript, so no TypeScript loader is measured with it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const [variant, root] = process.argv.slice(2);
const schema = JSON.parse(readFileSync(join(root, 'gateway.schema.json'), 'utf8'));
const value = parse(readFileSync(join(root, 'gateway.yaml'), 'utf8'));

const rssBefore = process.memoryUsage().rss;
const start = performance.now();
let valid;
if (variant === 'ajv precompiled (the daemon\'s)') {
  const { default: validate } = await import(join(root, 'gateway', 'config', 'config-validator.generated.mjs'));
  valid = validate(value);
} else if (variant === 'ajv compiled at start') {
  const { Ajv } = await import('ajv');
  const ajv = new Ajv({ allErrors: true, useDefaults: true, discriminator: true, allowUnionTypes: true, strict: false });
  valid = ajv.compile(schema)(value);
} else if (variant === 'typebox Compile') {
  const { Compile } = await import('typebox/compile');
  valid = Compile(schema).Check(value);
} else if (variant === 'typebox Value.Errors') {
  const { Value } = await import('typebox/value');
  valid = Value.Errors(schema, value).length === 0;
} else {
  throw new Error(`unknown variant ${variant}`);
}
const ms = performance.now() - start;
process.stdout.write(`${JSON.stringify({ ms, mb: (process.memoryUsage().rss - rssBefore) / 1048576, valid })}\n`);
