// The fleet bench (docs/benchmarks.md, "A fleet of gitspaces"; docs/fleet.md): what N gitspaces
// cost the API server and etcd, and a staged rollout over them.
//
//   tsx bench/fleet.ts [--n N] [--smoke] [--parallel P] [--out FILE]     (npm run bench -- fleet)
//
// N stopped gitspaces (running=false: no pod; the claim stays unbound under WaitForFirstConsumer,
// so no helm --wait) over 4 teams, each team a namespace fleet-<run>-<team> with its override file
// and its shared scripts (charts/gitspace-scripts, installed once per namespace), from the chart
// package as a platform installs it (scripts/slim-chart.mjs + helm package). Measures, from etcd
// itself (its v3 JSON gateway on 127.0.0.1:2379, the test cluster's): every object's stored
// bytes, per gitspace and per namespace; etcd's DB size (total and in use) before and after; the
// RSS of etcd and kube-apiserver (their pid files in the cluster's run dir); helm install time.
// Then a version 0.1.1 of both charts (the same files, another version) and
// `gitspace-chart rollout --batch 20 --pause-on-failure`: first --selector team=web, then the
// whole fleet (the web releases are skipped: already on 0.1.1). Merges the key `fleet` into FILE.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { progress, run } from '../test/parity/exec.ts';
import { repoRoot } from '../test/parity/values.ts';
import { mergeResults } from './results.ts';

const ETCD = process.env.GITSPACE_ETCD_URL ?? 'http://127.0.0.1:2379';
const cache = process.env.GITSPACE_CACHE ?? path.join(os.homedir(), '.cache/gitspace-chart');
const env = { KUBECONFIG: process.env.GITSPACE_KUBECONFIG ?? path.join(cache, 'cluster/kubeconfig'), PATH: `${path.join(cache, 'bin')}:${process.env.PATH ?? ''}` };
const helm = (args: string[], timeoutMs = 600_000) => run('helm', args, { env, timeoutMs });
const kubectl = (args: string[], allowFail = false) => run('kubectl', args, { env, allowFail, timeoutMs: 600_000 });

// The four teams' overrides of the render bench (bench/bench.ts), each in its namespace.
const TEAMS = [
  { name: 'web', values: 'ide: {type: vs_code_web}\nresources: {requests: {cpu: 500m, memory: 1Gi}}\n' },
  { name: 'infra', values: 'ide: {type: vs_code}\nssh: {authorizedKeysSecret: infra-keys}\nsecurity: {mode: restricted}\n' },
  { name: 'data', values: 'persistence: {size: 50Gi}\nuser: {remoteUser: dev, containerUser: dev, uid: 1001, gid: 1001}\n' },
  { name: 'ml', values: 'ide: {type: intellij}\nssh: {authorizedKeysSecret: ml-keys}\nnodeSelector: {gpu: "true"}\n' },
];

interface Options {
  n: number;
  smoke: boolean;
  parallel: number;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { n: 300, smoke: false, parallel: 4, out: path.join(repoRoot, 'bench/results.json') };
  let nGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--smoke') o.smoke = true;
    else if (a === '--n') (o.n = Number(argv[++i])), (nGiven = true);
    else if (a === '--parallel') o.parallel = Number(argv[++i]);
    else if (a === '--out') o.out = path.resolve(argv[++i] ?? '');
    else throw new Error(`unknown option ${a}; usage: npm run bench -- fleet [--n N] [--smoke] [--parallel P] [--out FILE]`);
  }
  if (o.smoke && !nGiven) o.n = 4;
  if (!Number.isInteger(o.n) || o.n < TEAMS.length) throw new Error(`--n: a whole number of at least ${TEAMS.length} (one per team)`);
  if (!Number.isInteger(o.parallel) || o.parallel < 1) throw new Error('--parallel: a whole number of at least 1');
  return o;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** etcd's v3 JSON gateway: keys (and values) from key up to range_end. */
