#!/usr/bin/env node
// Runs the compiled CLI (generator/dist: `npm run build`, which `npm ci` and
// `npm pack` run as `prepare`), so no TypeScript is loaded at run time. In a
// checkout (generator/src is there: the package does not ship it), a build
// that is missing or older than a source file is skipped for the sources
// through tsx: an edit is never hidden behind a stale build.
import { readdirSync, statSync } from 'node:fs';

const src = new URL('../generator/src/', import.meta.url);
const dist = new URL('../generator/dist/cli.js', import.meta.url);
const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs;

function buildIsCurrent() {
  const built = mtime(dist);
  if (built === undefined) return false;
  let names;
  try {
    // Recursive: modules in subfolders (features/) count too.
    names = readdirSync(src, { recursive: true });
  } catch {
    return true; // an installed package: the build is all there is
  }
  return names.every((n) => !n.endsWith('.ts') || mtime(new URL(n, src)) <= built);
}

let main;
if (buildIsCurrent()) {
  ({ main } = await import('../generator/dist/cli.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../generator/src/cli.ts'));
}
process.exitCode = await main(process.argv);
