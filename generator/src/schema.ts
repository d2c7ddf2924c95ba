// Loads the one user model (schema/gitspace.schema.json) and exposes the data
// the rest of the generator derives from it. Nothing here restates a rule: the
// IDE table, defaults and field descriptions all come from the schema file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { UserError } from './cli.ts';

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
  if (!table) throw new UserError(`${schemaPath}: ide.type has no x-gitspace-ides table`);
  const keys = Object.keys(table).sort();
  const enumKeys = [...((type?.enum as string[]) ?? [])].sort();
  if (JSON.stringify(keys) !== JSON.stringify(enumKeys)) {
    throw new UserError(`${schemaPath}: ide.type enum ${enumKeys.join(',')} differs from its x-gitspace-ides table ${keys.join(',')}`);
  }
  return table;
}

/**
 * A rule across fields that the schema cannot say with a clear message to helm (x-gitspace-rules
 * at the schema's root): when every `when` field has its value, `field` is refused with `message`.
 * Written once; the generator's validator checks it and `generate` writes it into the chart's
 * validate template (templates/_model.tpl, gitspace.model.rules), so both say the same words.
 */
export type CrossFieldRule = { field: string; when: Record<string, string | number | boolean>; message: string };

const FIELD_PATH = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/;

export function crossFieldRules(schema: JsonSchema = loadSchema()): CrossFieldRule[] {
  const rules = (schema['x-gitspace-rules'] ?? []) as CrossFieldRule[];
  for (const r of rules) {
    const fields = [r.field, ...Object.keys(r.when ?? {})];
    const bad = fields.find((f) => !FIELD_PATH.test(f) || !leaves(schema).some((l) => l.path === f));
    if (bad !== undefined || !r.message || !Object.keys(r.when ?? {}).length) {
      throw new UserError(`${schemaPath}: x-gitspace-rules entry for ${JSON.stringify(r.field)} needs a known field, a non-empty when (known fields) and a message${bad !== undefined ? ` (unknown field ${JSON.stringify(bad)})` : ''}`);
    }
    if (Object.values(r.when).some((v) => !['string', 'number', 'boolean'].includes(typeof v))) {
      throw new UserError(`${schemaPath}: x-gitspace-rules entry for ${r.field}: each when value must be a string, number or boolean`);
    }
  }
  return rules;
}

/** The value at a dotted path of a values object (undefined when absent). */
function at(values: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>)[k] : undefined), values);
}

/** "field: message" for every cross-field rule the values break. */
export function brokenRules(values: unknown, schema: JsonSchema = loadSchema()): string[] {
  return crossFieldRules(schema)
    .filter((r) => Object.entries(r.when).every(([f, v]) => at(values, f) === v))
    .map((r) => `${r.field}: ${r.message}`);
}

/**
 * The values of the companion chart charts/gitspace-features (the in-cluster features build), made
 * from this schema: its featuresBuild group (x-features-build, not a gitspace field: a gitspace
 * release never stores the build's context), the gitspace's image.repository, image.tag and
 * image.pullSecrets (where the Job pushes, with which pull Secrets the builder is pulled),
 * nodeSelector and tolerations, and the $defs they use.
 */
