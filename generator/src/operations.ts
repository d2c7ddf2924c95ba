// gitspace-chart stop|start|reset|delete RELEASE: Docker Gitspace's operations on a release of
// the chart (docs/chart.md, "Stop, start, reset, delete").
//
//   stop    helm upgrade --set running=false: the Deployment at 0 replicas; PVC, Service,
//           ConfigMaps and Secrets stay (Docker: docker stop, the container kept).
//   start   helm upgrade --set running=true: a new pod (Docker: docker start; postStartCommand).
//   reset   helm upgrade --set reset.generation=<now> --set running=true: a new pod that re-runs
//           postCreateCommand and the git identity; HOME kept (Docker: container removed and
//           created again on the same volume).
//   delete  helm uninstall; the PVC only with --delete-volume (Docker: the volume only when user
//           data may be deleted).
//
// helm and kubectl run with an argument vector (execa), never through a shell: the release,
// namespace and paths are arguments, not text a shell reads.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { execa } from 'execa';
import { parse, parseAllDocuments } from 'yaml';
import { UserError } from './cli.ts';
import { q } from './model.ts';
import { repoRoot } from './schema.ts';

/** The chart shipped with this CLI: the default chart of stop/start/reset. */
export const bundledChart = resolve(repoRoot, 'charts', 'gitspace');

type Tool = 'helm' | 'kubectl';

const INSTALL_HINT: Record<Tool, string> = {
  helm: 'install helm 3.14 or newer (in this repository: source scripts/lib.sh puts the cached one first)',
  kubectl: 'install kubectl (in this repository: source scripts/lib.sh)',
};

type Run = { ok: boolean; stdout: string; stderr: string };

async function run(tool: Tool, args: string[]): Promise<Run> {
  const r = await execa(tool, args, { reject: false, stdin: 'ignore' });
  if (r.code === 'ENOENT') throw new UserError(`${tool} is not on PATH: ${INSTALL_HINT[tool]}`);
  return { ok: r.exitCode === 0, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** A tool's error output as one line (helm and kubectl print `Error: ...`, sometimes several lines). */
function oneLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /^(Error|error)\b/.test(l));
  return (errors.length ? errors : lines).join('; ').replace(/^(Error|error):\s*/, '') || 'no output';
}

async function must(tool: Tool, args: string[], what: string): Promise<string> {
  const r = await run(tool, args);
  if (!r.ok) throw new UserError(`${what} failed: ${oneLine(r.stderr || r.stdout)}`);
  return r.stdout;
}

export type OpOptions = {
  namespace?: string;
  kubeconfig?: string;
  wait?: boolean;
  timeout: string;
  chart?: string;
  deleteVolume?: boolean;
  historyMax?: string;
};

/**
 * Release revisions each upgrade keeps. Every revision is a Secret holding the whole chart and
 * the rendered manifests (docs/fleet.md: ~45 KB of etcd per gitspace and revision); helm's own
 * default keeps 10. Three leave two to roll back to.
 */
export const DEFAULT_HISTORY_MAX = 3;

export function parseHistoryMax(text: string | undefined): number {
  if (text === undefined) return DEFAULT_HISTORY_MAX;
  if (!/^[0-9]{1,4}$/.test(text)) throw new UserError(`--history-max: ${q(text)} is not a whole number (revisions helm keeps per release; 0: no limit)`);
  return Number(text);
}

type Ctx = { release: string; opts: OpOptions; timeoutMs: number; helmGlobal: string[]; kubeGlobal: string[] };

