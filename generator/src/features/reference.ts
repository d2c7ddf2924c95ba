// A `features` key of devcontainer.json, parsed as the features spec
// (containers.dev, "Referencing a Feature") allows it: an OCI reference
// (registry/namespace/id[:tag|@sha256:digest]), a direct tarball URL ending in
// devcontainer-feature-<id>.tgz, or a local folder ./<id> inside .devcontainer/.
// Docker Gitspace takes only the first two; devcontainers/cli takes all three.
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { UserError } from '../cli.ts';
import { q } from '../model.ts';

export type OciRef = {
  kind: 'oci';
  /** What the user wrote. */
  userId: string;
  registry: string;
  /** Repository path inside the registry: namespace/id. */
  path: string;
  /** The feature's id: the last path segment. */
  id: string;
  tag: string;
  digest?: string;
  /** registry/path, without version: what installsAfter and overrideFeatureInstallOrder name. */
  resource: string;
};
export type TarballRef = { kind: 'tarball'; userId: string; url: string; id: string; resource: string };
export type LocalRef = { kind: 'local'; userId: string; dir: string; id: string; resource: string };
export type FeatureRef = OciRef | TarballRef | LocalRef;

// The distribution spec's id rules: path segments of lower-case words joined by . _ -;
// a tag is a word of up to 128 characters; a digest is sha256 only.
const SEGMENT = /^[a-z0-9]+([._-][a-z0-9]+)*$/;
const REGISTRY = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TARBALL_NAME = /\/devcontainer-feature-([a-z0-9]+([._-][a-z0-9]+)*)\.tgz$/;
export const FEATURE_ID = /^[a-z0-9]+([._-][a-z0-9]+)*$/i;

/** Parses an OCI reference; undefined when `text` has not the shape registry/namespace/id. */
export function parseOciRef(text: string, userId = text): OciRef | undefined {
  let rest = text;
  let digest: string | undefined;
  let tag = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag) || digest) return undefined;
  }
  const parts = rest.split('/');
  if (parts.length < 3) return undefined;
  const [registry, ...path] = parts;
  if (!REGISTRY.test(registry) || !path.every((s) => SEGMENT.test(s))) return undefined;
  const id = path[path.length - 1];
  return { kind: 'oci', userId, registry, path: path.join('/'), id, tag, digest, resource: `${registry}/${path.join('/')}` };
}

/** The resource an installsAfter / overrideFeatureInstallOrder entry names (its version dropped). */
export function resourceOf(text: string): string {
  return parseOciRef(text)?.resource ?? text.replace(/\/+$/, '');
}

/**
 * Parses one `features` key. `devcontainerDir` is the folder holding devcontainer.json
 * (a local feature must sit inside it); undefined when devcontainer.json did not come
 * from a checkout, so local features cannot be found.
 */
export function parseFeatureRef(userId: string, devcontainerDir: string | undefined, where: string): FeatureRef {
  if (/^https?:\/\//.test(userId)) {
    let url: URL;
    try {
      url = new URL(userId);
    } catch {
      throw new UserError(`${where}: ${q(userId)} is not a URL`);
    }
    const m = TARBALL_NAME.exec(url.pathname);
    if (!m || url.search || url.hash) {
      throw new UserError(`${where}: ${q(userId)}: a tarball feature's URL must end in /devcontainer-feature-<id>.tgz (features spec, "Directly reference a tarball")`);
    }
    return { kind: 'tarball', userId, url: url.href, id: m[1], resource: url.href };
  }
  if (userId.startsWith('./') || userId.startsWith('../')) {
    if (devcontainerDir === undefined) {
      throw new UserError(`${where}: local feature ${q(userId)} needs the repository's files: pass --repo-dir (or --devcontainer FILE inside a checkout)`);
    }
    const dir = resolve(devcontainerDir, userId);
    const rel = relative(devcontainerDir, dir);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new UserError(`${where}: local feature ${q(userId)} must be a folder inside ${q(devcontainerDir)} (features spec: local features live under .devcontainer/)`);
    }
    const id = rel.split(sep).at(-1)!;
    return { kind: 'local', userId, dir, id, resource: `./${rel.split(sep).join('/')}` };
  }
  const oci = parseOciRef(userId);
  if (oci) return oci;
  if (FEATURE_ID.test(userId)) {
    throw new UserError(
      `${where}: ${q(userId)} is a short feature id, deprecated by the features spec and not supported: use its OCI reference, e.g. "ghcr.io/devcontainers/features/${userId}:1"`,
    );
  }
  throw new UserError(
    `${where}: ${q(userId)} is not a feature reference: use REGISTRY/NAMESPACE/ID[:TAG] (e.g. "ghcr.io/devcontainers/features/node:1"), an https://…/devcontainer-feature-<id>.tgz URL, or "./<folder>" inside .devcontainer/`,
  );
}
