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

/**
 * The hook files as the pod sees them under GITSPACE_HOOKS_DIR, "<hook>/<NN-name>" -> command:
 * the hooks ConfigMap's data at the paths the Deployment's `items` project its keys to.
 */
export async function chartHookFiles(valuesFile: string, values: Values): Promise<Record<string, string>> {
  const args = ['template', 'hooks', path.join(repoRoot, 'charts/gitspace'), '--kube-version', '1.31.0', '-f', valuesFile];
  // An SSH IDE's render needs a Secret name; a render reads no Secret, so any name does.
  if (ideProtocol(values) === 'ssh') args.push('--set', 'ssh.authorizedKeysSecret=render-only');
  args.push('--show-only', 'templates/configmap-hooks.yaml', '--show-only', 'templates/deployment.yaml');
  const docs = YAML.parseAllDocuments((await run('helm', args, { env: kubeEnv() })).stdout).map((d) => d.toJS() as Doc);
  const data = docs.find((d) => d?.kind === 'ConfigMap')?.data ?? {};
  const volume = docs.find((d) => d?.kind === 'Deployment')?.spec?.template?.spec?.volumes?.find((v: any) => v.name === 'hooks');
  if (!volume) throw new Error('the rendered Deployment has no volume named hooks');
  const items: { key: string; path: string }[] = volume.configMap?.items ?? [];
  return Object.fromEntries(items.map((i) => [i.path, data[i.key]]));
}