const RELEASE_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseTimeout(text: string): number {
  const m = /^([1-9][0-9]{0,5})(s|m|h)$/.exec(text);
  if (!m) throw new UserError(`--timeout: ${q(text)} is not a duration like 90s, 10m or 1h`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}

function context(release: string, opts: OpOptions): Ctx {
  if (release.length > 53 || !RELEASE_RE.test(release)) {
    throw new UserError(`RELEASE: ${q(release)} is not a helm release name (lower-case letters, digits, '-' and '.', at most 53 characters)`);
  }
  if (opts.namespace !== undefined && (opts.namespace.length > 63 || !NAMESPACE_RE.test(opts.namespace))) {
    throw new UserError(`--namespace: ${q(opts.namespace)} is not a namespace name (lower-case letters, digits and '-', at most 63 characters)`);
  }
  if (opts.kubeconfig !== undefined && !existsSync(opts.kubeconfig)) {
    throw new UserError(`--kubeconfig: ${q(opts.kubeconfig)} does not exist`);
  }
  const timeoutMs = parseTimeout(opts.timeout);
  parseHistoryMax(opts.historyMax);
  const kc = opts.kubeconfig !== undefined ? ['--kubeconfig', opts.kubeconfig] : [];
  const ns = opts.namespace !== undefined ? ['--namespace', opts.namespace] : [];
  return { release, opts, timeoutMs, helmGlobal: [...ns, ...kc], kubeGlobal: [...ns, ...kc] };
}

/** Where the release was looked for, for messages. */
const where = (ctx: Ctx) =>
  ctx.opts.namespace !== undefined ? `namespace ${q(ctx.opts.namespace)}` : "the kubeconfig context's namespace (-n NAMESPACE names another)";

type Release = { name: string; namespace: string; status: string; chart: string };

async function findRelease(ctx: Ctx): Promise<Release | undefined> {
  // The name is checked against RELEASE_RE: as a regular expression it matches only itself ('.' aside, escaped).
  const filter = `^${ctx.release.replaceAll('.', '\\.')}$`;
  const out = await must('helm', ['list', '--all', '--output', 'json', '--filter', filter, ...ctx.helmGlobal], 'helm list (looking up the release)');
  const list = JSON.parse(out || '[]') as Release[];
  return list.find((r) => r.name === ctx.release);
}

async function requireRelease(ctx: Ctx): Promise<Release> {
  const rel = await findRelease(ctx);
  if (!rel) throw new UserError(`RELEASE: no release ${q(ctx.release)} in ${where(ctx)}; 'helm list -A' lists every release`);
  if (!/^gitspace-/.test(rel.chart)) {
    throw new UserError(`RELEASE: ${q(rel.name)} is a release of chart ${q(rel.chart)}, not of the gitspace chart`);
  }
  if (/^(pending|uninstalling)/.test(rel.status)) {
    throw new UserError(
      `RELEASE: ${q(rel.name)} is ${rel.status} (a helm operation on it is running or was cut off): wait for it, or 'helm rollback ${rel.name} -n ${rel.namespace}'`,
    );
  }
  return rel;
}

function bundledChartRef(): string {
  const chart = parse(readFileSync(resolve(bundledChart, 'Chart.yaml'), 'utf8')) as { name: string; version: string };
  return `${chart.name}-${chart.version}`;
}

/** The chart to upgrade with: --chart, else the bundled one when it is the release's version. */
function chartFor(ctx: Ctx, rel: Release): string {
  if (ctx.opts.chart !== undefined) return ctx.opts.chart;
  const bundled = bundledChartRef();
  if (rel.chart !== bundled) {
    throw new UserError(
      `--chart: release ${q(rel.name)} runs chart ${rel.chart} and this gitspace-chart ships ${bundled}: pass --chart with the release's chart (a directory, a .tgz or a repository reference) so only running/reset change`,
    );
  }
  return bundledChart;
}

/** What the operations need from the release's own manifest. */
type Facts = { deployment: string; selector: string; claim?: string; pvcInManifest: boolean; keep: boolean };

async function releaseFacts(ctx: Ctx, rel: Release): Promise<Facts> {
  const out = await must('helm', ['get', 'manifest', rel.name, ...ctx.helmGlobal], 'helm get manifest');
  const docs = parseAllDocuments(out).map((d) => d.toJS() as any).filter((d) => d && typeof d === 'object');
  const dep = docs.find((d) => d.kind === 'Deployment');
  if (!dep) throw new UserError(`RELEASE: ${q(rel.name)} has no Deployment in its manifest: not a gitspace release`);
  const labels = (dep.spec?.selector?.matchLabels ?? {}) as Record<string, string>;
  const claim = (dep.spec?.template?.spec?.volumes ?? []).find((v: any) => v.name === 'home')?.persistentVolumeClaim?.claimName as string | undefined;
  const pvc = docs.find((d) => d.kind === 'PersistentVolumeClaim' && d.metadata?.name === claim);
  return {
    deployment: dep.metadata.name,
    selector: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','),
    claim,
    pvcInManifest: Boolean(pvc),
    keep: pvc?.metadata?.annotations?.['helm.sh/resource-policy'] === 'keep',
  };
}

