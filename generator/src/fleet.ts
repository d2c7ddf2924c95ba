// Fleet operations (docs/fleet.md): many gitspaces, one Helm release each.
//
//   install-shared  the shared scripts ConfigMap of this CLI's chart version in a namespace
//                   (charts/gitspace-scripts, release gitspace-scripts-<version>): once per
//                   namespace, before the gitspaces; never owned by a gitspace's release.
//   rollout         a new chart (or values, e.g. an image tag) across the releases that carry a
//                   Helm release label (helm install --labels team=web), in waves: progress per
//                   wave, a running gitspace counts only once its new pod is Ready, and with
//                   --pause-on-failure no further wave starts after a failed one. Running it
//                   again resumes: releases already on the target chart are skipped.
//
// helm and kubectl run with an argument vector (execa), never through a shell.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { UserError } from './cli.ts';
import { q } from './model.ts';
import { DEFAULT_HISTORY_MAX, parseHistoryMax, parseTimeout } from './operations.ts';
import { repoRoot } from './schema.ts';

export const sharedChart = resolve(repoRoot, 'charts', 'gitspace-scripts');

type Tool = 'helm' | 'kubectl';
type Run = { ok: boolean; stdout: string; stderr: string };

async function run(tool: Tool, args: string[]): Promise<Run> {
  // execa and yaml are loaded per call, not at start: every command registers at start, and --help needs neither.
  const { execa } = await import('execa');
  const r = await execa(tool, args, { reject: false, stdin: 'ignore' });
  if (r.code === 'ENOENT') throw new UserError(`${tool} is not on PATH: install it (in this repository: source scripts/lib.sh puts the cached one first)`);
  return { ok: r.exitCode === 0, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

function oneLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^walk\.go:/.test(l));
  const errors = lines.filter((l) => /^(Error|error)\b/.test(l));
  return (errors.length ? errors : lines).join('; ').replace(/^(Error|error):\s*/, '') || 'no output';
}

const say = (line: string) => process.stdout.write(`${line}\n`);

