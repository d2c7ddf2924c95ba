// The in-cluster features build for real (featuresBuild): `gitspace-chart values
// --build-in-cluster` makes the context on this host (features from the local registry, a
// loopback tarball server and a checkout), `helm install` runs the hook Job with rootless buildah
// in the shared cluster, FROM the gitspace image in a registry pods reach, and the Job pushes
// there. A failing install.sh fails the install with the feature named, nothing pushed, no
// gitspace created.
//
// Needs: the cluster (test/cluster), gitspace-chart/builder and gitspace-chart/gitspace built
// (images/build.sh builder gitspace), the builder loaded into the cluster. The registry pods
// pull from: GITSPACE_FEATURES_CLUSTER_REGISTRY_PUSH (HOST:PORT this host pushes to) and
// GITSPACE_FEATURES_CLUSTER_REGISTRY (HOST:PORT pods reach), set by test/features/cluster-registry.sh.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli, tempDir } from '../unit/helpers.ts';
import { cacheDir, chartDir, helmEnv } from '../chart/helm.ts';
import { checkout, publishSet, registry, writeFeature } from './fixtures.ts';

const BASE = 'gitspace-chart/gitspace:0.1.0';
const PUSH = process.env.GITSPACE_FEATURES_CLUSTER_REGISTRY_PUSH ?? '';
const POD = process.env.GITSPACE_FEATURES_CLUSTER_REGISTRY ?? '';
const KUBECONFIG = join(cacheDir(), 'cluster', 'kubeconfig');
const run = PUSH !== '' && POD !== '' && existsSync(KUBECONFIG);
if (!run && process.env.GITSPACE_REQUIRE_CLUSTER === '1') {
  throw new Error('GITSPACE_REQUIRE_CLUSTER=1 but no cluster registry (run test/features/cluster-registry.sh) or kubeconfig: the in-cluster build would be skipped');
}
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

