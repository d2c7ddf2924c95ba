// The host build, as Docker Gitspace does it before the container starts: an
// image FROM the gitspace image, each feature's install.sh run as root in
// install order with its options as env and the users' names and HOMEs, its
// containerEnv as ENV, and the merged devcontainer.metadata label. The build
// runs on the engine's BuildKit (buildx, docker driver); its result is tagged
// by a content key (base image id + features + options + users), so an
// unchanged set is found again instead of rebuilt. The user's tag is applied
// only to a finished image, and only a finished image is pushed.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { credentialsFor, refused } from './auth.ts';
import { UserError } from '../cli.ts';
import { mergeConfigs, METADATA_LABEL, parseDevcontainerJson, parseJsoncObject, parseMetadataLabel } from '../devcontainer.ts';
import { helmYaml } from '../helm-yaml.ts';
import { checkImageRef, readLocalImage } from '../image.ts';
import { homeFor, q } from '../model.ts';
import { parseGroup, parsePasswd } from '../passwd.ts';
import { defaults, featuresBuildSchema, valuesValidator } from '../schema.ts';
import { resolveUserModel } from '../user.ts';
import { mergeValues } from '../values-files.ts';
import { checkPodCan, mergedLabel } from './merge.ts';
import { resolveFeatures, type ResolvedFeature } from './resolve.ts';

/** The buildx release scripts/setup.sh installs into the cache (BUILDX_VERSION in scripts/lib.sh, checked equal by a test). */
export const BUILDX_VERSION = 'v0.38.2';
/** Repository of the content-keyed images; the tag is the key. */
export const CACHE_REPOSITORY = 'gitspace-chart/features';
export const KEY_LABEL = 'org.gitspace-chart.features-key';
const STAGE = '/tmp/gitspace-features';

export type BuildOptions = {
  devcontainerText: string;
  devcontainerFile: string;
  /** The folder holding devcontainer.json, when it is a checkout (local features). */
  devcontainerDir?: string;
  image: string;
  tag?: string;
  push?: boolean;
  log?: (line: string) => void;
};
export type BuildResult = { ref: string; key?: string; cached: boolean; features: ResolvedFeature[]; warnings: string[] };

/** A value for a POSIX shell, single-quoted: nothing in it is expanded. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** A value for a Dockerfile ENV: double-quoted, so ${VAR} references expand as features expect (PATH=/x:${PATH}). */
const envValue = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The features of devcontainer.json (raw) and the override order. */
export function featuresOf(text: string, file: string): { features: Record<string, unknown>; override?: unknown } {
  const obj = parseJsoncObject(text.startsWith('\uFEFF') ? text.slice(1) : text, file);
  const f = obj.features ?? {};
  if (f === null || typeof f !== 'object' || Array.isArray(f)) throw new UserError(`${file}: features must be an object of feature references`);
  return { features: f as Record<string, unknown>, override: obj.overrideFeatureInstallOrder };
}

/** The Dockerfile: per feature ENV then RUN; USER put back; the staging folder removed. */
export function dockerfile(base: string, imageUser: string, features: ResolvedFeature[]): string {
  // USER is switched only when the image has a non-root one, so an image without USER stays without.
  const asRoot = imageUser === '' || imageUser === 'root' || imageUser === '0' || imageUser.startsWith('0:') || imageUser.startsWith('root:');
  const lines = [`FROM ${base}`, ...(asRoot ? [] : ['USER root']), `COPY features/ ${STAGE}/`];
  for (const f of features) {
    const dir = `${STAGE}/${f.dir.split('/').at(-1)}`;
    const env = Object.entries(f.metadata.containerEnv);
    if (env.length) lines.push(`ENV ${env.map(([k, v]) => `${k}=${envValue(v)}`).join(' ')}`);
    lines.push(
      `RUN cd ${shq(dir)} && set -a && . ./devcontainer-features.builtin.env && . ./devcontainer-features.env && set +a && chmod +x ./install.sh && ./install.sh`,
    );
  }
  lines.push(`RUN rm -rf ${STAGE}`);
  if (!asRoot) lines.push(`USER ${imageUser}`);
  return lines.join('\n') + '\n';
}

function envFile(env: Record<string, string>): string {
  return Object.entries(env).map(([k, v]) => `${k}=${shq(v)}\n`).join('');
}

