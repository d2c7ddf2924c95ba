// Reading a case's values file, so both runtimes get the same inputs from the
// same file (what the chart renders from it: chart.ts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { ideTable } from '../../generator/src/schema.ts';
import type { Gitspace as Values } from '../../generator/src/values.gen.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function loadValues(file: string): Promise<Values> {
  return (YAML.parse(await readFile(file, 'utf8')) ?? {}) as Values;
}

export function ideProtocol(v: Values): 'http' | 'ssh' {
  return ideTable()[v.ide?.type ?? 'vs_code_web']?.protocol ?? 'http';
}