async function etcdRange(key: string, rangeEnd: string, keysOnly: boolean): Promise<{ key: string; bytes: number }[]> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const res = await fetch(`${ETCD}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64(key), range_end: b64(rangeEnd), keys_only: keysOnly }) });
  if (!res.ok) throw new Error(`etcd ${ETCD}/v3/kv/range: HTTP ${res.status}`);
  const j = (await res.json()) as { kvs?: { key: string; value?: string }[] };
  return (j.kvs ?? []).map((kv) => ({ key: Buffer.from(kv.key, 'base64').toString(), bytes: kv.value ? Buffer.from(kv.value, 'base64').length : 0 }));
}

/** Every object stored under the namespaces, by key, with its stored (protobuf) bytes. */
async function storedObjects(namespaces: string[]): Promise<{ key: string; bytes: number }[]> {
  const keys = (await etcdRange('/registry/', '/registry0', true)).map((k) => k.key);
  const prefixes = new Set<string>();
  for (const k of keys) {
    for (const ns of namespaces) {
      const i = k.indexOf(`/${ns}/`);
      if (i > 0) prefixes.add(k.slice(0, i + ns.length + 2));
      if (k.endsWith(`/namespaces/${ns}`)) prefixes.add(k);
    }
  }
  const out: { key: string; bytes: number }[] = [];
  for (const p of prefixes) {
    const end = p.endsWith('/') ? `${p.slice(0, -1)}0` : `${p}\0`;
    out.push(...(await etcdRange(p, end, false)));
  }
  return out;
}

async function etcdDb(): Promise<{ totalBytes: number; inUseBytes: number; keys: number }> {
  const text = await (await fetch(`${ETCD}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { totalBytes: metric('etcd_mvcc_db_total_size_in_bytes'), inUseBytes: metric('etcd_mvcc_db_total_size_in_use_in_bytes'), keys: metric('etcd_debugging_mvcc_keys_total') };
}

