// What the chart itself renders for a case, for the Docker side to use as it
// is instead of re-deriving it: the lifecycle hook files. Their naming rule
// (<hook>/<NN-name>) lives only in the chart (templates/_helpers.tpl,
// gitspace.hookFiles); test/chart/hook-files.test.ts pins it to docs/chart.md.
import path from 'node:path';
import YAML from 'yaml';
import type { Gitspace as Values } from '../../generator/src/values.gen.ts';
import { run } from './exec.ts';
import { kubeEnv } from './kubernetes.ts';
import { ideProtocol, repoRoot } from './values.ts';

type Doc = { kind?: string; data?: Record<string, string>; spec?: any };

/** The chart's templates `showOnly` rendered for these values, as objects. */
async function render(valuesFile: string, values: Values, showOnly: string[]): Promise<Doc[]> {
  const args = ['template', 'gitspace', path.join(repoRoot, 'charts/gitspace'), '--kube-version', '1.31.0', '-f', valuesFile];
  // An SSH IDE's render needs a Secret name; a render reads no Secret, so any name does.
  if (ideProtocol(values) === 'ssh') args.push('--set', 'ssh.authorizedKeysSecret=render-only');
  for (const t of showOnly) args.push('--show-only', `templates/${t}`);
  return YAML.parseAllDocuments((await run('helm', args, { env: kubeEnv() })).stdout).map((d) => d.toJS() as Doc);
}

/**
 * The hook files as the pod sees them under GITSPACE_HOOKS_DIR, "<hook>/<NN-name>" -> command:
 * the hooks ConfigMap's data at the paths the Deployment's `items` project its keys to.
 */
export async function chartHookFiles(valuesFile: string, values: Values): Promise<Record<string, string>> {
  const docs = await render(valuesFile, values, ['configmap-hooks.yaml', 'deployment.yaml']);
  const data = docs.find((d) => d?.kind === 'ConfigMap')?.data ?? {};
  const volume = docs.find((d) => d?.kind === 'Deployment')?.spec?.template?.spec?.volumes?.find((v: any) => v.name === 'hooks');
  if (!volume) throw new Error('the rendered Deployment has no volume named hooks');
  const items: { key: string; path: string }[] = volume.configMap?.items ?? [];
  return Object.fromEntries(items.map((i) => [i.path, data[i.key]]));
}

/**
 * The gitspace container's readiness probe as the chart renders it for these values: what
 * bench/floor.ts gives its bare pod, so the restart floor is timed with the chart's own probe.
 */
export async function chartReadinessProbe(valuesFile: string, values: Values): Promise<Record<string, unknown>> {
  const [deployment] = await render(valuesFile, values, ['deployment.yaml']);
  const probe = deployment?.spec?.template?.spec?.containers?.[0]?.readinessProbe;
  if (!probe) throw new Error('the rendered Deployment has no readiness probe on its first container');
  return probe as Record<string, unknown>;
}
