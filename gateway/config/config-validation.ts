/**
 * Step 2 of reading gateway.yaml: the schema pass. The value from the YAML is checked by the validator
 * Ajv precompiled from gateway.schema.json (config-validator.generated.mjs, made by `npm run schema`),
 * which also fills in the defaults; its errors become issues worded from the schema's nodes. Then one walk
 * over the schema reads what JSON Schema leaves as text (durations, hex bytes, mapping keys) and runs
 * the named checks, reporting through the same issue list.
 */
import validate, { schema, type ValidationError } from './config-validator.generated.mjs';
import type { SchemaConfig } from './config-schema.js';
import { CHECKS } from './config-checks.js';
import { formatPath, isRecord, type Issues, type Path } from './config-issues.js';
import { bytesMessage, durationMessage, requiredMessage, unknownKeyMessage, valueMessage } from './config-messages.js';
import { branchOf, childNode, isNamedKey, nodeAt, type SchemaNode } from './schema-node.js';

const root = schema as SchemaNode;

/** Checks the plain value of a whole file; `undefined` when something was reported. */
export function validateConfig(value: unknown, issues: Issues): SchemaConfig | undefined {
  const before = issues.list.length;
  // An empty file (or one of comments only) is null: every default.
  const input = value ?? {};
  dropEmptyValues(input, root);
  const failed = validate(input) ? new Set<string>() : reportSchemaErrors(validate.errors ?? [], input, issues);
  const decoded = decode(input, root, [], failed, issues);
  return issues.list.length === before ? (decoded as SchemaConfig) : undefined;
}

/**
 * An empty value (`port:`) means the default: a named key with nothing after it is left out before the
 * schema pass. A free-form key with nothing (`7:` under predefined) stays, and is reported.
 */
function dropEmptyValues(value: unknown, node: SchemaNode | undefined): void {
  if (!node) return;
  if (Array.isArray(value)) {
    value.forEach((item) => dropEmptyValues(item, node.items));
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (item === null && isNamedKey(node, value, key)) delete value[key];
      else dropEmptyValues(item, childNode(node, value, key));
    }
  }
}

// ───────────────────────── Ajv's errors → issues ─────────────────────────

