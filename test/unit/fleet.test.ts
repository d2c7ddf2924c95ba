// Fleet: gitspace-chart rollout and install-shared against a fake helm and kubectl on PATH (the
// argument vectors, the waves, the stop on failure, the progress printed); the shared scripts chart
// against the gitspace chart (same version, every script the volume maps); the slim package
// renders what the source chart renders. The real run: npm run bench -- fleet (--smoke in CI).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { parse, parseAllDocuments } from 'yaml';
import { cliPath, fakeTool, repoRoot, tempDir, toolEnv } from './helpers.ts';

const root = tempDir('gitspace-fleet-');
const bin = join(root, 'bin');
const state = join(root, 'state');
mkdirSync(bin);

const fake = (tool: string, body: string) => fakeTool(bin, tool, body);
// upgrade REL: fails when $FAKE_STATE/fail-REL exists; prints the release JSON with running from running-REL.
fake(
  'helm',
  `case "$1" in
  version) echo v3.22.0 ;;
  list) answer list.json ;;
  upgrade)
    if [ -f "$FAKE_STATE/fail-$2" ]; then echo "Error: UPGRADE FAILED: $2 broke" >&2; exit 1; fi
    r=true; [ ! -f "$FAKE_STATE/running-$2" ] || r=$(<"$FAKE_STATE/running-$2")
    printf '{"config":{"running":%s},"manifest":"---\\\\nkind: Deployment\\\\nmetadata:\\\\n  name: %s-gitspace\\\\n"}\\n' "$r" "$2" ;;
  *) echo "fake helm: unexpected $*" >&2; exit 2 ;;
esac`,
);
fake(
  'kubectl',
  `case "$1 \${2:-}" in
  "rollout status") if [ -f "$FAKE_STATE/notready-\${3#deployment/}" ]; then echo "error: timed out waiting for the condition" >&2; exit 1; fi; echo ok ;;
  *) echo "fake kubectl: unexpected $*" >&2; exit 2 ;;
esac`,
);

const rel = (name: string, ns = 'team-web', chart = 'gitspace-0.1.0') => ({ name, namespace: ns, revision: '1', status: 'deployed', chart, app_version: '0.1.0' });
const set = (files: Record<string, string>) => {
  for (const [k, v] of Object.entries(files)) writeFileSync(join(state, k), v);
};

beforeEach(() => {
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
});

