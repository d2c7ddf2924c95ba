// Shared by the unit tests: temp dirs, the CLI run as a user runs it, and the
// cached helm that scripts/lib.sh puts on PATH.
import { mkdtempSync, rmSync } from 'node:fs';
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
