// The in-cluster features build for real (charts/gitspace-features): `gitspace-chart values
// --build-in-cluster` makes the context on this host (features from the local registry, a
// loopback tarball server and a checkout) into the build's own values file, `helm install` of
// charts/gitspace-features runs the hook Job with rootless buildah in the shared cluster, FROM the
// gitspace image in a registry pods reach, and the Job pushes there; then the gitspace is
// installed on the built image. A failing install.sh fails the build's install with the feature
// named, nothing pushed.
//
// Then the gitspace runs the built image, pulled by the node from the cluster's registry, and
// the features' tools are on the user's PATH.
//
// Needs: the cluster (test/cluster: its registry, HTTPS with the cluster CA, which docker and
// the node's containerd trust), gitspace-chart/builder and gitspace-chart/gitspace built
// (images/build.sh builder gitspace), the builder loaded into the cluster
// (test/features/in-cluster.sh does all that).
import { join } from 'node:path';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot, runCli, tempDir } from '../unit/helpers.ts';
import { cacheDir, chartDir, helmEnv } from '../chart/helm.ts';
import { checkout, publishSet, registry, writeFeature } from './fixtures.ts';

const featuresChart = join(repoRoot, 'charts', 'gitspace-features');

const BASE = 'gitspace-chart/gitspace:0.1.0';
/** The cluster's registry (HOST:PORT, `cluster.sh registry`): this host pushes there, pods and the node pull. */
const REG = process.env.GITSPACE_CLUSTER_REGISTRY ?? '';
const KUBECONFIG = join(cacheDir(), 'cluster', 'kubeconfig');
const CA = join(cacheDir(), 'cluster', 'pki', 'server-ca.crt');
const run = REG !== '' && process.env.GITSPACE_POD_GATEWAY !== undefined && existsSync(KUBECONFIG) && existsSync(CA);
if (!run && process.env.GITSPACE_REQUIRE_CLUSTER === '1') {
  throw new Error('GITSPACE_REQUIRE_CLUSTER=1 but no GITSPACE_CLUSTER_REGISTRY, GITSPACE_POD_GATEWAY, kubeconfig or cluster CA: the in-cluster build would be skipped (run test/features/in-cluster.sh)');
}
/** Where pods reach this host (the git server): GITSPACE_POD_GATEWAY. */
const GW = process.env.GITSPACE_POD_GATEWAY ?? '';
// The cases run at once (each its own releases and repositories): most of their time is the Job's pulls.
// Two namespaces, as a platform sets them up: the gitspace under enforce=restricted, the build
// where its admin allows what the builder needs (enforce=privileged).
const suffix = `${process.pid}`;
const NS = `featjob-gs-${suffix}`;
const BUILD_NS = `featjob-build-${suffix}`;
const env = helmEnv({ KUBECONFIG });
const kubectl = (...a: string[]) => execa('kubectl', a, { env, reject: false, all: true });
const helm = (...a: string[]) => execa('helm', a, { env, reject: false, all: true });
const work = tempDir('gitspace-features-cluster-');
let set: Awaited<ReturnType<typeof publishSet>>;
let gitServer: ChildProcess | undefined;
let gitPort = '';

