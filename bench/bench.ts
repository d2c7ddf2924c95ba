// The benchmarks (docs/benchmarks.md): every figure measured side by side in
// one run, Docker against Kubernetes on the same machine, through the parity
// suite's runtimes (test/parity), so both sides start the same gitspace from
// the same values file and the same git server.
//
//   tsx bench/bench.ts [--smoke] [--reps N] [--out FILE]
//   tsx bench/cli.ts [--runs N] [--smoke]      (the CLI's start-up alone: npm run bench -- cli)
//
// --smoke: tiny sizes and one repetition, to prove the bench runs (CI); the
// numbers it prints mean nothing. Prints a table on stdout and writes FILE
// (default bench/results.json).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DockerRuntime } from '../test/parity/docker.ts';
import { progress, run, waitFor } from '../test/parity/exec.ts';
import { createRepo, interfaceAddress, startGitServer, type GitServer } from '../test/parity/gitserver.ts';
import { homeOf, idePortFor } from '../generator/src/model.ts';
import { KubernetesRuntime, kubectl, type KubernetesGitspace } from '../test/parity/kubernetes.ts';
import { cliBench, cliRows, type CliResults } from './cli.ts';
import { mergeResults } from './results.ts';
import { startFloor } from './floor.ts';
import { chartReadinessProbe } from '../test/parity/chart.ts';
import type { CaseInput, Gitspace, Runtime } from '../test/parity/runtime.ts';
import { loadValues, repoRoot } from '../test/parity/values.ts';

interface Options {
  smoke: boolean;
  reps: number;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { smoke: false, reps: 3, out: path.join(repoRoot, 'bench/results.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--smoke') o.smoke = true;
    else if (a === '--reps') o.reps = Number(argv[++i]);
    else if (a === '--out') o.out = path.resolve(argv[++i] ?? '');
    else throw new Error(`unknown option ${a}; usage: bench.ts [--smoke] [--reps N] [--out FILE]`);
  }
  if (!Number.isInteger(o.reps) || o.reps < 1) throw new Error('--reps: a whole number of at least 1');
  if (o.smoke) o.reps = 1;
  return o;
}

interface Stat {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

function stat(samples: number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median: round(median), min: round(s[0]), max: round(s[s.length - 1]), samples: samples.map(round) };
}

const round = (n: number) => Math.round(n * 100) / 100;
const fmt = (s: Stat) => `${s.median.toFixed(2)} s (${s.min.toFixed(2)}–${s.max.toFixed(2)}, n=${s.samples.length})`;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const v = await fn();
  return [v, Number(process.hrtime.bigint() - t0) / 1e9];
}

/**
 * Waits until the test cluster's pv-recycler has wiped every Released PV (a deleted gitspace's
 * disk: mkfs of a 20 GiB image): a wipe running beside a timed step slowed it (the migration by
 * ~40 %), in the runtime that freed the disk or not.
 */
async function settle(): Promise<void> {
  await waitFor('the pv-recycler to wipe the Released PVs', 300_000, async () => {
    const pvs = JSON.parse((await kubectl(['get', 'pv', '-o', 'json'])).stdout) as { items: { status?: { phase?: string } }[] };
    return pvs.items.some((p) => p.status?.phase === 'Released') ? undefined : true;
  }, 500);
}

/** A shell script run in the gitspace as its user; data as positional parameters. */
async function sh(gs: Gitspace, script: string, args: string[] = []): Promise<string> {
  return (await gs.exec(['/bin/sh', '-c', script, 'sh', ...args], { timeoutMs: 1_200_000 })).stdout.trim();
}

/** N empty files under ~/bench-home/node_modules, 1000 to a folder, like a dependency tree; synced,
 * so the restarts that follow do not pay for the filling's writeback. */
