// The host build for real: BuildKit on the shared Docker engine, FROM a local
// test image, with features from the local registry, a loopback tarball server
// and a checkout; then what a user of the built image sees.
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../unit/helpers.ts';
import { checkout, ORDER_LOG, PREFIX, publishSet, registry, writeFeature } from './fixtures.ts';

const BASE = 'gitspace-chart/test-debian:0.1.0';
const TAG = 'gitspace-chart-test/features-built:1';
const work = tempDir('gitspace-features-build-');
let reg: string;
let set: Awaited<ReturnType<typeof publishSet>>;
let repo: string;
const made: string[] = [];

const docker = async (...args: string[]) => String((await execa('docker', args)).stdout).trim();
const exists = async (ref: string) => (await execa('docker', ['image', 'inspect', ref], { reject: false })).exitCode === 0;

beforeAll(async () => {
  if (!(await exists(BASE))) throw new Error(`${BASE} is missing: run 'bash images/build.sh test-images' (npm test -- features does)`);
  reg = await registry();
  set = await publishSet(reg, work);
  repo = checkout(join(work, 'repo'), {
    image: BASE,
    remoteUser: 'dev',
    postCreateCommand: 'echo user-post-create',
    features: { [set.helloRef]: { greeting: 'hi', shout: true, flavor: 'hot' }, [set.greetRef]: {}, './local-tool': { level: '3' } },
  });
}, 300_000);
afterAll(async () => {
  set?.http.server.close();
  for (const ref of made) await execa('docker', ['image', 'rm', ref], { reject: false });
});

describe('gitspace-chart build', () => {
  it('builds FROM the image with every feature installed in order, its options, env and users', async () => {
    const r = await runCli(['build', '--repo-dir', repo, '--image', BASE, '--tag', TAG]);
    made.push(TAG);
    expect(r.stderr).toContain('install order: ./local-tool');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(TAG);
    const seen = await docker(
      'run', '--rm', TAG, 'sh', '-c',
      `hello; local-tool; echo "$HELLO_HOME $GREET_FROM"; tr '\\n' ' ' < ${ORDER_LOG}; echo; cat /usr/local/share/gitspace-features-test/users /usr/local/share/gitspace-features-test/greet-saw /usr/local/share/gitspace-features-test/marker-note; ls /tmp`,
    );
    expect(seen.split('\n')).toEqual([
      'HI hot',
      'local-tool level 3',
      '/opt/hello tarball',
      'local-tool marker hello greet ',
      'root /root dev /home/dev',
      'HI hot',
      'from-hello',
    ]);
  });

  it('keeps the image USER and adds one devcontainer.metadata entry per feature (lifecycle there, containerEnv as ENV)', async () => {
    expect(await docker('image', 'inspect', '--format', '{{.Config.User}}', TAG)).toBe(await docker('image', 'inspect', '--format', '{{.Config.User}}', BASE));
    const label = JSON.parse(await docker('image', 'inspect', '--format', '{{index .Config.Labels "devcontainer.metadata"}}', TAG)) as Record<string, unknown>[];
    expect(label.map((e) => e.id)).toEqual(['./local-tool', set.markerRef, set.helloRef, set.greetRef]);
    expect(label[0]).toEqual({ id: './local-tool', postCreateCommand: 'local-tool > ~/local-tool-ran' });
    expect(label.some((e) => 'containerEnv' in e)).toBe(false);
  });

  it('does not rebuild an unchanged set and applies a new --tag to the cached image', async () => {
    const again = 'gitspace-chart-test/features-built:again';
    const r = await runCli(['build', '--repo-dir', repo, '--image', BASE, '--tag', again]);
    made.push(again);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/features unchanged: gitspace-chart\/features:[a-f0-9]{32} \(not rebuilt\)/);
    expect(r.stdout.trim()).toBe(again);
    expect(await docker('image', 'inspect', '--format', '{{.Id}}', again)).toBe(await docker('image', 'inspect', '--format', '{{.Id}}', TAG));
  });

  it('values --build writes values for the built image, with the features\' postCreateCommand from its label', async () => {
    const out = join(work, 'values.yaml');
    const r = await runCli(['values', '--repo-url', 'https://git.example/team/app.git', '--repo-dir', repo, '--build', '--image', BASE, '--tag', TAG, '-o', out]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toContain('"features" is not supported');
    const { parse } = await import('yaml');
    const v = parse((await import('node:fs')).readFileSync(out, 'utf8'));
    expect(v.image).toEqual({ repository: 'gitspace-chart-test/features-built', tag: '1' });
    expect(v.user.remoteUser).toBe('dev');
    expect(JSON.stringify(v.devcontainer.postCreateCommand)).toContain('local-tool > ~/local-tool-ran');
    expect(JSON.stringify(v.devcontainer.postCreateCommand)).toContain('echo user-post-create');
  });

  it('pushes the finished image with --push', async () => {
    const pushed = `${reg}/${PREFIX}/built:1`;
    const r = await runCli(['build', '--repo-dir', repo, '--image', BASE, '--tag', pushed, '--push']);
    made.push(pushed);
    expect(r.exitCode).toBe(0);
    const m = await fetch(`http://${reg}/v2/${PREFIX}/built/manifests/1`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    expect(m.status).toBe(200);
  }, 600_000); // the first push uploads the base image's layers

  it('a failing install.sh names the feature; nothing is tagged or pushed', async () => {
    const bad = checkout(join(work, 'bad'), { image: BASE, features: { './broken': {} } }, false);
    writeFeature(join(bad, '.devcontainer/broken'), { json: { id: 'broken', version: '1' }, install: '#!/bin/sh\necho about to fail >&2\nexit 3\n' });
    const tag = `${reg}/${PREFIX}/broken:1`;
    const r = await runCli(['build', '--repo-dir', bad, '--image', BASE, '--tag', tag, '--push']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('gitspace-chart: feature "./broken": install.sh failed during the image build (nothing was tagged or pushed)');
    expect(r.stderr).toContain('about to fail');
    expect(await exists(tag)).toBe(false);
    expect((await fetch(`http://${reg}/v2/${PREFIX}/broken/manifests/1`)).status).toBe(404);
  });
});