/** HTTP status of REF's manifest in the registry (this host's side). */
async function manifest(repoTag: string): Promise<number> {
  const [repo, tag] = repoTag.split(':');
  const r = await fetch(`http://${PUSH}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  return r.status;
}

async function values(repo: string, out: string, repository: string) {
  const r = await runCli([
    'values', '--repo-url', 'https://git.example/team/app.git', '--repo-dir', repo, '--image', BASE,
    '--build-in-cluster', `${POD}/${repository}`, '--base-ref', `${POD}/featjob-test/gitspace:0.1.0`, '--plain-http', '-o', out,
  ]);
  expect(r.stderr).not.toContain('Error');
  expect(r.exitCode).toBe(0);
  return parse((await import('node:fs')).readFileSync(out, 'utf8')) as { image: { repository: string; tag: string }; featuresBuild: Record<string, unknown> };
}

describe.skipIf(!run)('featuresBuild: the hook Job builds the features in the cluster', () => {
  beforeAll(async () => {
    set = await publishSet(await registry(), work);
    // The base as the builder pulls it (a registry's copy of the local gitspace image).
    await execa('docker', ['tag', BASE, `${PUSH}/featjob-test/gitspace:0.1.0`]);
    await execa('docker', ['push', '-q', `${PUSH}/featjob-test/gitspace:0.1.0`]);
    for (const ns of [NS, BUILD_NS]) expect((await kubectl('create', 'namespace', ns)).exitCode).toBe(0);
    await kubectl('label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted');
    await kubectl('label', 'namespace', BUILD_NS, 'pod-security.kubernetes.io/enforce=privileged');
    const shared = await runCli(['install-shared', '-n', NS], { env });
    expect(shared.exitCode, shared.stderr).toBe(0);
  }, 600_000);
  afterAll(async () => {
    set?.http.server.close();
    for (const ns of [NS, BUILD_NS]) await kubectl('delete', 'namespace', ns, '--wait=false');
  });

  it('builds FROM the registry\'s gitspace image, pushes REPOSITORY:KEY; an unchanged set is not rebuilt', async () => {
    const repo = checkout(join(work, 'repo'), {
      image: BASE,
      features: { [set.helloRef]: { greeting: 'hi', shout: true, flavor: 'hot' }, [set.greetRef]: {}, './local-tool': { level: '3' } },
    });
    const repository = `featjob-test/built-${suffix}`;
    const v = await values(repo, join(work, 'values.yaml'), repository);
    expect(v.image.repository).toBe(`${POD}/${repository}`);
    expect(v.image.tag).toMatch(/^[a-f0-9]{32}$/);
    expect(await manifest(`${repository}:${v.image.tag}`)).toBe(404);
    // Not started: the pull side (the node's containerd and this registry) is a separate step.
    const args = ['install', 'gs', chartDir, '-n', NS, '-f', join(work, 'values.yaml'), '--set', `featuresBuild.namespace=${BUILD_NS}`, '--set', 'security.mode=restricted', '--set', 'running=false', '--timeout', '10m'];
    const r = await helm(...args);
    expect(r.all).not.toContain('Error');
    expect(r.exitCode).toBe(0);
    expect(await manifest(`${repository}:${v.image.tag}`)).toBe(200);
    const built = await kubectl('logs', '-n', BUILD_NS, 'job/gs-gitspace-features');
    expect(built.stdout).toContain(`gitspace-features: built and pushed ${POD}/${repository}:${v.image.tag}`);

    // What a user of the built image sees: pulled back on this host and run.
    const ref = `${PUSH}/${repository}:${v.image.tag}`;
    await execa('docker', ['pull', '-q', ref]);
    const seen = await execa('docker', ['run', '--rm', '--user', '1000', '--entrypoint', 'sh', ref, '-c', 'hello; local-tool; echo "$HELLO_HOME $GREET_FROM"; tr "\\n" " " < /usr/local/share/gitspace-features-test/order']);
    expect(seen.stdout.split('\n')).toEqual(['HI hot', 'local-tool level 3', '/opt/hello tarball', 'local-tool marker hello greet ']);
    const label = JSON.parse((await execa('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "devcontainer.metadata"}}', ref])).stdout) as { id?: string }[];
    expect(label.map((e) => e.id).filter(Boolean)).toEqual(['./local-tool', set.markerRef, set.helloRef, set.greetRef]);
    await execa('docker', ['image', 'rm', ref], { reject: false });

    // Same set, an upgrade: the Job finds the tag and builds nothing.
    const u = await helm(...args.map((a) => (a === 'install' ? 'upgrade' : a)));
    expect(u.exitCode).toBe(0);
    const again = await kubectl('logs', '-n', BUILD_NS, 'job/gs-gitspace-features');
    expect(again.stdout.trim()).toBe(`gitspace-features: ${POD}/${repository}:${v.image.tag} is already in the registry: features unchanged, not rebuilt`);
  }, 900_000);

  it('a failing install.sh fails the install naming the feature; nothing pushed, no gitspace created', async () => {
    const bad = checkout(join(work, 'bad'), { image: BASE, features: { './broken': {}, './local-tool': {} } });
    writeFeature(join(bad, '.devcontainer/broken'), { json: { id: 'broken', version: '1', installsAfter: ['./local-tool'] }, install: '#!/bin/sh\necho about to fail >&2\nexit 3\n' });
    const repository = `featjob-test/broken-${suffix}`;
    const v = await values(bad, join(work, 'bad.yaml'), repository);
    const r = await helm('install', 'bad', chartDir, '-n', NS, '-f', join(work, 'bad.yaml'), '--set', `featuresBuild.namespace=${BUILD_NS}`, '--set', 'security.mode=restricted', '--timeout', '10m');
    expect(r.exitCode).not.toBe(0);
    console.log(r.all);
    expect(r.all).toMatch(/features.*failed|BackoffLimitExceeded|job failed/i);
    const logs = await kubectl('logs', '-n', BUILD_NS, 'job/bad-gitspace-features');
    expect(logs.stdout).toContain('about to fail');
    expect(logs.all).toContain("gitspace-features: ERROR: feature './broken': install.sh failed in the in-cluster build; nothing was pushed");
    expect(await manifest(`${repository}:${v.image.tag}`)).toBe(404);
    const deploys = await kubectl('get', 'deployments,pods', '-n', NS, '-l', 'app.kubernetes.io/instance=bad', '-o', 'name');
    expect(deploys.stdout.trim()).toBe('');
  }, 900_000);
});
