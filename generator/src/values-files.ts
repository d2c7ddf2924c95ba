// Values files as helm reads them: each -f file merged over the chart's
// defaults (the schema's), later files winning, maps merged key by key. What
// passes the schema is typed by the generated Gitspace type.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { UserError } from './cli.ts';
import { valuesValidator } from './schema.ts';
import { gitspaceDefaults, type Gitspace } from './values.gen.ts';

/** What a values file may hold: any part of the values. */
export type ValuesFile = DeepPartial<Gitspace>;
type DeepPartial<T> = T extends unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> | null } : T;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** helm's coalescing: maps merge recursively, anything else replaces; null deletes the key. */
export function mergeValues(base: object, over: object): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isObj(v) && isObj(out[k])) out[k] = mergeValues(out[k], v);
    else out[k] = structuredClone(v);
  }
  return out;
}

export function readValuesFile(file: string): Obj {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new UserError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isObj(doc)) throw new UserError(`${file}: the top level must be a map of values`);
  return doc;
}

/** The defaults with each values object merged over them (later wins), validated; throws naming every bad field. */
export function resolveValues(overs: object[], what = 'values'): Gitspace {
  const values: unknown = overs.reduce<Obj>((acc, over) => mergeValues(acc, over), mergeValues({}, gitspaceDefaults));
  assertValid(values, what);
  return values;
}

/** helm's view of `-f` files: the defaults with each file merged over them, validated. */
export function loadValues(files: string[]): Gitspace {
  return resolveValues(files.map(readValuesFile), files.join(', ') || 'values');
}

/** Throws one UserError listing every problem, each naming its field. */
export function assertValid(values: unknown, what: string): asserts values is Gitspace {
  const problems = valuesValidator()(values);
  if (problems.length) throw new UserError(`${what}: invalid values: ${problems.join('; ')}`);
}