const FILL = `set -e; d="$HOME/bench-home/node_modules"; rm -rf "$d"; mkdir -p "$d"; cd "$d"
i=0; while [ "$i" -lt "$1" ]; do mkdir "p$((i / 1000))"; i=$((i + 1000)); done
seq 0 $(($1 - 1)) | awk '{print "p" int($1 / 1000) "/f" $1 ".js"}' | xargs touch
sync
find "$HOME/bench-home" -type f | wc -l`;

/**
 * Where a start's time went, in seconds after t0 (what `since` names; this machine's clock): each
 * container's first and last log line (`kubectl logs --timestamps`, containerd's clock, the same
 * machine), the IDE's "is listening" line, and the Ready the runtime saw (t0 + readySeconds).
 * The pod's own status times have 1 s resolution; log lines have nanoseconds.
 */
async function podProfile(ns: string, pod: string, since: string, t0: number, readySeconds: number): Promise<string> {
  const r = await kubectl(['get', 'pod', '-n', ns, pod, '-o', 'json']);
  const p = JSON.parse(r.stdout) as { spec: { initContainers?: { name: string }[]; containers: { name: string }[] } };
  const at = (line: string) => (Date.parse(line.slice(0, line.indexOf(' '))) - t0) / 1000;
  const parts: string[] = [];
  for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers]) {
    const lines = (await kubectl(['logs', '-n', ns, pod, '-c', c.name, '--timestamps'], { allowFail: true })).stdout.split('\n').filter(Boolean);
    if (!lines.length) continue;
    const init = c.name !== p.spec.containers[0].name;
    if (init) parts.push(`${c.name} ${at(lines[0]).toFixed(2)}→${at(lines[lines.length - 1]).toFixed(2)} s`);
    else {
      parts.push(`${c.name} first line ${at(lines[0]).toFixed(2)} s`);
      const listening = lines.find((l) => / is listening on port /.test(l));
      if (listening) parts.push(`IDE listening ${at(listening).toFixed(2)} s`);
    }
  }
  parts.push(`Ready seen ${readySeconds.toFixed(2)} s`);
  return `seconds after ${since} (log line times): ${parts.join(', ')}`;
}

interface Results {
  machine: Record<string, unknown>;
  command: string;
  generatedAt: string;
  smoke: boolean;
  repetitions: number;
  coldStartSeconds: { docker: Stat; kubernetes: Stat };
  coldStartRatio: number;
  restartSeconds: { docker: Stat; kubernetes: Stat };
  restartRatio: number;
  kubernetesRestartProfile: string;
  /** The user's stop/start: `gitspace-chart stop --wait` + `start` (scale to 0 and back) against Docker's stop/start (its restart above). */
  stopStartSeconds: { docker: Stat; kubernetes: Stat };
  stopStartRatio: number;
  /** The gitspace container restarted in place by the kubelet (no init container) against `docker restart`. */
  inPlaceRestartSeconds: { docker: Stat; kubernetes: Stat };
  inPlaceRestartRatio: number;
  /** The same pod delete on a pod with nothing of ours (bench/floor.ts): no init container, or one that exits at once. */
  restartFloorSeconds: { noInit: Stat; oneInit: Stat };
  restartFloorRatio: { noInit: number; oneInit: number };
  kubernetesColdStartProfile: string;
  restartSecondsByHomeFiles: Record<string, number>;
  restartByHomeFiles: Record<string, { kubernetes: Stat; docker: Stat; chownRecursiveSeconds: number }>;
  homeFilesRestartRatio: number;
  migrationSeconds: number;
  migrationBytesWritten: number;
  migration: Record<string, unknown>;
  render: { gitspaces: number; seconds: number; perGitspaceMs: number };
  cli: CliResults;
  targets: Record<string, { target: string; value: number; met: boolean }>;
}

async function machine(): Promise<Record<string, unknown>> {
  const out = async (cmd: string, args: string[]) => (await run(cmd, args, { allowFail: true })).stdout.trim();
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    os: (await readFile('/etc/os-release', 'utf8').catch(() => '')).match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? '',
    docker: await out('docker', ['version', '-f', '{{.Server.Version}}']),
    kubernetes: await out('bash', ['-c', `KUBECONFIG=\${GITSPACE_KUBECONFIG:-$HOME/.cache/gitspace-chart/cluster/kubeconfig} kubectl version -o json 2>/dev/null | jq -r .serverVersion.gitVersion`]),
    rootDisk: await out('bash', ['-c', "df -h / | awk 'NR==2 {print $2 \" \" $1}'"]),
  };
}

