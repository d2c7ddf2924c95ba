// gitspace-chart rescue / resize, run as a user runs them, against stand-in
// helm and kubectl executables that record their argv and answer like the
// real ones (the real cluster run is test/chart/full-volume.sh).
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_CHART, quantityMi, resizeDecision, sizeMi } from '../../generator/src/rescue.ts';
import { runCli, tempDir } from './helpers.ts';

const dir = tempDir('gitspace-rescue-');
const log = join(dir, 'argv.log');

const pvc = (sc: string | undefined, size = '1Gi', release = 'ws') => ({
  metadata: { name: 'ws-gitspace', labels: { 'app.kubernetes.io/instance': release } },
  spec: { storageClassName: sc, resources: { requests: { storage: size } } },
});
const deployment = { items: [{ metadata: { name: 'ws-gitspace' }, spec: { template: { spec: { volumes: [{ name: 'home', persistentVolumeClaim: { claimName: 'ws-gitspace' } }] } } } }] };

/** Writes stand-in helm and kubectl into a fresh bin dir; returns the env that puts them first on PATH. */
function fakeTools(opts: { release?: boolean; expand?: boolean; size?: string }) {
  const bin = tempDir('gitspace-rescue-bin-');
  writeFileSync(join(bin, 'deploy.json'), JSON.stringify(deployment));
  writeFileSync(join(bin, 'pvc.json'), JSON.stringify(pvc('local-path', opts.size ?? '1Gi')));
  writeFileSync(join(bin, 'sc.json'), JSON.stringify({ metadata: { name: 'local-path' }, ...(opts.expand ? { allowVolumeExpansion: true } : {}) }));
  const helm = `#!/bin/sh
printf 'helm' >>"${log}"; for a in "$@"; do printf ' %s' "$a" >>"${log}"; done; echo >>"${log}"
case "$1" in
  status) ${opts.release === false ? 'echo "Error: release: not found" >&2; exit 1' : 'exit 0'} ;;
  upgrade) echo "Release \\"$2\\" has been upgraded."; exit 0 ;;
esac
`;
  const kubectl = `#!/bin/sh
printf 'kubectl' >>"${log}"; for a in "$@"; do printf ' %s' "$a" >>"${log}"; done; echo >>"${log}"
case "$2" in
  deployments) cat "${bin}/deploy.json" ;;
  persistentvolumeclaim) cat "${bin}/pvc.json" ;;
  storageclass) cat "${bin}/sc.json" ;;
  *) exit 1 ;;
esac
`;
  writeFileSync(join(bin, 'helm'), helm);
  writeFileSync(join(bin, 'kubectl'), kubectl);
  chmodSync(join(bin, 'helm'), 0o755);
  chmodSync(join(bin, 'kubectl'), 0o755);
  writeFileSync(log, '');
  return { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
}

const calls = () => readFileSync(log, 'utf8').trimEnd().split('\n').filter(Boolean);

function expectOneLineError(r: { exitCode: number; stderr: string }, contains: string) {
  expect(r.exitCode).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^gitspace-chart: /);
  expect(lines[0]).toContain(contains);
}

