// devcontainer.json and the image's `devcontainer.metadata` label, read and
// merged the way devcontainers/cli does: devcontainer.json is JSONC (lenient,
// comments and trailing commas), the label is strict JSON; metadata entries
// apply in order, then devcontainer.json over them.
import { createRequire } from 'node:module';
import type { ParseError } from 'jsonc-parser';
import { UserError } from './cli.ts';
import { q } from './model.ts';
import type { Gitspace } from './values.gen.ts';

/** Where Docker Gitspace reads the file in the repository (the only place it looks). */
export const DEVCONTAINER_PATH = '.devcontainer/devcontainer.json';
export const METADATA_LABEL = 'devcontainer.metadata';

/** string: `sh -c`; array: one command (Docker Gitspace joins it with spaces); object: entries in parallel. */
export type LifecycleCommand = NonNullable<Gitspace['devcontainer']['postCreateCommand']>;

/** The fields of devcontainer.json (or of one metadata entry) that a gitspace uses. */
export type DevcontainerConfig = {
  image?: string;
  containerUser?: string;
  remoteUser?: string;
  containerEnv?: Record<string, string>;
  forwardPorts?: Array<number | string>;
  postCreateCommand?: LifecycleCommand;
  postStartCommand?: LifecycleCommand;
  runArgs?: string[];
  vscodeExtensions?: string[];
  jetbrainsPlugins?: string[];
};

/** A value and where it came from, so an error can name the field the user wrote. */
export type Sourced = { value: string; source: string };

export type MergedConfig = {
  image?: string;
  containerUser?: Sourced;
  remoteUser?: Sourced;
  containerEnv: Record<string, string>;
  forwardPorts: number[];
  postCreateCommand: LifecycleCommand[];
  postStartCommand: LifecycleCommand[];
  runArgs: string[];
  vscodeExtensions: string[];
  jetbrainsPlugins: string[];
  warnings: string[];
};

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** Parses devcontainer.json text (JSONC). `file` names it in every message. */
export function parseDevcontainerJson(text: string, file: string = DEVCONTAINER_PATH): { config: DevcontainerConfig; warnings: string[] } {
  return readConfig(parseJsoncObject(text, file), file);
}