/** helm template of N gitspaces, each with its team's overrides and its own repo. */
async function renderBench(n: number, dir: string): Promise<{ gitspaces: number; seconds: number; perGitspaceMs: number }> {
  const teams = [
    { name: 'web', values: 'ide: {type: vs_code_web}\nresources: {requests: {cpu: 500m, memory: 1Gi}}\n' },
    { name: 'infra', values: 'ide: {type: vs_code}\nssh: {authorizedKeysSecret: infra-keys}\nsecurity: {mode: restricted}\n' },
    { name: 'data', values: 'persistence: {size: 50Gi, storageClass: fast}\nuser: {remoteUser: dev, containerUser: dev, uid: 1001, gid: 1001}\n' },
    { name: 'ml', values: 'ide: {type: intellij}\nssh: {authorizedKeysSecret: ml-keys}\nnodeSelector: {gpu: "true"}\n' },
  ];
  for (const t of teams) await writeFile(path.join(dir, `team-${t.name}.yaml`), t.values);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = teams[i % teams.length];
    lines.push(`helm template gs-${i} "$CHART" -n team-${t.name} -f "$DIR/team-${t.name}.yaml" --set repo.url=https://git.example.com/${t.name}/app-${i}.git >/dev/null`);
  }
  await writeFile(path.join(dir, 'render.sh'), `set -e\n${lines.join('\n')}\n`);
  const [, s] = await timed(() =>
    run('bash', [path.join(dir, 'render.sh')], { env: { CHART: path.join(repoRoot, 'charts/gitspace'), DIR: dir }, timeoutMs: 1_800_000 }),
  );
  return { gitspaces: n, seconds: round(s), perGitspaceMs: Math.round((s / n) * 1000) };
}

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  // 0: the CLI's start-up (bench/cli.ts), before any gitspace runs on the host.
  const cli = cliBench(o.smoke ? 3 : 20, progress);
  progress(`  gitspace-chart --help: ${cli.helpMs.packed.medianMs} ms packed, ${cli.helpMs.tsx.medianMs} ms through tsx`);
  const homeSizes = o.smoke ? [100, 500, 1000] : [1000, 50000, 200000];
  const migrationFiles = o.smoke ? 1000 : 100000;
  const migrationFileBytes = o.smoke ? 4096 : 52429; // 100k files × 52429 B = 5.24 GB
  const renderCount = o.smoke ? 10 : 200;
  const work = await mkdtemp(path.join(os.tmpdir(), 'gitspace-bench-'));
  const git = { username: 'gitspace', password: `bench-${randomBytes(12).toString('hex')}` };
  const docker0 = await interfaceAddress('docker0');
  const cni0 = await interfaceAddress('cni0');
  if (!docker0) throw new Error('no docker0 address: is the Docker engine running? (source scripts/lib.sh; docker_up)');
  const server: GitServer = await startGitServer({
    root: path.join(work, 'git'),
    hosts: ['127.0.0.1', ...[docker0, cni0].filter((a): a is string => Boolean(a))],
    credentials: git,
  });
  const runId = randomBytes(4).toString('hex');
  const runtimes: Runtime[] = [new DockerRuntime(runId), new KubernetesRuntime()];
  let kept: { k8s?: Gitspace; docker?: Gitspace } = {};
  let floors: Partial<Record<'noInit' | 'oneInit', Gitspace>> = {};
  try {
    for (const rt of runtimes) await rt.prepare();
    // Outside the timed starts: the image is in the cluster already (scripts/bench.sh), this only
    // records it, but its check costs ~2 s that the first cold start would otherwise carry.
    await (runtimes[1] as KubernetesRuntime).loadImage('gitspace-chart/gitspace:0.1.0');
    // A fixed repository: 200 small files in 20 folders and a devcontainer.json naming the image.
    const files: Record<string, string> = { '.devcontainer/devcontainer.json': '{ "image": "gitspace-chart/gitspace:0.1.0", "remoteUser": "vscode" }\n' };
    for (let i = 0; i < 200; i++) files[`src/m${i % 20}/file${i}.ts`] = `export const v${i} = ${i};\n`.repeat(20);
    await createRepo(server.root, 'bench-app', files, { private: true });
    const devcontainer = path.join(work, 'devcontainer.json');
    await writeFile(devcontainer, files['.devcontainer/devcontainer.json']);

    /** A values file and case input per start (each start its own name: no leftovers in the way). */
    const input = async (name: string): Promise<CaseInput> => {
      const dir = path.join(work, name);
      await mkdir(dir, { recursive: true });
      const valuesFile = path.join(dir, 'values.yaml');
      await run('node', [
        path.join(repoRoot, 'bin/gitspace-chart.js'), 'values', '--image', 'gitspace-chart/gitspace:0.1.0', '--devcontainer', devcontainer,
        '--repo-url', server.url(docker0, 'bench-app'), '--release', name, '-o', valuesFile,
      ]);
      // The repository's devcontainer.json: what the Docker side (the reference runtime) reads.
      const dc = JSON.parse(files['.devcontainer/devcontainer.json']) as Record<string, unknown>;
      return { name, valuesFile, values: await loadValues(valuesFile), devcontainer: dc, git, workDir: dir };
    };

    // 2b, set up here: the restart floor, the same pod delete timed the same way on pods with
    // nothing of ours (bench/floor.ts: the image, the user, a volume at HOME, the chart's probes;
    // code-server started directly), restarted right after each Kubernetes restart so both see
    // the same machine. If the floor is over the target, no chart reaches it on this cluster.
    const floorInput = await input('bench-floor-values');
    const floorValues = floorInput.values;
    const floorProbe = await chartReadinessProbe(floorInput.valuesFile, floorValues);
    const floorUser = { remoteUser: floorValues.user?.remoteUser ?? 'vscode', uid: Number(floorValues.user?.uid ?? 1000), gid: Number(floorValues.user?.gid ?? 1000), home: floorValues.user?.home };
    const floor: Record<'noInit' | 'oneInit', number[]> = { noInit: [], oneInit: [] };
    for (const [key, initContainers] of [['noInit', 0], ['oneInit', 1]] as const) {
      progress(`restart floor: a bare pod, ${initContainers ? 'one init container that exits at once' : 'no init container'}, code-server alone: starting`);
      floors[key] = await startFloor({
        name: `bench-floor-${initContainers}`,
        image: 'gitspace-chart/gitspace:0.1.0',
        uid: floorUser.uid,
        gid: floorUser.gid,
        home: homeOf(floorUser),
        port: idePortFor(floorValues.ide?.type ?? 'vs_code_web', Number(floorValues.ide?.port ?? 0)),
        initContainers,
        readinessProbe: floorProbe,
      });
    }

    // 1 + 2: cold start and restart, alternating runtimes so both see the same machine state.
    const cold: Record<string, number[]> = { docker: [], kubernetes: [] };
    const restart: Record<string, number[]> = { docker: [], kubernetes: [] };
    const inPlace: Record<string, number[]> = { docker: [], kubernetes: [] };
    const stopStart: number[] = [];
    let profile = '';
    let coldProfile = '';
    for (let r = 0; r < o.reps; r++) {
      for (const rt of runtimes) {
        const name = `bench-${r}`;
        await settle();
        progress(`cold start ${r + 1}/${o.reps}: ${rt.name}`);
        const c0 = Date.now();
        const [gs, s] = await timed(async () => rt.start(await input(name)));
        cold[rt.name].push(s);
        progress(`  ${rt.name}: IDE answers after ${s.toFixed(2)} s`);
        if (rt.name === 'kubernetes' && r === o.reps - 1) {
          const k = gs as Gitspace & { ns: string; pod: string };
          coldProfile = await podProfile(k.ns, k.pod, 'the start began (values, helm install, pod)', c0, s);
          progress(`  kubernetes: last cold start, ${coldProfile}`);
        }
        let lastRestart = { t0: 0, seconds: 0 };
        for (let k = 0; k < o.reps; k++) {
          const t0 = Date.now();
          const [, rs] = await timed(() => gs.restart());
          lastRestart = { t0, seconds: rs };
          restart[rt.name].push(rs);
          progress(`  ${rt.name}: restart ${k + 1}/${o.reps} (${rt.capabilities.restart}): IDE answers after ${rs.toFixed(2)} s`);
          if (rt.name === 'kubernetes') {
            for (const key of ['noInit', 'oneInit'] as const) {
              const [, fs] = await timed(() => floors[key]!.restart());
              floor[key].push(fs);
              progress(`  restart floor (${key}): IDE answers after ${fs.toFixed(2)} s`);
            }
          }
        }
        // The profile of the last pod-delete restart, before 2c and 2d replace its container and pod.
        if (r === o.reps - 1 && rt.name === 'kubernetes') {
          const k = gs as Gitspace & { ns: string; pod: string };
          profile = await podProfile(k.ns, k.pod, 'the pod delete', lastRestart.t0, lastRestart.seconds);
          progress(`  kubernetes: last restart, ${profile}`);
        }
        // 2c: an in-place restart (the kubelet restarts the gitspace container; Docker: docker
        // restart), once per gitspace: the kubelet backs off a second one within 10 s.
        const [, ip] = await timed(() => (gs as Gitspace & { restartInPlace(): Promise<void> }).restartInPlace());
        inPlace[rt.name].push(ip);
        progress(`  ${rt.name}: in-place restart (${rt.name === 'kubernetes' ? 'kubelet restarts the gitspace container' : 'docker restart'}): IDE answers after ${ip.toFixed(2)} s`);
        // 2d: the user's stop/start. Docker's is its restart above (docker stop + docker start).
        if (rt.name === 'kubernetes') {
          const [, ss] = await timed(() => (gs as KubernetesGitspace).stopStart());
          stopStart.push(ss);
          progress(`  kubernetes: gitspace-chart stop --wait + start: IDE answers after ${ss.toFixed(2)} s`);
        }
        if (r === o.reps - 1) {
          if (rt.name === 'kubernetes') kept.k8s = gs;
          else kept.docker = gs;
        } else await gs.delete();
      }
    }

    for (const f of Object.values(floors)) await f.delete();
    floors = {};
    for (const key of ['noInit', 'oneInit'] as const) progress(`restart floor (${key}): ${fmt(stat(floor[key]))}`);

    // 3: restart vs HOME size, on both runtimes, with the seed's `chown -R` timed beside.
    const byHome: Results['restartByHomeFiles'] = {};
    for (const n of homeSizes) {
      await settle();
      const entry: Partial<Results['restartByHomeFiles'][string]> = {};
      for (const [name, gs] of [['docker', kept.docker], ['kubernetes', kept.k8s]] as const) {
        if (!gs) continue;
        progress(`HOME with ${n} files: ${name}: filling`);
        const count = await sh(gs, FILL, [String(n)]);
        if (Number(count) !== n) throw new Error(`${name}: ${count} files in ~/bench-home, expected ${n}`);
        const samples: number[] = [];
        for (let k = 0; k < o.reps; k++) {
          const [, s] = await timed(() => gs.restart());
          samples.push(s);
        }
        entry[name] = stat(samples);
        progress(`  ${name}: restart ${fmt(entry[name]!)}`);
        if (name === 'kubernetes') {
          // As the user, lost+found (root's) refuses; the walk over everything else is the cost.
          const [, c] = await timed(() => sh(gs, 'chown -R "$(id -u):$(id -g)" "$HOME" 2>/dev/null; true'));
          entry.chownRecursiveSeconds = round(c);
          progress(`  kubernetes: the seed's chown -R $HOME: ${c.toFixed(2)} s`);
        }
      }
      byHome[String(n)] = entry as Results['restartByHomeFiles'][string];
    }
    await kept.docker?.delete();
    await kept.k8s?.delete();
    kept = {};

    // 4: migration of a legacy volume (bench/migration.sh: a fresh loop disk each time, sectors
    // written), repeated like the rest: a single run swung from 1.5 to 2.5 s on this machine.
    await settle();
    const migRuns: Record<string, number | string>[] = [];
    for (let k = 0; k < o.reps; k++) {
      progress(`migration ${k + 1}/${o.reps}: ${migrationFiles} files of ${migrationFileBytes} bytes (legacy-nested)`);
      const m = JSON.parse(
        (await run('bash', [path.join(repoRoot, 'bench/migration.sh'), String(migrationFiles), String(migrationFileBytes)], { timeoutMs: 1_800_000 })).stdout,
      ) as Record<string, number | string>;
      migRuns.push(m);
      progress(`  migrated in ${Number(m.seconds).toFixed(2)} s, ${m.bytesWritten} bytes written`);
    }
    const migSeconds = stat(migRuns.map((m) => Number(m.seconds)));
    const migBytes = stat(migRuns.map((m) => Number(m.bytesWritten)));
    const mig = migRuns[migRuns.length - 1];

    // 5: rendering.
    progress(`helm template of ${renderCount} gitspaces (4 teams' overrides)`);
    const render = await renderBench(renderCount, work);
    progress(`  ${render.seconds} s, ${render.perGitspaceMs} ms per gitspace`);

    const coldD = stat(cold.docker);
    const coldK = stat(cold.kubernetes);
    const restD = stat(restart.docker);
    const restK = stat(restart.kubernetes);
    const ipD = stat(inPlace.docker);
    const ipK = stat(inPlace.kubernetes);
    const ssK = stat(stopStart);
    const floorNoInit = stat(floor.noInit);
    const floorOneInit = stat(floor.oneInit);
    const small = byHome[String(homeSizes[0])]?.kubernetes.median ?? NaN;
    const big = byHome[String(homeSizes[homeSizes.length - 1])]?.kubernetes.median ?? NaN;
    const results: Results = {
      machine: await machine(),
      command: `npm run bench${o.smoke ? ' -- --smoke' : o.reps !== 3 ? ` -- --reps ${o.reps}` : ''}`,
      generatedAt: new Date().toISOString(),
      smoke: o.smoke,
      repetitions: o.reps,
      coldStartSeconds: { docker: coldD, kubernetes: coldK },
      coldStartRatio: round(coldK.median / coldD.median),
      restartSeconds: { docker: restD, kubernetes: restK },
      restartRatio: round(restK.median / restD.median),
      kubernetesRestartProfile: profile,
      stopStartSeconds: { docker: restD, kubernetes: ssK },
      stopStartRatio: round(ssK.median / restD.median),
      inPlaceRestartSeconds: { docker: ipD, kubernetes: ipK },
      inPlaceRestartRatio: round(ipK.median / ipD.median),
      kubernetesColdStartProfile: coldProfile,
      restartFloorSeconds: { noInit: floorNoInit, oneInit: floorOneInit },
      restartFloorRatio: { noInit: round(floorNoInit.median / restD.median), oneInit: round(floorOneInit.median / restD.median) },
      restartSecondsByHomeFiles: Object.fromEntries(Object.entries(byHome).map(([n, e]) => [n, e.kubernetes.median])),
      restartByHomeFiles: byHome,
      homeFilesRestartRatio: round(big / small),
      migrationSeconds: migSeconds.median,
      migrationBytesWritten: migBytes.median,
      migration: { ...mig, secondsStat: migSeconds, bytesWrittenSamples: migBytes.samples },
      render,
      cli,
      targets: {},
    };
    results.targets = {
      coldStart: { target: '≤ 1.5× Docker', value: results.coldStartRatio, met: results.coldStartRatio <= 1.5 },
      restart: { target: '≤ 1.5× Docker', value: results.restartRatio, met: results.restartRatio <= 1.5 },
      homeSize: { target: `${homeSizes[homeSizes.length - 1]}-file HOME restart < 1.1× the ${homeSizes[0]}-file one`, value: results.homeFilesRestartRatio, met: results.homeFilesRestartRatio < 1.1 },
      migration: { target: '< 2 s', value: results.migrationSeconds, met: results.migrationSeconds < 2 },
      cliHelp: cli.target,
    };
    mergeResults(o.out, results as unknown as Record<string, unknown>);
    const t = results.targets;
    const mark = (m: boolean) => (m ? 'met' : 'MISSED');
    process.stdout.write(
      [
        `## Benchmarks${o.smoke ? ' (smoke: tiny sizes, one repetition; the numbers mean nothing)' : ''}`,
        '',
        `machine: ${JSON.stringify(results.machine)}`,
        '',
        '| measure | docker | kubernetes | ratio | target |',
        '|---|---|---|---|---|',
        `| cold start → IDE answers | ${fmt(coldD)} | ${fmt(coldK)} | ${results.coldStartRatio} | ${t.coldStart.target}: ${mark(t.coldStart.met)} |`,
        `| restart → IDE answers | ${fmt(restD)} | ${fmt(restK)} | ${results.restartRatio} | ${t.restart.target}: ${mark(t.restart.met)} |`,
        `| stop/start: \`gitspace-chart stop --wait\` + \`start\` vs Docker's stop + start | ${fmt(restD)} | ${fmt(ssK)} | ${results.stopStartRatio} | |`,
        `| in-place restart: the kubelet restarts the gitspace container vs \`docker restart\` | ${fmt(ipD)} | ${fmt(ipK)} | ${results.inPlaceRestartRatio} | |`,
        `| restart floor: a bare pod, no init container (bench/floor.ts) | ${fmt(restD)} | ${fmt(results.restartFloorSeconds.noInit)} | ${results.restartFloorRatio.noInit} | |`,
        `| restart floor: a bare pod + one init container that exits at once | ${fmt(restD)} | ${fmt(results.restartFloorSeconds.oneInit)} | ${results.restartFloorRatio.oneInit} | |`,
        ...Object.entries(byHome).map(
          ([n, e]) => `| restart, HOME + ${n} files (seed's \`chown -R\`: ${e.chownRecursiveSeconds} s) | ${fmt(e.docker)} | ${fmt(e.kubernetes)} | ${round(e.kubernetes.median / e.docker.median)} | |`,
        ),
        `| restart ${homeSizes[homeSizes.length - 1]} files / ${homeSizes[0]} files (Kubernetes) | | | ${results.homeFilesRestartRatio} | ${t.homeSize.target}: ${mark(t.homeSize.met)} |`,
        `| migration, ${migrationFiles} files, ${(Number(mig.bytes) / 1e9).toFixed(2)} GB | | ${fmt(migSeconds)}, ${(results.migrationBytesWritten / 1e6).toFixed(1)} MB written | | ${t.migration.target}: ${mark(t.migration.met)} |`,
        `| helm template × ${render.gitspaces} (4 teams) | | ${render.seconds} s (${render.perGitspaceMs} ms each) | | |`,
        '',
        '| CLI start-up (bench/cli.ts) | time | |',
        '|---|---|---|',
        ...cliRows(cli),
        '',
        `Kubernetes restart profile: ${profile}`,
        `Kubernetes cold start profile: ${coldProfile}`,
        `results: ${path.relative(process.cwd(), o.out) || o.out}`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await kept.docker?.delete().catch(() => undefined);
    await kept.k8s?.delete().catch(() => undefined);
    for (const f of Object.values(floors)) await f.delete().catch(() => undefined);
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
