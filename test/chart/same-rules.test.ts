// One schema decides validity: the same values file is refused by docker-spec
// (the generator's validator) and by helm (values.schema.json, generated from
// the same schema), both naming the same field for the same rule. helm's words
// are its validator's; ours are the schema's x-gitspace-messages.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { chartDir, cliPath, helm, KUBE_VERSION, repoRoot, tempDir, valuesFile } from './helm.ts';

type Case = { name: string; values: Record<string, unknown>; ours: string; helm: RegExp };

const cases: Case[] = [
  {
    name: 'user: null',
    values: { user: null },
    ours: "user: is required (a values file that sets it to null deletes the chart's default); give it a value or remove the null",
    helm: /at '': missing property 'user'/,
  },
  { name: 'user a string', values: { user: 'vscode' }, ours: 'user: must be an object (got "vscode")', helm: /at '\/user': got string, want object/ },
  {
    name: 'containerEnv HOME',
    values: { devcontainer: { containerEnv: { HOME: '/tmp' } } },
    ours: 'devcontainer.containerEnv: key "HOME" is reserved: the chart sets HOME from user.home',
    helm: /at '\/devcontainer\/containerEnv\/HOME': 'not' failed/,
  },
  {
    name: 'containerEnv GITSPACE_UID',
    values: { devcontainer: { containerEnv: { GITSPACE_UID: '0' } } },
    ours: 'devcontainer.containerEnv: key "GITSPACE_UID" is reserved',
    helm: /at '\/devcontainer\/containerEnv\/GITSPACE_UID': 'not' failed/,
  },
  {
    name: 'containerEnv IDE_TYPE',
    values: { devcontainer: { containerEnv: { IDE_TYPE: 'x' } } },
    ours: 'devcontainer.containerEnv: key "IDE_TYPE" is reserved',
    helm: /at '\/devcontainer\/containerEnv\/IDE_TYPE': 'not' failed/,
  },
  {
    name: 'containerEnv 1BAD',
    values: { devcontainer: { containerEnv: { '1BAD': 'x' } } },
    ours: 'devcontainer.containerEnv: key "1BAD" is not a valid environment variable name',
    helm: /at '\/devcontainer\/containerEnv': additional properties '1BAD' not allowed/,
  },
  { name: 'user.home /etc', values: { user: { home: '/etc' } }, ours: 'user.home: is a system or gitspace directory', helm: /at '\/user\/home': 'not' failed/ },
  { name: 'user.home /gitspace/volume', values: { user: { home: '/gitspace/volume' } }, ours: 'user.home: is a system or gitspace directory', helm: /at '\/user\/home': 'not' failed/ },
  { name: 'user.home relative', values: { user: { home: 'home/me' } }, ours: 'user.home: must be an absolute path', helm: /at '\/user\/home': 'home\/me' does not match pattern/ },
  {
    name: 'postCreateCommand [1, 2]',
    values: { devcontainer: { postCreateCommand: [1, 2] } },
    ours: 'devcontainer.postCreateCommand[0]: must be a string (got 1)',
    helm: /at '\/devcontainer\/postCreateCommand\/0': got number, want string/,
  },
  {
    // A rule across fields (the schema's x-gitspace-rules): the same words from both.
    name: 'security.sudo true in restricted mode',
    values: { security: { mode: 'restricted', sudo: true } },
    ours: 'security.sudo: true is refused under security.mode restricted (Pod Security restricted forbids the privilege escalation sudo needs); set security.sudo to false, or security.mode to standard',
    helm: /Error: execution error at \(gitspace\/templates\/deployment\.yaml:\d+:\d+\): security\.sudo: true is refused under security\.mode restricted \(Pod Security restricted forbids the privilege escalation sudo needs\); set security\.sudo to false, or security\.mode to standard/,
  },
];

const dir = tempDir('gitspace-same-rules-');

async function dockerSpecRun(file: string) {
  const r = await execa('node', [cliPath, 'docker-spec', '-f', file, '--release', 'ws', '--json'], { cwd: repoRoot, reject: false });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('docker-spec and helm refuse the same values for the same field and rule', () => {
  it.each(cases)('$name', async (c) => {
    const file = valuesFile(dir, `${c.name.replace(/[^A-Za-z0-9]+/g, '_')}.yaml`, c.values);
    const ours = await dockerSpecRun(file);
    expect(ours.exitCode).toBe(1);
    expect(ours.stdout).toBe('');
    expect(ours.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(ours.stderr).toContain(`gitspace-chart: ${file}: invalid values: ${c.ours}`);
    const h = await helm(['template', 'ws', chartDir, '--kube-version', KUBE_VERSION, '-f', file]);
    expect(h.exitCode).not.toBe(0);
    expect(h.stdout).toBe('');
    expect(h.stderr).toMatch(c.helm);
  });

  it.each(['/home/dev', '/root', '/workspace', '/srv/dev', '/var/lib/app'])('user.home %s: both accept it', async (home) => {
    const file = valuesFile(dir, `home${home.replaceAll('/', '_')}.yaml`, { user: { home }, devcontainer: { containerEnv: { NODE_ENV: 'x' } } });
    const ours = await dockerSpecRun(file);
    expect(ours.stderr).toBe('');
    expect(JSON.parse(ours.stdout).home).toBe(home);
    const h = await helm(['template', 'ws', chartDir, '--kube-version', KUBE_VERSION, '-f', file]);
    expect(h.stderr).toBe('');
    expect(h.exitCode).toBe(0);
  });
});