export function featuresBuildSchema(schema: JsonSchema = loadSchema()): JsonSchema {
  const group = (schema['x-features-build'] as Record<string, JsonSchema> | undefined)?.featuresBuild;
  const main = schema.properties ?? {};
  if (!group || !main.image?.properties || !main.nodeSelector || !main.tolerations) {
    throw new UserError(`${schemaPath}: x-features-build.featuresBuild, image, nodeSelector and tolerations are needed for charts/gitspace-features`);
  }
  const imageKeys = ['repository', 'tag', 'pullSecrets'];
  const properties: Record<string, JsonSchema> = {
    image: {
      ...main.image,
      required: imageKeys,
      description: 'The image the build makes: image.repository:image.tag is pushed (the gitspace\'s values name the same). image.pullSecrets: pull Secrets for the builder image.',
      properties: {
        ...Object.fromEntries(imageKeys.map((k) => [k, main.image!.properties![k]])),
        // What differs here: the Job pushes this reference, named by the content key.
        repository: { ...main.image.properties.repository, description: 'Where the Job pushes: REGISTRY[:PORT]/REPOSITORY (the gitspace\'s image.repository; written by gitspace-chart values --build-in-cluster).' },
        tag: { ...main.image.properties.tag, description: 'The content key\'s first 32 hex digits (featuresBuild.key), written by gitspace-chart values --build-in-cluster; the Job refuses any other.' },
      },
    },
    nodeSelector: main.nodeSelector,
    tolerations: main.tolerations,
    featuresBuild: group,
  };
  // The $defs these use, and theirs.
  const defs = (schema.$defs ?? {}) as Record<string, JsonSchema>;
  const used = new Set<string>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (isObj(node)) {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') && !used.has(v.slice(8))) {
          used.add(v.slice(8));
          walk(defs[v.slice(8)]);
        } else walk(v);
      }
    }
  };
  walk(properties);
  return {
    $schema: schema.$schema,
    title: 'gitspace-features',
    description: group.description,
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties),
    properties,
    $defs: Object.fromEntries([...used].sort().map((k) => [k, defs[k]])),
  };
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
    else throw new UserError(`${schemaPath}: field "${key}" has no default: every field needs one (it becomes values.yaml)`);
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

/**
 * Every field of a group object (one without its own default) is required,
 * except those whose default is null: values files are merged over the
 * defaults, so a missing field means a values file set it to null (helm then
 * deletes the key), and the templates and docker-spec need every field.
 */
export function checkRequired(schema: JsonSchema = loadSchema(), path = ''): void {
  if (!schema.properties || (path && schema.default !== undefined)) return;
  const want = Object.entries(schema.properties)
    .filter(([, prop]) => prop.default !== null)
    .map(([key]) => key);
  const have = (schema.required as string[] | undefined) ?? [];
  if (JSON.stringify(have) !== JSON.stringify(want)) {
    throw new UserError(`${schemaPath}: ${path || '(root)'} must list "required": ${JSON.stringify(want)} (every field whose default is not null, in order); it has ${JSON.stringify(have)}`);
  }
  for (const [key, prop] of Object.entries(schema.properties)) checkRequired(prop, path ? `${path}.${key}` : key);
}

export type Validator = (values: unknown) => string[];

let shipped: Validator | undefined;