/** HTTP status of REF's manifest in the registry (this host's side). */
async function manifest(repoTag: string): Promise<number> {
  const [repo, tag] = repoTag.split(':');
  const r = await execa('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-I', '--cacert', CA,
    '-H', 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json', `https://${REG}/v2/${repo}/manifests/${tag}`]);
  return Number(r.stdout);
}

/** A bare copy of the checkout served over smart HTTP on GW (basic auth), as the clone tests serve theirs. */
async function serveRepo(checkoutDir: string): Promise<string> {
  const d = join(work, 'git');
  mkdirSync(join(d, 'repos'), { recursive: true });
  const g = (...a: string[]) => execa('git', a, { cwd: checkoutDir, env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' } });
  await g('init', '-q', '-b', 'main');
  await g('add', '-A');
  await g('commit', '-qm', 'features');
  await execa('git', ['clone', '-q', '--bare', checkoutDir, join(d, 'repos', 'app.git')]);
  writeFileSync(join(d, 'password'), `pw-${process.pid}\n`);
  const portFile = join(d, 'port');
  gitServer = spawn('python3', [join(repoRoot, 'test/bats/helpers/git-http-server.py'), '--root', join(d, 'repos'), '--bind', GW, '--port-file', portFile, '--user', 'gituser', '--password-file', join(d, 'password')], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 100));
  gitPort = readFileSync(portFile, 'utf8').trim();
  return `http://${GW}:${gitPort}/app.git`;
}

/** The gitspace's values (out) and the build's (out with .build before .yaml, as `values` names it). */
async function values(repo: string, out: string, repository: string, url = 'https://git.example/team/app.git', reg = REG) {
  const r = await runCli([
    'values', '--repo-url', url, '--repo-dir', repo, '--image', BASE,
    '--build-in-cluster', `${reg}/${repository}`, '--base-ref', `${reg}/featjob-test/gitspace:0.1.0`, '-o', out,
  ]);
  expect(r.stderr).not.toContain('Error');
  expect(r.exitCode).toBe(0);
  const buildFile = out.replace(/\.yaml$/, '.build.yaml');
  expect(r.stderr).toContain(`gitspace-chart: wrote ${buildFile} (the build's values: helm upgrade --install RELEASE-features charts/gitspace-features -n BUILD_NAMESPACE -f ${buildFile})`);
  const gitspace = parse(readFileSync(out, 'utf8')) as { image: { repository: string; tag: string } } & Record<string, unknown>;
  const build = parse(readFileSync(buildFile, 'utf8')) as { image: { repository: string; tag: string }; featuresBuild: { context: string } };
  // The build's context stays out of the gitspace's values: its release stores them in every revision.
  expect(Object.keys(gitspace)).not.toContain('featuresBuild');
  expect(build.image).toEqual(gitspace.image);
  expect(build.featuresBuild.context).toMatch(/^H4sI/);
  return { ...gitspace, buildFile };
}

describe.skipIf(!run)('charts/gitspace-features: the hook Job builds the features in the cluster', { concurrent: true }, () => {
  beforeAll(async () => {
    set = await publishSet(await registry(), work);
    // The base as the builder pulls it (a registry's copy of the local gitspace image).
    await execa('docker', ['tag', BASE, `${REG}/featjob-test/gitspace:0.1.0`]);
    await execa('docker', ['push', '-q', `${REG}/featjob-test/gitspace:0.1.0`]);
    for (const ns of [NS, BUILD_NS]) expect((await kubectl('create', 'namespace', ns)).exitCode).toBe(0);
    await kubectl('label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted');
    await kubectl('label', 'namespace', BUILD_NS, 'pod-security.kubernetes.io/enforce=privileged');
    const shared = await runCli(['install-shared', '-n', NS], { env });
    expect(shared.exitCode, shared.stderr).toBe(0);
  }, 600_000);
  afterAll(async () => {
    set?.http.server.close();
    gitServer?.kill();
    for (const ns of [NS, BUILD_NS]) await kubectl('delete', 'namespace', ns, '--wait=false');
  });

  it('builds FROM the registry\'s gitspace image, pushes REPOSITORY:KEY; an unchanged set is not rebuilt', async () => {
    const repo = checkout(join(work, 'repo'), {
      image: BASE,
      features: { [set.helloRef]: { greeting: 'hi', shout: true, flavor: 'hot' }, [set.greetRef]: {}, './local-tool': { level: '3' } },
    });
    const url = await serveRepo(repo);
    await kubectl('-n', NS, 'create', 'secret', 'generic', 'git-creds', '--from-literal=username=gituser', `--from-file=password=${join(work, 'git', 'password')}`);
    const repository = `featjob-test/built-${suffix}`;
    const v = await values(repo, join(work, 'values.yaml'), repository, url);
    expect(v.image.repository).toBe(`${REG}/${repository}`);
    expect(v.image.tag).toMatch(/^[a-f0-9]{32}$/);
    expect(await manifest(`${repository}:${v.image.tag}`)).toBe(404);
    // The gitspace under enforce=restricted; the image is pulled by the node from the registry.
    // The build first (its namespace allows the builder), then the gitspace on what it pushed.
    const buildArgs = ['upgrade', '--install', 'gs-features', featuresChart, '-n', BUILD_NS, '-f', v.buildFile, '--set-file', `featuresBuild.registryCA=${CA}`, '--timeout', '10m'];
    const b = await helm(...buildArgs);
    expect(b.all).not.toContain('Error');
    expect(b.exitCode).toBe(0);
    expect(await manifest(`${repository}:${v.image.tag}`)).toBe(200);
    const built = await kubectl('logs', '-n', BUILD_NS, 'job/gs-features');
    expect(built.stdout).toContain(`gitspace-features: built and pushed ${REG}/${repository}:${v.image.tag}`);
    const args = ['install', 'gs', chartDir, '-n', NS, '-f', join(work, 'values.yaml'),
      '--set', 'security.mode=restricted', '--set', 'repo.credentials.existingSecret=git-creds', '--set', 'persistence.keepOnUninstall=false', '--set', 'persistence.size=1Gi', '--timeout', '10m'];
    const r = await helm(...args);
    expect(r.all).not.toContain('Error');
    expect(r.exitCode).toBe(0);

    // The gitspace runs the built image: Ready, and the tools on the user's PATH in the container's
    // environment (what the IDE's terminals inherit; a login shell's /etc/profile resets PATH on
    // Debian images, on Docker too).
    const ready = await kubectl('-n', NS, 'wait', '--for=condition=Available', 'deployment/gs-gitspace', '--timeout=300s');
    if (ready.exitCode !== 0) console.log((await kubectl('-n', NS, 'get', 'events', '--field-selector', 'type=Warning')).all);
    expect(ready.exitCode).toBe(0);
    const image = await kubectl('-n', NS, 'get', 'deployment/gs-gitspace', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
    expect(image.stdout).toBe(`${REG}/${repository}:${v.image.tag}`);
    const inGs = await kubectl('-n', NS, 'exec', 'deploy/gs-gitspace', '-c', 'gitspace', '--', 'bash', '-c', 'id -u; command -v hello; hello; local-tool; echo "$HELLO_HOME"');
    expect(inGs.stdout.split('\n')).toEqual([String(1000), '/opt/hello/bin/hello', 'HI hot', 'local-tool level 3', '/opt/hello']);

    // What a user of the built image sees: pulled back on this host and run.
    const ref = `${REG}/${repository}:${v.image.tag}`;
    await execa('docker', ['pull', '-q', ref]);
    const seen = await execa('docker', ['run', '--rm', '--user', '1000', '--entrypoint', 'sh', ref, '-c', 'hello; local-tool; echo "$HELLO_HOME $GREET_FROM"; tr "\\n" " " < /usr/local/share/gitspace-features-test/order']);
    expect(seen.stdout.split('\n')).toEqual(['HI hot', 'local-tool level 3', '/opt/hello tarball', 'local-tool marker hello greet ']);
    const label = JSON.parse((await execa('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "devcontainer.metadata"}}', ref])).stdout) as { id?: string }[];
    expect(label.map((e) => e.id).filter(Boolean)).toEqual(['./local-tool', set.markerRef, set.helloRef, set.greetRef]);
    await execa('docker', ['image', 'rm', ref], { reject: false });

    // Same set, the build's upgrade: the Job finds the tag and builds nothing.
    const u = await helm(...buildArgs);
    expect(u.exitCode).toBe(0);
    const again = await kubectl('logs', '-n', BUILD_NS, 'job/gs-features');
    expect(again.stdout.trim()).toBe(`gitspace-features: ${REG}/${repository}:${v.image.tag} is already in the registry: features unchanged, not rebuilt`);
    await helm('uninstall', 'gs', '-n', NS, '--wait', '--timeout', '2m');
    await helm('uninstall', 'gs-features', '-n', BUILD_NS, '--wait', '--timeout', '2m');
  }, 900_000);

  it('a failing install.sh fails the build\'s install naming the feature; nothing pushed', async () => {
    const bad = checkout(join(work, 'bad'), { image: BASE, features: { './broken': {}, './local-tool': {} } });
    writeFeature(join(bad, '.devcontainer/broken'), { json: { id: 'broken', version: '1', installsAfter: ['./local-tool'] }, install: '#!/bin/sh\necho about to fail >&2\nexit 3\n' });
    const repository = `featjob-test/broken-${suffix}`;
    const v = await values(bad, join(work, 'bad.yaml'), repository);
    const r = await helm('upgrade', '--install', 'bad-features', featuresChart, '-n', BUILD_NS, '-f', v.buildFile, '--set-file', `featuresBuild.registryCA=${CA}`, '--timeout', '10m');
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toContain('failed pre-install: 1 error occurred:\n\t* job bad-features failed: BackoffLimitExceeded');
    const logs = await kubectl('logs', '-n', BUILD_NS, 'job/bad-features');
    expect(logs.stdout).toContain('about to fail');
    expect(logs.all).toContain("gitspace-features: ERROR: feature './broken': install.sh failed in the in-cluster build; nothing was pushed");
    expect(await manifest(`${repository}:${v.image.tag}`)).toBe(404);
  }, 900_000);

  it('a registry with auth: refused anonymously, naming featuresBuild.registrySecret; built and pushed with a docker-registry Secret', async () => {
    // The cluster's htpasswd registry (cluster.sh registry-auth); this host pushes the base there with a config of its own.
    const [authReg, user, pwFile] = (await execa('bash', [join(repoRoot, 'test/cluster/cluster.sh'), 'registry-auth'])).stdout.trim().split(' ');
    const password = readFileSync(pwFile, 'utf8').trim();
    const config = join(work, 'docker-auth');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [authReg]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }), { mode: 0o600 });
    await execa('docker', ['tag', BASE, `${authReg}/featjob-test/gitspace:0.1.0`]);
    await execa('docker', ['--config', config, 'push', '-q', `${authReg}/featjob-test/gitspace:0.1.0`]);
    await execa('docker', ['image', 'rm', `${authReg}/featjob-test/gitspace:0.1.0`]);
    const repo = checkout(join(work, 'auth-repo'), { image: BASE, features: { './local-tool': { level: '5' } } });
    const repository = `featjob-test/auth-${suffix}`;
    const v = await values(repo, join(work, 'auth.yaml'), repository, undefined, authReg);
    const seen = async () => Number((await execa('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-I', '--cacert', CA, '-u', `${user}:${password}`,
      '-H', 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json', `https://${authReg}/v2/${repository}/manifests/${v.image.tag}`])).stdout);

    const anonymous = await helm('upgrade', '--install', 'auth-features', featuresChart, '-n', BUILD_NS, '-f', v.buildFile, '--set-file', `featuresBuild.registryCA=${CA}`, '--timeout', '5m');
    expect(anonymous.exitCode).not.toBe(0);
    expect((await kubectl('logs', '-n', BUILD_NS, 'job/auth-features')).all).toContain(
      `gitspace-features: ERROR: image ${authReg}/${repository}:${v.image.tag}: the registry refused anonymous access: set featuresBuild.registrySecret to a docker-registry Secret in this namespace`,
    );
    expect(await seen()).toBe(404);

    // Credentials it refuses: the message names the Secret.
    expect((await kubectl('-n', BUILD_NS, 'create', 'secret', 'docker-registry', 'bad-creds', `--docker-server=${authReg}`, `--docker-username=${user}`, `--docker-password=${password}-wrong`)).exitCode).toBe(0);
    const wrong = await helm('upgrade', '--install', 'auth-features', featuresChart, '-n', BUILD_NS, '-f', v.buildFile, '--set-file', `featuresBuild.registryCA=${CA}`, '--set', 'featuresBuild.registrySecret=bad-creds', '--timeout', '5m');
    expect(wrong.exitCode).not.toBe(0);
    expect((await kubectl('logs', '-n', BUILD_NS, 'job/auth-features')).all).toContain(
      `gitspace-features: ERROR: image ${authReg}/${repository}:${v.image.tag}: the registry refused the credentials of featuresBuild.registrySecret: give a docker-registry Secret whose user may pull and push there`,
    );
    // A Secret that is not there: refused by the install itself, before a pod waits for it.
    const missing = await helm('upgrade', '--install', 'auth-features', featuresChart, '-n', BUILD_NS, '-f', v.buildFile, '--set', 'featuresBuild.registrySecret=no-such-secret', '--timeout', '5m');
    expect(missing.exitCode).not.toBe(0);
    expect(missing.all).toContain(`featuresBuild.registrySecret: no Secret "no-such-secret" in namespace "${BUILD_NS}"; create it there: kubectl -n ${BUILD_NS} create secret docker-registry no-such-secret`);

    expect((await kubectl('-n', BUILD_NS, 'create', 'secret', 'docker-registry', 'push-creds', `--docker-server=${authReg}`, `--docker-username=${user}`, `--docker-password=${password}`)).exitCode).toBe(0);
    const withSecret = await helm('upgrade', '--install', 'auth-features', featuresChart, '-n', BUILD_NS, '-f', v.buildFile, '--set-file', `featuresBuild.registryCA=${CA}`, '--set', 'featuresBuild.registrySecret=push-creds', '--timeout', '10m');
    expect(withSecret.all).not.toContain('Error');
    expect(withSecret.exitCode).toBe(0);
    expect((await kubectl('logs', '-n', BUILD_NS, 'job/auth-features')).stdout).toContain(`gitspace-features: built and pushed ${authReg}/${repository}:${v.image.tag}`);
    expect(await seen()).toBe(200);
  }, 900_000);

  it('a context too big for the build\'s release Secret is refused by values, before anything is installed', async () => {
    const repo = checkout(join(work, 'big-repo'), { image: BASE, features: { './big': {} } });
    writeFeature(join(repo, '.devcontainer/big'), { json: { id: 'big', version: '1' }, install: '#!/bin/sh\ntrue\n' });
    // Random bytes do not compress: 400 KiB stays over the 340 KiB limit gzipped.
    writeFileSync(join(repo, '.devcontainer/big/blob.bin'), randomBytes(400 * 1024));
    const out = join(work, 'big.yaml');
    const r = await runCli(['values', '--repo-url', 'https://git.example/team/app.git', '--repo-dir', repo, '--image', BASE,
      '--build-in-cluster', `${REG}/featjob-test/big`, '--base-ref', `${REG}/featjob-test/gitspace:0.1.0`, '-o', out]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/gitspace-chart: the features' build context is \d+ bytes gzipped, over the 348160 the in-cluster build takes \(Helm stores it twice in the build's release Secret, at most 1 MiB\): build on a host instead/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(work, 'big.build.yaml'))).toBe(false);
  }, 120_000);
});
