// The parity suite: every case × every runtime × every check, one git server
// shared by all, cases run one after another, each case's containers,
// volumes and namespaces deleted after it. Prints a side-by-side Markdown
// table on stdout, writes parity-report.json, exits 1 on any failing row.
//
//   tsx test/parity/suite.ts [--case NAME…] [--runtime docker|kubernetes…] [--report FILE] [--keep] [--sequential] [--cases-dir DIR…]
//
// --cases-dir DIR: every folder of DIR is one more case (test/parity/cases-dir.ts, docs/parity.md).
// --case NAME selects among all cases, those of --cases-dir included (ext-<folder>).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import YAML from 'yaml';
import { repoNameOf, idePortFor } from '../../generator/src/model.ts';
import { CASES, IMAGE, type ParityCase } from './cases.ts';
import { loadCasesDir } from './cases-dir.ts';
import { chartHookFiles } from './chart.ts';
import { CHECKS, DOCS, PHASE_LABEL, type CheckContext, type ExpectedPlace, type Observation, type Phase } from './checks.ts';
import { DockerRuntime, StepError } from './docker.ts';
import { prepareFeatures, type PreparedFeatures } from './features.ts';
import { progress, run } from './exec.ts';
import { createRepo, interfaceAddress, startGitServer, type GitServer } from './gitserver.ts';
import { KubernetesRuntime } from './kubernetes.ts';
import { checkDocs, expectedFor, markdownTable, mergeRows, summarize, summaryLine, type Row } from './report.ts';
import type { CaseInput, Gitspace, Runtime, RuntimeName } from './runtime.ts';
import { buildNextImage, planUpgrade, upgradeObservations, writeUserEdits, type UpgradePlan } from './upgrade.ts';
import { ideProtocol, loadValues, repoRoot } from './values.ts';

interface Options {
  cases: string[];
  runtimes: RuntimeName[];
  report: string;
  keep: boolean;
  sequential: boolean;
  casesDirs: string[];
}

function parseOptions(argv: string[]): Options {
  const o: Options = { cases: [], runtimes: [], report: path.join(repoRoot, 'parity-report.json'), keep: false, sequential: false, casesDirs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--case') o.cases.push(next());
    else if (a === '--runtime') {
      const r = next();
      if (r !== 'docker' && r !== 'kubernetes') throw new Error(`--runtime: ${r} is not docker or kubernetes`);
      o.runtimes.push(r);
    } else if (a === '--report') o.report = path.resolve(next());
    else if (a === '--keep') o.keep = true;
    else if (a === '--sequential') o.sequential = true;
    else if (a === '--cases-dir') o.casesDirs.push(path.resolve(next()));
    else if (a === '--all') o.cases = [];
    else throw new Error(`unknown option ${a}; usage: suite.ts [--case NAME…] [--runtime docker|kubernetes…] [--report FILE] [--keep] [--sequential] [--cases-dir DIR…]`);
  }
  if (!o.runtimes.length) o.runtimes = ['docker', 'kubernetes'];
  return o;
}

/**
 * What the image has under HOME: its files (relative paths, not directories: what a new volume
 * must show) and the names directly in HOME (an empty directory too).
 */
