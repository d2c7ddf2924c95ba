// /etc/profile.d/gitspace-env.sh as a login shell reads it: every containerEnv value must come
// back byte for byte, whatever quotes, $, backticks, backslashes or newlines it holds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { find, render, tempDir, valuesFile } from './helm.ts';

const env: Record<string, string> = {
  PLAIN: 'development',
  SINGLE: "it's",
  MANY_SINGLE: "'''",
  DOLLAR: '$HOME ${PATH} $(id) `id`',
  DOUBLE: 'say "hi"',
  BACKSLASH: 'a\\b\\\\c\\',
  NEWLINES: 'line1\nline2\n',
  EMPTY: '',
  SPACES: '  lead and trail  ',
  GLOB: '* ? [a]',
};

describe('containerEnv in login shells', () => {
  const dir = tempDir('gitspace-profile-');
  it.each(['sh', 'bash'])('%s reads every value back unchanged, and nothing runs', async (shell) => {
    const ms = await render([valuesFile(dir, 'v.yaml', { devcontainer: { containerEnv: env } })]);
    const file = join(dir, 'gitspace-env.sh');
    writeFileSync(file, find(ms, 'ConfigMap', 'ws-gitspace-env').data['gitspace-env.sh']);
    // Print each variable NUL-terminated after sourcing the file, in a clean environment.
    const names = Object.keys(env);
    const script = `. "$1"; for n in ${names.join(' ')}; do eval "printf '%s\\0' \\"\\$$n\\""; done`;
    // --norc: node's stdio pipes are sockets, which bash takes for rshd and reads ~/.bashrc.
    const flags = shell === 'bash' ? ['--norc', '--noprofile'] : [];
    const r = await execa(shell, [...flags, '-c', script, shell, file], { env: { PATH: process.env.PATH }, extendEnv: false, stripFinalNewline: false });
    expect(r.stderr).toBe('');
    const got = String(r.stdout).split('\0').slice(0, names.length);
    expect(Object.fromEntries(names.map((n, i) => [n, got[i]]))).toEqual(env);
  });
});
