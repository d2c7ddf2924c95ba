// gitspace-chart stop|start|reset|delete against a fake helm and kubectl on PATH: the argument
// vectors they get, what is printed, and the one-line errors. The real thing on a cluster:
// test/chart/operations.sh.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { bundledChart, nextGeneration } from '../../generator/src/operations.ts';
import { cliPath, fakeTool, repoRoot, tempDir } from './helpers.ts';

const root = tempDir('gitspace-ops-');
const bin = join(root, 'bin');
const state = join(root, 'state');
mkdirSync(bin);
mkdirSync(join(root, 'helm-only'));

// PATH holds nothing but the fakes (the machine's own kubectl is in /usr/bin).
const fake = (tool: string, body: string) => fakeTool(bin, tool, body);
fake(
  'helm',
  `case "$1 \${2:-}" in
  "version "*) echo v3.22.0 ;;
  "list "*) answer list.json ;;
  "get manifest") answer manifest.yaml ;;
  "get values") answer values.json ;;
  "upgrade "*|"uninstall "*)
    if [ -f "$FAKE_STATE/fail-$1" ]; then answer "fail-$1" >&2; exit 1; fi
    echo "Release has been upgraded. NOTES: lots of text" ;;
  *) echo "fake helm: unexpected $*" >&2; exit 2 ;;
esac`,
);
fake(
  'kubectl',
  `case "$1 \${2:-}" in
  "version "*) echo 'Client Version: v1.31.0' ;;
  "rollout status") echo 'deployment "ws-gitspace" successfully rolled out' ;;
  "get pods")
    # pods.N: the answer to the Nth call (a pod still terminating), then none.
    n=0; [ ! -f "$FAKE_STATE/pods.count" ] || n=$(<"$FAKE_STATE/pods.count"); n=$((n + 1)); echo "$n" >"$FAKE_STATE/pods.count"
    answer "pods.$n" ;;
  "get persistentvolumeclaims") answer pvcs.txt ;;
  "delete persistentvolumeclaim") echo "persistentvolumeclaim \\"$3\\" deleted" ;;
  *) echo "fake kubectl: unexpected $*" >&2; exit 2 ;;
esac`,
);

symlinkSync(join(bin, 'helm'), join(root, 'helm-only', 'helm'));

const manifest = (opts: { keep?: boolean; existingClaim?: string } = {}) =>
  [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ws-gitspace' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'gitspace', 'app.kubernetes.io/instance': 'ws', 'app.kubernetes.io/component': 'gitspace' } },
        template: { spec: { volumes: [{ name: 'home', persistentVolumeClaim: { claimName: opts.existingClaim ?? 'ws-gitspace' } }] } },
      },
    },
    ...(opts.existingClaim
      ? []
      : [
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'ws-gitspace', ...(opts.keep === false ? {} : { annotations: { 'helm.sh/resource-policy': 'keep' } }) },
          },
        ]),
  ]
    .map((d) => `---\n${stringify(d)}`)
    .join('');

const setState = (files: Record<string, string>) => {
  for (const [k, v] of Object.entries(files)) writeFileSync(join(state, k), v);
};
const release = (over: Record<string, string> = {}) =>
  JSON.stringify([{ name: 'ws', namespace: 'dev', revision: '1', status: 'deployed', chart: 'gitspace-0.1.0', app_version: '0.1.0', ...over }]);

beforeEach(() => {
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
  setState({ 'list.json': release(), 'manifest.yaml': manifest(), 'values.json': JSON.stringify({ running: true, reset: { generation: 0 } }) });
});

