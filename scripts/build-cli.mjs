// npm run build (run by `prepare` on npm ci and npm pack): generator/src bundled
// by esbuild into generator/dist/cli.js plus lazily loaded chunks (one for the
// command definitions, one per module a command loads when it runs), so
// `gitspace-chart --help` reads a handful of files instead of compiling each
// module on its own, and a command loads execa, yaml or ajv only when it runs.
// No type checking here: `npm run typecheck` (tsc) does that.
// generator/dist sits at the same depth as generator/src, so schema.ts and
// rescue.ts find schema/ and charts/ from either.
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

// Bundled: commander, which every start loads (six CommonJS files read and wrapped
// one by one; bundled, --help took ~13 ms less CPU here), so it is a devDependency.
// It is CommonJS: the chunks get a `require` for its require('node:events') and
// friends. The dependencies stay packages that npm installs beside the CLI, loaded
// as their authors ship them (a dynamic import() of bundled CommonJS, as yaml is
// for node, would see only its default export), and only by the commands that use them.
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const bundled = ['commander'];
const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)].filter((d) => !bundled.includes(d));
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
  external,
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