describe('gitspace-chart rescue', () => {
  it('switches rescue on with the release\'s own values and says how to get in', async () => {
    const r = await runCli(['rescue', 'ws', '-n', 'team-a'], { env: fakeTools({}) });
    expect(r.exitCode).toBe(0);
    expect(calls()).toEqual([
      'helm status ws --namespace team-a',
      `helm upgrade ws ${BUNDLED_CHART} --namespace team-a --reset-then-reuse-values --set rescue=true --wait --timeout 10m`,
      'kubectl get deployments --namespace team-a -l app.kubernetes.io/instance=ws,app.kubernetes.io/component=gitspace -o json',
    ]);
    expect(r.stdout).toContain('rescue mode on: kubectl -n team-a exec -it deploy/ws-gitspace -c gitspace -- bash');
    expect(r.stdout).toContain('gitspace-chart rescue ws -n team-a --off');
  });

  it('--off switches it back', async () => {
    const r = await runCli(['rescue', 'ws', '--off', '--chart', '/charts/gitspace-0.1.0.tgz'], { env: fakeTools({}) });
    expect(r.exitCode).toBe(0);
    expect(calls()[1]).toBe('helm upgrade ws /charts/gitspace-0.1.0.tgz --namespace default --reset-then-reuse-values --set rescue=false --wait --timeout 10m');
    expect(r.stdout).toContain('rescue mode off: release ws runs its gitspace again');
  });

  it('a release that does not exist: one line, no upgrade', async () => {
    const r = await runCli(['rescue', 'nope'], { env: fakeTools({ release: false }) });
    expectOneLineError(r, 'RELEASE: no release "nope" in namespace "default"');
    expect(calls()).toEqual(['helm status nope --namespace default']);
  });

  it.each([
    [['rescue', 'Ws'], 'RELEASE: "Ws" is not a helm release name'],
    [['rescue', 'ws', '-n', 'a;b'], '--namespace: "a;b" is not a namespace name'],
    [['rescue', 'ws', '--chart', '--set=x'], '--chart: "--set=x" is not a chart path'],
    [['rescue', 'ws', '--timeout', '1 h'], '--timeout: "1 h" is not a duration'],
  ])('bad input %j: one line naming the field, helm never runs', async (args, msg) => {
    const r = await runCli(args, { env: fakeTools({}) });
    expectOneLineError(r, msg);
    expect(calls()).toEqual([]);
  });
});

describe('gitspace-chart resize', () => {
  it('refuses when the StorageClass does not allow expansion (the test cluster\'s local volumes), nothing upgraded', async () => {
    const r = await runCli(['resize', 'ws', '2Gi'], { env: fakeTools({}) });
    expectOneLineError(r, 'persistence.size: StorageClass local-path does not allow volume expansion (allowVolumeExpansion is not true), so the claim ws-gitspace cannot grow from 1Gi to 2Gi; nothing was changed');
    expect(calls().some((c) => c.startsWith('helm upgrade'))).toBe(false);
  });

  it('grows the claim through helm when the StorageClass allows it', async () => {
    const r = await runCli(['resize', 'ws', '2Gi'], { env: fakeTools({ expand: true }) });
    expect(r.exitCode).toBe(0);
    expect(calls().at(-1)).toBe(`helm upgrade ws ${BUNDLED_CHART} --namespace default --reset-then-reuse-values --set persistence.size=2Gi --wait --timeout 10m`);
    expect(r.stdout).toContain('claim ws-gitspace: 1Gi -> 2Gi requested');
  });

  it('refuses to shrink', async () => {
    const r = await runCli(['resize', 'ws', '512Mi'], { env: fakeTools({ expand: true }) });
    expectOneLineError(r, 'SIZE: 512Mi is smaller than the claim ws-gitspace (1Gi); a volume never shrinks');
  });

  it('a size the chart does not take: one line, nothing run', async () => {
    const r = await runCli(['resize', 'ws', '2GB'], { env: fakeTools({}) });
    expectOneLineError(r, 'SIZE: "2GB" is not a size the chart takes; use a whole number of Mi, Gi or Ti, e.g. 20Gi');
    expect(calls()).toEqual([]);
  });
});

describe('resize decision', () => {
  it('sizes and quantities in MiB', () => {
    expect(sizeMi('20Gi')).toBe(20480);
    expect(quantityMi('1Gi')).toBe(1024);
    expect(quantityMi('1073741824')).toBe(1024);
    expect(quantityMi('1G')).toBeCloseTo(953.67, 1);
    expect(quantityMi('weird')).toBeUndefined();
  });
  it('a claim with no StorageClass cannot grow; an existingClaim is patched by hand', () => {
    expect(resizeDecision('ws', '2Gi', pvc(undefined), undefined)).toMatchObject({ ok: false, message: expect.stringContaining('has no StorageClass') });
    expect(resizeDecision('ws', '2Gi', pvc('fast', '1Gi', 'other'), { allowVolumeExpansion: true })).toMatchObject({ ok: false, message: expect.stringContaining('kubectl patch pvc ws-gitspace') });
    expect(resizeDecision('ws', '2Gi', pvc('fast'), { allowVolumeExpansion: true })).toEqual({ ok: true, claim: 'ws-gitspace', from: '1Gi' });
  });
});
