// npm run build (run by `prepare` on npm ci and npm pack): generator/src bundled
// by esbuild into generator/dist/cli.js plus one lazily loaded chunk per dynamic
// import, so `gitspace-chart --help` reads a handful of files instead of
// compiling each module on its own, and a command loads execa, yaml or ajv
// only when it runs. No type checking here: `npm run typecheck` (tsc) does that.
// generator/dist sits at the same depth as generator/src, so schema.ts and
// rescue.ts find schema/ and charts/ from either.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}generator/dist`;
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['generator/src/cli.ts'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  // The dependencies stay packages that npm installs beside the CLI: node
  // loads them as their authors ship them (a dynamic import() of bundled
  // CommonJS, as yaml is for node, would see only its default export).
  packages: 'external',
  logLevel: 'warning',
});
