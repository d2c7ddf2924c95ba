// Features as OCI artifacts, as the features distribution spec stores them: a
// manifest whose config has media type application/vnd.devcontainers and whose
// one layer (application/vnd.devcontainers.layer.v1+tar) is the feature's folder
// as a tar. Pull (for builds) and push (for tests and mirrors) over the
// distribution API with fetch; Basic auth and bearer tokens (anonymous, or with the
// credentials `docker login` stored, see auth.ts) as registries ask for them.
import { createHash } from 'node:crypto';
import { UserError } from '../cli.ts';
import { basic, credentialsFor, refused, type Credentials } from './auth.ts';
import type { OciRef } from './reference.ts';

export const CONFIG_MEDIA_TYPE = 'application/vnd.devcontainers';
export const LAYER_MEDIA_TYPE = 'application/vnd.devcontainers.layer.v1+tar';
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** The manifest annotation holding devcontainer-feature.json (devcontainers/cli writes it when it publishes). */
export const METADATA_ANNOTATION = 'dev.containers.metadata';

type Descriptor = { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };
type Manifest = { schemaVersion: number; mediaType?: string; config: Descriptor; layers: Descriptor[]; annotations?: Record<string, string> };

export const sha256 = (data: Uint8Array | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/**
 * Plain HTTP for loopback registries and for those named in GITSPACE_INSECURE_REGISTRIES
 * (comma-separated HOST:PORT, e.g. a registry on a bridge address); HTTPS otherwise.
 */
export function registryBase(registry: string, env: NodeJS.ProcessEnv = process.env): string {
  const host = registry.replace(/:\d+$/, '');
  const insecure = (env.GITSPACE_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const plain = host === 'localhost' || /^127\./.test(host) || insecure.includes(registry) || insecure.includes(host);
  return `${plain ? 'http' : 'https'}://${registry}`;
}

class Registry {
  /** The Authorization header once the registry asked for one (Basic, or a Bearer token for a scope). */
  private auth?: string;
  private scope?: string;
  private creds?: Credentials | null;
  constructor(
    readonly ref: OciRef,
    readonly what: string,
  ) {}

  private async credentials(): Promise<Credentials | undefined> {
    if (this.creds === undefined) this.creds = (await credentialsFor(this.ref.registry)) ?? null;
    return this.creds ?? undefined;
  }

  private async send(url: string, init: RequestInit, step: string): Promise<Response> {
    const go = () =>
      fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...(this.auth ? { authorization: this.auth } : {}) }, redirect: 'follow' }).catch((e: Error) => {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new UserError(`${this.what}: ${step}: registry ${this.ref.registry} unreachable (${cause?.code ?? cause?.message ?? e.message}); check the address (and its CA: NODE_EXTRA_CA_CERTS=FILE for a private one), or mirror the feature to a registry you reach`);
      });
    let r = await go();
    // A 401 asks for credentials (Basic) or a token; a token is for one scope, so a push after a
    // pull (a new scope in the challenge) asks again once.
    if (r.status === 401 && (await this.authenticate(r.headers.get('www-authenticate') ?? '', step))) r = await go();
    if (r.status === 401 || (r.status === 403 && this.auth)) throw refused(this.ref.registry, `${this.what}: ${step}`, await this.credentials(), r.status);
    return r;
  }

  /** Basic with Docker's stored credentials, or the distribution spec's token flow (anonymous, or with them). False: nothing new to try. */
  private async authenticate(challenge: string, step: string): Promise<boolean> {
    const creds = await this.credentials();
    if (/^Basic\b/i.test(challenge)) {
      if (!creds || this.auth) return false;
      if (creds.identityToken !== undefined) throw new UserError(`${this.what}: ${step}: registry ${this.ref.registry} takes a user and password (Basic), but ${creds.source} holds an identity token for it: log in again with 'docker login ${this.ref.registry}'`);
      this.auth = basic(creds);
      return true;
    }
    const m = /^Bearer\s+(.*)$/i.exec(challenge);
    if (!m) throw new UserError(`${this.what}: ${step}: registry ${this.ref.registry} wants an authentication scheme this client does not speak (${challenge || 'no challenge'}): mirror the feature to a registry with Basic or token auth`);
    const params = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (!params.realm) throw new UserError(`${this.what}: ${step}: registry ${this.ref.registry}: bearer challenge without a realm`);
    if (this.auth && params.scope === this.scope) return false;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    if (params.scope) url.searchParams.set('scope', params.scope);
    const init: RequestInit = {};
    if (creds?.identityToken !== undefined) {
      // An identity token (docker login to a token service) is an OAuth2 refresh token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'gitspace-chart', service: params.service ?? '', scope: params.scope ?? '' });
      Object.assign(init, { method: 'POST', body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    } else if (creds) init.headers = { authorization: basic(creds) };
    const r = await fetch(url, init).catch((e: Error) => {
      throw new UserError(`${this.what}: ${step}: token service ${url.host} unreachable (${e.message})`);
    });
    if (r.status === 401 || r.status === 403) throw refused(this.ref.registry, `${this.what}: ${step}`, creds, r.status);
    if (!r.ok) throw new UserError(`${this.what}: ${step}: the token service of registry ${this.ref.registry} answered HTTP ${r.status}`);
    const body = (await r.json()) as { token?: string; access_token?: string };
    this.auth = `Bearer ${body.token ?? body.access_token}`;
    this.scope = params.scope;
    return true;
  }

  url(kind: 'manifests' | 'blobs', ref: string) {
    return `${registryBase(this.ref.registry)}/v2/${this.ref.path}/${kind}/${ref}`;
  }

  async get(kind: 'manifests' | 'blobs', ref: string, accept: string, step: string): Promise<Uint8Array> {
    const r = await this.send(this.url(kind, ref), { headers: { accept } }, step);
    if (r.status === 404) throw new UserError(`${this.what}: ${step}: not found in ${this.ref.registry} (HTTP 404): check the feature's name and version`);
    if (!r.ok) throw new UserError(`${this.what}: ${step}: registry ${this.ref.registry} answered HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  }

  async putBlob(data: Uint8Array, step: string): Promise<Descriptor & { mediaType: '' }> {
    const digest = sha256(data);
    const head = await this.send(this.url('blobs', digest), { method: 'HEAD' }, step);
    if (!head.ok) {
      const start = await this.send(`${registryBase(this.ref.registry)}/v2/${this.ref.path}/blobs/uploads/`, { method: 'POST' }, step);
      const location = start.headers.get('location');
      if (start.status !== 202 || !location) throw new UserError(`${this.what}: ${step}: upload refused (HTTP ${start.status})`);
      const put = new URL(location, registryBase(this.ref.registry));
      put.searchParams.set('digest', digest);
      const r = await this.send(put.href, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: data as unknown as BodyInit }, step);
      if (r.status !== 201) throw new UserError(`${this.what}: ${step}: blob upload failed (HTTP ${r.status})`);
    }
    return { mediaType: '', digest, size: data.length };
  }

  async putManifest(tag: string, body: string, step: string): Promise<void> {
    const r = await this.send(this.url('manifests', tag), { method: 'PUT', headers: { 'content-type': MANIFEST_MEDIA_TYPE }, body }, step);
    if (r.status !== 201) throw new UserError(`${this.what}: ${step}: manifest refused (HTTP ${r.status}: ${(await r.text()).slice(0, 200)})`);
  }
}

/** Pulls a feature: its layer (a tar of the feature's folder) and the manifest's digest. */
export async function pullFeature(ref: OciRef, what: string): Promise<{ tar: Uint8Array; manifestDigest: string }> {
  const reg = new Registry(ref, what);
  const raw = await reg.get('manifests', ref.digest ?? ref.tag, MANIFEST_MEDIA_TYPE, `fetching the manifest of ${ref.userId}`);
  const manifestDigest = sha256(raw);
  if (ref.digest && ref.digest !== manifestDigest) throw new UserError(`${what}: the manifest's digest is ${manifestDigest}, not the pinned ${ref.digest}`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(Buffer.from(raw).toString('utf8')) as Manifest;
  } catch {
    throw new UserError(`${what}: the manifest of ${ref.userId} is not JSON`);
  }
  const layers = (manifest.layers ?? []).filter((l) => l.mediaType === LAYER_MEDIA_TYPE);
  if (layers.length !== 1) {
    throw new UserError(`${what}: ${ref.userId} is not a devcontainer feature: its manifest needs exactly one layer of media type ${LAYER_MEDIA_TYPE} (found ${(manifest.layers ?? []).map((l) => l.mediaType).join(', ') || 'none'})`);
  }
  const tar = await reg.get('blobs', layers[0].digest, LAYER_MEDIA_TYPE, `fetching the layer of ${ref.userId}`);
  if (sha256(tar) !== layers[0].digest) throw new UserError(`${what}: the layer of ${ref.userId} does not match its digest ${layers[0].digest}`);
  return { tar, manifestDigest };
}

/** Pushes a feature's folder (as a tar) as the spec's OCI artifact; returns the manifest's digest. */
export async function pushFeature(ref: OciRef, tar: Uint8Array, metadata: string): Promise<string> {
  const what = `pushing ${ref.userId}`;
  const reg = new Registry(ref, what);
  const config = await reg.putBlob(new TextEncoder().encode('{}'), 'config');
  const layer = await reg.putBlob(tar, 'layer');
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    config: { ...config, mediaType: CONFIG_MEDIA_TYPE },
    layers: [{ ...layer, mediaType: LAYER_MEDIA_TYPE, annotations: { 'org.opencontainers.image.title': `devcontainer-feature-${ref.id}.tgz` } }],
    annotations: { [METADATA_ANNOTATION]: metadata },
  };
  const body = JSON.stringify(manifest);
  await reg.putManifest(ref.tag, body, 'manifest');
  return sha256(body);
}
