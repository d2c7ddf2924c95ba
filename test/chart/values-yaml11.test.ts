// Helm's and the API server's YAML readers (go-yaml through sigs.k8s.io/yaml) still follow
// YAML 1.1: bare on/off, yes/no, y/n, true/TRUE are booleans, keys too. A containerEnv entry
// `N: on` written bare reaches the chart as `false: true`, and a template that prints a
// user's name bare (`- name: ON`, `secretName: yes`) makes the install fail. Both the
// generator's values files and the rendered manifests must keep every such string a string.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cliPath, envOf, find, mainContainer, render, tempDir, valuesFile } from './helm.ts';

const words: Record<string, string> = { ON: 'on', OFF: 'Off', YES: 'yes', NO: 'NO', Y: 'y', N: 'n', TRUE: 'true', NUM: '0755', TIME: '12:30', TILDE: '~' };

describe('YAML 1.1 words stay strings', () => {
  const dir = tempDir('gitspace-yaml11-');

  it('in the values file the generator writes: every containerEnv name and value', async () => {
    const dc = join(dir, 'devcontainer.json');
    writeFileSync(dc, JSON.stringify({ image: 'acme/dev:1', remoteUser: 'root', containerEnv: words }));
    const out = join(dir, 'values.yaml');
    const r = await execa('node', [cliPath, 'values', '--repo-url', 'https://git.example.com/acme/app.git', '--devcontainer', dc, '--output', out], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const env = envOf(mainContainer(await render([out])));
    expect(Object.fromEntries(Object.keys(words).map((k) => [k, env[k]]))).toEqual(words);
  });

  it('in the manifests: namespace, pull secret and Secret names', async () => {
    const values = valuesFile(dir, 'names.yaml', {
      image: { pullSecrets: ['on'] },
      repo: { url: 'https://git.example.com/acme/app.git', credentials: { existingSecret: 'yes' } },
      ide: { auth: 'password', passwordSecret: 'y' },
    });
    const ms = await render([values], { extra: ['--namespace', 'no'] });
    const pod = find(ms, 'Deployment').spec.template.spec;
    expect(pod.imagePullSecrets).toEqual([{ name: 'on' }]);
    const secrets = pod.volumes.filter((v: any) => v.secret).map((v: any) => v.secret.secretName);
    expect(secrets).toEqual(expect.arrayContaining(['yes', 'y']));
    for (const m of ms) expect(m.metadata, `${m.kind} ${m.metadata.name}`).toMatchObject({ namespace: 'no' });
  });
});