/** A JSONC file whose top level must be an object (devcontainer.json, devcontainer-feature.json). */
export function parseJsoncObject(text: string, file: string): Record<string, unknown> {
  // A UTF-8 byte order mark before the JSON text is allowed, as VS Code (and the clone step's check) read it.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  // Required here, not imported at the top: its load was a good part of the CLI's start-up (--help).
  const { parse, printParseErrorCode, stripComments } = createRequire(import.meta.url)('jsonc-parser') as typeof import('jsonc-parser');
  if (stripComments(text).trim() === '') throw new UserError(`${file}: empty file: expected a JSON object like {"image": "..."}`);
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length) {
    const e = errors[0];
    const { line, column } = lineColumn(text, e.offset);
    throw new UserError(`${file}:${line}:${column}: syntax error: ${printParseErrorCode(e.error)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(`${file}: the top level must be an object, found ${kind(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Parses the image's `devcontainer.metadata` label: strict JSON (as
 * devcontainers/cli), an array of entries or a single object.
 */
export function parseMetadataLabel(text: string, where = `image label ${METADATA_LABEL}`): { entries: DevcontainerConfig[]; warnings: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${where}: not valid JSON (${(e as Error).message}); the label must be strict JSON: an array of objects or one object`);
  }
  const list = Array.isArray(value) ? value : [value];
  const entries: DevcontainerConfig[] = [];
  const warnings: string[] = [];
  list.forEach((entry, i) => {
    const name = `${where}[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new UserError(`${name}: each entry must be an object, found ${kind(entry)}`);
    }
    const r = readConfig(entry as Record<string, unknown>, name, true);
    entries.push(r.config);
    warnings.push(...r.warnings);
  });
  return { entries, warnings };
}

// Fields that would need an image build: a gitspace runs a pre-built image.
const NEEDS_BUILD: Record<string, string> = {
  build: 'gitspace-chart runs a pre-built image',
  dockerFile: 'gitspace-chart runs a pre-built image',
  dockerfile: 'gitspace-chart runs a pre-built image',
  dockerComposeFile: 'a gitspace is one container, not a compose project',
  features: 'features are installed by an image build',
};

// Fields Docker Gitspace applies to `docker run` that have no Kubernetes value in the chart.
const NOT_MAPPED = ['mounts', 'privileged', 'init', 'capAdd', 'securityOpt'];

// Lifecycle commands Docker Gitspace does not run (it runs postCreateCommand and postStartCommand only).
const NOT_RUN: Record<string, string> = {
  initializeCommand: 'it runs on the host before the container exists; a gitspace has no host step',
  onCreateCommand: 'move it to the start of postCreateCommand',
  updateContentCommand: 'move it into postCreateCommand',
  postAttachCommand: 'move it into postStartCommand',
};

function readConfig(obj: Record<string, unknown>, file: string, isMetadata = false): { config: DevcontainerConfig; warnings: string[] } {
  const config: DevcontainerConfig = {};
  const warnings: string[] = [];
  const fail = (field: string, want: string): never => {
    throw new UserError(`${file}: ${field} must be ${want}, found ${kind(field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], obj))}`);
  };

  for (const field of ['image', 'containerUser', 'remoteUser'] as const) {
    if (obj[field] === undefined) continue;
    if (typeof obj[field] !== 'string') fail(field, field === 'image' ? 'a string' : `a string (a user name or uid, e.g. "vscode" or "1000")`);
    config[field] = obj[field] as string;
  }

  if (obj.containerEnv !== undefined) {
    const env = obj.containerEnv;
    if (env === null || typeof env !== 'object' || Array.isArray(env)) fail('containerEnv', 'an object of strings');
    for (const [k, v] of Object.entries(env as Record<string, unknown>)) {
      if (typeof v !== 'string') throw new UserError(`${file}: containerEnv.${k} must be a string, found ${kind(v)}`);
    }
    config.containerEnv = { ...(env as Record<string, string>) };
  }

  if (obj.forwardPorts !== undefined) {
    if (!Array.isArray(obj.forwardPorts)) fail('forwardPorts', 'an array of port numbers');
    config.forwardPorts = (obj.forwardPorts as unknown[]).map((p) => {
      if (typeof p === 'number' || typeof p === 'string') return p;
      throw new UserError(`${file}: forwardPorts entries must be numbers or "host:port" strings, found ${kind(p)}`);
    });
  }

  for (const field of ['postCreateCommand', 'postStartCommand'] as const) {
    if (obj[field] === undefined) continue;
    config[field] = lifecycleCommand(obj[field], `${file}: ${field}`);
  }

  // Docker Gitspace takes run arguments from devcontainer.json only.
  if (obj.runArgs !== undefined && !isMetadata) {
    if (!Array.isArray(obj.runArgs) || obj.runArgs.some((a) => typeof a !== 'string')) fail('runArgs', 'an array of strings');
    config.runArgs = [...(obj.runArgs as string[])];
  }

  const custom = obj.customizations as Record<string, Record<string, unknown>> | undefined;
  if (custom !== undefined && (custom === null || typeof custom !== 'object' || Array.isArray(custom))) fail('customizations', 'an object');
  const ext = custom?.vscode?.extensions;
  if (ext !== undefined) {
    if (!Array.isArray(ext) || ext.some((e) => typeof e !== 'string')) fail('customizations.vscode.extensions', 'an array of extension ids');
    config.vscodeExtensions = [...(ext as string[])];
  }
  const plugins = custom?.jetbrains?.plugins;
  if (plugins !== undefined) {
    if (!Array.isArray(plugins) || plugins.some((e) => typeof e !== 'string')) fail('customizations.jetbrains.plugins', 'an array of plugin ids');
    config.jetbrainsPlugins = [...(plugins as string[])];
  }

  // The label describes an image that is already built: its features are in it.
  if (!isMetadata) {
    for (const [field, why] of Object.entries(NEEDS_BUILD)) {
      const v = obj[field];
      if (v === undefined || (field === 'features' && v !== null && typeof v === 'object' && Object.keys(v).length === 0)) continue;
      warnings.push(
        field === 'features'
          ? `${file}: "features" is not supported (${why}): build them first: \`gitspace-chart build --repo-dir DIR --image BASE --tag REPO:TAG\` (or \`values --build\`), then pass --image REPO:TAG`
          : `${file}: "${field}" is not supported (${why}): build the image first (e.g. \`devcontainer build --image-name REPO:TAG\`), load or push it, and set "image" (or pass --image)`,
      );
    }
  }
  for (const [field, what] of Object.entries(NOT_RUN)) {
    if (obj[field] !== undefined) warnings.push(`${file}: "${field}" is not run (Docker Gitspace runs only postCreateCommand and postStartCommand): ${what}`);
  }
  for (const field of NOT_MAPPED) {
    if (obj[field] !== undefined) warnings.push(`${file}: "${field}" is applied by Docker Gitspace's docker run but has no Kubernetes equivalent in the chart: ignored`);
  }
  return { config, warnings };
}

function lifecycleCommand(v: unknown, where: string): LifecycleCommand {
  // An array's wrong element is named, so [1, 2] says which entry to fix.
  const argv = (a: unknown[], at: string) => {
    const bad = a.findIndex((s) => typeof s !== 'string');
    if (bad >= 0) throw new UserError(`${at}[${bad}] must be a string, found ${kind(a[bad])}`);
    return a as string[];
  };
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return argv(v, where);
  if (v !== null && typeof v === 'object') {
    for (const [k, c] of Object.entries(v)) {
      if (Array.isArray(c)) argv(c, `${where}.${k}`);
      else if (typeof c !== 'string') throw new UserError(`${where}.${k} must be a string or an array of strings, found ${kind(c)}`);
    }
    return v as LifecycleCommand;
  }
  throw new UserError(`${where} must be a string, an array of strings or an object, found ${kind(v)}`);
}

const union = <T>(a: T[], b: T[] | undefined): T[] => [...a, ...(b ?? []).filter((x) => !a.includes(x))];

/**
 * Merges metadata entries (in label order) and then devcontainer.json, as
 * devcontainers/cli does: remoteUser/containerUser/image last one wins;
 * containerEnv per key; forwardPorts and extensions union; lifecycle commands
 * all kept, metadata first.
 */
export function mergeConfigs(metadata: DevcontainerConfig[], devcontainer: DevcontainerConfig | undefined, file = DEVCONTAINER_PATH): MergedConfig {
  const merged: MergedConfig = {
    containerEnv: {},
    forwardPorts: [],
    postCreateCommand: [],
    postStartCommand: [],
    runArgs: [],
    vscodeExtensions: [],
    jetbrainsPlugins: [],
    warnings: [],
  };
  const layers: Array<[DevcontainerConfig, string]> = metadata.map((m) => [m, `${METADATA_LABEL} label`]);
  if (devcontainer) layers.push([devcontainer, file]);
  for (const [c, source] of layers) {
    if (c.image !== undefined) merged.image = c.image;
    if (c.containerUser !== undefined) merged.containerUser = { value: c.containerUser, source: `containerUser (${source})` };
    if (c.remoteUser !== undefined) merged.remoteUser = { value: c.remoteUser, source: `remoteUser (${source})` };
    Object.assign(merged.containerEnv, c.containerEnv);
    for (const p of c.forwardPorts ?? []) {
      if (typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535) merged.forwardPorts = union(merged.forwardPorts, [p]);
      else if (typeof p === 'string' && /^[0-9]+$/.test(p) && Number(p) >= 1 && Number(p) <= 65535) merged.forwardPorts = union(merged.forwardPorts, [Number(p)]);
      else merged.warnings.push(`${source}: forwardPorts entry ${JSON.stringify(p)} is not a port of the gitspace container (1-65535): ignored`);
    }
    if (c.postCreateCommand !== undefined && !isEmptyCommand(c.postCreateCommand)) merged.postCreateCommand.push(c.postCreateCommand);
    if (c.postStartCommand !== undefined && !isEmptyCommand(c.postStartCommand)) merged.postStartCommand.push(c.postStartCommand);
    merged.runArgs.push(...(c.runArgs ?? []));
    merged.vscodeExtensions = union(merged.vscodeExtensions, c.vscodeExtensions);
    merged.jetbrainsPlugins = union(merged.jetbrainsPlugins, c.jetbrainsPlugins);
  }
  return merged;
}

function isEmptyCommand(c: LifecycleCommand): boolean {
  return typeof c === 'string' ? c.trim() === '' : Array.isArray(c) ? c.length === 0 : Object.keys(c).length === 0;
}

/**
 * The user given by `--user`/`-u` in docker run arguments (the last one wins,
 * as in docker), or undefined. Forms: `-u X`, `--user X`, `--user=X`, `-uX`, `-u=X`.
 */
export function userFromRunArgs(args: string[], where = 'runArgs'): string | undefined {
  let user: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-u' || a === '--user') {
      if (i + 1 >= args.length) throw new UserError(`${where}: ${a} has no value; give a user, e.g. [${q(a)}, "vscode"]`);
      user = args[++i];
    } else if (a.startsWith('--user=')) user = a.slice('--user='.length);
    else if (a.startsWith('-u=')) user = a.slice('-u='.length);
    else if (/^-u./.test(a)) user = a.slice(2);
  }
  return user;
}

/**
 * One lifecycle command for the chart value. Several (metadata entries, then
 * devcontainer.json) run one after the other and stop at the first failure,
 * as devcontainers/cli runs them, so they become one `sh -c` script.
 */
export function combineLifecycle(commands: LifecycleCommand[]): LifecycleCommand {
  if (commands.length === 0) return '';
  if (commands.length === 1) return commands[0];
  return commands.map((c) => `{\n${shellText(c)}\n}`).join(' &&\n');
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const asShell = (c: string | string[]) => (typeof c === 'string' ? c : c.join(' '));

/** A lifecycle command as shell text: an object's entries run in parallel and all must succeed. */
function shellText(c: LifecycleCommand): string {
  if (typeof c === 'string' || Array.isArray(c)) return asShell(c);
  const entries = Object.values(c);
  const lines = entries.map((e, i) => `sh -c ${shellQuote(asShell(e))} & gs_p${i}=$!`);
  const waits = entries.map((_, i) => `wait "$gs_p${i}" || gs_rc=1`);
  return ['gs_rc=0', ...lines, ...waits, '[ "$gs_rc" = 0 ]'].join('\n');
}
