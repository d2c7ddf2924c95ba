// gitspace-chart rescue / resize: the ways out of a full volume that need no
// node access (docs/chart.md, "When the volume is full"). helm and kubectl are
// run with argument arrays (execa, never a shell); every input is checked
// before either sees it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { UserError } from './cli.ts';
import { q } from './model.ts';

/** The chart this CLI ships with: the default for --chart. */
export const BUNDLED_CHART = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'gitspace');

const RELEASE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// persistence.size's pattern in schema/gitspace.schema.json.
const SIZE = /^([1-9][0-9]{0,5})(Mi|Gi|Ti)$/;
const MI: Record<string, number> = { Mi: 1, Gi: 1024, Ti: 1024 * 1024 };

export function checkRelease(name: string): string {
  if (!RELEASE.test(name) || name.length > 53) throw new UserError(`RELEASE: ${q(name)} is not a helm release name (lowercase letters, digits and "-", at most 53)`);
  return name;
}

export function checkNamespace(ns: string): string {
  if (!NAMESPACE.test(ns) || ns.length > 63) throw new UserError(`--namespace: ${q(ns)} is not a namespace name (lowercase letters, digits and "-", at most 63)`);
  return ns;
}

export function checkChart(ref: string): string {
  if (ref.startsWith('-') || /[\s\0]/.test(ref) || ref === '') throw new UserError(`--chart: ${q(ref)} is not a chart path or reference`);
  return ref;
}

/** persistence.size in MiB, or a UserError naming the field and the form. */
export function sizeMi(size: string, field = 'SIZE'): number {
  const m = SIZE.exec(size);
  if (!m) throw new UserError(`${field}: ${q(size)} is not a size the chart takes; use a whole number of Mi, Gi or Ti, e.g. 20Gi`);
  return Number(m[1]) * MI[m[2]];
}

/** A Kubernetes quantity (as the API returns a PVC's request or capacity) in MiB; undefined if not a binary/decimal size. */
export function quantityMi(q: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(q);
  if (!m) return undefined;
  const f: Record<string, number> = { '': 1 / 1048576, Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1048576, Pi: 1073741824, k: 1e3 / 1048576, M: 1e6 / 1048576, G: 1e9 / 1048576, T: 1e12 / 1048576, P: 1e15 / 1048576 };
  return Number(m[1]) * f[m[2] ?? ''];
}

type Run = (cmd: string, args: string[], opts?: { inherit?: boolean }) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

const run: Run = async (cmd, args, opts = {}) => {
  // Loaded per call, not at start: --help and the other commands never need it.
  const { execa } = await import('execa');
  const r = await execa(cmd, args, { reject: false, stdin: 'ignore', ...(opts.inherit ? { stdout: 'inherit', stderr: 'inherit' } : {}) });
  if ((r as { code?: string }).code === 'ENOENT') throw new UserError(`${cmd} not found on PATH (source scripts/lib.sh, or install ${cmd})`);
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
};

const lastLine = (s: string) => s.trim().split('\n').at(-1) ?? '';

async function kubectlJson(args: string[], what: string): Promise<Record<string, any>> {
  const r = await run('kubectl', [...args, '-o', 'json']);
  if (r.exitCode !== 0) throw new UserError(`${what}: ${lastLine(r.stderr) || 'kubectl failed'}`);
  return JSON.parse(r.stdout) as Record<string, any>;
}

async function requireRelease(release: string, ns: string): Promise<void> {
  const r = await run('helm', ['status', release, '--namespace', ns]);
  if (r.exitCode !== 0) throw new UserError(`RELEASE: no release ${q(release)} in namespace ${q(ns)} (${lastLine(r.stderr)}); see 'helm list -n ${ns}'`);
}

/** helm upgrade with the release's own values, the chart's current defaults and one --set; helm's output is the user's. */
async function upgrade(release: string, ns: string, chart: string, sets: string[], timeout: string): Promise<void> {
  const args = ['upgrade', release, chart, '--namespace', ns, '--reset-then-reuse-values', ...sets.flatMap((s) => ['--set', s]), '--wait', '--timeout', timeout];
  process.stderr.write(`gitspace-chart: helm ${args.join(' ')}\n`);
  const r = await run('helm', args, { inherit: true });
  if (r.exitCode !== 0) throw new UserError(`helm upgrade of ${q(release)} failed (exit code ${r.exitCode}, output above)`);
}

/** The release's gitspace Deployment, found by its labels (fullnameOverride may rename it). */
async function gitspaceDeployment(release: string, ns: string): Promise<Record<string, any>> {
  const list = await kubectlJson(['get', 'deployments', '--namespace', ns, '-l', `app.kubernetes.io/instance=${release},app.kubernetes.io/component=gitspace`], `deployment of ${q(release)}`);
  const dep = (list.items as any[])?.[0];
  if (!dep) throw new UserError(`RELEASE: no gitspace Deployment of release ${q(release)} in namespace ${q(ns)}`);
  return dep as Record<string, any>;
}

/** The claim the release's gitspace mounts at HOME (its Deployment's volume "home"). */
async function releaseClaim(release: string, ns: string): Promise<string> {
  const dep = await gitspaceDeployment(release, ns);
  const vol = (dep.spec?.template?.spec?.volumes as any[] | undefined)?.find((v) => v.name === 'home');
  const claim = vol?.persistentVolumeClaim?.claimName as string | undefined;
  if (!claim) throw new UserError(`RELEASE: the Deployment ${dep.metadata?.name} has no volume "home" from a claim`);
  return claim;
}

export type ResizeCheck = { ok: true; claim: string; from: string } | { ok: false; message: string };

