// Resolution of devcontainer.json's `features`: every reference fetched once
// (OCI, tarball or local folder) into a working folder, its
// devcontainer-feature.json checked, its options resolved, the features it
// dependsOn added recursively, and the whole set put in the spec's install order.
import { cpSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../cli.ts';
import { parseJsoncObject } from '../devcontainer.ts';
import { q } from '../model.ts';
import { pullFeature, sha256 } from './oci.ts';
import { checkDeclarations, optionsEnv, resolveOptions, userOptions, type OptionValues } from './options.ts';
import { installRounds, overridePriorities, type OrderNode } from './order.ts';
import { parseFeatureRef, resourceOf, type FeatureRef } from './reference.ts';
import { downloadTarball, extractTar, featureJson } from './tarball.ts';

/** devcontainer-feature.json, the fields we act on (the rest is kept in `raw`). */
export type FeatureMetadata = {
  id: string;
  version: string;
  name?: string;
  containerEnv: Record<string, string>;
  dependsOn: Record<string, unknown>;
  installsAfter: string[];
  raw: Record<string, unknown>;
};

export type ResolvedFeature = OrderNode & {
  ref: FeatureRef;
  metadata: FeatureMetadata;
  /** Resolved option values (defaults, then the user's). */
  options: OptionValues;
  /** install.sh's env from the options. */
  env: Record<string, string>;
  /** The fetched folder. */
  dir: string;
  /** What was fetched: an OCI manifest digest, the tarball's sha256, or (local) nothing: the folder's files are hashed with the build context. */
  source: string;
};

export type FeaturesInput = {
  features: Record<string, unknown>;
  overrideFeatureInstallOrder?: unknown;
  /** The folder holding devcontainer.json (local features live under it), if it is a checkout. */
  devcontainerDir?: string;
  /** Where fetched features are unpacked. */
  workDir: string;
  file: string;
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function readMetadata(dir: string, ref: FeatureRef, what: string): FeatureMetadata {
  const file = featureJson(dir);
  if (!existsSync(file)) throw new UserError(`${what}: no devcontainer-feature.json in the feature (${ref.userId})`);
  const raw = parseJsoncObject(readFileSync(file, 'utf8'), `${what}: devcontainer-feature.json`);
  const at = `${what}: devcontainer-feature.json`;
  if (typeof raw.id !== 'string' || raw.id === '') throw new UserError(`${at}: "id" must be a non-empty string`);
  if (raw.id !== ref.id) throw new UserError(`${at}: "id" is ${q(raw.id)} but the reference names ${q(ref.id)} (the spec wants them equal)`);
  if (typeof raw.version !== 'string') throw new UserError(`${at}: "version" must be a string`);
  const env = raw.containerEnv ?? {};
  if (env === null || typeof env !== 'object' || Array.isArray(env)) throw new UserError(`${at}: "containerEnv" must be an object of strings`);
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME.test(k)) throw new UserError(`${at}: containerEnv key ${q(k)} is not an environment variable name`);
    if (typeof v !== 'string' || /[\n\r\0]/.test(v)) throw new UserError(`${at}: containerEnv.${k} must be a one-line string`);
  }
  const dependsOn = raw.dependsOn ?? {};
  if (dependsOn === null || typeof dependsOn !== 'object' || Array.isArray(dependsOn)) throw new UserError(`${at}: "dependsOn" must be an object of feature references`);
  const installsAfter = raw.installsAfter ?? [];
  if (!Array.isArray(installsAfter) || installsAfter.some((x) => typeof x !== 'string')) throw new UserError(`${at}: "installsAfter" must be an array of feature ids`);
  if (!existsSync(join(dir, 'install.sh')) || !statSync(join(dir, 'install.sh')).isFile()) throw new UserError(`${what}: the feature has no install.sh`);
  return {
    id: raw.id,
    version: raw.version,
    name: typeof raw.name === 'string' ? raw.name : undefined,
    containerEnv: env as Record<string, string>,
    dependsOn: dependsOn as Record<string, unknown>,
    installsAfter: installsAfter as string[],
    raw,
  };
}