/** sha256 over every file of the context (path, mode, content or link target), sorted. */
function hashTree(root: string, h = createHash('sha256')): string {
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = relative(root, p);
      if (st.isDirectory()) {
        h.update(`d ${rel}\n`);
        walk(p);
      } else if (st.isSymbolicLink()) h.update(`l ${rel} ${readlinkSync(p)}\n`);
      else {
        h.update(`f ${rel} ${(st.mode & 0o777).toString(8)} ${st.size}\n`);
        h.update(readFileSync(p));
      }
    }
  };
  walk(root);
  return h.digest('hex');
}

async function docker(args: string[], what: string, env?: Record<string, string>) {
  const r = await execa('docker', args, { reject: false, stdin: 'ignore', all: true, env });
  if (r.exitCode !== 0) throw new UserError(`${what}: docker ${args[0]} failed: ${String(r.all ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  return String(r.stdout).trim();
}

/** The registry of an image reference, as Docker reads it (the first segment when it names a host). */
export function registryOf(ref: string): string {
  const first = ref.split('/')[0];
  return ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/** docker push, which reads the same credentials as the feature client; a refusal says which registry and the fix. */
async function dockerPush(tag: string) {
  const r = await execa('docker', ['push', tag], { reject: false, stdin: 'ignore', all: true });
  if (r.exitCode === 0) return;
  const out = String(r.all ?? '').trim();
  const reg = registryOf(tag);
  if (/unauthorized|no basic auth credentials|authentication required|denied|401 Unauthorized/i.test(out)) {
    throw refused(reg, `--push ${q(tag)}: docker push`, await credentialsFor(reg), 401);
  }
  if (/x509|certificate signed by unknown authority/i.test(out)) {
    throw new UserError(`--push ${q(tag)}: docker push: registry ${reg} has a certificate Docker does not trust: put its CA in /etc/docker/certs.d/${reg}/ca.crt (${out.split('\n').at(-1)})`);
  }
  throw new UserError(`--push ${q(tag)}: docker push failed: ${out.split('\n').slice(-3).join(' | ')}`);
}

/** buildx: the docker CLI's plugin, else the standalone binary scripts/setup.sh puts in the cache. */
export async function builder(): Promise<string[]> {
  const plugin = await execa('docker', ['buildx', 'version'], { reject: false, stdin: 'ignore' });
  if (plugin.exitCode === 0) return ['docker', 'buildx'];
  const cache = process.env.GITSPACE_CACHE ?? join(homedir(), '.cache', 'gitspace-chart');
  const bin = join(cache, 'tools', `buildx-${BUILDX_VERSION}`, 'buildx');
  if (existsSync(bin)) return [bin];
  throw new UserError(
    `building features needs BuildKit's client, buildx (docker buildx is missing): run 'bash scripts/setup.sh' (it installs buildx ${BUILDX_VERSION} with go install into ${dirname(bin)}), or install your distribution's docker-buildx`,
  );
}

/** Which feature a failed BuildKit step ran, from the staging folder in its command line. */
export function failedFeature(output: string, features: ResolvedFeature[]): ResolvedFeature | undefined {
  // BuildKit: `ERROR: process "…" did not complete successfully`; the classic builder: `returned a non-zero code`.
  const lines = output.split('\n').filter((l) => /ERROR|did not complete successfully|returned a non-zero code/.test(l));
  for (const l of lines) {
    const m = new RegExp(`${STAGE}/([^/' ]+)`).exec(l);
    if (m) return features.find((f) => f.dir.split('/').at(-1) === m[1]);
  }
  return undefined;
}

/** The build context as the host and the cluster build it: features fetched and ordered, env files, Dockerfile, label and content key. */
type Context = {
  work: string;
  features: ResolvedFeature[];
  warnings: string[];
  label: string;
  key: string;
};

/**
 * Resolves the features into a fresh folder `work` (Dockerfile + features/ + env files) and
 * computes the content key. `from` is the FROM line's image (the local image for the host
 * build, the registry's copy of it for the cluster's). No features: undefined (and `work` removed).
 */
async function prepareContext(o: BuildOptions, from: string, work: string): Promise<Context | undefined> {
  const log = o.log ?? (() => {});
  const { features: wanted, override } = featuresOf(o.devcontainerText, o.devcontainerFile);
  const image = await readLocalImage(o.image);
  const baseId = await docker(['image', 'inspect', '--format', '{{.Id}}', '--', o.image], `--image ${q(o.image)}`);

  // The users install.sh is told about: resolved as the gitspace will resolve them.
  const dc = parseDevcontainerJson(o.devcontainerText, o.devcontainerFile);
  const meta = image.metadataLabel !== undefined ? parseMetadataLabel(image.metadataLabel).entries : [];
  const merged = mergeConfigs(meta, dc.config, o.devcontainerFile);
  const db = { passwd: parsePasswd(image.passwd, `${o.image}:/etc/passwd`), groups: parseGroup(image.group, `${o.image}:/etc/group`) };
  const users = resolveUserModel({ runArgs: merged.runArgs, merged, imageUser: image.user, db });
  const homeOf = (name: string, uid: number) => db.passwd.find((p) => p.name === name)?.home ?? homeFor(name, uid);

  const staged = join(work, 'features');
  mkdirSync(staged);
  const features = Object.keys(wanted).length
    ? await resolveFeatures({ features: wanted, overrideFeatureInstallOrder: override, devcontainerDir: o.devcontainerDir, workDir: staged, file: o.devcontainerFile })
    : [];
  const warnings = [...checkPodCan(features)];
  if (!features.length) return undefined;
  log(`install order: ${features.map((f) => f.ref.userId).join(', ')}`);
  const builtin = {
    _CONTAINER_USER: users.containerUser.name,
    _REMOTE_USER: users.remoteUser.name,
    _CONTAINER_USER_HOME: homeOf(users.containerUser.name, users.containerUser.uid),
    _REMOTE_USER_HOME: users.model.home,
  };
  for (const f of features) {
    writeFileSync(join(f.dir, 'devcontainer-features.builtin.env'), envFile(builtin));
    writeFileSync(join(f.dir, 'devcontainer-features.env'), envFile(f.env));
  }
  // A feature fetched once but installed with two option sets needs two folders.
  const seen = new Set<string>();
  for (const f of features) {
    if (seen.has(f.dir)) throw new UserError(`feature ${q(f.ref.userId)}: installed twice with different options; give it once`);
    seen.add(f.dir);
  }
  const label = mergedLabel(image.metadataLabel, features);
  writeFileSync(join(work, 'Dockerfile'), dockerfile(from, image.user, features));
  const key = createHash('sha256').update(`${baseId}\n${label}\n${hashTree(work)}`).digest('hex');
  return { work, features, warnings, label, key };
}

export async function buildWithFeatures(o: BuildOptions): Promise<BuildResult> {
  const log = o.log ?? (() => {});
  checkImageRef(o.image);
  if (o.tag !== undefined) checkImageRef(o.tag, '--tag');
  if (o.push && !o.tag) throw new UserError('--push needs --tag REGISTRY/REPOSITORY:TAG (the content-keyed name is local only)');
  const work = mkdtempSync(join(tmpdir(), 'gitspace-features-'));
  try {
    const c = await prepareContext(o, o.image, work);
    if (!c) {
      if (o.tag) await docker(['tag', o.image, o.tag], `--tag ${q(o.tag)}`);
      return { ref: o.tag ?? o.image, cached: true, features: [], warnings: [`${o.devcontainerFile}: no features: nothing to build`] };
    }
    const { features, warnings, label, key } = c;
    const cacheRef = `${CACHE_REPOSITORY}:${key.slice(0, 32)}`;

    const hit = await execa('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${KEY_LABEL}"}}`, '--', cacheRef], { reject: false, stdin: 'ignore' });
    const cached = hit.exitCode === 0 && String(hit.stdout).trim() === key;
    if (cached) log(`features unchanged: ${cacheRef} (not rebuilt)`);
    else {
      const [cmd, ...pre] = await builder();
      log(`building ${cacheRef} FROM ${o.image} with BuildKit`);
      const r = await execa(cmd, [...pre, 'build', '--progress', 'plain', '--label', `${METADATA_LABEL}=${label}`, '--label', `${KEY_LABEL}=${key}`, '-t', cacheRef, work], {
        reject: false,
        stdin: 'ignore',
        all: true,
        env: { DOCKER_BUILDKIT: '1' },
      });
      if (r.exitCode !== 0) {
        const out = String(r.all ?? '');
        const tail = out.trim().split('\n').slice(-12).join('\n');
        const f = failedFeature(out, features);
        if (f) throw new UserError(`feature ${q(f.ref.userId)}: install.sh failed during the image build (nothing was tagged or pushed):\n${tail}`);
        throw new UserError(`features build FROM ${o.image} failed (nothing was tagged or pushed):\n${tail}`);
      }
    }
    const ref = o.tag ?? cacheRef;
    if (o.tag) await docker(['tag', cacheRef, o.tag], `--tag ${q(o.tag)}`);
    if (o.push) {
      log(`pushing ${o.tag}`);
      await dockerPush(o.tag!);
    }
    return { ref, key, cached, features, warnings };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The largest gzipped context the in-cluster build takes. Helm keeps it twice in the build's
 * release Secret (in the values, and in the hook ConfigMap's manifest), base64 in JSON, gzipped,
 * base64 again: ~2.7 bytes of Secret per byte here, and a Secret holds at most 1 MiB.
 */
export const CONTEXT_MAX_BYTES = 340 * 1024;

export type InClusterOptions = BuildOptions & {
  /** The gitspace image as the in-cluster builder pulls it (REGISTRY/REPOSITORY:TAG). */
  baseRef: string;
  /** Where the Job pushes: REGISTRY/REPOSITORY; the tag is the content key. */
  repository: string;
};
export type InClusterResult = {
  /** image.repository and image.tag of the gitspace: the Job's push. */
  image: { repository: string; tag: string };
  /** featuresBuild values (charts/gitspace-features, the schema's x-features-build). */
  values: { base: string; context: string; label: string; key: string };
  features: ResolvedFeature[];
  warnings: string[];
};

/**
 * The cluster build's inputs, made on this host: the same context as the host build (FROM the
 * registry's copy of the base), as a gzip tar (base64, for a ConfigMap's binaryData), with a
 * features.tsv (folder, feature) so the Job names the feature whose install.sh failed. The
 * image's tag is the content key: the Job skips a tag the registry already has.
 */
export async function prepareInCluster(o: InClusterOptions): Promise<InClusterResult> {
  checkImageRef(o.image);
  checkImageRef(o.baseRef, '--base-ref');
  const host = o.repository.split('/')[0];
  if (!o.repository.includes('/') || !/[.:]|^localhost$/.test(host)) {
    throw new UserError(`--build-in-cluster ${q(o.repository)}: name the registry the Job pushes to, REGISTRY[:PORT]/REPOSITORY (e.g. registry.example:5000/team/gitspace)`);
  }
  checkImageRef(`${o.repository}:x`, '--build-in-cluster');
  const work = mkdtempSync(join(tmpdir(), 'gitspace-features-'));
  try {
    const c = await prepareContext(o, o.baseRef, work);
    if (!c) throw new UserError(`${o.devcontainerFile}: no features: nothing to build in the cluster (leave out --build-in-cluster)`);
    writeFileSync(join(work, 'features.tsv'), c.features.map((f) => `${f.dir.split('/').at(-1)}\t${f.ref.userId}\n`).join(''));
    const { tarDirectory } = await import('./tarball.ts');
    const tgz = Buffer.from(await tarDirectory(work, true));
    if (tgz.length > CONTEXT_MAX_BYTES) {
      throw new UserError(
        `the features' build context is ${tgz.length} bytes gzipped, over the ${CONTEXT_MAX_BYTES} the in-cluster build takes (Helm stores it twice in the build's release Secret, at most 1 MiB): build on a host instead (gitspace-chart values --build --push), or publish the big features to a registry`,
      );
    }
    const tag = c.key.slice(0, 32);
    return {
      image: { repository: o.repository, tag },
      values: { base: o.baseRef, context: tgz.toString('base64'), label: c.label, key: c.key },
      features: c.features,
      warnings: c.warnings,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The values file of charts/gitspace-features for this build (the schema's x-features-build):
 * where the Job pushes (the gitspace's image.repository:image.tag) and its featuresBuild group,
 * checked against the chart's schema before it is written.
 */
export function featuresBuildValues(r: InClusterResult, o: { plainHttp: boolean; devcontainerFile: string; install: string }): string {
  const values = {
    image: r.image,
    featuresBuild: { base: r.values.base, key: r.values.key, label: r.values.label, ...(o.plainHttp ? { plainHttp: true } : {}), context: r.values.context },
  };
  const schema = featuresBuildSchema();
  const problems = valuesValidator(schema)(mergeValues(defaults(schema), values));
  if (problems.length) throw new Error(`the in-cluster build's values do not pass charts/gitspace-features' schema: ${problems.join('; ')}`);
  return [
    `# gitspace-chart: the in-cluster features build of ${o.devcontainerFile} (charts/gitspace-features), ${r.features.length} features.`,
    '# Install it before the gitspace, in a namespace that allows the builder (docs/features.md):',
    `#   ${o.install}`,
    helmYaml(values),
  ].join('\n');
}

