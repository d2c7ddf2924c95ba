// model.ts and the chart's named templates (templates/_model.tpl) must agree:
// each corpus entry is rendered by the real helm and computed by model.ts.
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { parse } from 'yaml';
import { helmYaml } from '../../generator/src/helm-yaml.ts';
import { homeOf, idePortFor, repoNameOf } from '../../generator/src/model.ts';
import { repoRoot, tempDir, toolEnv } from './helpers.ts';

type Input = { url: string; name?: string; uid: number; remoteUser: string; home?: string; ide: string; port?: number };

const corpus: Input[] = [
  { url: 'https://git.example.com/acme/app.git', uid: 1000, remoteUser: 'vscode', ide: 'vs_code_web' },
  { url: 'https://git.example.com/acme/app', uid: 0, remoteUser: 'root', ide: 'vs_code' },
  { url: 'https://git.example.com/acme/app.git/', uid: 1001, remoteUser: 'node', ide: 'intellij' },
  { url: 'git@github.com:acme/app.git', uid: 1000, remoteUser: 'dev', ide: 'rider', port: 9000 },
  { url: 'git@github.com:app.git', uid: 0, remoteUser: 'toor', ide: 'cursor' },
  { url: 'ssh://git@h:2222/acme/my.repo.git', uid: 5000, remoteUser: '_svc', ide: 'windsurf' },
  { url: 'https://h/acme/app.git.git', uid: 1000, remoteUser: 'vscode', ide: 'goland' },
  { url: 'https://h/a/b/c/Deep_Name-1', uid: 2147483647, remoteUser: 'max', ide: 'clion' },
  { url: 'https://h/acme/app.git', name: 'custom', uid: 1000, remoteUser: 'vscode', home: '/workspace/me', ide: 'pycharm' },
  { url: '', uid: 1000, remoteUser: 'vscode', ide: 'webstorm' },
  { url: 'https://h:8443', uid: 1000, remoteUser: 'vscode', ide: 'phpstorm', port: 1024 },
  { url: 'https://h/acme/.git', uid: 1000, remoteUser: 'vscode', ide: 'rubymine' },
  { url: 'https://h/acme/..', uid: 1000, remoteUser: 'vscode', ide: 'vs_code' },
  { url: 'https://h/acme/app?ref=main', uid: 1000, remoteUser: 'vscode', ide: 'vs_code' },
  { url: 'https://h/acme/app//', uid: 1000, remoteUser: 'vscode', ide: 'vs_code' },
  { url: 'https://h/acme/app//', name: 'app', uid: 1000, remoteUser: 'vscode', ide: 'vs_code' },
];

const probe = `apiVersion: v1
kind: ConfigMap
metadata:
  name: model-probe
data:
  home: {{ include "gitspace.model.home" . | quote }}
  repoName: {{ include "gitspace.model.repoName" . | quote }}
  idePort: {{ include "gitspace.model.idePort" . | quote }}
`;

let chart: string;
beforeAll(() => {
  // A copy of the chart with only its helpers and the probe: other templates
  // are someone else's and need values this corpus does not set.
  chart = join(tempDir('gitspace-model-helm-'), 'gitspace');
  cpSync(join(repoRoot, 'charts', 'gitspace'), chart, { recursive: true });
  for (const f of readdirSync(join(chart, 'templates'))) {
    if (!/^_.*\.tpl$/.test(f)) rmSync(join(chart, 'templates', f), { recursive: true, force: true });
  }
  rmSync(join(chart, 'tests'), { recursive: true, force: true });
  writeFileSync(join(chart, 'templates', 'probe.yaml'), probe);
});

function fromModel(i: Input): { home: string; repoName: string; idePort: string } | { error: string } {
  try {
    return {
      home: homeOf(i),
      repoName: repoNameOf({ url: i.url, name: i.name }),
      idePort: String(idePortFor(i.ide, i.port ?? 0)),
    };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

async function fromHelm(i: Input, n: number) {
  const values = {
    repo: { url: i.url, name: i.name ?? '' },
    user: { uid: i.uid, remoteUser: i.remoteUser, home: i.home ?? '' },
    ide: { type: i.ide, port: i.port ?? 0 },
  };
  const file = join(chart, '..', `values-${n}.yaml`);
  writeFileSync(file, helmYaml(values));
  const r = await execa('helm', ['template', 'probe', chart, '--kube-version', '1.34.0', '-f', file], { env: toolEnv(), reject: false });
  if (r.exitCode !== 0) {
    // helm wraps fail's message: "Error: execution error at (...): MESSAGE"
    const m = /execution error at \([^)]*\): (.*)$/m.exec(String(r.stderr));
    return { error: m ? m[1] : `helm failed: ${r.stderr}` };
  }
  const data = (parse(String(r.stdout)) as { data?: Record<string, string> }).data;
  if (!data) throw new Error(`unexpected helm output:\n${r.stdout}`);
  return { home: data.home, repoName: data.repoName, idePort: data.idePort };
}

describe('model.ts agrees with the chart helpers (real helm)', () => {
  it('helm is installed (scripts/setup.sh)', async () => {
    const r = await execa('helm', ['version', '--short'], { env: toolEnv(), reject: false });
    expect(r.exitCode, `helm not found on ${toolEnv().PATH}: run bash scripts/setup.sh`).toBe(0);
  });

  it.each(corpus.map((c, n) => [n, JSON.stringify(c), c] as const))('#%i %s', async (n, _label, input) => {
    const expected = fromModel(input);
    const got = await fromHelm(input, n);
    expect(got).toEqual(expected);
  });

  it('the corpus covers both outcomes', () => {
    const outcomes = corpus.map((c) => 'error' in fromModel(c));
    expect(outcomes).toContain(true);
    expect(outcomes).toContain(false);
  });
});