/** helm's and kubectl's flags with the release's namespace (the one helm found it in). */
const kube = (ctx: Ctx, ns: string) => ['--namespace', ns, ...(ctx.opts.kubeconfig !== undefined ? ['--kubeconfig', ctx.opts.kubeconfig] : [])];

async function upgrade(ctx: Ctx, rel: Release, chart: string, sets: string[]): Promise<void> {
  // --reset-then-reuse-values: the release's own values, on the chart's defaults (plain
  // --reuse-values would also reuse the old chart's defaults, without `running`/`reset`).
  // --no-hooks: only running/reset change, never the layout, so the pre-upgrade migration hook
  // has nothing to do (and a Job next to a stopping pod would only slow the stop down).
  const args = [
    'upgrade', rel.name, chart, ...kube(ctx, rel.namespace), '--reset-then-reuse-values', '--no-hooks',
    '--history-max', String(parseHistoryMax(ctx.opts.historyMax)), ...sets.flatMap((s) => ['--set', s]),
  ];
  await must('helm', args, `helm upgrade ${rel.name}`);
}

async function waitReady(ctx: Ctx, ns: string, facts: Facts): Promise<void> {
  const r = await run('kubectl', ['rollout', 'status', `deployment/${facts.deployment}`, `--timeout=${ctx.timeoutMs / 1000}s`, ...kube(ctx, ns)]);
  if (!r.ok) {
    throw new UserError(
      `--wait: the gitspace was not Ready within ${ctx.opts.timeout} (${oneLine(r.stderr)}); see 'kubectl -n ${ns} describe pod -l ${facts.selector}' and 'kubectl -n ${ns} logs deployment/${facts.deployment} -c gitspace'`,
    );
  }
}

