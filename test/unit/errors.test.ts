// A mistake in the input and a bug in gitspace-chart look different: the first
// is one line and exit 1, the second says "internal error", exits 70
// (EX_SOFTWARE) and shows its stack with --debug.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorReport, UserError } from '../../generator/src/cli.ts';
import { copyOfRepo, runCli, tempDir } from './helpers.ts';

describe('errorReport', () => {
  it('a UserError: its message on one line, exit 1', () => {
    expect(errorReport(new UserError('user.uid: must be >= 0 (got -1)'), false)).toEqual({ exitCode: 1, text: 'gitspace-chart: user.uid: must be >= 0 (got -1)\n' });
    // --debug adds nothing to a user's mistake
    expect(errorReport(new UserError('x: bad'), true)).toEqual({ exitCode: 1, text: 'gitspace-chart: x: bad\n' });
  });

  it('any other error: "internal error", exit 70, a hint to rerun with --debug', () => {
    const r = errorReport(new TypeError("Cannot read properties of undefined (reading 'home')"), false);
    expect(r.exitCode).toBe(70);
    expect(r.text).toBe(
      "gitspace-chart: internal error: Cannot read properties of undefined (reading 'home') (a bug in gitspace-chart, not in your input: rerun with --debug for the stack and report it)\n",
    );
  });

  it('with --debug: the stack follows the first line', () => {
    const err = new Error('boom');
    const r = errorReport(err, true);
    expect(r.exitCode).toBe(70);
    expect(r.text.split('\n')[0]).toBe('gitspace-chart: internal error: boom');
    expect(r.text).toContain(err.stack!);
  });

  it('a thrown non-Error is an internal error too', () => {
    expect(errorReport('a string', false).text).toMatch(/^gitspace-chart: internal error: a string /);
  });
});

describe('a command module that fails to load (a real run on a broken copy)', () => {
  const dir = copyOfRepo();
  const commands = join(dir, 'generator', 'src', 'commands.ts');
  writeFileSync(commands, `import './no-such-module.ts';\n${readFileSync(commands, 'utf8')}`);
  const bin = join(dir, 'bin', 'gitspace-chart.js');

  it('is an internal error naming the import, never "unknown command"', async () => {
    const r = await runCli(['values', '--repo-url', 'https://h/a/b.git'], { cwd: dir, bin });
    expect(r.exitCode).toBe(70);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain('unknown command');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^gitspace-chart: internal error: .*no-such-module\.ts.*rerun with --debug/);
  });

  it('--debug prints the stack', async () => {
    const r = await runCli(['values', '--debug'], { cwd: dir, bin });
    expect(r.exitCode).toBe(70);
    expect(r.stderr).toMatch(/^gitspace-chart: internal error: .*no-such-module\.ts/);
    expect(r.stderr).toMatch(/\n +at /);
  });
});

it('a user error through the real CLI stays one line, exit 1', async () => {
  const bad = join(tempDir(), 'bad.yaml');
  writeFileSync(bad, 'compat: {layout: legacy}\n');
  const r = await runCli(['docker-spec', '-f', bad, '--release', 'x', '--debug']);
  expect(r.exitCode).toBe(1);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^gitspace-chart: compat\.layout: "legacy"/);
});