async function cli(args: string[]) {
  const r = await execa(process.execPath, [cliPath, ...args], { cwd: repoRoot, reject: false, env: { PATH: bin, FAKE_STATE: state }, extendEnv: false });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
const calls = (): string[][] =>
  existsSync(join(state, 'calls'))
    ? readFileSync(join(state, 'calls'), 'utf8').split('\n').filter(Boolean).map((l) => l.split('\x1f'))
    : [];
const upgraded = () => calls().filter((c) => c[0] === 'helm' && c[1] === 'upgrade').map((c) => c[2]);

// A chart directory of another version, as the rollout's target.
const v2 = join(root, 'gitspace-v2');
mkdirSync(v2);
writeFileSync(join(v2, 'Chart.yaml'), 'apiVersion: v2\nname: gitspace\nversion: 0.2.0\n');

describe('rollout', () => {
  it('waves of --batch, progress per wave, each release upgraded on its own values; a running one waits for Ready, a stopped one does not', async () => {
    set({ 'list.json': JSON.stringify(['a', 'b', 'c', 'd', 'e'].map((n) => rel(n))), 'running-b': 'false' });
    const r = await cli(['rollout', '--selector', 'team=web', '-n', 'team-web', '--chart', v2, '--batch', '2', '--parallel', '1', '--pause-on-failure']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('rollout of gitspace-0.2.0: 5 of 5 releases (team=web), 3 waves of 2, 1 at once');
    expect(lines.slice(1, 4).map((l) => l.replace(/ in [0-9.]+ s \[/, ' [').replace(/, [0-9.]+ s\]/, ']'))).toEqual([
      'wave 1/3: 2/2 upgraded [2/5]',
      'wave 2/3: 2/2 upgraded [4/5]',
      'wave 3/3: 1/1 upgraded [5/5]',
    ]);
    expect(lines[4]).toMatch(/^rollout done: 5 releases in [0-9.]+ s$/);
    expect(calls()).toContainEqual(['helm', 'list', '--all', '--selector', 'team=web', '--output', 'json', '--max', '0', '--namespace', 'team-web']);
    expect(calls().find((c) => c[1] === 'upgrade' && c[2] === 'a')).toEqual([
      'helm', 'upgrade', 'a', v2, '--namespace', 'team-web', '--reset-then-reuse-values', '--history-max', '3', '--timeout', '600s', '--output', 'json',
    ]);
    const waits = calls().filter((c) => c[0] === 'kubectl').map((c) => c[3]);
    expect(waits).toEqual(['deployment/a-gitspace', 'deployment/c-gitspace', 'deployment/d-gitspace', 'deployment/e-gitspace']);
  });

  it('--pause-on-failure: a failed release stops the rollout after its wave, naming it; later waves never start', async () => {
    set({ 'list.json': JSON.stringify(['a', 'b', 'c', 'd', 'e'].map((n) => rel(n))), 'fail-b': '' });
    const r = await cli(['rollout', '--selector', 'team=web', '-n', 'team-web', '--chart', v2, '--batch', '2', '--pause-on-failure']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^wave 1\/3: 1\/2 upgraded in [0-9.]+ s \[2\/5, [0-9.]+ s\]\n {2}FAILED team-web\/b: UPGRADE FAILED: b broke$/m);
    expect(r.stderr.trim().split('\n')).toEqual([
      "gitspace-chart: rollout paused after wave 1/3: 1 failed (above), 3 not started; fix them and run the same command again (releases already on the new chart are skipped), or 'helm rollback RELEASE -n NAMESPACE'",
    ]);
    expect(upgraded().sort()).toEqual(['a', 'b']);
  });

  it('a running gitspace that is not Ready in time fails its wave too', async () => {
    set({ 'list.json': JSON.stringify(['a', 'b', 'c'].map((n) => rel(n))), 'notready-a-gitspace': '' });
    const r = await cli(['rollout', '--selector', 'team=web', '-n', 'team-web', '--chart', v2, '--batch', '1', '--pause-on-failure', '--timeout', '30s']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/FAILED team-web\/a: not Ready within 30s: timed out waiting for the condition; see 'kubectl -n team-web describe deployment a-gitspace'/);
    expect(upgraded()).toEqual(['a']);
  });

  it('without --pause-on-failure every wave runs and the end says how many failed', async () => {
    set({ 'list.json': JSON.stringify(['a', 'b', 'c'].map((n) => rel(n))), 'fail-a': '' });
    const r = await cli(['rollout', '--selector', 'team=web', '-n', 'team-web', '--chart', v2, '--batch', '1']);
    expect(r.exitCode).toBe(1);
    expect(upgraded()).toEqual(['a', 'b', 'c']);
    expect(r.stderr.trim()).toBe('gitspace-chart: rollout done with 1 of 3 failed (above)');
  });

  it('running it again resumes: releases already on the target chart are skipped; other charts\' releases are not touched', async () => {
    set({ 'list.json': JSON.stringify([rel('a', 'team-web', 'gitspace-0.2.0'), rel('b'), { ...rel('db'), chart: 'postgresql-15.0.0' }]) });
    const r = await cli(['rollout', '--selector', 'team=web', '-A', '--chart', v2]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('rollout of gitspace-0.2.0: 1 of 2 releases (team=web), 1 already on it, 1 wave of 20, 8 at once');
    expect(upgraded()).toEqual(['b']);
    expect(calls()[0]).toContain('--all-namespaces');
  });

  it('--set alone rolls values (an image tag) out on the bundled chart; --dry-run prints the waves only', async () => {
    set({ 'list.json': JSON.stringify(['a', 'b', 'c'].map((n) => rel(n))) });
    const r = await cli(['rollout', '--selector', 'team=web', '-n', 'team-web', '--set', 'image.tag=1.2.3', '--batch', '2', '--dry-run']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/with image\.tag=1\.2\.3: 3 of 3 releases \(team=web\), 2 waves of 2/);
    expect(r.stdout).toMatch(/^wave 1\/2: team-web\/a team-web\/b\nwave 2\/2: team-web\/c$/m);
    expect(upgraded()).toEqual([]);
  });

  it('one clear error, nothing upgraded: no target, a bad selector or batch, no release, a release mid-operation', async () => {
    set({ 'list.json': JSON.stringify([rel('a'), { ...rel('b'), status: 'pending-upgrade' }]) });
    const cases: [string[], RegExp][] = [
      [['--selector', 'team=web'], /nothing to roll out; give --chart/],
      [['--selector', 'team=web;rm', '--chart', v2], /--selector: "team=web;rm" is not a label selector/],
      [['--selector', 'team=web', '--chart', v2, '--batch', '0'], /--batch: "0" is not a whole number of at least 1/],
      [['--selector', 'team=web', '--chart', v2, '-A', '-n', 'x'], /--all-namespaces and --namespace: give one of them/],
      [['--selector', 'team=web', '--chart', v2, '--history-max', 'x'], /--history-max: "x" is not a whole number/],
      [['--selector', 'team=web', '--chart', v2], /team-web\/b \(pending-upgrade\): a helm operation is running or was cut off/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(['rollout', ...args]);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
    set({ 'list.json': '[]' });
    const none = await cli(['rollout', '--selector', 'team=ops', '--chart', v2, '-n', 'dev']);
    expect(none.stderr.trim()).toBe('gitspace-chart: --selector: no gitspace release carries the labels "team=ops" in namespace dev');
    expect(upgraded()).toEqual([]);
  });
});

describe('install-shared', () => {
  it('helm upgrade --install of charts/gitspace-scripts as gitspace-scripts-<version>, keeping 2 revisions', async () => {
    const r = await cli(['install-shared', '-n', 'team-web']);
    expect(r.exitCode).toBe(0);
    expect(calls()).toEqual([
      ['helm', 'upgrade', '--install', 'gitspace-scripts-0-1-0', join(repoRoot, 'charts/gitspace-scripts'), '--namespace', 'team-web', '--history-max', '2'],
    ]);
    expect(r.stdout).toBe('installed the shared scripts 0.1.0 (ConfigMap gitspace-scripts-0.1.0, release gitspace-scripts-0-1-0) in namespace team-web');
  });
});

describe('the shared scripts chart and the gitspace chart', () => {
  const chartYaml = (c: string) => parse(readFileSync(join(repoRoot, 'charts', c, 'Chart.yaml'), 'utf8')) as { version: string };
  const scripts = join(repoRoot, 'charts/gitspace/files/scripts');
  const files = (readdirSync(scripts, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(scripts, join(e.parentPath, e.name)))
    .sort();

  it('have the same version (the gitspace chart mounts gitspace-scripts-<its version>), as has the features build', () => {
    expect(chartYaml('gitspace-scripts').version).toBe(chartYaml('gitspace').version);
    expect(chartYaml('gitspace-features').version).toBe(chartYaml('gitspace').version);
  });

  it('the shared ConfigMap holds every script, keyed as the gitspace volume maps them back', async () => {
    const out = await execa('helm', ['template', 'shared', join(repoRoot, 'charts/gitspace-scripts'), '-n', 'team-web'], { env: toolEnv() });
    const cm = parseAllDocuments(out.stdout).map((d) => d.toJS()).find((d) => d?.kind === 'ConfigMap');
    expect(cm.metadata.name).toBe(`gitspace-scripts-${chartYaml('gitspace').version}`);
    expect(cm.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    expect(Object.keys(cm.data).sort()).toEqual(files.map((f) => f.replaceAll('/', '__')).sort());
    expect(cm.data['git__git-credential-gitspace.sh']).toBe(readFileSync(join(scripts, 'git/git-credential-gitspace.sh'), 'utf8'));
    const dep = await execa('helm', ['template', 'ws', join(repoRoot, 'charts/gitspace'), '--set', 'repo.url=https://git.example.com/a.git', '--show-only', 'templates/deployment.yaml'], { env: toolEnv() });
    const vol = (parse(dep.stdout) as any).spec.template.spec.volumes.find((v: any) => v.name === 'scripts');
    expect(vol.configMap.items.map((i: any) => i.path)).toEqual(files);
  });
});

describe('the slim package (scripts/slim-chart.mjs)', () => {
  it('renders the same objects as the source chart for every ci values file, and is smaller', async () => {
    const slim = join(root, 'slim');
    await execa(process.execPath, [join(repoRoot, 'scripts/slim-chart.mjs'), join(repoRoot, 'charts/gitspace'), slim]);
    const ci = join(repoRoot, 'charts/gitspace/ci');
    const size = (d: string) => execa('du', ['-sb', '--exclude=tests', '--exclude=ci', '--exclude=files', d]).then((r) => Number(r.stdout.split('\t')[0]));
    expect(await size(slim)).toBeLessThan((await size(join(repoRoot, 'charts/gitspace'))) * 0.85);
    // The README keeps its prose; its values table gives way to values.yaml, where every key is.
    const readme = readFileSync(join(slim, 'README.md'), 'utf8');
    expect(readme).toContain('## Install');
    expect(readme).toContain('the comments of `values.yaml` in this package');
    expect(readme).not.toContain('| key | type | default | description |');
    const values = readFileSync(join(slim, 'values.yaml'), 'utf8');
    const table = readFileSync(join(repoRoot, 'charts/gitspace/README.md'), 'utf8').split('\n## Values\n')[1];
    expect(table).toContain('| `running` |');
    for (const m of table.matchAll(/^\| `([A-Za-z]+)[.`]/gm)) expect(values, m[1]).toMatch(new RegExp(`^${m[1]}:`, 'm'));
    for (const f of readdirSync(ci)) {
      const render = async (chart: string) =>
        parseAllDocuments(
          (await execa('helm', ['template', 'ws', chart, '-f', join(ci, f), '--set', 'repo.url=https://git.example.com/a.git'], { env: toolEnv() })).stdout,
        ).map((d) => d.toJS());
      expect(await render(slim), f).toEqual(await render(join(repoRoot, 'charts/gitspace')));
    }
  });
});
