// Feature options, as the features spec resolves them: the feature's declared
// defaults, overridden by the user's values, each checked against its declared
// type and enum, then exported to install.sh under the spec's env name.
import { UserError } from '../cli.ts';
import { q } from '../model.ts';

export type OptionDecl = { type: 'boolean' | 'string'; default?: boolean | string; enum?: string[]; proposals?: string[]; description?: string };
export type OptionValues = Record<string, string | boolean>;

/** The spec's rule: non-word characters to `_`, leading digits/underscores to one `_`, upper case. */
export function envName(option: string): string {
  return option.replace(/[^\w_]/g, '_').replace(/^[\d_]+/g, '_').toUpperCase();
}

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`);

/**
 * What the user wrote as a `features` value, as an object of options: `true` or `{}` =
 * defaults; a string is short for `{ "version": string }` (the spec's shorthand).
 */
export function userOptions(value: unknown, where: string): OptionValues {
  if (value === true) return {};
  if (typeof value === 'string') return { version: value };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(`${where}: must be an object of options (or true, or a version string), found ${kind(value)}`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string' && typeof v !== 'boolean') {
      throw new UserError(`${where}.${k}: an option value must be a string or a boolean, found ${kind(v)}`);
    }
  }
  return { ...(value as OptionValues) };
}

/** Checks a feature's `options` declaration (devcontainer-feature.json). */
export function checkDeclarations(decls: unknown, where: string): Record<string, OptionDecl> {
  if (decls === undefined) return {};
  if (decls === null || typeof decls !== 'object' || Array.isArray(decls)) throw new UserError(`${where}: options must be an object, found ${kind(decls)}`);
  const out: Record<string, OptionDecl> = {};
  for (const [name, d] of Object.entries(decls as Record<string, unknown>)) {
    const at = `${where}.${name}`;
    if (d === null || typeof d !== 'object') throw new UserError(`${at}: must be an object with "type", found ${kind(d)}`);
    const decl = d as OptionDecl;
    if (decl.type !== 'boolean' && decl.type !== 'string') throw new UserError(`${at}.type: must be "boolean" or "string", found ${kind(decl.type)}`);
    if (decl.default !== undefined && typeof decl.default !== decl.type) throw new UserError(`${at}.default: must be a ${decl.type}, found ${kind(decl.default)}`);
    if (decl.enum !== undefined && (!Array.isArray(decl.enum) || decl.enum.some((e) => typeof e !== 'string'))) throw new UserError(`${at}.enum: must be an array of strings`);
    out[name] = decl;
  }
  return out;
}

/** Defaults overridden by the user's values; a value of the wrong type, outside the enum, or for no declared option is refused. */
export function resolveOptions(decls: Record<string, OptionDecl>, user: OptionValues, where: string): OptionValues {
  const out: OptionValues = {};
  for (const [name, d] of Object.entries(decls)) if (d.default !== undefined) out[name] = d.default;
  for (const [name, v] of Object.entries(user)) {
    const d = decls[name];
    if (!d) {
      const known = Object.keys(decls);
      throw new UserError(`${where}: option ${q(name)} is not declared by the feature (${known.length ? `its options: ${known.join(', ')}` : 'it declares no options'})`);
    }
    if (typeof v !== d.type) throw new UserError(`${where}: option ${q(name)} must be a ${d.type}, found ${kind(v)}`);
    if (d.enum && !d.enum.includes(v as string)) throw new UserError(`${where}: option ${q(name)} must be one of ${d.enum.map((e) => JSON.stringify(e)).join(', ')}, found ${JSON.stringify(v)}`);
    out[name] = v;
  }
  return out;
}

/** The env install.sh gets: one variable per option, in declaration order. Two options with one env name are refused. */
export function optionsEnv(values: OptionValues, where: string): Record<string, string> {
  const env: Record<string, string> = {};
  const from: Record<string, string> = {};
  for (const [name, v] of Object.entries(values)) {
    const key = envName(name);
    if (from[key] !== undefined) throw new UserError(`${where}: options ${q(from[key])} and ${q(name)} both become ${key}`);
    from[key] = name;
    env[key] = String(v);
  }
  return env;
}