async function imageHome(image: string, home: string): Promise<{ files: string[]; entries: string[] }> {
  const r = await run('docker', [
    'run', '--rm', '--user', '0', '--entrypoint', '/bin/sh', image, '-c',
    'cd "$1" 2>/dev/null || exit 0; find . -mindepth 1 ! -type d -printf "file %P\\n"; find . -mindepth 1 -maxdepth 1 -printf "entry %P\\n"', 'sh', home,
  ]);
  const lines = r.stdout.split('\n');
  const pick = (kind: string) => lines.filter((l) => l.startsWith(`${kind} `)).map((l) => l.slice(kind.length + 1)).sort();
  return { files: pick('file'), entries: pick('entry') };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A one-line summary of an error for a table cell (the full text goes to stderr). */
function oneLine(err: unknown): string {
  const lines = errorText(err).split('\n').map((l) => l.trim()).filter(Boolean);
  // The failing command's own last words say most (git's "fatal: …", helm's "Error: …").
  const head = lines[0]?.length > 90 ? `${lines[0].slice(0, 87)}...` : (lines[0] ?? '');
  const text = lines.length > 1 ? `${head} → ${lines.slice(-2).join(' / ')}` : head;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** The image's WORKDIR ('' when none) and ENTRYPOINT ([] when none). */
async function imageConfig(image: string): Promise<{ workdir: string; entrypoint: string[] }> {
  const cfg = JSON.parse((await run('docker', ['image', 'inspect', '-f', '{{json .Config}}', image])).stdout) as { WorkingDir?: string; Entrypoint?: string[] | null };
  return { workdir: cfg.WorkingDir ?? '', entrypoint: cfg.Entrypoint ?? [] };
}

/** The case's devcontainer.json as the repository has it (JSONC), {} when the repository has none. */
async function repoDevcontainer(kase: ParityCase, file: string): Promise<Record<string, unknown>> {
  if (kase.devcontainerInRepo === false) return {};
  const errors: ParseError[] = [];
  const dc = parseJsonc(await readFile(file, 'utf8'), errors, { allowTrailingComma: true }) as Record<string, unknown>;
  if (errors.length) throw new Error(`${file}: not valid JSONC (${errors.length} errors)`);
  return dc;
}

/** Each runtime's user, HOME and volume mount point: the case's expected user, Docker Gitspace's own where cases.ts says. */
export function placesOf(kase: ParityCase): Record<RuntimeName, ExpectedPlace> {
  const k = { ...kase.expected, volumeAt: kase.expected.home };
  const user = { ...kase.expected, ...kase.reference?.user };
  return { kubernetes: k, docker: { ...user, volumeAt: kase.reference?.volumeAt ?? user.home } };
}

/** The start row: "ok", or where the reference runtime's start fails (Docker Gitspace cannot start every case). */
function startObservation(kase: ParityCase, value: string): Observation {
  if (kase.reference?.startFailsAnywhere) {
    // Docker: any setup step's failure is what the case's author expects; the chart must start.
    const docker = value.startsWith('fails at ') ? value : 'fails at a setup step';
    return { check: 'start', value, expected: { docker, kubernetes: 'ok' }, deliberate: { doc: DOCS.users } };
  }
  const fails = kase.reference?.startFails;
  if (!fails) return { check: 'start', value, expected: 'ok' };
  return { check: 'start', value, expected: { docker: `fails at ${fails}`, kubernetes: 'ok' }, deliberate: { doc: DOCS.users } };
}

/**
 * A case Docker Gitspace cannot start, as cases.ts says: every row the chart
 * produced gets the failure as its Docker value, deliberate (the chart creates
 * the user); the chart's own expectations still hold on Kubernetes.
 */
function withReferenceFailure(kase: ParityCase, byRuntime: Partial<Record<RuntimeName, Observation[]>>): void {
  const fails = kase.reference?.startFails;
  const docker = byRuntime.docker;
  const k8s = byRuntime.kubernetes;
  if (!docker || !k8s || docker.length !== 1) return;
  if (kase.reference?.startFailsAnywhere ? !docker[0].value.startsWith('fails at ') : !fails || docker[0].value !== `fails at ${fails}`) return;
  const value = docker[0].value;
  const doc = { doc: DOCS.users };
  byRuntime.kubernetes = k8s.map((o) =>
    o.check === 'start' ? o : { ...o, expected: { docker: value, kubernetes: expectedFor(o, 'kubernetes') ?? o.value }, deliberate: doc },
  );
  byRuntime.docker = byRuntime.kubernetes.map((o) => (o.check === 'start' ? docker[0] : { ...o, value }));
}

/** Runs every check on one runtime's gitspace for one case; a check that throws is an ERROR row. */
async function runOnRuntime(
  rt: Runtime,
  kase: ParityCase,
  input: CaseInput,
  base: Omit<CheckContext, 'gs' | 'capabilities' | 'requestsFrom'>,
  server: GitServer,
  keep: boolean,
  upgrade?: UpgradePlan,
): Promise<Observation[]> {
  const observations: Observation[] = [];
  const t0 = Date.now();
  const requestsFrom = server.requests.length;
  progress(`  ${rt.name}: starting`);
  let gs;
  try {
    gs = await rt.start(input);
  } catch (err) {
    progress(`  ${rt.name}: start FAILED: ${errorText(err).split('\n')[0]}`);
    // A setup step of the reference runtime that fails is Docker Gitspace's failed start: its step and last words.
    if (err instanceof StepError) return [startObservation(kase, `fails at ${err.message}`)];
    process.stderr.write(`${errorText(err)}\n`);
    return [startObservation(kase, `ERROR: ${oneLine(err)}`)];
  }
  observations.push(startObservation(kase, 'ok'));
  progress(`  ${rt.name}: started in ${Math.round((Date.now() - t0) / 1000)}s`);
  const ctx: CheckContext = { ...base, gs, capabilities: rt.capabilities, requestsFrom };
  let broken = false;
  try {
    const phases: Phase[] = ['fresh', 'after-restart', 'after-recreate'];
    for (const phase of phases) {
      if (phase !== 'fresh') {
        const how = phase === 'after-restart' ? rt.capabilities.restart : rt.capabilities.recreate;
        progress(`  ${rt.name}: ${PHASE_LABEL[phase]}: ${how}`);
        try {
          await (phase === 'after-restart' ? gs.restart() : gs.recreate());
        } catch (err) {
          process.stderr.write(`${errorText(err)}\n${await gs.diagnostics().catch(() => '')}\n`);
          observations.push({ check: `${phase === 'after-restart' ? 'stop/start' : 'reset'}`, value: `ERROR: ${oneLine(err)}`, expected: 'ok' });
          broken = true;
          break;
        }
      }
      for (const check of CHECKS.filter((c) => c.phases.includes(phase))) {
        try {
          const obs = await check.run(ctx, phase);
          observations.push(...obs);
          const bad = obs.filter((o) => expectedFor(o, rt.name) !== undefined && o.value !== expectedFor(o, rt.name));
          progress(`  ${rt.name}: ${bad.length ? '✗' : '✓'} ${check.id} (${phase})${bad.map((o) => `\n      ${o.check}: ${o.value} (expected ${expectedFor(o, rt.name)})`).join('')}`);
        } catch (err) {
          observations.push({ check: `${check.id} (${phase})`, value: `ERROR: ${oneLine(err)}` });
          progress(`  ${rt.name}: ✗ ${check.id} (${phase}): ${errorText(err).split('\n')[0]}`);
        }
      }
    }
    // The upgrade scenario, after every other row: the user's edits, the next image, then each path.
    if (upgrade && !broken) observations.push(...(await runUpgrade(rt, gs, upgrade)));
  } finally {
    if (keep) progress(`  ${rt.name}: --keep: not deleting`);
    else await gs.delete();
  }
  return observations;
}

/** The upgrade scenario on one runtime (test/parity/upgrade.ts): an ERROR row when a step fails. */
async function runUpgrade(rt: Runtime, gs: Gitspace, plan: UpgradePlan): Promise<Observation[]> {
  const t0 = Date.now();
  progress(`  ${rt.name}: upgrade to ${plan.image}: ${rt.capabilities.upgrade}`);
  try {
    await writeUserEdits(gs, plan.spec);
    await gs.upgrade(plan.image);
  } catch (err) {
    process.stderr.write(`${errorText(err)}\n${await gs.diagnostics().catch(() => '')}\n`);
    progress(`  ${rt.name}: ✗ upgrade: ${errorText(err).split('\n')[0]}`);
    return [{ check: 'upgrade', value: `ERROR: ${oneLine(err)}`, expected: 'ok' }];
  }
  progress(`  ${rt.name}: upgraded in ${Math.round((Date.now() - t0) / 1000)}s`);
  try {
    const obs = await upgradeObservations(gs, plan);
    const bad = obs.filter((o) => expectedFor(o, rt.name) !== undefined && o.value !== expectedFor(o, rt.name));
    progress(`  ${rt.name}: ${bad.length ? '✗' : '✓'} upgrade${bad.map((o) => `\n      ${o.check}: ${o.value} (expected ${expectedFor(o, rt.name)})`).join('')}`);
    return obs;
  } catch (err) {
    progress(`  ${rt.name}: ✗ upgrade rows: ${errorText(err).split('\n')[0]}`);
    return [{ check: 'upgrade (after it)', value: `ERROR: ${oneLine(err)}` }];
  }
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  const known = [...CASES];
  for (const dir of opts.casesDirs) {
    for (const c of await loadCasesDir(dir)) {
      if (known.some((k) => k.name === c.name)) throw new Error(`--cases-dir ${dir}: case ${c.name} is already defined (two folders with the same name?)`);
      known.push(c);
    }
  }
  for (const c of opts.cases) if (!known.some((k) => k.name === c)) throw new Error(`--case: no case ${c}; cases: ${known.map((k) => k.name).join(', ')}`);
  // --cases-dir adds its cases to the suite's; --case picks among all of them.
  const cases = opts.cases.length ? known.filter((c) => opts.cases.includes(c.name)) : known;
  const runId = randomBytes(4).toString('hex');
  const work = await mkdtemp(path.join(os.tmpdir(), 'gitspace-parity-'));
  const git = { username: 'gitspace', password: `parity-${randomBytes(12).toString('hex')}` };

  // Loopback, plus the bridges our own processes made (docker0: dockerd, cni0: the test cluster).
  const docker0 = await interfaceAddress('docker0');
  const cni0 = await interfaceAddress('cni0');
  const hosts = ['127.0.0.1', ...[docker0, cni0].filter((a): a is string => Boolean(a))];
  // One URL in the one values file: the docker0 gateway is a host address pods reach too.
  const gitHost = process.env.GITSPACE_PARITY_GIT_HOST ?? docker0;
  if (!gitHost) throw new Error('no docker0 address: is the Docker engine running? (source scripts/lib.sh; docker_up)');
  const server = await startGitServer({ root: path.join(work, 'git'), hosts, credentials: git });
  progress(`git server on ${hosts.map((h) => `${h}:${server.port}`).join(', ')} (repos in ${server.root})`);
  await createRepo(server.root, 'parity-second', { 'README.md': '# second repository\n' }, { private: false });

  const all: Record<RuntimeName, () => Runtime> = { docker: () => new DockerRuntime(runId), kubernetes: () => new KubernetesRuntime() };
  const runtimes: Runtime[] = [];
  const unavailable = new Map<RuntimeName, string>();
  for (const name of opts.runtimes) {
    const rt = all[name]();
    progress(`${name}: preparing`);
    try {
      await rt.prepare();
      runtimes.push(rt);
    } catch (err) {
      unavailable.set(name, oneLine(err));
      progress(`${name}: UNAVAILABLE: ${errorText(err)}`);
    }
  }

  const rows: Row[] = [];
  const t0 = Date.now();
  try {
    for (const [i, kase] of cases.entries()) {
      progress(`case ${i + 1}/${cases.length} ${kase.name}: ${kase.about}`);
      let byRuntime: Partial<Record<RuntimeName, Observation[]>>;
      try {
        byRuntime = await runCase(kase, { work, git, server, gitHost, runtimes, unavailable, keep: opts.keep, sequential: opts.sequential });
      } catch (err) {
        // The case could not be set up (repo, values, image): a failure on every runtime.
        progress(`  case setup FAILED: ${errorText(err)}`);
        byRuntime = Object.fromEntries(opts.runtimes.map((rt) => [rt, [{ check: 'start', value: `ERROR: case setup: ${oneLine(err)}`, expected: 'ok' }]]));
      }
      withReferenceFailure(kase, byRuntime);
      rows.push(...checkDocs(mergeRows(kase.name, byRuntime, opts.runtimes)));
    }
  } finally {
    await server.close();
    if (!opts.keep) await rm(work, { recursive: true, force: true });
  }

  const failed = rows.filter((r) => !r.ok);
  const report = {
    generatedAt: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - t0) / 1000),
    runtimes: Object.fromEntries([...runtimes.map((r) => [r.name, r.capabilities]), ...[...unavailable].map(([n, why]) => [n, { unavailable: why }])]),
    cases: cases.map((c) => ({ name: c.name, about: c.about, image: c.image, expected: c.expected, reference: c.reference })),
    summary: summarize(rows),
    results: rows,
  };
  await writeFile(opts.report, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`## Docker / Kubernetes parity\n${markdownTable(rows)}\n`);
  process.stdout.write(`${summaryLine(rows)}; ${report.durationSeconds}s; report: ${path.relative(process.cwd(), opts.report) || opts.report}\n`);
  for (const r of failed) process.stdout.write(`FAIL ${r.case} / ${r.check}: docker=${JSON.stringify(r.docker)} kubernetes=${JSON.stringify(r.kubernetes)} (${r.problem})\n`);
  return failed.length || !rows.length ? 1 : 0;
}

