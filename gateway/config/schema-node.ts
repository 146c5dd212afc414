/**
 * gateway.schema.json as config.ts reads it at run time (from the precompiled validator module): the plain
 * JSON Schema nodes, plus the annotation keywords config-schema.ts adds.
 */
import type { CheckName, DurationRule, MapKey } from './config-schema.js';
import { isRecord } from './config-issues.js';

export interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  required?: string[];
  items?: SchemaNode;
  oneOf?: SchemaNode[];
  discriminator?: { propertyName: string };
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  minLength?: number;
  pattern?: string;
  default?: unknown;
  description?: string;
  duration?: DurationRule;
  bytes?: number;
  mapKey?: MapKey;
  noun?: string;
  check?: CheckName;
  display?: 'hex';
}

/** The member of a `type`-tagged union (a radio) that `value` picks, if it picks one. */
export function branchOf(node: SchemaNode, value: unknown): SchemaNode | undefined {
  if (!node.discriminator || !node.oneOf || !isRecord(value)) return undefined;
  const tag = value[node.discriminator.propertyName];
  return node.oneOf.find((member) => member.properties?.[node.discriminator!.propertyName]?.const === tag);
}

/** The node that checks `key` of `value` (a mapping or list checked by `node`); undefined for an unknown key. */
export function childNode(node: SchemaNode, value: unknown, key: string | number): SchemaNode | undefined {
  if (typeof key === 'number') return node.items;
  const member = branchOf(node, value);
  const fixed = member?.properties?.[key] ?? node.properties?.[key];
  if (fixed) return fixed;
  return typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
}

/** A key the schema names (as opposed to a free-form mapping key such as a topic id or a ClientId). */
export function isNamedKey(node: SchemaNode, value: unknown, key: string): boolean {
  return Object.hasOwn(branchOf(node, value)?.properties ?? {}, key) || Object.hasOwn(node.properties ?? {}, key);
}

/** The node a JSON pointer from the schema's root (Ajv's schemaPath, without '#') leads to. */
export function nodeAt(root: SchemaNode, pointer: readonly string[]): SchemaNode {
  let node: unknown = root;
  for (const segment of pointer) node = (node as Record<string, unknown>)[segment.replaceAll('~1', '/').replaceAll('~0', '~')];
  return node as SchemaNode;
}

/** The types a node allows, without the `null` an empty YAML value may take. */
export function typesOf(node: SchemaNode): string[] {
  const types = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
  return types.filter((t) => t !== 'null');
}