const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Label selectors as helm list --selector takes them: key=value, key!=value, key, comma-separated.
const SELECTOR_RE = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?(!?=[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?(,[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?(!?=[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?)*$/;

type Common = { namespace?: string; kubeconfig?: string };

function globals(opts: Common): string[] {
  if (opts.namespace !== undefined && (opts.namespace.length > 63 || !NAMESPACE_RE.test(opts.namespace))) {
    throw new UserError(`--namespace: ${q(opts.namespace)} is not a namespace name (lower-case letters, digits and '-', at most 63 characters)`);
  }
  if (opts.kubeconfig !== undefined && !existsSync(opts.kubeconfig)) throw new UserError(`--kubeconfig: ${q(opts.kubeconfig)} does not exist`);
  return [...(opts.kubeconfig !== undefined ? ['--kubeconfig', opts.kubeconfig] : [])];
}

async function chartVersion(dir: string): Promise<string> {
  const { parse } = await import('yaml');
  return (parse(readFileSync(resolve(dir, 'Chart.yaml'), 'utf8')) as { version: string }).version;
}

/** The release name of the shared scripts of a version: gitspace-scripts-0-1-0. */
export const sharedRelease = (version: string) => `gitspace-scripts-${version.replaceAll('.', '-')}`;

export async function installShared(opts: Common & { chart?: string }): Promise<void> {
  const g = globals(opts);
  const chart = opts.chart ?? sharedChart;
  if (opts.chart === undefined && !existsSync(resolve(chart, 'Chart.yaml'))) throw new UserError(`the shared scripts chart is not at ${chart}: pass --chart`);
  // A directory names its version; a .tgz or repository reference is installed as gitspace-scripts.
  const version = existsSync(resolve(chart, 'Chart.yaml')) ? await chartVersion(chart) : undefined;
  const name = version ? sharedRelease(version) : 'gitspace-scripts';
  const ns = opts.namespace !== undefined ? ['--namespace', opts.namespace] : [];
  const r = await run('helm', ['upgrade', '--install', name, chart, ...ns, ...g, '--history-max', '2']);
  if (!r.ok) throw new UserError(`helm upgrade --install ${name} failed: ${oneLine(r.stderr || r.stdout)}`);
  say(`installed the shared scripts${version ? ` ${version}` : ''} (ConfigMap gitspace-scripts-${version ?? '<version>'}, release ${name}) in ${opts.namespace !== undefined ? `namespace ${opts.namespace}` : "the kubeconfig context's namespace"}`);
}

export type RolloutOptions = Common & {
  selector: string;
  chart?: string;
  set?: string[];
  batch: string;
  parallel?: string;
  pauseOnFailure?: boolean;
  allNamespaces?: boolean;
  timeout: string;
  historyMax?: string;
  dryRun?: boolean;
};

type Release = { name: string; namespace: string; status: string; chart: string };
type Outcome = { release: Release; ok: boolean; skipped?: boolean; error?: string; seconds: number };

function positive(text: string, flag: string): number {
  if (!/^[1-9][0-9]{0,4}$/.test(text)) throw new UserError(`${flag}: ${q(text)} is not a whole number of at least 1`);
  return Number(text);
}

/** The target chart's name-version as helm list shows it, for a directory or .tgz; undefined for a repository reference. */
async function targetChartRef(chart: string): Promise<string | undefined> {
  if (existsSync(resolve(chart, 'Chart.yaml'))) {
    const { parse } = await import('yaml');
    const c = parse(readFileSync(resolve(chart, 'Chart.yaml'), 'utf8')) as { name: string; version: string };
    return `${c.name}-${c.version}`;
  }
  const m = /(?:^|\/)([a-z0-9-]+-[0-9]+\.[0-9]+\.[0-9]+[^/]*)\.tgz$/.exec(chart);
  return m?.[1];
}

/** Runs f over items, at most n at once, in order of start. */
async function pool<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await f(items[i]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

async function upgradeOne(rel: Release, chart: string, o: RolloutOptions, g: string[], timeoutS: number, historyMax: number): Promise<Outcome> {
  const t0 = Date.now();
  const done = (ok: boolean, error?: string): Outcome => ({ release: rel, ok, error, seconds: (Date.now() - t0) / 1000 });
  const ns = ['--namespace', rel.namespace, ...g];
  const sets = (o.set ?? []).flatMap((s) => ['--set', s]);
  // --reset-then-reuse-values: the release's own values on the new chart's defaults. No helm
  // --wait: a stopped gitspace's claim stays unbound (WaitForFirstConsumer) and helm would wait for it.
  // -o json: the release as stored (its values and manifest), so no further helm call is needed.
  const up = await run('helm', ['upgrade', rel.name, chart, ...ns, '--reset-then-reuse-values', '--history-max', String(historyMax), '--timeout', `${timeoutS}s`, '--output', 'json', ...sets]);
  if (!up.ok) return done(false, oneLine(up.stderr || up.stdout));
  let upgraded: { config?: { running?: unknown }; manifest?: string };
  try {
    upgraded = JSON.parse(up.stdout) as typeof upgraded;
  } catch {
    return done(false, `helm upgrade printed no release JSON: ${oneLine(up.stdout)}`);
  }
  // running defaults to true in the chart: only an explicit false is a stopped gitspace.
  if (upgraded.config?.running === false) return done(true);
  // A running gitspace counts once its new pod is Ready.
  const { parseAllDocuments } = await import('yaml');
  const dep = parseAllDocuments(upgraded.manifest ?? '')
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
    .find((d) => d?.kind === 'Deployment')?.metadata?.name;
  if (!dep) return done(false, 'no Deployment in the release manifest');
  const status = await run('kubectl', ['rollout', 'status', `deployment/${dep}`, `--timeout=${timeoutS}s`, ...ns]);
  if (!status.ok) return done(false, `not Ready within ${o.timeout}: ${oneLine(status.stderr)}; see 'kubectl -n ${rel.namespace} describe deployment ${dep}'`);
  return done(true);
}

export async function rollout(o: RolloutOptions): Promise<void> {
  const g = globals(o);
  if (!SELECTOR_RE.test(o.selector)) throw new UserError(`--selector: ${q(o.selector)} is not a label selector such as team=web (Helm release labels: helm install --labels team=web)`);
  const batch = positive(o.batch, '--batch');
  const parallel = o.parallel !== undefined ? positive(o.parallel, '--parallel') : Math.min(batch, 8);
  const timeoutS = parseTimeout(o.timeout) / 1000;
  const historyMax = parseHistoryMax(o.historyMax);
  if (o.allNamespaces && o.namespace !== undefined) throw new UserError('--all-namespaces and --namespace: give one of them');
  const chart = o.chart ?? resolve(repoRoot, 'charts', 'gitspace');
  if (!o.chart && !o.set?.length) throw new UserError('rollout: nothing to roll out; give --chart (the new chart) and/or --set (e.g. image.tag=1.2.3)');
  for (const s of o.set ?? []) if (!/^[A-Za-z0-9_.[\]-]+=/.test(s)) throw new UserError(`--set: ${q(s)} is not KEY=VALUE`);
  const target = await targetChartRef(chart);

  const scope = o.allNamespaces ? ['--all-namespaces'] : o.namespace !== undefined ? ['--namespace', o.namespace] : [];
  const list = await run('helm', ['list', '--all', '--selector', o.selector, '--output', 'json', '--max', '0', ...scope, ...g]);
  if (!list.ok) throw new UserError(`helm list --selector ${o.selector} failed: ${oneLine(list.stderr)}`);
  const releases = (JSON.parse(list.stdout || '[]') as Release[])
    .filter((r) => /^gitspace-[0-9]/.test(r.chart))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  if (!releases.length) throw new UserError(`--selector: no gitspace release carries the labels ${q(o.selector)} in ${o.allNamespaces ? 'any namespace' : o.namespace !== undefined ? `namespace ${o.namespace}` : "the kubeconfig context's namespace (-n, -A)"}`);
  const pending = releases.filter((r) => /^pending|^uninstalling/.test(r.status));
  if (pending.length) {
    throw new UserError(`${pending.map((r) => `${r.namespace}/${r.name} (${r.status})`).join(', ')}: a helm operation is running or was cut off; wait for it or 'helm rollback', then run the rollout again`);
  }
  // Resuming: a release already on the target chart needs nothing (unless values change with --set).
  const todo = releases.filter((r) => !(target && r.chart === target && !o.set?.length));
  const skipped = releases.length - todo.length;
  const waves = Math.ceil(todo.length / batch);
  say(`rollout of ${target ?? chart}${o.set?.length ? ` with ${o.set.join(' ')}` : ''}: ${todo.length} of ${releases.length} releases (${o.selector})${skipped ? `, ${skipped} already on it` : ''}, ${waves} wave${waves === 1 ? '' : 's'} of ${batch}, ${parallel} at once`);
  if (o.dryRun) {
    for (let w = 0; w < waves; w++) say(`wave ${w + 1}/${waves}: ${todo.slice(w * batch, (w + 1) * batch).map((r) => `${r.namespace}/${r.name}`).join(' ')}`);
    return;
  }
  const t0 = Date.now();
  const failed: Outcome[] = [];
  let done = 0;
  for (let w = 0; w < waves; w++) {
    const wave = todo.slice(w * batch, (w + 1) * batch);
    const tw = Date.now();
    const outcomes = await pool(wave, parallel, (r) => upgradeOne(r, chart, o, g, timeoutS, historyMax));
    done += outcomes.length;
    const bad = outcomes.filter((x) => !x.ok);
    failed.push(...bad);
    say(`wave ${w + 1}/${waves}: ${outcomes.length - bad.length}/${outcomes.length} upgraded in ${((Date.now() - tw) / 1000).toFixed(1)} s [${done}/${todo.length}, ${((Date.now() - t0) / 1000).toFixed(1)} s]`);
    for (const b of bad) say(`  FAILED ${b.release.namespace}/${b.release.name}: ${b.error}`);
    if (bad.length && o.pauseOnFailure && w + 1 < waves) {
      throw new UserError(
        `rollout paused after wave ${w + 1}/${waves}: ${bad.length} failed (above), ${todo.length - done} not started; fix them and run the same command again (releases already on the new chart are skipped), or 'helm rollback RELEASE -n NAMESPACE'`,
      );
    }
  }
  if (failed.length) throw new UserError(`rollout done with ${failed.length} of ${todo.length} failed (above)`);
  say(`rollout done: ${todo.length} releases in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

export function registerFleetCommands(program: Command): void {
  const common = (c: Command) =>
    c
      .option('-n, --namespace <namespace>', "the namespace (default: the kubeconfig context's)")
      .option('--kubeconfig <file>', 'kubeconfig for helm and kubectl (default: KUBECONFIG or ~/.kube/config)');
  common(program.command('install-shared'))
    .description("install the shared scripts ConfigMap of this chart version in a namespace (charts/gitspace-scripts): once per namespace, before the gitspaces")
    .option('--chart <chart>', 'the gitspace-scripts chart (default: the one shipped with this CLI)')
    .action((opts: Common & { chart?: string }) => installShared(opts));
  common(program.command('rollout'))
    .description('upgrade every gitspace release with the given Helm release labels to a new chart or values, in waves, showing progress; a running gitspace counts once Ready')
    .requiredOption('--selector <labels>', 'Helm release labels, e.g. team=web (set with helm install --labels)')
    .option('--chart <chart>', 'the new chart: a directory, a .tgz or a repository reference (default: the chart shipped with this CLI)')
    .option('--set <key=value>', 'a value to change on every release (repeatable), e.g. image.tag=1.2.3', (v: string, acc: string[] = []) => [...acc, v])
    .option('--batch <n>', 'releases per wave', '20')
    .option('--parallel <n>', 'helm upgrades at once within a wave (default: the batch, at most 8)')
    .option('--pause-on-failure', 'start no further wave once a release of a wave failed')
    .option('-A, --all-namespaces', 'releases in every namespace')
    .option('--timeout <duration>', 'per release: helm upgrade, then a running gitspace until Ready', '10m')
    .option('--history-max <n>', 'release revisions helm keeps (0: no limit)', String(DEFAULT_HISTORY_MAX))
    .option('--dry-run', 'print the waves, change nothing')
    .action((opts: RolloutOptions) => rollout(opts));
}
