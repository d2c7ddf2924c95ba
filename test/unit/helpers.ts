// Shared by the unit tests: temp dirs, the CLI run as a user runs it, and the
// cached helm that scripts/lib.sh puts on PATH.
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll } from 'vitest';
import { execa } from 'execa';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const cliPath = join(repoRoot, 'bin', 'gitspace-chart.js');

/** A temp dir removed after the file's tests. */
export function tempDir(prefix = 'gitspace-unit-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Where scripts/lib.sh caches tools (GITSPACE_CACHE, else XDG_CACHE_HOME or ~/.cache). */
export function toolBin(): string {
  const cache = process.env.GITSPACE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gitspace-chart');
  return join(cache, 'bin');
}

export const toolEnv = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${toolBin()}${delimiter}${process.env.PATH ?? ''}` });

/** Runs `node bin/gitspace-chart.js ARGS` and never throws: tests look at the exit code. */
export async function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; bin?: string } = {}) {
  const r = await execa('node', [opts.bin ?? cliPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: opts.env,
    input: opts.input,
    reject: false,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A copy of the CLI, the schema and the generated files, with node_modules linked: tests may break it. */
export function copyOfRepo(): string {
  const dir = join(tempDir('gitspace-repo-copy-'), 'repo');
  mkdirSync(dir);
  for (const p of ['bin', 'generator', 'schema', 'package.json', 'tsconfig.json']) cpSync(join(repoRoot, p), join(dir, p), { recursive: true });
  for (const p of ['values.yaml', 'values.schema.json', 'README.md', 'templates/_model.tpl', 'files/scripts/ide-ports.sh']) {
    cpSync(join(repoRoot, 'charts', 'gitspace', p), join(dir, 'charts', 'gitspace', p), { recursive: true });
  }
  for (const p of ['values.yaml', 'values.schema.json', 'README.md']) {
    cpSync(join(repoRoot, 'charts', 'gitspace-features', p), join(dir, 'charts', 'gitspace-features', p), { recursive: true });
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/**
 * A stand-in for a command line tool in dir/bin: each call is logged to $FAKE_STATE/calls as its
 * arguments separated by US (0x1f), one call per line; `answer NAME` prints $FAKE_STATE/NAME
 * (nothing when missing). Bash builtins only, so PATH can hold nothing but the fakes.
 */
export function fakeTool(bin: string, tool: string, body: string): void {
  const p = join(bin, tool);
  writeFileSync(
    p,
    `#!/bin/bash
set -u
(IFS=$'\\x1f'; printf '%s\\n' "${tool}"$'\\x1f'"$*") >>"$FAKE_STATE/calls"
answer() { if [ -f "$FAKE_STATE/$1" ]; then printf '%s' "$(<"$FAKE_STATE/$1")"; echo; fi; }
${body}
`,
  );
  chmodSync(p, 0o755);
}