async function rss(): Promise<{ etcdBytes: number; apiserverBytes: number }> {
  const of = async (daemon: string) => {
    // The pid file: "PID EXECUTABLE START-TIME" (test/cluster/lib/proc.sh).
    const pid = (await readFile(path.join(cache, 'cluster/run', `${daemon}.pid`), 'utf8')).trim().split(/\s+/)[0];
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+([0-9]+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
  };
  return { etcdBytes: await of('etcd'), apiserverBytes: await of('kube-apiserver') };
}

/** Runs f over items, at most n at once. */
async function pool<T>(items: T[], n: number, f: (t: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await f(items[i], i);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** Groups stored objects: the gitspaces' own, each namespace's shared ones, events. */
function classify(objs: { key: string; bytes: number }[]) {
  const shared = (k: string) =>
    /\/namespaces\/[^/]+$/.test(k) || /\/serviceaccounts\/[^/]+\/default$/.test(k) || /\/configmaps\/[^/]+\/(kube-root-ca\.crt|gitspace-scripts-[0-9.]+)$/.test(k) ||
    /\/secrets\/[^/]+\/sh\.helm\.release\.v1\.gitspace-scripts-/.test(k) || /\/secrets\/[^/]+\/(infra|ml)-keys$/.test(k);
  const events = objs.filter((o) => o.key.startsWith('/registry/events/'));
  const rest = objs.filter((o) => !o.key.startsWith('/registry/events/'));
  const sharedObjs = rest.filter((o) => shared(o.key));
  const own = rest.filter((o) => !shared(o.key));
  const releases = own.filter((o) => /\/secrets\/[^/]+\/sh\.helm\.release\.v1\./.test(o.key));
  const workload = own.filter((o) => !releases.includes(o));
  const byKind: Record<string, { count: number; bytes: number }> = {};
  for (const o of own) {
    const kind = o.key.split('/').slice(2, -2).join('/');
    byKind[kind] ??= { count: 0, bytes: 0 };
    byKind[kind].count++;
    byKind[kind].bytes += o.bytes;
  }
  const sum = (xs: { bytes: number }[]) => xs.reduce((a, b) => a + b.bytes, 0);
  return { own, shared: sharedObjs, events, releases, workload, byKind, sum };
}

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  const runId = randomBytes(3).toString('hex');
  const fleetLabel = `fleet-${runId}`;
  const namespaces = TEAMS.map((t) => `fleet-${runId}-${t.name}`);
  const work = await mkdtemp(path.join(os.tmpdir(), 'gitspace-fleet-'));
  progress(`fleet bench: ${o.n} stopped gitspaces in ${namespaces.join(', ')} (${o.parallel} helm installs at once)`);
  // Stopped half-way (Ctrl-C, kill): the namespaces go all the same.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const ns of namespaces) spawnSync('kubectl', ['delete', 'namespace', ns, '--ignore-not-found', '--wait=false'], { env: { ...process.env, ...env }, stdio: 'ignore' });
      process.exit(130);
    });
  }
  try {
    // The charts as a platform installs them: the packages, not the source directories.
    const charts = path.join(work, 'charts');
    await run('node', [path.join(repoRoot, 'scripts/slim-chart.mjs'), path.join(repoRoot, 'charts/gitspace'), path.join(work, 'v1/gitspace')]);
    await run('cp', ['-rL', path.join(repoRoot, 'charts/gitspace-scripts'), path.join(work, 'v1/gitspace-scripts')]);
    for (const v of ['0.1.1']) {
      await run('cp', ['-r', path.join(work, 'v1'), path.join(work, v)]);
      for (const c of ['gitspace', 'gitspace-scripts']) {
        const f = path.join(work, v, c, 'Chart.yaml');
        await writeFile(f, (await readFile(f, 'utf8')).replace(/^version: .*$/m, `version: ${v}`));
      }
    }
    for (const d of ['v1', '0.1.1']) for (const c of ['gitspace', 'gitspace-scripts']) await helm(['package', path.join(work, d, c), '--destination', charts]);
    const version = /^version: *(\S+)/m.exec(await readFile(path.join(repoRoot, 'charts/gitspace/Chart.yaml'), 'utf8'))?.[1] ?? '';
    const tgz = (c: string, v: string) => path.join(charts, `${c}-${v}.tgz`);
    for (const t of TEAMS) await writeFile(path.join(work, `team-${t.name}.yaml`), t.values);

    const db0 = await etcdDb();
    const rss0 = await rss();
    for (const ns of namespaces) {
      await kubectl(['create', 'namespace', ns]);
      await helm(['install', `gitspace-scripts-${version.replaceAll('.', '-')}`, tgz('gitspace-scripts', version), '-n', ns]);
    }
    const dbShared = await etcdDb();

    // 1: N helm installs, P at once.
    const installMs: number[] = [];
    const t0 = Date.now();
    let done = 0;
    await pool(
      Array.from({ length: o.n }, (_, i) => i),
      o.parallel,
      async (i) => {
        const t = TEAMS[i % TEAMS.length];
        const s = Date.now();
        await helm([
          'install', `gs-${i}`, tgz('gitspace', version), '-n', `fleet-${runId}-${t.name}`, '--labels', `team=${t.name},fleet=${fleetLabel}`,
          '-f', path.join(work, `team-${t.name}.yaml`), '--set', 'running=false', '--set', `repo.url=https://git.example.com/${t.name}/app-${i}.git`,
        ]);
        installMs.push(Date.now() - s);
        if (++done % 25 === 0 || done === o.n) progress(`  installed ${done}/${o.n} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      },
    );
    const installSeconds = (Date.now() - t0) / 1000;
    // The same gitspace from the source directory (a new user's `helm install charts/gitspace`).
    await helm(['install', 'gs-source', path.join(repoRoot, 'charts/gitspace'), '-n', namespaces[0], '--set', 'running=false', '--set', 'repo.url=https://git.example.com/web/source.git']);
    const fromSource = (await etcdRange(`/registry/secrets/${namespaces[0]}/sh.helm.release.v1.gs-source.v1`, `/registry/secrets/${namespaces[0]}/sh.helm.release.v1.gs-source.v1\0`, false))[0]?.bytes ?? NaN;
    await helm(['uninstall', 'gs-source', '-n', namespaces[0]]);
    await new Promise((r) => setTimeout(r, 3000)); // the controllers' objects (ReplicaSets, EndpointSlices) settle
    const db1 = await etcdDb();
    const rss1 = await rss();
    const c1 = classify((await storedObjects(namespaces)).filter((x) => !x.key.includes('gs-source')));
    const perRelease = c1.releases.map((r) => r.bytes);

    // 2: the staged rollout to 0.1.1: its shared scripts first, then team web, then the rest.
    for (const ns of namespaces) await helm(['install', 'gitspace-scripts-0-1-1', tgz('gitspace-scripts', '0.1.1'), '-n', ns]);
    const cli = path.join(repoRoot, 'bin/gitspace-chart.js');
    const rollout = async (selector: string) => {
      const s = Date.now();
      const r = await run(process.execPath, [cli, 'rollout', '--selector', selector, '-A', '--chart', tgz('gitspace', '0.1.1'), '--batch', '20', '--parallel', String(o.parallel), '--pause-on-failure'], {
        env,
        timeoutMs: 3_600_000,
      });
      for (const line of r.stdout.trim().split('\n')) progress(`  ${line}`);
      return { selector, seconds: round((Date.now() - s) / 1000), waves: (r.stdout.match(/^wave /gm) ?? []).length, output: r.stdout.trim().split('\n').slice(-1)[0] };
    };
    progress('rollout to 0.1.1: team web, then the whole fleet');
    const canary = await rollout(`team=web,fleet=${fleetLabel}`);
    const rest = await rollout(`fleet=${fleetLabel}`);
    const upgraded = o.n;
    const rolloutSeconds = round(canary.seconds + rest.seconds);
    await new Promise((r) => setTimeout(r, 3000));
    const db2 = await etcdDb();
    const rss2 = await rss();
    const c2 = classify(await storedObjects(namespaces));
    const v2 = c2.releases.filter((r) => /\.v2$/.test(r.key)).map((r) => r.bytes);

    const n = o.n;
    const releaseBytes = median(perRelease);
    const workloadPerGitspace = c1.sum(c1.workload) / n;
    const sharedPerNamespace = c1.sum(c1.shared) / namespaces.length;
    const objectsPerGitspace = c1.own.length / n;
    // The formula of docs/benchmarks.md: bytes = N × (W + R × S) + namespaces × shared.
    const extrapolate = (N: number, R: number, S: number, W: number, nsCount: number, sh: number) => N * (W + R * S) + nsCount * sh;
    const beforeS = 234_486; // the chart before issue 23, measured on this cluster (docs/benchmarks.md)
    const beforeW = 114_009 + workloadPerGitspace; // + the per-release scripts ConfigMap
    const teams10k = 100;
    const fleet = {
      command: `npm run bench -- fleet${o.smoke ? ' --smoke' : ''}${o.n !== 300 && !o.smoke ? ` --n ${o.n}` : ''}`,
      generatedAt: new Date().toISOString(),
      smoke: o.smoke,
      gitspaces: n,
      namespaces: namespaces.length,
      parallelHelm: o.parallel,
      etcdBytesPerGitspace: Math.round(releaseBytes),
      etcdBytesPerGitspaceMeaning: "stored bytes in etcd that each revision of a gitspace adds: its Helm release Secret (the chart package, rendered manifests, values); nothing else is copied per release",
      releaseSecretBytes: { median: releaseBytes, min: Math.min(...perRelease), max: Math.max(...perRelease), afterRollout: v2.length ? median(v2) : null, fromSourceDirectory: fromSource },
      workloadBytesPerGitspace: Math.round(workloadPerGitspace),
      totalBytesPerGitspace: Math.round(workloadPerGitspace + releaseBytes),
      sharedBytesPerNamespace: Math.round(sharedPerNamespace),
      objectsPerGitspace: round(objectsPerGitspace),
      objectsByKind: Object.fromEntries(Object.entries(c1.byKind).map(([k, v]) => [k, { perGitspace: round(v.count / n), bytesPerGitspace: Math.round(v.bytes / n) }])),
      objectsPerGitspaceAfterRollout: round(c2.own.length / n),
      totalBytesPerGitspaceAfterRollout: Math.round(c2.sum(c2.own) / n),
      eventBytesPerGitspace: Math.round(c1.sum(c1.events) / n),
      etcdDb: {
        before: db0,
        afterShared: dbShared,
        afterInstall: db1,
        afterRollout: db2,
        inUseDeltaPerGitspace: Math.round((db1.inUseBytes - dbShared.inUseBytes) / n),
        totalDeltaPerGitspace: Math.round((db1.totalBytes - dbShared.totalBytes) / n),
        note: 'the whole cluster: other users of the shared test cluster write beside the bench, and bbolt grows by pages and frees only on compaction/defrag',
      },
      memory: { before: rss0, afterInstall: rss1, afterRollout: rss2, apiserverDeltaPerGitspaceBytes: Math.round((rss1.apiserverBytes - rss0.apiserverBytes) / n), etcdDeltaPerGitspaceBytes: Math.round((rss1.etcdBytes - rss0.etcdBytes) / n) },
      install: { seconds: round(installSeconds), perGitspaceMs: Math.round((installSeconds / n) * 1000), medianLatencyMs: Math.round(median(installMs)) },
      rollout: { gitspaces: upgraded, seconds: rolloutSeconds, perGitspaceMs: Math.round((rolloutSeconds / upgraded) * 1000), batch: 20, canary, rest },
      extrapolation: {
        formula: 'bytes = N × (W + R × S) + T × shared, W = workload objects per gitspace, S = release Secret per revision, R = revisions kept, T = namespaces',
        gitspaces: 10_000,
        namespaces: teams10k,
        after: {
          historyMax3: extrapolate(10_000, 3, releaseBytes, workloadPerGitspace, teams10k, sharedPerNamespace),
          helmDefault10: extrapolate(10_000, 10, releaseBytes, workloadPerGitspace, teams10k, sharedPerNamespace),
        },
        before: { helmDefault10: extrapolate(10_000, 10, beforeS, beforeW, 0, 0), historyMax3: extrapolate(10_000, 3, beforeS, beforeW, 0, 0) },
        etcdDefaultQuotaBytes: 2 * 2 ** 30,
      },
      target: { target: '≤ 50,000 bytes of etcd per gitspace per revision', value: Math.round(releaseBytes), met: releaseBytes <= 50_000 },
    };
    mergeResults(o.out, { fleet });
    const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
    const gb = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
    process.stdout.write(
      [
        `## Fleet${o.smoke ? ' (smoke: tiny N; the numbers mean little)' : ''}: ${n} stopped gitspaces, ${namespaces.length} namespaces`,
        '',
        '| measure | value |',
        '|---|---|',
        `| API objects per gitspace (not counting Events) | ${fleet.objectsPerGitspace}: ${Object.entries(fleet.objectsByKind).map(([k, v]) => `${k} ${v.perGitspace} (${v.bytesPerGitspace} B)`).join(', ')} |`,
        `| etcd bytes per gitspace per revision (its release Secret, stored) | ${fleet.etcdBytesPerGitspace} (min ${fleet.releaseSecretBytes.min}, max ${fleet.releaseSecretBytes.max}; from the source directory: ${fromSource}) — ${fleet.target.target}: ${fleet.target.met ? 'met' : 'MISSED'} |`,
        `| etcd bytes per gitspace, its other objects | ${fleet.workloadBytesPerGitspace} |`,
        `| etcd bytes per gitspace, all at one revision | ${fleet.totalBytesPerGitspace}; after the rollout (2 revisions, 2 ReplicaSets): ${fleet.totalBytesPerGitspaceAfterRollout} |`,
        `| shared per namespace (scripts ConfigMap + its release, namespace, default objects) | ${fleet.sharedBytesPerNamespace} |`,
        `| etcd DB in use, before → after installs → after rollout | ${mb(db0.inUseBytes)} → ${mb(db1.inUseBytes)} → ${mb(db2.inUseBytes)} (${fleet.etcdDb.inUseDeltaPerGitspace} B per gitspace; total ${mb(db0.totalBytes)} → ${mb(db2.totalBytes)}) |`,
        `| RSS etcd, before → after installs → after rollout | ${mb(rss0.etcdBytes)} → ${mb(rss1.etcdBytes)} → ${mb(rss2.etcdBytes)} |`,
        `| RSS kube-apiserver, same | ${mb(rss0.apiserverBytes)} → ${mb(rss1.apiserverBytes)} → ${mb(rss2.apiserverBytes)} |`,
        `| helm install × ${n} (${o.parallel} at once) | ${fleet.install.seconds} s (${fleet.install.perGitspaceMs} ms per gitspace; one install ${fleet.install.medianLatencyMs} ms median) |`,
        `| rollout to 0.1.1: team web, then the rest (--batch 20 --pause-on-failure) | ${rolloutSeconds} s (${fleet.rollout.perGitspaceMs} ms per gitspace; ${canary.waves} + ${rest.waves} waves) |`,
        `| 10,000 gitspaces in ${teams10k} namespaces, 3 revisions (our CLI) / 10 (helm's default) | ${gb(fleet.extrapolation.after.historyMax3)} / ${gb(fleet.extrapolation.after.helmDefault10)}; before: ${gb(fleet.extrapolation.before.historyMax3)} / ${gb(fleet.extrapolation.before.helmDefault10)} (etcd's default quota: 2 GiB) |`,
        '',
        `results: ${path.relative(process.cwd(), o.out) || o.out} (key fleet)`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    progress(`fleet bench: deleting ${namespaces.join(', ')}`);
    for (const ns of namespaces) await kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false'], true).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
