// Registry auth for real: the cluster's registry with htpasswd auth (test/cluster/lib/registry.sh:
// HTTPS on the node address, CA = the cluster's server CA), credentials in Docker's config.json
// (a DOCKER_CONFIG folder per case, so the machine's ~/.docker is never read or written), the
// feature client pushing and pulling, `build --push` through docker push, and the cluster pulling
// the pushed image through an image pull Secret.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../parity/kubernetes.ts';
import { repoRoot, runCli, tempDir } from '../unit/helpers.ts';
import { checkout, registry, writeFeature } from './fixtures.ts';

const BASE = 'gitspace-chart/test-debian:0.1.0';
const work = tempDir('gitspace-features-auth-');
const cache = process.env.GITSPACE_CACHE ?? join(process.env.HOME ?? '/root', '.cache/gitspace-chart');
const CA = join(cache, 'cluster/pki/server-ca.crt');
const NS = `gitspace-auth-test-${process.pid}`;
let reg: string;
let user: string;
let password: string;
let loopback: string;
const configs: Record<'good' | 'bad' | 'none', string> = { good: '', bad: '', none: '' };

function dockerConfig(name: string, auths: Record<string, unknown>): string {
  const dir = join(work, `docker-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths }), { mode: 0o600 });
  return dir;
}

const cli = (args: string[], config: string) => runCli(args, { env: { DOCKER_CONFIG: config, NODE_EXTRA_CA_CERTS: CA } });

beforeAll(async () => {
  const out = await execa('bash', [join(repoRoot, 'test/cluster/cluster.sh'), 'registry-auth']);
  const [addr, u, pwFile] = String(out.stdout).trim().split(' ');
  reg = addr;
  user = u;
  try {
    password = readFileSync(pwFile, 'utf8').trim();
  } catch {
    throw new Error(`${pwFile} is missing: the cluster's registries start with it: run 'bash test/cluster/cluster.sh up' (npm test -- features does)`);
  }
  const answer = await execa('curl', ['-sS', '--cacert', CA, '-o', '/dev/null', '-w', '%{http_code}', `https://${reg}/v2/`], { reject: false });
  if (String(answer.stdout) !== '401') throw new Error(`the auth registry https://${reg}/v2/ answered ${answer.stdout || answer.stderr}, not 401: run 'bash test/cluster/cluster.sh up'`);
  configs.good = dockerConfig('good', { [reg]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } });
  configs.bad = dockerConfig('bad', { [reg]: { username: user, password: `${password}-wrong` } });
  configs.none = dockerConfig('none', {});
  loopback = await registry();
  writeFeature(join(work, 'marker'), { json: { id: 'marker', version: '1.0.0' }, install: '#!/bin/sh\necho marker > /usr/local/share/auth-marker\n' });
}, 120_000);

afterAll(async () => {
  await kubectl(['delete', 'namespace', NS, '--wait=false', '--ignore-not-found'], { allowFail: true });
});

