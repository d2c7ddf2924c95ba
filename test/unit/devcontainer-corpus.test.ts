// The user fields of devcontainer.json, as generator/src/devcontainer.ts reads
// them (what `gitspace-chart values` resolves the user from), on the corpus
// test/bats/detect.bats runs through the clone step's parser in real
// containers: both sides must give the same fields, or both refuse the file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDevcontainerJson } from '../../generator/src/devcontainer.ts';
import { repoRoot } from './helpers.ts';

type Case = { name: string; text: string | string[]; fields?: { remoteUser?: string; containerUser?: string }; error?: boolean; line?: number };
const corpus = JSON.parse(readFileSync(join(repoRoot, 'test', 'corpus', 'devcontainer-user-fields.json'), 'utf8')) as { cases: Case[] };
const textOf = (c: Case) => (Array.isArray(c.text) ? c.text.join('\n') : c.text);

describe('devcontainer.json user fields: the shared corpus', () => {
  it('has cases of both kinds', () => {
    expect(corpus.cases.some((c) => c.error)).toBe(true);
    expect(corpus.cases.some((c) => c.fields)).toBe(true);
  });

  it.each(corpus.cases.filter((c) => !c.error).map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { config } = parseDevcontainerJson(textOf(c), 'devcontainer.json');
    const fields: Record<string, string> = {};
    if (config.remoteUser !== undefined) fields.remoteUser = config.remoteUser;
    if (config.containerUser !== undefined) fields.containerUser = config.containerUser;
    expect(fields).toEqual(c.fields);
  });

  it.each(corpus.cases.filter((c) => c.error).map((c) => [c.name, c] as const))('refused: %s', (_name, c) => {
    expect(() => parseDevcontainerJson(textOf(c), 'devcontainer.json')).toThrow(c.line ? `devcontainer.json:${c.line}:` : 'devcontainer.json');
  });
});