interface Shared {
  work: string;
  git: { username: string; password: string };
  server: GitServer;
  gitHost: string;
  runtimes: Runtime[];
  unavailable: Map<RuntimeName, string>;
  keep: boolean;
  sequential: boolean;
}

async function runCase(kase: ParityCase, s: Shared): Promise<Partial<Record<RuntimeName, Observation[]>>> {
  const dir = path.join(s.work, kase.name);
  await mkdir(dir, { recursive: true });
  // The features case writes its devcontainer.json at run time (its tarball server's port is in it).
  const features = kase.features ? await prepareFeatures(dir, kase.name) : undefined;
  try {
    return await runCaseWith(kase, s, dir, features);
  } finally {
    features?.close();
  }
}

async function runCaseWith(kase: ParityCase, s: Shared, dir: string, features: PreparedFeatures | undefined): Promise<Partial<Record<RuntimeName, Observation[]>>> {
  const devcontainerFile = features?.devcontainerFile ?? kase.devcontainerFile ?? path.join(repoRoot, 'test/parity/cases', kase.name, 'devcontainer.json');
  const byRuntime: Partial<Record<RuntimeName, Observation[]>> = {};
  for (const [name, why] of s.unavailable) byRuntime[name] = [{ check: 'start', value: `ERROR: runtime unavailable: ${why}`, expected: 'ok' }];

  // The case's private repository carries the same devcontainer.json (Docker Gitspace reads the repo's).
  await createRepo(
    s.server.root,
    kase.name,
    {
      'README.md': `# ${kase.name}\n\n${kase.about}\n`,
      ...(kase.devcontainerInRepo === false ? {} : { '.devcontainer/devcontainer.json': await readFile(devcontainerFile, 'utf8') }),
      ...kase.repoFiles?.(),
      ...features?.repoFiles,
    },
    { private: true },
  );
  const repoHead = (await run('git', ['--git-dir', path.join(s.server.root, `${kase.name}.git`), 'rev-parse', 'HEAD'])).stdout.trim();
  const valuesFile = path.join(dir, 'values.yaml');
  try {
    await run('node', [
      path.join(repoRoot, 'bin/gitspace-chart.js'), 'values',
      '--image', kase.image, '--devcontainer', devcontainerFile,
      '--repo-url', s.server.url(s.gitHost, kase.name), '--release', kase.name, '-o', valuesFile,
      ...kase.generatorArgs,
      ...(features?.generatorArgs ?? []),
    ], { timeoutMs: 900_000 });
  } catch (err) {
    const v = `ERROR: gitspace-chart values failed: ${errorText(err).split('\n').slice(1).join(' ')}`;
    progress(`  ${v}`);
    for (const rt of s.runtimes) byRuntime[rt.name] = [{ check: 'start', value: v, expected: 'ok' }];
    return byRuntime;
  }
  if (kase.values) {
    // Settings the generator has no option for (the git identity): over its output, for both runtimes.
    const doc = YAML.parseDocument(await readFile(valuesFile, 'utf8'));
    for (const [k, v] of Object.entries(kase.values)) doc.set(k, v);
    await writeFile(valuesFile, doc.toString());
  }
  if (features) {
    // Pulled at every start: the pod's image comes from the registry, never from the node's cache.
    const doc = YAML.parseDocument(await readFile(valuesFile, 'utf8'));
    doc.setIn(['image', 'pullPolicy'], 'Always');
    await writeFile(valuesFile, doc.toString());
  }
  const values = await loadValues(valuesFile);
  const protocol = ideProtocol(values);
  let sshPublicKey: string | undefined;
  let sshKeyFile: string | undefined;
  if (protocol === 'ssh') {
    sshKeyFile = path.join(dir, 'id_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `parity-${kase.name}`, '-f', sshKeyFile]);
    sshPublicKey = await readFile(`${sshKeyFile}.pub`, 'utf8');
  }
  const input: CaseInput = { name: kase.name, valuesFile, values, devcontainer: await repoDevcontainer(kase, devcontainerFile), git: s.git, sshPublicKey, workDir: dir };
  const config = await imageConfig(kase.image);
  const home = await imageHome(kase.image, kase.expected.home);
  const base = {
    values,
    expected: kase.expected,
    place: placesOf(kase),
    repoName: repoNameOf(values.repo ?? {}),
    repoHead,
    secondRepoUrl: s.server.url(s.gitHost, 'parity-second'),
    git: s.git,
    gitServer: s.server,
    ide: { protocol, port: idePortFor(values.ide?.type ?? 'vs_code_web', values.ide?.port ?? 0), sshKeyFile },
    imageHomeFiles: home.files,
    imageHomeEntries: home.entries,
    imageWorkdir: config.workdir,
    imageEntrypoint: config.entrypoint,
    hooks: kase.hooks,
    hookFiles: await chartHookFiles(valuesFile, values),
    failingHook: kase.failingHook,
    devcontainerInRepo: kase.devcontainerInRepo !== false,
    imageSudo: kase.imageSudo ?? false,
    writablePaths: kase.writablePaths ?? [],
    labelOnly: kase.labelOnly ?? {},
    probeWritable: kase.probeWritable ?? false,
    features: kase.features,
  };
  // The upgrade scenario's next image and what both images hold at its paths, before either runtime starts.
  let upgrade: UpgradePlan | undefined;
  if (kase.upgrade) {
    const caseDir = path.dirname(devcontainerFile);
    const next = await buildNextImage(kase.name, caseDir, kase.upgrade, kase.image, IMAGE);
    const place = placesOf(kase);
    upgrade = await planUpgrade(
      kase.upgrade,
      kase.image,
      next,
      { volumeAt: { docker: place.docker.volumeAt, kubernetes: place.kubernetes.volumeAt }, home: kase.expected.home, persisted: values.persistence?.paths ?? [] },
      DOCS.upgrade,
    );
  }
  // The runtimes of one case run side by side (cases stay sequential): most of a start is waiting.
  if (s.sequential) {
    for (const rt of s.runtimes) byRuntime[rt.name] = await runOnRuntime(rt, kase, input, base, s.server, s.keep, upgrade);
  } else {
    await Promise.all(s.runtimes.map(async (rt) => (byRuntime[rt.name] = await runOnRuntime(rt, kase, input, base, s.server, s.keep, upgrade))));
  }
  return byRuntime;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`parity: ${errorText(err)}\n`);
      process.exit(1);
    },
  );
}
