// The lifecycle hook files, written once (the chart's gitspace.hookFiles): the
// parity suite's Docker side takes them from the chart's rendering
// (test/parity/chart.ts) instead of re-deriving the names, and this pins that
// rendering to the rule docs/chart.md gives users (expected values from there).
import { describe, expect, it } from 'vitest';
import { chartHookFiles } from '../parity/chart.ts';
import type { Gitspace as Values } from '../../generator/src/values.gen.ts';
import { tempDir, valuesFile } from './helm.ts';

const dir = tempDir('gitspace-hook-files-');
let n = 0;
const files = (values: Record<string, unknown>) => chartHookFiles(valuesFile(dir, `v${n++}.yaml`, values), values as unknown as Values);

describe('hook files: what the pod mounts under GITSPACE_HOOKS_DIR, as the Docker side writes them', () => {
  it('a string: <hook>/00-command', async () => {
    expect(await files({ devcontainer: { postCreateCommand: 'npm ci' } })).toEqual({ 'postCreateCommand/00-command': 'npm ci' });
  });

  it('an array: one command, joined with spaces (as Docker Gitspace)', async () => {
    expect(await files({ devcontainer: { postCreateCommand: ['npm', 'ci'] } })).toEqual({ 'postCreateCommand/00-command': 'npm ci' });
  });

  it('an object: one 00-<key> file per entry (same 00: run in parallel); keys made file-safe; empty entries write nothing', async () => {
    expect(await files({ devcontainer: { postStartCommand: { a: 'x', b: ['yarn', 'lint'], 'my hook!': 'w', empty: '' } } })).toEqual({
      'postStartCommand/00-a': 'x',
      'postStartCommand/00-b': 'yarn lint',
      'postStartCommand/00-my_hook_': 'w',
    });
  });

  it('both hooks at once, in their own folders', async () => {
    expect(await files({ devcontainer: { postCreateCommand: 'make', postStartCommand: { serve: 'make serve' } } })).toEqual({
      'postCreateCommand/00-command': 'make',
      'postStartCommand/00-serve': 'make serve',
    });
  });

  it('no hooks, or empty ones: no files', async () => {
    expect(await files({})).toEqual({});
    expect(await files({ devcontainer: { postCreateCommand: '', postStartCommand: [] } })).toEqual({});
  });

  it('an SSH IDE renders too (the Docker side has no Secret to name)', async () => {
    expect(await files({ ide: { type: 'vs_code' }, devcontainer: { postStartCommand: 'echo hi' } })).toEqual({ 'postStartCommand/00-command': 'echo hi' });
  });
});