async function waitNoPod(ctx: Ctx, ns: string, facts: Facts): Promise<void> {
  const deadline = Date.now() + ctx.timeoutMs;
  for (;;) {
    const out = await must('kubectl', ['get', 'pods', '--selector', facts.selector, '--output', 'name', ...kube(ctx, ns)], 'kubectl get pods');
    if (!out.trim()) return;
    if (Date.now() > deadline) {
      throw new UserError(`--wait: ${out.trim().split('\n').join(', ')} still there after ${ctx.opts.timeout}; see 'kubectl -n ${ns} describe pod -l ${facts.selector}'`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Fails before anything changes when a tool the operation will need is missing. */
async function preflight(tools: Tool[]): Promise<void> {
  for (const t of tools) await run(t, t === 'helm' ? ['version', '--short'] : ['version', '--client']);
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * The next reset generation: the current Unix time in seconds, or the current generation + 1 when
 * that is larger. Never a value the release had before: a plain `helm upgrade -f values.yaml`
 * sets the generation back to 0, and a "+1" from there could repeat a generation the volume's
 * markers already recorded, and the reset would re-run nothing.
 */
export function nextGeneration(current: unknown, nowSeconds = Math.floor(Date.now() / 1000)): number {
  const n = typeof current === 'number' ? current : typeof current === 'string' && /^[0-9]{1,15}$/.test(current) ? Number(current) : NaN;
  return Number.isSafeInteger(n) && n >= nowSeconds ? n + 1 : nowSeconds;
}

export async function stop(release: string, opts: OpOptions): Promise<void> {
  const ctx = context(release, opts);
  await preflight(opts.wait ? ['helm', 'kubectl'] : ['helm']);
  const rel = await requireRelease(ctx);
  const chart = chartFor(ctx, rel);
  const facts = await releaseFacts(ctx, rel);
  await upgrade(ctx, rel, chart, ['running=false']);
  say(`stopped ${rel.name} in namespace ${rel.namespace}: deployment/${facts.deployment} scaled to 0${facts.claim ? `, PVC ${facts.claim} (HOME) kept` : ''}`);
  if (opts.wait) {
    await waitNoPod(ctx, rel.namespace, facts);
    say('no gitspace pod left');
  }
}

export async function start(release: string, opts: OpOptions): Promise<void> {
  const ctx = context(release, opts);
  await preflight(opts.wait ? ['helm', 'kubectl'] : ['helm']);
  const rel = await requireRelease(ctx);
  const chart = chartFor(ctx, rel);
  const facts = await releaseFacts(ctx, rel);
  await upgrade(ctx, rel, chart, ['running=true']);
  say(`started ${rel.name} in namespace ${rel.namespace}: deployment/${facts.deployment} at 1 replica (postStartCommand runs; postCreateCommand does not)`);
  if (opts.wait) {
    await waitReady(ctx, rel.namespace, facts);
    say('the gitspace is Ready');
  }
}

export async function reset(release: string, opts: OpOptions): Promise<void> {
  const ctx = context(release, opts);
  await preflight(opts.wait ? ['helm', 'kubectl'] : ['helm']);
  const rel = await requireRelease(ctx);
  const chart = chartFor(ctx, rel);
  const facts = await releaseFacts(ctx, rel);
  const values = JSON.parse(await must('helm', ['get', 'values', rel.name, '--all', '--output', 'json', ...ctx.helmGlobal], 'helm get values')) as {
    reset?: { generation?: unknown };
  };
  const current = values?.reset?.generation ?? 0;
  const next = nextGeneration(current);
  await upgrade(ctx, rel, chart, [`reset.generation=${next}`, 'running=true']);
  say(
    `reset ${rel.name} in namespace ${rel.namespace}: reset.generation ${String(current)} -> ${next}, a new pod runs postCreateCommand and writes the git identity again${facts.claim ? `; PVC ${facts.claim} (HOME) kept` : ''}`,
  );
  if (opts.wait) {
    await waitReady(ctx, rel.namespace, facts);
    say('the gitspace is Ready');
  }
}

async function deletePvc(ctx: Ctx, ns: string | undefined, name: string): Promise<void> {
  const nsArgs = ns !== undefined ? kube(ctx, ns) : ctx.kubeGlobal;
  const timeout = ctx.opts.wait ? [`--timeout=${ctx.timeoutMs / 1000}s`] : [];
  await must('kubectl', ['delete', 'persistentvolumeclaim', name, '--ignore-not-found', `--wait=${ctx.opts.wait ? 'true' : 'false'}`, ...timeout, ...nsArgs], `kubectl delete pvc ${name}`);
}

export async function deleteGitspace(release: string, opts: OpOptions): Promise<void> {
  const ctx = context(release, opts);
  await preflight(opts.deleteVolume || opts.wait ? ['helm', 'kubectl'] : ['helm']);
  const rel = await findRelease(ctx);
  if (!rel) {
    if (!opts.deleteVolume) throw new UserError(`RELEASE: no release ${q(ctx.release)} in ${where(ctx)}; 'helm list -A' lists every release`);
    // Already uninstalled: the volume helm kept (resource-policy keep) carries the release's labels.
    const selector = `app.kubernetes.io/instance=${ctx.release},app.kubernetes.io/component=gitspace`;
    const out = await must('kubectl', ['get', 'persistentvolumeclaims', '--selector', selector, '--output', 'name', ...ctx.kubeGlobal], 'kubectl get pvc');
    const names = out.split('\n').map((l) => l.trim().replace(/^persistentvolumeclaim\//, '')).filter(Boolean);
    if (!names.length) {
      throw new UserError(`RELEASE: no release ${q(ctx.release)} and no PVC of it (label ${selector}) in ${where(ctx)}: nothing to delete`);
    }
    for (const name of names) {
      await deletePvc(ctx, opts.namespace, name);
      say(`deleted PVC ${name} (HOME of the uninstalled release ${ctx.release}): its data is gone`);
    }
    return;
  }
  if (!/^gitspace-/.test(rel.chart)) throw new UserError(`RELEASE: ${q(rel.name)} is a release of chart ${q(rel.chart)}, not of the gitspace chart`);
  const facts = await releaseFacts(ctx, rel);
  const wait = opts.wait ? ['--wait', `--timeout=${ctx.timeoutMs / 1000}s`] : [];
  await must('helm', ['uninstall', rel.name, ...kube(ctx, rel.namespace), ...wait], `helm uninstall ${rel.name}`);
  say(`deleted ${rel.name} in namespace ${rel.namespace} (helm uninstall)`);
  if (opts.wait) {
    // helm's --wait ends when the Deployment is gone; its pod is garbage-collected after that.
    await waitNoPod(ctx, rel.namespace, facts);
    say('no gitspace pod left');
  }
  if (!facts.claim) return;
  if (opts.deleteVolume) {
    await deletePvc(ctx, rel.namespace, facts.claim);
    say(`deleted PVC ${facts.claim}${facts.pvcInManifest ? '' : ' (persistence.existingClaim)'} (HOME): its data is gone`);
  } else if (!facts.pvcInManifest) {
    say(`kept PVC ${facts.claim} (HOME; persistence.existingClaim, not the chart's); --delete-volume deletes it`);
  } else if (facts.keep) {
    say(
      `kept PVC ${facts.claim} (HOME; helm.sh/resource-policy: keep): installing ${rel.name} again mounts it again; 'gitspace-chart delete ${rel.name} -n ${rel.namespace} --delete-volume' deletes it`,
    );
  } else {
    say(`PVC ${facts.claim} deleted by helm uninstall (persistence.keepOnUninstall: false)`);
  }
}

/** Registers stop, start, reset and delete on the program (one line in cli.ts). */
export function registerOperationCommands(program: Command): void {
  const common = (c: Command) =>
    c
      .option('-n, --namespace <namespace>', "the release's namespace (default: the kubeconfig context's)")
      .option('--kubeconfig <file>', 'kubeconfig for helm and kubectl (default: KUBECONFIG or ~/.kube/config)')
      .option('--wait', 'wait until done (see each command)')
      .option('--timeout <duration>', 'how long --wait waits, e.g. 90s, 10m, 1h', '10m');
  const upgrading = (c: Command) =>
    common(c)
      .option('--chart <chart>', "chart to upgrade with: a directory, a .tgz or a repository reference (default: the chart shipped with this CLI, when it is the release's version)")
      .option('--history-max <n>', `release revisions helm keeps (each one a Secret with the whole chart; 0: no limit)`, String(DEFAULT_HISTORY_MAX));

  upgrading(program.command('stop').argument('<release>'))
    .description("stop a gitspace as Docker's stop does: no pod, the volume (HOME), Service, ConfigMaps and Secrets kept (running=false); --wait: until no pod is left")
    .action((release: string, opts: OpOptions) => stop(release, opts));
  upgrading(program.command('start').argument('<release>'))
    .description('start a stopped gitspace: a new pod, postStartCommand runs (running=true); --wait: until Ready')
    .action((release: string, opts: OpOptions) => start(release, opts));
  upgrading(program.command('reset').argument('<release>'))
    .description("reset a gitspace as Docker's reset does: a new pod on the same HOME that re-runs postCreateCommand and the git identity (reset.generation = the Unix time, running=true); --wait: until Ready")
    .action((release: string, opts: OpOptions) => reset(release, opts));
  common(program.command('delete').argument('<release>'))
    .description('delete a gitspace (helm uninstall); the PVC (HOME) is kept unless --delete-volume; --wait: until its resources and pod are gone')
    .option('--delete-volume', "also delete the PVC (HOME's data), naming it; works after a plain delete too")
    .action((release: string, opts: OpOptions) => deleteGitspace(release, opts));
}