/** Reports each error once per value; returns the key paths whose values failed (the walk skips them). */
function reportSchemaErrors(errors: ValidationError[], input: unknown, issues: Issues): Set<string> {
  const failed = new Set<string>();
  // Unknown keys first: where one sits where a required key is missing, the typo is the news.
  const ordered = [...errors].sort((a, b) => Number(b.keyword === 'additionalProperties') - Number(a.keyword === 'additionalProperties'));
  for (const error of ordered) {
    // Mapping keys are checked by the walk (range, duplicates); a radio's `type` by `required` and `enum`.
    if (error.keyword === 'discriminator' || error.schemaPath.includes('/propertyNames')) continue;
    const pointer = error.schemaPath.replace(/^#\//, '').split('/');
    let node = nodeAt(root, pointer.slice(0, -1));
    let path: Path = error.instancePath.split('/').slice(1).map(unescapePointer).map((segment, i, all) => indexOrKey(input, all.slice(0, i), segment));
    if (error.keyword === 'additionalProperties') {
      const key = error.params.additionalProperty as string;
      issues.report([...path, key], unknownKeyMessage(node, key), 'key');
      continue;
    }
    if (error.keyword === 'required') {
      const key = error.params.missingProperty as string;
      issues.report([...path, key], requiredMessage(node.properties?.[key]));
      continue;
    }
    // A byte of a byte list is reported as the whole value being wrong, as the key reads.
    const parent = pointer.at(-2) === 'items' ? nodeAt(root, pointer.slice(0, -2)) : undefined;
    if (parent?.bytes !== undefined) [node, path] = [parent, path.slice(0, -1)];
    const at = formatPath(path);
    if (failed.has(at)) continue;
    failed.add(at);
    issues.report(path, valueMessage(node, valueAt(input, path)));
  }
  return failed;
}

function unescapePointer(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** A list index is a number in key paths (`radios[1]`), a mapping key a string (`topics.predefined.7`). */
function indexOrKey(input: unknown, parents: string[], segment: string): string | number {
  return Array.isArray(valueAt(input, parents)) ? Number(segment) : segment;
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let value = input;
  for (const segment of path) value = (value as Record<string | number, unknown> | undefined)?.[segment];
  return value;
}

// ───────────── the walk: what JSON Schema leaves as text, and the named checks ─────────────

/** Units a duration may be written in; a bare number is in the key's own unit. */
const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

function decode(value: unknown, node: SchemaNode, path: Path, failed: Set<string>, issues: Issues): unknown {
  if (failed.has(formatPath(path))) return value;
  if (node.duration) return readDuration(value, node, path, issues);
  if (node.bytes !== undefined) return readBytes(value, node.bytes, path, issues);
  if (node.check && typeof value === 'string') {
    const checked = CHECKS[node.check](value);
    if ('value' in checked) return checked.value;
    issues.report(path, checked.refused);
    return value;
  }
  if (node.mapKey && isRecord(value)) return readMapping(value, node, path, failed, issues);
  if (Array.isArray(value) && node.items) return value.map((item, index) => decode(item, node.items!, [...path, index], failed, issues));
  if (isRecord(value) && (node.properties || branchOf(node, value))) {
    for (const key of Object.keys(value)) {
      const child = childNode(node, value, key);
      if (child) value[key] = decode(value[key], child, [...path, key], failed, issues);
    }
  }
  return value;
}

/** `250ms`, `30s`, `15m`, `2h`, `1d`, or a bare number in the key's unit; bounds in that unit. */
function readDuration(value: unknown, node: SchemaNode, path: Path, issues: Issues): unknown {
  const { unit, min, max = Number.MAX_SAFE_INTEGER, above = false, integer = false } = node.duration!;
  let amount: number | undefined;
  if (typeof value === 'number') amount = value;
  else if (typeof value === 'string') {
    const match = new RegExp(node.pattern!).exec(value);
    // Rounded to a millionth so 0.1s in ms is 100, not 100.00000000000001.
    if (match) amount = Math.round((Number(match[1]) * DURATION_UNITS[match[2]]) / DURATION_UNITS[unit] * 1e6) / 1e6;
  }
  const inRange = amount !== undefined && Number.isFinite(amount) && (above ? amount > min : amount >= min) && amount <= max;
  if (inRange && (!integer || Number.isInteger(amount))) return amount;
  issues.report(path, durationMessage(node.duration!, value));
  return value;
}

/** A list of bytes as given, or hex digits ("0x...", "dd:dd:...") read into one. */
function readBytes(value: unknown, length: number, path: Path, issues: Issues): unknown {
  if (Array.isArray(value)) return value;
  const digits = typeof value === 'string' ? value.replace(/^0x/i, '').replace(/[:\s-]/g, '') : '';
  if (digits.length === length * 2 && /^[0-9a-f]+$/i.test(digits)) {
    return Array.from({ length }, (_, i) => parseInt(digits.slice(i * 2, i * 2 + 2), 16));
  }
  issues.report(path, bytesMessage(length, value));
  return value;
}

/** A mapping of free-form keys into a Map; keys that mean the same (`7`, `"07"`) are duplicates. */
function readMapping(value: Record<string, unknown>, node: SchemaNode, path: Path, failed: Set<string>, issues: Issues): Map<unknown, unknown> {
  const keyNoun = node.mapKey!;
  const output = new Map<unknown, unknown>();
  const spelled = new Map<unknown, string>();
  for (const [rawKey, rawValue] of Object.entries(value)) {
    const keyPath = [...path, rawKey];
    const key = readKey(keyNoun, rawKey, keyPath, issues);
    const before = issues.list.length;
    const item = typeof node.additionalProperties === 'object' ? decode(rawValue, node.additionalProperties, keyPath, failed, issues) : rawValue;
    if (key === undefined || issues.list.length !== before || failed.has(formatPath(keyPath))) continue;
    const earlier = spelled.get(key);
    if (earlier !== undefined) {
      issues.report(keyPath, `duplicate ${keyNoun} ${String(key)} (also given as ${JSON.stringify(earlier)})`, 'key');
      continue;
    }
    spelled.set(key, rawKey);
    output.set(key, item);
  }
  return output;
}

/** §5.3.11 TopicId: 0x0000 and 0xFFFF are reserved, so predefined ids are 1..65534. */
function readKey(keyNoun: string, key: string, path: Path, issues: Issues): number | string | undefined {
  if (keyNoun === 'topic id') {
    const id = /^[+-]?\d+$/.test(key) ? Number(key) : /^0x[0-9a-f]+$/i.test(key) ? parseInt(key, 16) : NaN;
    if (Number.isInteger(id) && id >= 1 && id <= 65534) return id;
    issues.report(path, `topic id must be an integer 1..65534 (got ${JSON.stringify(key)})`, 'key');
    return undefined;
  }
  if (key === '') {
    issues.report(path, `a ${keyNoun} must not be empty`, 'key');
    return undefined;
  }
  return key;
}