/** Validates a values object; returns one plain message per problem, naming the field. */
export function valuesValidator(schema?: JsonSchema): Validator {
  if (!schema) return (shipped ??= valuesValidator(loadSchema()));
  // Required here, not imported at the top: ajv is slow to load and only validation needs it.
  const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
  const validate = ajv.compile(publicSchema(schema));
  // The schema's own rules first: the cross-field ones assume well-typed values.
  return (values) => (validate(values) ? brokenRules(values, schema) : describeErrors(validate.errors ?? [], values, schema));
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** JSON pointer segments; ajv URI-encodes the ones of schemaPath. */
const segments = (pointer: string, uri = false): string[] =>
  pointer
    .replace(/^#/, '')
    .split('/')
    .slice(1)
    .map((s) => (uri ? decodeURIComponent(s) : s).replaceAll('~1', '/').replaceAll('~0', '~'));

/** The field as a user writes it: user.home, devcontainer.postCreateCommand[0]. */
function fieldName(instancePath: string, values: unknown): string {
  let out = '';
  let at = values;
  for (const seg of segments(instancePath)) {
    out += Array.isArray(at) ? `[${seg}]` : out ? `.${seg}` : seg;
    at = Array.isArray(at) ? at[Number(seg)] : isObj(at) ? at[seg] : undefined;
  }
  return out || '(root)';
}

/** The message the schema gives for a keyword (x-gitspace-messages next to it), if any. */
function annotated(e: ErrorObject, schema: JsonSchema): string | undefined {
  const path = segments(e.schemaPath, true);
  const node = path.slice(0, -1).reduce<unknown>((o, k) => (isObj(o) || Array.isArray(o) ? (o as Obj)[k] : undefined), schema);
  return isObj(node) ? (node['x-gitspace-messages'] as Record<string, string> | undefined)?.[e.keyword] : undefined;
}

const article = (type: string) => (type === 'null' ? 'null' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

function got(value: unknown): string {
  if (value === undefined || isObj(value)) return '';
  const json = JSON.stringify(value);
  return ` (got ${json.length > 80 ? `${json.slice(0, 64)}… (${json.length} characters)` : json})`;
}

/**
 * anyOf: ajv reports every branch. Keep the branch whose type fits the value
 * (so [1, 2] for a string-or-array field names the element at fault), else
 * one message listing the forms; a schema message on the anyOf wins.
 */
function resolveAnyOf(errors: ErrorObject[], schema: JsonSchema): ErrorObject[] {
  let out = errors;
  for (;;) {
    const any = out.filter((e) => e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length)[0];
    if (!any) return out;
    const inBranch = (e: ErrorObject, i?: number) =>
      e !== any && e.schemaPath.startsWith(`${any.schemaPath}/${i ?? ''}`) && (e.instancePath === any.instancePath || e.instancePath.startsWith(`${any.instancePath}/`));
    const branches = [...new Set(out.filter((e) => inBranch(e)).map((e) => Number(e.schemaPath.slice(any.schemaPath.length + 1).split('/')[0])))];
    const typeFails = (i: number) => out.some((e) => inBranch(e, i) && e.keyword === 'type' && e.schemaPath === `${any.schemaPath}/${i}/type`);
    const fitting = branches.filter((i) => !typeFails(i));
    const rest = out.filter((e) => e !== any && !inBranch(e));
    if (!annotated(any, schema) && fitting.length) {
      out = [...rest, ...out.filter((e) => inBranch(e, fitting[0]))];
      continue;
    }
    const forms = out.filter((e) => inBranch(e) && e.keyword === 'type' && e.instancePath === any.instancePath).map((e) => article(String((e.params as { type: string }).type)));
    const message = annotated(any, schema) ?? `must be ${forms.length > 1 ? `${forms.slice(0, -1).join(', ')} or ${forms.at(-1)}` : (forms[0] ?? 'one of the allowed forms')}`;
    out = [...rest, { ...any, keyword: 'anyOf resolved', message }];
  }
}

/** One line per problem, naming the field (and the key of a map) and the rule in plain words; the first problem of a field wins. */
export function describeErrors(errors: ErrorObject[], values?: unknown, schema: JsonSchema = loadSchema()): string[] {
  const lines = new Map<string, string>();
  const add = (field: string, what: string) => lines.has(field) || lines.set(field, `${field}: ${what}`);
  const child = (field: string, key: string) => (field === '(root)' ? key : `${field}.${key}`);
  for (const e of resolveAnyOf(errors, schema)) {
    const field = fieldName(e.instancePath, values);
    const own = annotated(e, schema);
    if (e.keyword === 'additionalProperties') {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      if (own) lines.set(`${field} ${key}`, `${field}: key ${JSON.stringify(key)} ${own}`);
      else add(child(field, key), 'is not a known field');
    } else if (e.keyword === 'required') {
      add(child(field, (e.params as { missingProperty: string }).missingProperty), "is required (a values file that sets it to null deletes the chart's default); give it a value or remove the null");
    } else if (own && /\/patternProperties\/[^/]+\/[^/]+$/.test(e.schemaPath)) {
      // A rule on a map's keys: name the map and the key.
      const key = segments(e.instancePath).at(-1)!;
      const map = fieldName(e.instancePath.slice(0, e.instancePath.lastIndexOf('/')), values);
      lines.set(`${map} ${key}`, `${map}: key ${JSON.stringify(key)} ${own}`);
    } else if (e.keyword === 'type') {
      add(field, `must be ${[(e.params as { type: string | string[] }).type].flat().map(article).join(' or ')}${got(e.data)}`);
    } else if (e.keyword === 'enum') {
      add(field, `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}${got(e.data)}`);
    } else {
      add(field, `${own ?? (e.keyword === 'not' ? 'is not allowed' : (e.message ?? 'is invalid'))}${got(e.data)}`);
    }
  }
  return [...lines.values()];
}