/** The version part of a reference, for sorting a round. */
const versionOf = (ref: FeatureRef) => (ref.kind === 'oci' ? (ref.digest ?? ref.tag) : '');

/** Fetches, resolves and orders the features; each error names the feature and the step. */
export async function resolveFeatures(input: FeaturesInput): Promise<ResolvedFeature[]> {
  const fetched = new Map<string, Promise<{ dir: string; source: string }>>();
  const nodes = new Map<string, ResolvedFeature>();
  let count = 0;

  const fetchOnce = (ref: FeatureRef, what: string) => {
    const canonical = ref.kind === 'oci' ? `${ref.resource}:${versionOf(ref)}` : ref.resource;
    let p = fetched.get(canonical);
    if (!p) {
      const dir = join(input.workDir, `${String(++count).padStart(2, '0')}-${ref.id}`);
      p = (async () => {
        if (ref.kind === 'local') {
          if (!existsSync(ref.dir) || !statSync(ref.dir).isDirectory()) throw new UserError(`${what}: local feature folder ${q(ref.dir)} does not exist`);
          cpSync(ref.dir, dir, { recursive: true });
          return { dir, source: 'local' };
        }
        if (ref.kind === 'tarball') {
          const data = await downloadTarball(ref, what);
          await extractTar(data, dir, what);
          return { dir, source: sha256(data) };
        }
        const { tar, manifestDigest } = await pullFeature(ref, what);
        await extractTar(tar, dir, what);
        return { dir, source: manifestDigest };
      })();
      fetched.set(canonical, p);
    }
    return p;
  };

  const add = async (ref: FeatureRef, user: OptionValues, chain: string[]): Promise<string> => {
    const what = `feature ${q(ref.userId)}${chain.length ? ` (dependsOn of ${chain.join(' -> ')})` : ''}`;
    const { dir, source } = await fetchOnce(ref, what);
    const metadata = readMetadata(dir, ref, what);
    const decls = checkDeclarations(metadata.raw.options, `${what}: devcontainer-feature.json options`);
    const options = resolveOptions(decls, user, what);
    const env = optionsEnv(options, what);
    const sortedOptions = JSON.stringify(Object.entries(options).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const key = `${ref.kind === 'oci' ? `${ref.resource}:${versionOf(ref)}` : ref.resource} ${sortedOptions}`;
    if (nodes.has(key)) return key;
    const node: ResolvedFeature = {
      key,
      resource: ref.resource,
      sortKey: `${ref.resource}\u0000${versionOf(ref)}\u0000${sortedOptions}`,
      dependsOn: [],
      installsAfter: metadata.installsAfter.map(resourceOf),
      label: ref.userId,
      ref,
      metadata,
      options,
      env,
      dir,
      source,
    };
    nodes.set(key, node);
    for (const [depId, depValue] of Object.entries(metadata.dependsOn)) {
      const depWhere = `${what}: dependsOn ${q(depId)}`;
      if (depId.startsWith('.')) throw new UserError(`${depWhere}: a dependsOn must be an OCI reference or a tarball URL, not a local folder`);
      const depRef = parseFeatureRef(depId, undefined, depWhere);
      node.dependsOn.push(await add(depRef, userOptions(depValue, depWhere), [...chain, ref.userId]));
    }
    return key;
  };

  for (const [userId, value] of Object.entries(input.features)) {
    const where = `${input.file}: features[${q(userId)}]`;
    const ref = parseFeatureRef(userId, input.devcontainerDir, where);
    await add(ref, userOptions(value, where), []);
  }

  const list = [...nodes.values()];
  const override = input.overrideFeatureInstallOrder ?? [];
  if (!Array.isArray(override) || override.some((x) => typeof x !== 'string')) {
    throw new UserError(`${input.file}: overrideFeatureInstallOrder must be an array of feature ids`);
  }
  return installRounds(list, overridePriorities(list, override as string[], resourceOf)).flat();
}
