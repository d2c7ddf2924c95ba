// Registry credentials, read where Docker keeps them, so `docker login REGISTRY` is the one
// setup for the feature client (pull, push, copy) and for `build --push` (docker push reads the
// same file): $DOCKER_CONFIG/config.json, else ~/.docker/config.json; `auths` entries
// (`auth` = base64 of USER:PASSWORD, or `username`/`password`, or an `identitytoken`) and
// credential helpers (`credHelpers` per registry, `credsStore` for all), as the docker CLI reads them.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../cli.ts';

export type Credentials = { username: string; password: string; identityToken?: string; source: string };

type DockerConfig = {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
};

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
}

/** The keys Docker may have stored REGISTRY under (docker.io has its historical index URL). */
function keysFor(registry: string): string[] {
  const keys = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
  if (registry === 'docker.io' || registry === 'registry-1.docker.io') keys.push('https://index.docker.io/v1/');
  return keys;
}

/** Credentials for REGISTRY (HOST:PORT), or undefined for anonymous access. */
export async function credentialsFor(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const file = dockerConfigPath(env);
  if (!existsSync(file)) return undefined;
  let cfg: DockerConfig;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8')) as DockerConfig;
  } catch (e) {
    throw new UserError(`${file}: not JSON (${(e as Error).message}): fix it or log in again with 'docker login ${registry}'`);
  }
  const keys = keysFor(registry);
  const helper = cfg.credHelpers?.[registry] ?? cfg.credsStore;
  if (helper) {
    const bin = `docker-credential-${helper}`;
    for (const key of cfg.credHelpers?.[registry] ? [registry] : keys) {
      const r = await execa(bin, ['get'], { input: key, reject: false, env });
      if (r.exitCode === 0) {
        const c = JSON.parse(String(r.stdout)) as { Username?: string; Secret?: string };
        if (c.Username === '<token>') return { username: '', password: '', identityToken: c.Secret ?? '', source: `${bin} (${file})` };
        return { username: c.Username ?? '', password: c.Secret ?? '', source: `${bin} (${file})` };
      }
      if ((r as { code?: string }).code === 'ENOENT') throw new UserError(`${file} names the credential helper ${q(helper)}, but ${bin} is not on PATH: install it or log in again with 'docker login ${registry}'`);
    }
  }
  for (const key of keys) {
    const a = cfg.auths?.[key];
    if (!a) continue;
    if (a.identitytoken) return { username: a.username ?? '', password: '', identityToken: a.identitytoken, source: file };
    if (a.auth) {
      const text = Buffer.from(a.auth, 'base64').toString('utf8');
      const i = text.indexOf(':');
      if (i < 0) throw new UserError(`${file}: auths.${q(key)}.auth is not base64 of USER:PASSWORD: log in again with 'docker login ${registry}'`);
      return { username: text.slice(0, i), password: text.slice(i + 1), source: file };
    }
    if (a.username !== undefined && a.password !== undefined) return { username: a.username, password: a.password, source: file };
  }
  return undefined;
}

const q = (s: string) => JSON.stringify(s);

export const basic = (c: Credentials) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** The error for a registry that refused access: who asked, with which credentials, and the fix. */
export function refused(registry: string, what: string, creds: Credentials | undefined, status: number, env: NodeJS.ProcessEnv = process.env): UserError {
  if (!creds) {
    return new UserError(
      `${what}: registry ${registry} wants credentials (HTTP ${status}) and none are stored for it in ${dockerConfigPath(env)}: run 'docker login ${registry}' (DOCKER_CONFIG names another folder), or mirror to a registry that allows anonymous access`,
    );
  }
  const who = creds.identityToken !== undefined ? 'the identity token' : `user ${q(creds.username)}`;
  return new UserError(`${what}: registry ${registry} refused the credentials of ${who} from ${creds.source} (HTTP ${status}): log in again with 'docker login ${registry}'`);
}
