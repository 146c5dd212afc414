/**
 * What a schema node expects, said the way a person reads it: `must be an integer 1..65535 (got "abc")`.
 * The schema pass (Ajv) says which value failed; the wording comes from the node, so every keyword that
 * can fail on one value (type, minimum, maximum, pattern...) gives the same sentence.
 */
import type { DurationRule } from './config-schema.js';
import { CHECKS } from './config-checks.js';
import { describe, hex, suggest } from './config-issues.js';
import { typesOf, type SchemaNode } from './schema-node.js';

/** Why `value` does not fit `node`. */
export function valueMessage(node: SchemaNode, value: unknown): string {
  if (node.discriminator) {
    return `must be a mapping with a type: ${listOf(node.properties?.[node.discriminator.propertyName]?.enum ?? [])} (got ${describe(value)})`;
  }
  if (value === null || value === undefined) return requiredMessage(node);
  if (node.duration) return durationMessage(node.duration, value);
  if (node.bytes !== undefined) return bytesMessage(node.bytes, value);
  if (node.enum) return enumMessage(node.enum, value);
  const types = typesOf(node);
  if (node.mapKey) return `must be a mapping of ${node.mapKey} to values (got ${describe(value)})`;
  if (types.includes('integer')) return integerMessage(node, value);
  if (types.includes('number')) {
    const range = node.exclusiveMinimum !== undefined ? `> ${node.exclusiveMinimum}` : `>= ${node.minimum}`;
    return `must be a number ${range} (got ${describe(value)})`;
  }
  if (types.includes('string')) return textMessage(node, value);
  if (types.includes('object')) return `must be a mapping (got ${describe(value)})`;
  if (types.includes('array')) {
    return Array.isArray(value) && node.minItems !== undefined && value.length < node.minItems
      ? `must list at least ${node.minItems}`
      : `must be a list (got ${describe(value)})`;
  }
  if (types.includes('boolean')) return `must be true or false (got ${describe(value)})`;
  return `is not valid here (got ${describe(value)})`;
}

/** A key the node (a mapping) does not have: the nearest known one, or the whole list. */
export function unknownKeyMessage(node: SchemaNode, key: string): string {
  const known = Object.keys(node.properties ?? {});
  const guess = suggest(key, known);
  const where = node.noun ? ` for ${node.noun}` : '';
  return `unknown key${where}; ${guess ? `did you mean "${guess}"?` : `known keys: ${known.join(', ')}`}`;
}

/** A key that must be given; for a choice, the choices. */
export function requiredMessage(node: SchemaNode | undefined): string {
  const choices = node?.enum?.filter((v) => v !== null);
  return choices ? `required: one of ${listOf(choices)}` : 'required';
}

const UNIT_NAMES = { s: 'seconds', ms: 'milliseconds' } as const;

export function durationMessage(rule: DurationRule, value: unknown): string {
  const { unit, min, max, above = false, integer = false } = rule;
  const low = above ? `> ${min}` : `>= ${min}`;
  const range = max === undefined ? `${low} ${unit}` : `${min}..${max} ${unit}`;
  const whole = integer ? ` in whole ${UNIT_NAMES[unit]}` : '';
  return `must be a duration ${range}${whole} (a number of ${UNIT_NAMES[unit]}, or e.g. 30s, 15m, 2h) (got ${describe(value)})`;
}

export function bytesMessage(length: number, value: unknown): string {
  const got = Array.isArray(value) ? `a list of ${value.length}` : describe(value);
  return `must be ${length} bytes: a list of ${length} integers 0..255 or a string of ${length * 2} hex digits (got ${got})`;
}

function integerMessage(node: SchemaNode, value: unknown): string {
  const show = node.display === 'hex' ? hex : String;
  const min = node.minimum ?? 0;
  const range = node.maximum === undefined ? `>= ${show(min)}` : `${show(min)}..${show(node.maximum)}`;
  return `must be an integer ${range} (got ${describe(value, show)})`;
}

function enumMessage(choices: unknown[], value: unknown): string {
  const values = choices.filter((v) => v !== null);
  const guess = typeof value === 'string' ? suggest(value, values.map(String)) : undefined;
  return `must be one of ${listOf(values)} (got ${describe(value)})${guess === undefined ? '' : `; did you mean "${guess}"?`}`;
}

function textMessage(node: SchemaNode, value: unknown): string {
  if (typeof value !== 'string') {
    // YAML reads `password: 1234` or `name: yes` as a number or boolean.
    const hint = typeof value === 'number' || typeof value === 'boolean' ? `; quote it if you meant the text "${value}"` : '';
    return `must be a string (got ${describe(value)})${hint}`;
  }
  if (value === '' && node.minLength) return 'must not be empty';
  if (node.check) {
    const checked = CHECKS[node.check](value);
    if ('refused' in checked) return checked.refused;
  }
  return `must match ${node.pattern} (got ${JSON.stringify(value)})`;
}

function listOf(values: unknown[]): string {
  return values.map(String).join(', ');
}
