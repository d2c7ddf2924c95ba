// Resolution against the real places features come from: the local OCI
// registry (pushed with our code, pulled back), a loopback HTTP server for the
// tarball, a checkout for the local feature. No image is built here.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFeatures } from '../../generator/src/features/resolve.ts';
import { runCli, tempDir } from '../unit/helpers.ts';
import { checkout, PREFIX, publishSet, push, registry, serve, writeFeature } from './fixtures.ts';

let reg: string;
let set: Awaited<ReturnType<typeof publishSet>>;
const work = tempDir('gitspace-features-resolve-');

beforeAll(async () => {
  reg = await registry();
  set = await publishSet(reg, work);
});
afterAll(() => set?.http.server.close());

let n = 0;
async function resolve(features: Record<string, unknown>, override?: unknown) {
  const repo = checkout(join(work, `repo-${++n}`), { image: 'x', features });
  const staged = join(work, `staged-${n}`);
  mkdirSync(staged);
  return resolveFeatures({ features, overrideFeatureInstallOrder: override, devcontainerDir: join(repo, '.devcontainer'), workDir: staged, file: 'devcontainer.json' });
}

describe('features resolved from the registry, a tarball URL and a local folder', () => {
  it('fetches dependsOn recursively, resolves options and orders the rounds', async () => {
    const fs = await resolve({ [set.greetRef]: {}, [set.helloRef]: { greeting: 'hi', shout: true }, './local-tool': { level: '3' } });
    expect(fs.map((f) => f.metadata.id)).toEqual(['local-tool', 'marker', 'hello', 'greet']);
    expect(fs.find((f) => f.metadata.id === 'hello')!.env).toEqual({ GREETING: 'hi', SHOUT: 'true', FLAVOR: 'mild' });
    expect(fs.find((f) => f.metadata.id === 'marker')!.env).toEqual({ NOTE: 'from-hello' });
    expect(fs.find((f) => f.metadata.id === 'hello')!.source).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('puts overrideFeatureInstallOrder first where dependsOn allows', async () => {
    const fs = await resolve({ [set.greetRef]: {}, './local-tool': {} }, [set.greetRef]);
    expect(fs.map((f) => f.metadata.id)).toEqual(['greet', 'local-tool']);
  });

  it('pulls by digest and refuses a digest the registry does not have', async () => {
    const byTag = await resolve({ [set.markerRef]: {} });
    const pinned = set.markerRef.replace(/:1$/, `@${byTag[0].source}`);
    expect((await resolve({ [pinned]: {} }))[0].metadata.id).toBe('marker');
    await expect(resolve({ [set.markerRef.replace(/:1$/, `@sha256:${'0'.repeat(64)}`)]: {} })).rejects.toThrow(/fetching the manifest.*not found/);
  });

  it('names the feature and the step for an unknown feature, an unreachable registry, a bad option, a cycle', async () => {
    const missing = `${reg}/${PREFIX}/no-such-feature:1`;
    await expect(resolve({ [missing]: {} })).rejects.toThrow(`feature "${missing}": fetching the manifest of ${missing}: not found in ${reg} (HTTP 404)`);
    // A port nothing listens on: one the kernel handed out and we closed again.
    const closed = await serve(new Map());
    const port = (closed.server.address() as { port: number }).port;
    await new Promise((r) => closed.server.close(r));
    const dead = `127.0.0.1:${port}/x/y:1`;
    await expect(resolve({ [dead]: {} })).rejects.toThrow(`feature "${dead}": fetching the manifest of ${dead}: registry 127.0.0.1:${port} unreachable (ECONNREFUSED)`);
    await expect(resolve({ [set.helloRef]: { flavor: 'sweet' } })).rejects.toThrow(`feature "${set.helloRef}": option "flavor" must be one of "mild", "hot", found "sweet"`);
    await expect(resolve({ [set.helloRef]: { shout: 'yes' } })).rejects.toThrow(`option "shout" must be a boolean, found string "yes"`);
    await expect(resolve({ [set.greetRef.replace('greet.tgz', 'gone.tgz')]: {} })).rejects.toThrow(/downloading .*devcontainer-feature-gone\.tgz: HTTP 404/);

    const a = `${reg}/${PREFIX}/cycle-a:1`;
    const b = `${reg}/${PREFIX}/cycle-b:1`;
    await push(reg, 'cycle-a', '1', writeFeature(join(work, 'src/cycle-a'), { json: { id: 'cycle-a', version: '1', dependsOn: { [b]: {} } }, install: '#!/bin/sh\n' }));
    await push(reg, 'cycle-b', '1', writeFeature(join(work, 'src/cycle-b'), { json: { id: 'cycle-b', version: '1', dependsOn: { [a]: {} } }, install: '#!/bin/sh\n' }));
    await expect(resolve({ [a]: {} })).rejects.toThrow(`features: a dependsOn/installsAfter cycle, no feature can be installed first: ${a} waits for ${b}; ${b} waits for ${a}`);
  });

  it('refuses a feature whose id differs from its reference', async () => {
    writeFeature(join(work, 'src/wrong'), { json: { id: 'other', version: '1' }, install: '#!/bin/sh\n' });
    const ref = await push(reg, 'wrong', '1', join(work, 'src/wrong'));
    await expect(resolve({ [ref]: {} })).rejects.toThrow(`"id" is "other" but the reference names "wrong"`);
  });

  it('feature copy mirrors a feature to another name; feature push publishes a folder', async () => {
    const mirror = `${reg}/${PREFIX}/mirror/hello:1`;
    const r = await runCli(['feature', 'copy', set.helloRef, mirror]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(/^sha256:[a-f0-9]{64}$/);
    const fs = await resolve({ [mirror]: {} });
    expect(fs.map((f) => f.metadata.id)).toEqual(['marker', 'hello']);
    const p = await runCli(['feature', 'push', set.marker, `${reg}/${PREFIX}/not-marker:1`]);
    expect(p.exitCode).toBe(1);
    expect(p.stderr).toContain(`gitspace-chart: feature push: the feature's id is "marker", the reference's last segment "not-marker": make them equal`);
  });
});
