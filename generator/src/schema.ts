// Loads the one user model (schema/gitspace.schema.json) and exposes the data
// the rest of the generator derives from it. Nothing here restates a rule: the
// IDE table, defaults and field descriptions all come from the schema file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject } from 'ajv/dist/2020.js';

// This module runs from generator/src or from its build, generator/dist: both two levels down.
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const schemaPath = resolve(repoRoot, 'schema', 'gitspace.schema.json');

export type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  enum?: unknown[];
  $ref?: string;
  [key: string]: unknown;
};

export type IdeInfo = { protocol: 'http' | 'ssh'; port: number; jetbrains?: boolean };

let cached: JsonSchema | undefined;

/** The source schema, as written (with x-gitspace-* annotations). */
export function loadSchema(): JsonSchema {
  cached ??= JSON.parse(readFileSync(schemaPath, 'utf8')) as JsonSchema;
  return cached;
}

/** Docker Gitspace's IDE table (types/enum/ide.go), as recorded in the schema. */
export function ideTable(schema: JsonSchema = loadSchema()): Record<string, IdeInfo> {
  const type = schema.properties?.ide?.properties?.type;
  const table = type?.['x-gitspace-ides'] as Record<string, IdeInfo> | undefined;
  if (!table) throw new Error(`${schemaPath}: ide.type has no x-gitspace-ides table`);
  const keys = Object.keys(table).sort();
  const enumKeys = [...((type?.enum as string[]) ?? [])].sort();
  if (JSON.stringify(keys) !== JSON.stringify(enumKeys)) {
    throw new Error(`${schemaPath}: ide.type enum ${enumKeys.join(',')} differs from its x-gitspace-ides table ${keys.join(',')}`);
  }
  return table;
}

/** The schema without our x-* annotations, as shipped in the chart. */
export function publicSchema(schema: JsonSchema = loadSchema()): JsonSchema {
  return JSON.parse(JSON.stringify(schema), (key, value) => (key.startsWith('x-') ? undefined : value)) as JsonSchema;
}

/** Defaults of every field, as a values object (what values.yaml holds). */
export function defaults(schema: JsonSchema = loadSchema()): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (prop.default !== undefined) out[key] = structuredClone(prop.default);
    else if (prop.properties) out[key] = defaults(prop);
    else throw new Error(`${schemaPath}: field "${key}" has no default: every field needs one (it becomes values.yaml)`);
  }
  return out;
}

/** Every leaf field with its dotted path, for docs and for the defaults check. */
export function leaves(schema: JsonSchema = loadSchema(), prefix = ''): Array<{ path: string; prop: JsonSchema }> {
  const out: Array<{ path: string; prop: JsonSchema }> = [];
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (prop.properties && prop.default === undefined) out.push(...leaves(prop, path));
    else out.push({ path, prop });
  }
  return out;
}

export type Validator = (values: unknown) => string[];

/** Validates a values object; returns human messages naming each field. */
export function valuesValidator(schema: JsonSchema = loadSchema()): Validator {
  // Required here, not imported at the top: ajv is slow to load and only validation needs it.
  const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const validate = ajv.compile(publicSchema(schema));
  return (values) => (validate(values) ? [] : describeErrors(validate.errors ?? []));
}

function fieldOf(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return path ? `${path}.${extra}` : extra;
  }
  return path || '(root)';
}

/** One line per failing field; anyOf/not noise folded into the field's first message. */
export function describeErrors(errors: ErrorObject[]): string[] {
  const byField = new Map<string, string>();
  for (const e of errors) {
    const field = fieldOf(e);
    if (byField.has(field)) continue;
    const what = e.keyword === 'additionalProperties' ? 'is not a known field' : (e.message ?? 'is invalid');
    byField.set(field, `${field}: ${what}`);
  }
  return [...byField.values()];
}