/**
 * Whether the claim can grow to SIZE: the pure decision, from the PVC and its StorageClass as the API returns them.
 */
export function resizeDecision(release: string, size: string, pvc: Record<string, any>, sc: Record<string, any> | undefined): ResizeCheck {
  const want = sizeMi(size);
  const claim = pvc.metadata?.name as string;
  const from = String(pvc.spec?.resources?.requests?.storage ?? '');
  const have = quantityMi(from);
  if (have !== undefined && want < have) return { ok: false, message: `SIZE: ${size} is smaller than the claim ${claim} (${from}); a volume never shrinks: copy the data to a new release instead` };
  if (have !== undefined && want === have) return { ok: false, message: `SIZE: the claim ${claim} already requests ${from}; nothing to do` };
  if (pvc.metadata?.labels?.['app.kubernetes.io/instance'] !== release) {
    return { ok: false, message: `the claim ${claim} is not the release's own (persistence.existingClaim): grow it with kubectl patch pvc ${claim} -p '{"spec":{"resources":{"requests":{"storage":"${size}"}}}}', if its StorageClass allows expansion` };
  }
  const scName = pvc.spec?.storageClassName as string | undefined;
  if (!scName) return { ok: false, message: `persistence.size: the claim ${claim} has no StorageClass (a volume bound by hand), so it cannot grow; copy the data to a bigger volume (docs/chart.md, When the volume is full)` };
  if (sc?.allowVolumeExpansion !== true) {
    return {
      ok: false,
      message: `persistence.size: StorageClass ${scName} does not allow volume expansion (allowVolumeExpansion is not true), so the claim ${claim} cannot grow from ${from} to ${size}; nothing was changed. Ask the cluster admin for a StorageClass that allows it, or copy the data to a bigger volume (docs/chart.md, When the volume is full)`,
    };
  }
  return { ok: true, claim, from };
}

export function registerRescueCommands(program: Command): void {
  program
    .command('rescue')
    .description('rescue mode on (or off with --off): the gitspace runs no init steps and no IDE, only a shell\'s sleep loop as the user with the volume at HOME, for kubectl exec (helm upgrade --reset-then-reuse-values --set rescue=true|false)')
    .argument('<release>', 'helm release name')
    .option('-n, --namespace <ns>', 'namespace of the release', 'default')
    .option('--off', 'back to the normal gitspace (rescue=false)')
    .option('--chart <ref>', 'chart to upgrade with; default: the chart shipped with this CLI')
    .option('--timeout <duration>', 'helm --timeout', '10m')
    .action(async (release: string, opts: { namespace: string; off?: boolean; chart?: string; timeout: string }) => {
      checkRelease(release);
      checkNamespace(opts.namespace);
      const chart = checkChart(opts.chart ?? BUNDLED_CHART);
      if (!/^[1-9][0-9]{0,4}[smh]$/.test(opts.timeout)) throw new UserError(`--timeout: ${q(opts.timeout)} is not a duration such as 10m`);
      await requireRelease(release, opts.namespace);
      await upgrade(release, opts.namespace, chart, [`rescue=${opts.off ? 'false' : 'true'}`], opts.timeout);
      if (opts.off) {
        process.stdout.write(`rescue mode off: release ${release} runs its gitspace again\n`);
        return;
      }
      const dep = await gitspaceDeployment(release, opts.namespace);
      process.stdout.write(`rescue mode on: kubectl -n ${opts.namespace} exec -it deploy/${dep.metadata?.name} -c gitspace -- bash\nback to the gitspace: gitspace-chart rescue ${release} -n ${opts.namespace} --off\n`);
    });

  program
    .command('resize')
    .description('grow the gitspace\'s volume (persistence.size) when its StorageClass allows expansion; refuses with the reason otherwise')
    .argument('<release>', 'helm release name')
    .argument('<size>', 'new persistence.size, e.g. 20Gi')
    .option('-n, --namespace <ns>', 'namespace of the release', 'default')
    .option('--chart <ref>', 'chart to upgrade with; default: the chart shipped with this CLI')
    .option('--timeout <duration>', 'helm --timeout', '10m')
    .action(async (release: string, size: string, opts: { namespace: string; chart?: string; timeout: string }) => {
      checkRelease(release);
      sizeMi(size);
      checkNamespace(opts.namespace);
      const chart = checkChart(opts.chart ?? BUNDLED_CHART);
      if (!/^[1-9][0-9]{0,4}[smh]$/.test(opts.timeout)) throw new UserError(`--timeout: ${q(opts.timeout)} is not a duration such as 10m`);
      await requireRelease(release, opts.namespace);
      const claim = await releaseClaim(release, opts.namespace);
      const pvc = await kubectlJson(['get', 'persistentvolumeclaim', claim, '--namespace', opts.namespace], `claim ${claim}`);
      const scName = pvc.spec?.storageClassName as string | undefined;
      let sc: Record<string, any> | undefined;
      if (scName) {
        const r = await run('kubectl', ['get', 'storageclass', scName, '-o', 'json']);
        if (r.exitCode === 0) sc = JSON.parse(r.stdout) as Record<string, any>;
        else if (!/NotFound|not found/.test(r.stderr)) throw new UserError(`StorageClass ${scName}: ${lastLine(r.stderr)}`);
      }
      const d = resizeDecision(release, size, pvc, sc);
      if (!d.ok) throw new UserError(d.message);
      await upgrade(release, opts.namespace, chart, [`persistence.size=${size}`], opts.timeout);
      process.stdout.write(`claim ${d.claim}: ${d.from} -> ${size} requested; kubectl -n ${opts.namespace} get pvc ${d.claim} shows the capacity once the volume grew (some drivers grow the filesystem only when the pod restarts)\n`);
    });
}
