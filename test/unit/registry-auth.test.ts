// Where the feature client finds registry credentials: Docker's config.json as the docker CLI
// writes it (auths keyed by HOST:PORT or a URL, auth or username/password, identity tokens)
// and credential helpers. The registry side is test/features/auth.test.ts.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialsFor, dockerConfigPath } from '../../generator/src/features/auth.ts';
import { tempDir } from './helpers.ts';

function config(content: unknown): string {
  const dir = tempDir('gitspace-docker-config-');
  writeFileSync(join(dir, 'config.json'), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('credentialsFor', () => {
  it('reads DOCKER_CONFIG, else ~/.docker', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/x' })).toBe('/x/config.json');
    expect(dockerConfigPath({ HOME: '/home/u' })).toBe('/home/u/.docker/config.json');
  });

  it('finds auths by HOST:PORT or by URL, with auth or username/password', async () => {
    const dir = config({ auths: { 'r.example:5000': { auth: b64('alice:pa:ss') }, 'https://other.example': { username: 'bob', password: 'pw' } } });
    expect(await credentialsFor('r.example:5000', { DOCKER_CONFIG: dir })).toEqual({ username: 'alice', password: 'pa:ss', source: join(dir, 'config.json') });
    expect(await credentialsFor('other.example', { DOCKER_CONFIG: dir })).toMatchObject({ username: 'bob', password: 'pw' });
    expect(await credentialsFor('nobody.example', { DOCKER_CONFIG: dir })).toBeUndefined();
    expect(await credentialsFor('r.example:5000', { DOCKER_CONFIG: join(dir, 'missing') })).toBeUndefined();
  });

  it('keeps an identity token apart from a password', async () => {
    const dir = config({ auths: { 'r.example': { auth: b64('x:'), identitytoken: 'tok' } } });
    expect(await credentialsFor('r.example', { DOCKER_CONFIG: dir })).toMatchObject({ identityToken: 'tok', password: '' });
  });

  it('asks a credential helper (credHelpers per registry) and says when it is missing', async () => {
    const bin = tempDir('gitspace-cred-helper-');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'docker-credential-fake'), '#!/bin/sh\nread -r server\n[ "$server" = r.example ] || exit 1\necho \'{"Username":"carol","Secret":"s3"}\'\n');
    chmodSync(join(bin, 'docker-credential-fake'), 0o755);
    const dir = config({ credHelpers: { 'r.example': 'fake' } });
    expect(await credentialsFor('r.example', { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` })).toMatchObject({ username: 'carol', password: 's3' });
    const missing = config({ credsStore: 'absent-helper' });
    await expect(credentialsFor('r.example', { DOCKER_CONFIG: missing })).rejects.toThrow(`${join(missing, 'config.json')} names the credential helper "absent-helper", but docker-credential-absent-helper is not on PATH`);
  });

  it('refuses a config.json that is not JSON, naming the file', async () => {
    const dir = config('{nope');
    await expect(credentialsFor('r.example', { DOCKER_CONFIG: dir })).rejects.toThrow(`${join(dir, 'config.json')}: not JSON`);
  });
});
