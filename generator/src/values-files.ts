// Values files as helm reads them: each -f file merged over the chart's
// defaults (the schema's), later files winning, maps merged key by key.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { UserError } from './cli.ts';
import { defaults, valuesValidator } from './schema.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** helm's coalescing: maps merge recursively, anything else replaces; null deletes the key. */
export function mergeValues(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isObj(v) && isObj(out[k])) out[k] = mergeValues(out[k] as Obj, v);
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

/** The schema defaults with each file merged over them, validated; throws naming every bad field. */
export function loadValues(files: string[]): Obj {
  const values = files.reduce((acc, f) => mergeValues(acc, readValuesFile(f)), defaults());
  assertValid(values, files.join(', ') || 'values');
  return values;
}

/** Throws one UserError listing every problem, each naming its field. */
export function assertValid(values: unknown, what: string): void {
  const problems = valuesValidator()(values);
  if (problems.length) throw new UserError(`${what}: invalid values: ${problems.join('; ')}`);
}
