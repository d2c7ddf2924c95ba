// bench/results.json holds every part of the bench, each under its own keys: a part merges what it
// measured into the file and leaves the other parts' keys as they are (npm run bench writes the
// restart/start/migration/render keys, `npm run bench -- cli` the key cli, `-- fleet` the key fleet).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Writes parts' top-level keys over the file's, keeping every other key; a file that is not JSON is an error, never overwritten. */
export function mergeResults(file: string, parts: Record<string, unknown>): void {
  let current: Record<string, unknown> = {};
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    if (text.trim()) {
      try {
        current = JSON.parse(text) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`${file} is not JSON (${(err as Error).message}): fix or remove it; the bench merges its results into it`);
      }
    }
  }
  writeFileSync(file, JSON.stringify({ ...current, ...parts }, null, 2) + '\n');
}
