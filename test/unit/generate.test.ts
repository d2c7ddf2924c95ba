// The generated files follow the schema: `generate --check` passes on the
// tree and fails when the schema and the files disagree. The failing cases run
// on a temp copy; the real schema file is never modified.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from '../../generator/src/generate.ts';
import { loadSchema, type JsonSchema } from '../../generator/src/schema.ts';
import { copyOfRepo, repoRoot, runCli } from './helpers.ts';

function editSchema(dir: string, edit: (s: JsonSchema) => void) {
  const file = join(dir, 'schema', 'gitspace.schema.json');
  const schema = JSON.parse(readFileSync(file, 'utf8')) as JsonSchema;
  edit(schema);
  writeFileSync(file, JSON.stringify(schema, null, 2) + '\n');
}

describe('generate --check', () => {
  it('passes on this tree', async () => {
    const r = await runCli(['generate', '--check']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('generated files are up to date');
  });

  it('fails, naming the field, when a field of the schema loses its default', async () => {
    const dir = copyOfRepo();
    editSchema(dir, (s) => {
      delete s.properties!.user.properties!.remoteUser.default;
    });
    const r = await runCli(['generate', '--check'], { cwd: dir, bin: join(dir, 'bin', 'gitspace-chart.js') });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^gitspace-chart: .*field "remoteUser" has no default/);
  });

  it('fails, naming the stale files, when the schema changed and generate was not run', async () => {
    const dir = copyOfRepo();
    editSchema(dir, (s) => {
      s.properties!.user.properties!.uid.default = 1001;
    });
    const r = await runCli(['generate', '--check'], { cwd: dir, bin: join(dir, 'bin', 'gitspace-chart.js') });
    expect(r.exitCode).toBe(1);
    // a default shows in values.yaml, values.schema.json, the README table and the typed defaults
    expect(r.stderr).toBe(
      "gitspace-chart: generated files are stale: charts/gitspace/values.schema.json, charts/gitspace/values.yaml, charts/gitspace/README.md, charts/gitspace/templates/_scripts.gen.tpl, generator/src/values.gen.ts; run 'npm run generate' and commit them",
    );
    // and the copy's real files were left alone by --check
    expect(readFileSync(join(dir, 'charts', 'gitspace', 'values.yaml'), 'utf8')).toBe(readFileSync(join(repoRoot, 'charts', 'gitspace', 'values.yaml'), 'utf8'));
  });

  it('generatedFiles refuses a group object whose "required" misses a field (a null in a values file would reach the templates)', async () => {
    const schema = structuredClone(loadSchema());
    schema.properties!.user.required = ['containerUser', 'remoteUser', 'uid', 'gid'];
    await expect(generatedFiles(schema)).rejects.toThrow(
      'user must list "required": ["containerUser","remoteUser","uid","gid","home","devcontainerJson","etcFiles"] (every field whose default is not null, in order)',
    );
  });

  it("fails when an IDE port changed in the schema and start.sh's table was not regenerated", async () => {
    const dir = copyOfRepo();
    editSchema(dir, (s) => {
      (s.properties!.ide.properties!.type['x-gitspace-ides'] as Record<string, { port: number }>).cursor.port = 9098;
    });
    const r = await runCli(['generate', '--check'], { cwd: dir, bin: join(dir, 'bin', 'gitspace-chart.js') });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('charts/gitspace/files/scripts/ide-ports.sh');
    // generate writes the new port where start.sh reads it
    expect((await runCli(['generate'], { cwd: dir, bin: join(dir, 'bin', 'gitspace-chart.js') })).exitCode).toBe(0);
    expect(readFileSync(join(dir, 'charts', 'gitspace', 'files', 'scripts', 'ide-ports.sh'), 'utf8')).toMatch(/^ +cursor\) +echo 9098 ;;$/m);
  });

  it('generatedFiles refuses a schema object without a default', async () => {
    const schema = structuredClone(loadSchema());
    delete schema.properties!.ide.properties!.port.default;
    await expect(generatedFiles(schema)).rejects.toThrow('field "port" has no default');
  });
});