describe('registry credentials from Docker\'s config.json', () => {
  const ref = () => `${reg}/gitspace-chart-test/auth/marker:1`;

  it('without stored credentials: one error naming the registry and docker login', async () => {
    const r = await cli(['feature', 'push', join(work, 'marker'), ref()], configs.none);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe(
      `gitspace-chart: pushing ${ref()}: config: registry ${reg} wants credentials (HTTP 401) and none are stored for it in ${configs.none}/config.json: run 'docker login ${reg}' (DOCKER_CONFIG names another folder), or mirror to a registry that allows anonymous access`,
    );
  });

  it('with a wrong password: one error naming the registry, the user, the file and the fix', async () => {
    const r = await cli(['feature', 'push', join(work, 'marker'), ref()], configs.bad);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe(
      `gitspace-chart: pushing ${ref()}: config: registry ${reg} refused the credentials of user "${user}" from ${configs.bad}/config.json (HTTP 401): log in again with 'docker login ${reg}'`,
    );
  });

  it('with the right ones: feature push, then copy (a pull with them) gives the same artifact', async () => {
    const pushed = await cli(['feature', 'push', join(work, 'marker'), ref()], configs.good);
    expect(pushed.stderr).toBe('');
    expect(pushed.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    const copied = await cli(['feature', 'copy', ref(), `${loopback}/gitspace-chart-test/auth-copy/marker:1`], configs.good);
    expect(copied.stderr).toBe('');
    expect(copied.stdout.trim()).toBe(pushed.stdout.trim());
    // The pull itself refuses the wrong password too.
    const bad = await cli(['feature', 'copy', ref(), `${loopback}/gitspace-chart-test/auth-copy/marker:1`], configs.bad);
    expect(bad.stderr).toContain(`fetching the manifest of ${ref()}: registry ${reg} refused the credentials of user "${user}"`);
  });
});

describe('build --push to a registry with auth, and the cluster pulling through an image pull Secret', () => {
  const tag = () => `${reg}/gitspace-chart-test/auth/built:1`;
  let repo: string;

  beforeAll(() => {
    repo = checkout(join(work, 'repo'), { image: BASE, features: { './local-tool': { level: '7' } } });
  });

  it('a wrong password: the push names the registry, the user and the fix', async () => {
    const r = await cli(['build', '--repo-dir', repo, '--image', BASE, '--tag', tag(), '--push'], configs.bad);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `gitspace-chart: --push "${tag()}": docker push: registry ${reg} refused the credentials of user "${user}" from ${configs.bad}/config.json (HTTP 401): log in again with 'docker login ${reg}'`,
    );
  }, 300_000);

  it('the right ones: pushed; a pod with the Secret pulls and runs it, one without is refused', async () => {
    const r = await cli(['build', '--repo-dir', repo, '--image', BASE, '--tag', tag(), '--push'], configs.good);
    expect(r.stderr).toContain(`pushing ${tag()}`);
    expect(r.exitCode).toBe(0);
    await kubectl(['create', 'namespace', NS]);
    // The Secret from stdin (kubectl create secret --from-file would do too): no password in argv.
    await kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/dockerconfigjson',
        metadata: { name: 'registry', namespace: NS },
        data: { '.dockerconfigjson': readFileSync(join(configs.good, 'config.json')).toString('base64') },
      }),
    });
    const pod = (name: string, secrets: string[]) =>
      JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS },
        spec: {
          restartPolicy: 'Never',
          imagePullSecrets: secrets.map((s) => ({ name: s })),
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{ name: 'main', image: tag(), imagePullPolicy: 'Always', command: ['local-tool'], securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
        },
      });
    await kubectl(['apply', '-f', '-'], { input: pod('with-secret', ['registry']) });
    await kubectl(['apply', '-f', '-'], { input: pod('without-secret', []) });
    await kubectl(['wait', '-n', NS, '--for=jsonpath={.status.phase}=Succeeded', 'pod/with-secret', '--timeout=180s']);
    expect((await kubectl(['logs', '-n', NS, 'with-secret'])).stdout.trim()).toBe('local-tool level 7');
    let reason = '';
    for (let i = 0; i < 60 && !/ErrImagePull|ImagePullBackOff/.test(reason); i++) {
      reason = (await kubectl(['get', 'pod', '-n', NS, 'without-secret', '-o', 'jsonpath={.status.containerStatuses[0].state.waiting.reason}'])).stdout;
      if (!/ErrImagePull|ImagePullBackOff/.test(reason)) await new Promise((res) => setTimeout(res, 1000));
    }
    expect(reason).toMatch(/ErrImagePull|ImagePullBackOff/);
    const events = (await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=without-secret', '-o', 'jsonpath={.items[*].message}'])).stdout;
    expect(events).toMatch(/401 Unauthorized|unauthorized|authorization failed/i);
  }, 600_000);
});