async function cli(args: string[], path = bin) {
  const r = await execa(process.execPath, [cliPath, ...args], { cwd: repoRoot, reject: false, env: { PATH: path, FAKE_STATE: state }, extendEnv: false, stripFinalNewline: false });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The calls the fakes saw, each as its argv (tool first). */
const calls = (): string[][] =>
  existsSync(join(state, 'calls'))
    ? readFileSync(join(state, 'calls'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\x1f'))
    : [];
/** The calls that change something or wait (not version checks and look-ups). */
const actions = () => calls().filter((c) => /^(upgrade|uninstall|rollout|delete)$/.test(c[1]) || (c[1] === 'get' && c[2] === 'pods'));

function expectOneLineError(r: { exitCode: number; stdout: string; stderr: string }, contains: RegExp) {
  expect(r.exitCode).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^gitspace-chart: /);
  expect(lines[0]).toMatch(contains);
}

const upgradeOf = (sets: string[], historyMax = '3') => [
  'helm', 'upgrade', 'ws', bundledChart, '--namespace', 'dev', '--reset-then-reuse-values', '--no-hooks', '--history-max', historyMax, ...sets.flatMap((s) => ['--set', s]),
];

describe('stop, start, reset', () => {
  it('stop: helm upgrade with running=false on the release\'s own values, looked up in its namespace', async () => {
    const r = await cli(['stop', 'ws', '-n', 'dev']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('stopped ws in namespace dev: deployment/ws-gitspace scaled to 0, PVC ws-gitspace (HOME) kept\n');
    expect(calls()).toContainEqual(['helm', 'list', '--all', '--output', 'json', '--filter', '^ws$', '--namespace', 'dev']);
    expect(actions()).toEqual([upgradeOf(['running=false'])]);
  });

  it('--history-max: the revisions helm keeps (3 by default, helm\'s own is 10); not a number: one error, nothing changed', async () => {
    const r = await cli(['stop', 'ws', '-n', 'dev', '--history-max', '0']);
    expect(r.exitCode).toBe(0);
    expect(actions()).toEqual([upgradeOf(['running=false'], '0')]);
    expectOneLineError(await cli(['start', 'ws', '-n', 'dev', '--history-max', 'ten']), /--history-max: "ten" is not a whole number/);
    expect(actions()).toEqual([upgradeOf(['running=false'], '0')]);
  });

  it('stop --wait: polls the gitspace pods (by the Deployment selector) until none is left', async () => {
    setState({ 'pods.1': 'pod/ws-gitspace-abc\n', 'pods.2': 'pod/ws-gitspace-abc\n' });
    const r = await cli(['stop', 'ws', '-n', 'dev', '--wait']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/no gitspace pod left\n$/);
    const polls = actions().filter((c) => c[1] === 'get');
    expect(polls).toHaveLength(3);
    expect(polls[0]).toEqual([
      'kubectl', 'get', 'pods', '--selector', 'app.kubernetes.io/name=gitspace,app.kubernetes.io/instance=ws,app.kubernetes.io/component=gitspace', '--output', 'name', '--namespace', 'dev',
    ]);
  });

  it('stop --wait gives up after --timeout, naming the pod', async () => {
    for (let i = 1; i < 10; i++) setState({ [`pods.${i}`]: 'pod/ws-gitspace-abc\n' });
    const r = await cli(['stop', 'ws', '-n', 'dev', '--wait', '--timeout', '2s']);
    expectOneLineError(r, /--wait: pod\/ws-gitspace-abc still there after 2s/);
  });

  it('start --wait --kubeconfig: running=true, then kubectl rollout status with the same kubeconfig', async () => {
    const kc = join(root, 'kube config $(touch pwned); x');
    writeFileSync(kc, 'apiVersion: v1\n');
    const r = await cli(['start', 'ws', '-n', 'dev', '--wait', '--kubeconfig', kc, '--timeout', '90s']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^started ws in namespace dev: .*\nthe gitspace is Ready\n$/);
    expect(actions()).toEqual([
      ['helm', 'upgrade', 'ws', bundledChart, '--namespace', 'dev', '--kubeconfig', kc, '--reset-then-reuse-values', '--no-hooks', '--history-max', '3', '--set', 'running=true'],
      ['kubectl', 'rollout', 'status', 'deployment/ws-gitspace', '--timeout=90s', '--namespace', 'dev', '--kubeconfig', kc],
    ]);
    // The path reached helm as one argument and no shell ran it.
    expect(existsSync(join(repoRoot, 'pwned'))).toBe(false);
  });

  it('reset: reset.generation = the Unix time (never a value used before) and running=true', async () => {
    setState({ 'values.json': JSON.stringify({ running: false, reset: { generation: 2 } }) });
    const before = Math.floor(Date.now() / 1000);
    const r = await cli(['reset', 'ws', '-n', 'dev']);
    expect(r.exitCode).toBe(0);
    const gen = Number(/reset\.generation 2 -> ([0-9]+),/.exec(r.stdout)?.[1]);
    expect(gen).toBeGreaterThanOrEqual(before);
    expect(gen).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(r.stdout).toMatch(/^reset ws in namespace dev: reset\.generation 2 -> [0-9]+, a new pod runs postCreateCommand/);
    expect(calls()).toContainEqual(['helm', 'get', 'values', 'ws', '--all', '--output', 'json', '--namespace', 'dev']);
    expect(actions()).toEqual([upgradeOf([`reset.generation=${gen}`, 'running=true'])]);
  });

  it('next generation: the time, or the current one + 1 when that is later; strings and nothing: the time', () => {
    const now = 1_800_000_000;
    expect([0, 41, '7', '2026-01-31', undefined, -3].map((g) => nextGeneration(g, now))).toEqual([now, now, now, now, now, now]);
    expect([now, now + 5, String(now)].map((g) => nextGeneration(g, now))).toEqual([now + 1, now + 6, now + 1]);
  });

  it('--chart replaces the bundled chart (and is required when the release runs another chart version)', async () => {
    setState({ 'list.json': release({ chart: 'gitspace-0.0.9' }) });
    expectOneLineError(await cli(['stop', 'ws', '-n', 'dev']), /--chart: release "ws" runs chart gitspace-0\.0\.9 and this gitspace-chart ships gitspace-0\.1\.0/);
    expect(actions()).toEqual([]);
    const r = await cli(['stop', 'ws', '-n', 'dev', '--chart', 'repo/gitspace']);
    expect(r.exitCode).toBe(0);
    expect(actions()[0].slice(0, 4)).toEqual(['helm', 'upgrade', 'ws', 'repo/gitspace']);
  });

  it('without -n: the namespace helm found the release in is used for the upgrade and kubectl', async () => {
    const r = await cli(['start', 'ws', '--wait']);
    expect(r.exitCode).toBe(0);
    expect(calls()).toContainEqual(['helm', 'list', '--all', '--output', 'json', '--filter', '^ws$']);
    expect(actions().map((c) => c.slice(c.indexOf('--namespace'), c.indexOf('--namespace') + 2))).toEqual([
      ['--namespace', 'dev'],
      ['--namespace', 'dev'],
    ]);
  });
});

describe('delete', () => {
  it('helm uninstall; the PVC is kept (resource-policy keep) and named, kubectl not needed', async () => {
    const helmOnly = join(root, 'helm-only');
    const r = await cli(['delete', 'ws', '-n', 'dev'], helmOnly);
    expect(r.exitCode).toBe(0);
    expect(actions()).toEqual([['helm', 'uninstall', 'ws', '--namespace', 'dev']]);
    expect(r.stdout).toBe(
      "deleted ws in namespace dev (helm uninstall)\nkept PVC ws-gitspace (HOME; helm.sh/resource-policy: keep): installing ws again mounts it again; 'gitspace-chart delete ws -n dev --delete-volume' deletes it\n",
    );
  });

  it('keepOnUninstall false: says helm deleted the PVC', async () => {
    setState({ 'manifest.yaml': manifest({ keep: false }) });
    const r = await cli(['delete', 'ws', '-n', 'dev']);
    expect(r.stdout).toMatch(/PVC ws-gitspace deleted by helm uninstall \(persistence\.keepOnUninstall: false\)\n$/);
  });

  it('--delete-volume --wait: helm uninstall --wait, no pod left, then the PVC named in the Deployment is deleted and named', async () => {
    setState({ 'pods.1': 'pod/ws-gitspace-abc\n' });
    const r = await cli(['delete', 'ws', '-n', 'dev', '--delete-volume', '--wait', '--timeout', '1m']);
    expect(r.exitCode).toBe(0);
    expect(actions()).toEqual([
      ['helm', 'uninstall', 'ws', '--namespace', 'dev', '--wait', '--timeout=60s'],
      ['kubectl', 'get', 'pods', '--selector', 'app.kubernetes.io/name=gitspace,app.kubernetes.io/instance=ws,app.kubernetes.io/component=gitspace', '--output', 'name', '--namespace', 'dev'],
      ['kubectl', 'get', 'pods', '--selector', 'app.kubernetes.io/name=gitspace,app.kubernetes.io/instance=ws,app.kubernetes.io/component=gitspace', '--output', 'name', '--namespace', 'dev'],
      ['kubectl', 'delete', 'persistentvolumeclaim', 'ws-gitspace', '--ignore-not-found', '--wait=true', '--timeout=60s', '--namespace', 'dev'],
    ]);
    expect(r.stdout).toMatch(/\nno gitspace pod left\ndeleted PVC ws-gitspace \(HOME\): its data is gone\n$/);
  });

  it('existingClaim: kept and said to be the user\'s; --delete-volume deletes that claim', async () => {
    setState({ 'manifest.yaml': manifest({ existingClaim: 'old-ws' }) });
    expect((await cli(['delete', 'ws', '-n', 'dev'])).stdout).toMatch(/kept PVC old-ws \(HOME; persistence\.existingClaim/);
    const r = await cli(['delete', 'ws', '-n', 'dev', '--delete-volume']);
    expect(actions().at(-1)).toEqual(['kubectl', 'delete', 'persistentvolumeclaim', 'old-ws', '--ignore-not-found', '--wait=false', '--namespace', 'dev']);
    expect(r.stdout).toMatch(/deleted PVC old-ws \(persistence\.existingClaim\) \(HOME\)/);
  });

  it('--delete-volume after a plain delete: finds the kept PVC by the release label and deletes it', async () => {
    setState({ 'list.json': '[]', 'pvcs.txt': 'persistentvolumeclaim/ws-gitspace\n' });
    const r = await cli(['delete', 'ws', '-n', 'dev', '--delete-volume']);
    expect(r.exitCode).toBe(0);
    expect(calls()).toContainEqual([
      'kubectl', 'get', 'persistentvolumeclaims', '--selector', 'app.kubernetes.io/instance=ws,app.kubernetes.io/component=gitspace', '--output', 'name', '--namespace', 'dev',
    ]);
    expect(actions()).toEqual([['kubectl', 'delete', 'persistentvolumeclaim', 'ws-gitspace', '--ignore-not-found', '--wait=false', '--namespace', 'dev']]);
    expect(r.stdout).toBe('deleted PVC ws-gitspace (HOME of the uninstalled release ws): its data is gone\n');
  });

  it('--delete-volume with neither release nor PVC: one error, nothing deleted', async () => {
    setState({ 'list.json': '[]' });
    expectOneLineError(await cli(['delete', 'ws', '-n', 'dev', '--delete-volume']), /no release "ws" and no PVC of it .* in namespace "dev": nothing to delete/);
    expect(actions()).toEqual([]);
  });
});

describe('bad input: one line naming the field and the fix, nothing changed', () => {
  it('a release that does not exist', async () => {
    setState({ 'list.json': '[]' });
    for (const op of ['stop', 'start', 'reset', 'delete']) {
      expectOneLineError(await cli([op, "nope", '-n', 'dev']), /^gitspace-chart: RELEASE: no release "nope" in namespace "dev"; 'helm list -A' lists every release$/);
    }
    expect(actions()).toEqual([]);
  });

  it('helm not on PATH', async () => {
    expectOneLineError(await cli(['stop', 'ws'], join(root, 'empty')), /^gitspace-chart: helm is not on PATH: install helm 3\.14 or newer/);
  });

  it('kubectl not on PATH when --wait needs it: before anything changed', async () => {
    expectOneLineError(await cli(['start', 'ws', '--wait'], join(root, 'helm-only')), /kubectl is not on PATH/);
    expect(actions()).toEqual([]);
  });

  it('names that are not release or namespace names, a bad --timeout, a missing --kubeconfig', async () => {
    expectOneLineError(await cli(['stop', 'My_Space']), /RELEASE: "My_Space" is not a helm release name/);
    expectOneLineError(await cli(['stop', 'ws', '-n', 'a;b']), /--namespace: "a;b" is not a namespace name/);
    expectOneLineError(await cli(['stop', 'ws', '--timeout', 'soon']), /--timeout: "soon" is not a duration like 90s, 10m or 1h/);
    expectOneLineError(await cli(['stop', 'ws', '--kubeconfig', '/nonexistent/kc']), /--kubeconfig: "\/nonexistent\/kc" does not exist/);
    expect(calls()).toEqual([]);
  });

  it('another chart\'s release, a release with an operation pending', async () => {
    setState({ 'list.json': release({ chart: 'nginx-1.0.0' }) });
    expectOneLineError(await cli(['stop', 'ws', '-n', 'dev']), /RELEASE: "ws" is a release of chart "nginx-1\.0\.0", not of the gitspace chart/);
    setState({ 'list.json': release({ status: 'pending-upgrade' }) });
    expectOneLineError(await cli(['reset', 'ws', '-n', 'dev']), /RELEASE: "ws" is pending-upgrade .*'helm rollback ws -n dev'/);
    expect(actions()).toEqual([]);
  });

  it("a failing helm upgrade: helm's error on one line", async () => {
    setState({ 'fail-upgrade': 'Error: UPGRADE FAILED: values don\'t meet the specifications of the schema(s)\n- at \'/user\': bad\n' });
    expectOneLineError(await cli(['stop', 'ws', '-n', 'dev']), /^gitspace-chart: helm upgrade ws failed: UPGRADE FAILED: values don't meet/);
  });
});
