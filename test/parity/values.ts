// Reading a case's values file, and the few things the Docker runtime derives
// from it the way the chart does (hook files), so both runtimes get the same
// inputs from the same file.
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

type Lifecycle = string | string[] | Record<string, string | string[]> | undefined;

/**
 * Lifecycle hooks as files "<hook>/00-<name>" -> command, the chart's
 * gitspace.hookFiles rule (string and array: 00-command, array joined by spaces
 * as Docker Gitspace; object: one 00-{key} per entry, run in parallel).
 */
export function hookFiles(v: Values): Record<string, string> {
  const files: Record<string, string> = {};
  const dc = (v.devcontainer ?? {}) as Record<string, unknown>;
  for (const hook of ['postCreateCommand', 'postStartCommand']) {
    const cmd = dc[hook] as Lifecycle;
    if (cmd && typeof cmd === 'object' && !Array.isArray(cmd)) {
      for (const [key, entry] of Object.entries(cmd)) {
        const line = Array.isArray(entry) ? entry.join(' ') : entry;
        if (line) files[`${hook}/00-${key.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200)}`] = line;
      }
    } else if (Array.isArray(cmd)) {
      if (cmd.length) files[`${hook}/00-command`] = cmd.join(' ');
    } else if (cmd) {
      files[`${hook}/00-command`] = String(cmd);
    }
  }
  return files;
}
