// start.sh's default IDE port for each ide.type is the schema's (x-gitspace-ides),
// the one place the table is written: start.sh is sourced by the real bash and
// its function called, the expected port read from the schema file itself.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { repoRoot } from './helpers.ts';

const startSh = join(repoRoot, 'charts', 'gitspace', 'files', 'scripts', 'start.sh');
const schema = JSON.parse(readFileSync(join(repoRoot, 'schema', 'gitspace.schema.json'), 'utf8'));
const ides = schema.properties.ide.properties.type['x-gitspace-ides'] as Record<string, { port: number }>;

/** `default_ide_port TYPE` of start.sh (sourced: its _is_sourced guard skips main). */
async function startShPort(type: string) {
  const r = await execa('bash', ['-c', 'source "$0" && default_ide_port "$1"', startSh, type], { reject: false });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe("start.sh's default IDE ports", () => {
  it('the schema has IDE types', () => {
    expect(Object.keys(ides).length).toBeGreaterThan(0);
  });

  it.each(Object.entries(ides))('%s: the schema port %#', async (type, info) => {
    const r = await startShPort(type);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(String(info.port));
    expect(r.exitCode).toBe(0);
  });

  it('an unknown IDE type fails naming it and the known types', async () => {
    const r = await startShPort('emacs');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('IDE_TYPE: unknown IDE emacs (');
    for (const type of Object.keys(ides)) expect(r.stderr).toContain(type);
  });
});
