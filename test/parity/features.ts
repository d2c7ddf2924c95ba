// The features case's inputs, made at run time (the tarball server's port goes into
// devcontainer.json): the test features of test/features/fixtures.ts — marker and hello as OCI
// artifacts in the loopback registry (hello dependsOn marker, with options and containerEnv),
// greet as a tarball on a loopback HTTP server (installsAfter hello), local-tool as a local
// folder of the checkout (a postCreateCommand of its own) — and the generator's arguments to
// build them FROM the gitspace image with BuildKit (as Docker Gitspace builds) and push the
// result to the cluster's registry, which the pod pulls it from (never imported).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkout, publishSet, registry } from '../features/fixtures.ts';
import { FEATURES_POST_CREATE_FILE } from './cases.ts';
import { run } from './exec.ts';
import { repoRoot } from './values.ts';

export interface PreparedFeatures {
  devcontainerFile: string;
  repoFiles: Record<string, string>;
  generatorArgs: string[];
  close(): void;
}


export async function prepareFeatures(dir: string, caseName: string): Promise<PreparedFeatures> {
  const reg = await registry();
  const set = await publishSet(reg, path.join(dir, 'features-src'));
  const devcontainer = {
    features: { [set.helloRef]: { greeting: 'hi', shout: true, flavor: 'hot' }, [set.greetRef]: {}, './local-tool': { level: '3' } },
    postCreateCommand: `{ command -v hello; command -v local-tool; hello; } > "$HOME/${FEATURES_POST_CREATE_FILE}" 2>&1`,
  };
  const repo = checkout(path.join(dir, 'checkout'), devcontainer);
  const rel = (p: string) => path.relative(repo, p);
  const local = path.join(repo, '.devcontainer/local-tool');
  const repoFiles = Object.fromEntries(['devcontainer-feature.json', 'install.sh'].map((f) => [rel(path.join(local, f)), readFileSync(path.join(local, f), 'utf8')]));
  const clusterRegistry = (await run('bash', [path.join(repoRoot, 'test/cluster/cluster.sh'), 'registry'])).stdout.trim();
  return {
    devcontainerFile: path.join(repo, '.devcontainer/devcontainer.json'),
    repoFiles,
    // The tag is fixed; the build is keyed by content (an unchanged set is not rebuilt) and the
    // values pull it with imagePullPolicy Always, so a changed set is never taken from the node's cache.
    generatorArgs: ['--build', '--tag', `${clusterRegistry}/gitspace-chart-parity/${caseName}:1`, '--push'],
    close: () => set.http.server.close(),
  };
}
