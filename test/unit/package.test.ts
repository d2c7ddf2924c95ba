// The generator as a package, as a user gets it: `npm pack` of a copy of this
// checkout (what a fresh clone holds; packing runs the build), the tarball
// installed with `npm i -g --prefix`, and the installed `gitspace-chart` run
// beside the TypeScript sources: same output. The copy keeps the pack's build
// away from this checkout's generator/dist, which other tests run meanwhile.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { repoRoot, tempDir } from './helpers.ts';

const dir = tempDir('gitspace-package-');
const copy = join(dir, 'checkout');
const prefix = join(dir, 'prefix');
const installed = join(prefix, 'bin', 'gitspace-chart');

// npm passes its own settings down as npm_* variables when the tests run under it (npm test):
// they would point the pack and the install at this checkout.
const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
const npm = (args: string[], cwd: string) => execa('npm', args, { cwd, env: npmEnv, extendEnv: false });

type Run = { exitCode: number; stdout: string; stderr: string };
const result = (r: { exitCode?: number; stdout: unknown; stderr: unknown }): Run => ({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) });

/** The installed command, run as a user runs it (through its #! line, from PATH's bin dir). */
const runInstalled = async (args: string[]) => result(await execa(installed, args, { cwd: dir, reject: false, stripFinalNewline: false }));

/** The TypeScript sources through tsx, as bin/gitspace-chart.js runs them without a build (from dir, like the installed one). */
const tsx = pathToFileURL(createRequire(join(repoRoot, 'package.json')).resolve('tsx')).href;
const runSources = async (args: string[]) =>
  result(
    await execa(
      'node',
      ['--import', tsx, '--input-type=module', '-e', `const { main } = await import(${JSON.stringify(join(repoRoot, 'generator/src/cli.ts'))}); process.exitCode = await main(process.argv);`, 'gitspace-chart', ...args],
      { cwd: dir, reject: false, stripFinalNewline: false },
    ),
  );

/**
 * The installed CLI run with every module node loads recorded: ES modules (URLs, node: builtins
 * too) by a module.register resolve hook, which writes each import's URL before it returns;
 * CommonJS modules (paths) from require.cache at exit.
 */
async function loadedBy(args: string[]): Promise<Run & { loaded: string[] }> {
  const rec = mkdtempSync(join(dir, 'loaded-'));
  writeFileSync(join(rec, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(out, r.url + '\\n');
  return r;
}
`);
  writeFileSync(join(rec, 'record.mjs'), `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
const out = ${JSON.stringify(join(rec, 'loaded'))};
register('./hooks.mjs', import.meta.url, { data: { out } });
process.on('exit', () => appendFileSync(out, Object.keys(createRequire(import.meta.url).cache).map((p) => p + '\\n').join('')));
`);
  const script = join(prefix, 'lib', 'node_modules', 'gitspace-chart', 'bin', 'gitspace-chart.js');
  const r = result(await execa('node', ['--import', pathToFileURL(join(rec, 'record.mjs')).href, script, ...args], { cwd: dir, reject: false }));
  return { ...r, loaded: readFileSync(join(rec, 'loaded'), 'utf8').split('\n').filter(Boolean) };
}

/** Both, side by side. */
const runBoth = (args: string[]) => Promise.all([runInstalled(args), runSources(args)]);

let packedFiles: string[] = [];

beforeAll(async () => {
  // A fresh clone's files: tracked and new ones, not the ignored (node_modules, generator/dist).
  const { stdout } = await execa('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repoRoot });
  for (const f of stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(repoRoot, f))) continue; // deleted, not yet committed
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    cpSync(join(repoRoot, f), join(copy, f));
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'));
  const pack = await npm(['pack', '--json', '--pack-destination', dir], copy);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  packedFiles = info.files.map((f) => f.path).sort();
  await npm(['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, info.filename)], dir);
  writeFileSync(join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nvscode:x:1000:1000::/home/vscode:/bin/bash\nnode:x:1001:1001::/home/node:/bin/bash\n');
  writeFileSync(join(dir, 'group'), 'root:x:0:\nvscode:x:1000:\nnode:x:1001:\ndocker:x:999:vscode\n');
  writeFileSync(join(dir, 'devcontainer.json'), '// JSONC\n{ "image": "gitspace-chart/gitspace:0.1.0", "remoteUser": "node", "containerEnv": { "A": "1" }, }\n');
}, 120_000);

const userFiles = ['--passwd', 'passwd', '--group', 'group'];

describe('npm pack', () => {
  it('holds the bundled CLI (its lazily loaded chunks beside it), the schema it reads, and no TypeScript', () => {
    const dist = packedFiles.filter((f) => f.startsWith('generator/dist/'));
    expect(dist).toContain('generator/dist/cli.js');
    expect(dist.every((f) => /^generator\/dist\/[\w-]+\.js$/.test(f))).toBe(true);
    // The chunks cli.ts and the commands load on demand: the command definitions (register), generate,
    // and the modules only a running command needs.
    for (const mod of ['register', 'generate', 'values-files', 'image', 'oci']) expect(dist.some((f) => f.startsWith(`generator/dist/${mod}-`))).toBe(true);
    expect(packedFiles.filter((f) => !f.startsWith('generator/dist/'))).toEqual(['README.md', 'bin/gitspace-chart.js', 'package.json', 'schema/gitspace.schema.json']);
  });
});

describe('the installed package (npm i -g --prefix)', () => {
  it('installs no TypeScript tooling', () => {
    const modules = readdirSync(join(prefix, 'lib', 'node_modules', 'gitspace-chart', 'node_modules'));
    expect(modules).not.toContain('tsx');
    expect(modules).not.toContain('typescript');
    expect(modules).not.toContain('json-schema-to-typescript');
    // Bundled into the CLI: every start needs it.
    expect(modules).not.toContain('commander');
  });

  it('--help loads none of the packages the commands load to run (execa, yaml, ajv, jsonc-parser) nor node:crypto', async () => {
    // What --help costs is what it loads (bench/cli.ts times it; tests assert no timings). Every file
    // node loads is recorded: ES modules by a load hook, CommonJS (require, createRequire) from
    // require.cache at exit. `values` loads all four packages: it shows the recording sees them.
    const [help, values] = await Promise.all([loadedBy(['--help']), loadedBy(['values', '--repo-url', 'https://git.example.com/acme/app.git', '--devcontainer', 'devcontainer.json', ...userFiles])]);
    const heavy = /\/node_modules\/(execa|yaml|ajv|jsonc-parser)\/|^node:crypto$/;
    const packages = (loaded: string[]) => new Set(loaded.map((u) => /.*\/node_modules\/([^/]+)\//.exec(u)?.[1]));
    expect(values.exitCode).toBe(0);
    expect([...packages(values.loaded)]).toEqual(expect.arrayContaining(['ajv', 'execa', 'jsonc-parser', 'yaml']));
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('resolve-user [options]');
    // The recording sees the build and node's builtins (node:fs: the bin reads the build's mtime).
    expect(help.loaded.some((u) => u.endsWith('/gitspace-chart/generator/dist/cli.js'))).toBe(true);
    expect(help.loaded).toContain('node:fs');
    expect(help.loaded.filter((u) => heavy.test(u))).toEqual([]);
  });

  it('--help prints what the sources print', async () => {
    const [r, sources] = await runBoth(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('resolve-user [options]');
    expect(r).toEqual(sources);
  });

  it('resolve-user prints what the sources print, readable and --json', async () => {
    const args = ['resolve-user', '--devcontainer', 'devcontainer.json', ...userFiles];
    const [[r, sources], [json, jsonSources]] = await Promise.all([runBoth(args), runBoth([...args, '--json'])]);
    expect(r.stdout.split('\n')).toEqual([
      'containerUser  root       uid 0 gid 0  from default: "root"',
      'remoteUser     node       uid 1001 gid 1001  from remoteUser (devcontainer.json): "node"',
      'home           /home/node',
      '',
    ]);
    expect(r).toEqual(sources);
    expect(JSON.parse(json.stdout)).toEqual({ containerUser: 'root', remoteUser: 'node', uid: 1001, gid: 1001, home: '/home/node' });
    expect(json).toEqual(jsonSources);
  });

  it('values prints what the sources print, warnings included', async () => {
    const args = ['values', '--repo-url', 'https://git.example.com/acme/app.git', '--devcontainer', 'devcontainer.json', ...userFiles];
    const [r, sources] = await runBoth(args);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('# remoteUser node (uid 1001, gid 1001), HOME /home/node; containerUser root.\n');
    expect(r.stdout).toContain('containerEnv:\n    A: "1"\n');
    expect(r.stderr).toContain('gitspace-chart: warning: image "gitspace-chart/gitspace:0.1.0" from devcontainer.json was not inspected');
    expect(r).toEqual(sources);
  });

  it('an error is the same one line', async () => {
    const args = ['values', '--repo-url', 'https://git.example.com/acme/app.git', '--devcontainer', 'missing.json', ...userFiles];
    const [r, sources] = await runBoth(args);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe('gitspace-chart: --devcontainer: cannot read "missing.json" (ENOENT)\n');
    expect(r).toEqual(sources);
  });

  it('gives NODE_EXTRA_CA_CERTS back to the commands it runs (its #! line starts node without it)', async () => {
    // The helm found first on PATH records what it was given; the first thing `stop` runs is helm list.
    const bin = join(dir, 'recording-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'helm'), `#!/bin/sh\nprintf '%s|%s' "$NODE_EXTRA_CA_CERTS" "\${GITSPACE_CHART_EXTRA_CA_CERTS-unset}" > ${JSON.stringify(join(dir, 'helm-env'))}\nexit 1\n`, { mode: 0o755 });
    const r = result(
      await execa(installed, ['stop', 'demo'], { cwd: dir, reject: false, env: { PATH: `${bin}:${process.env.PATH}`, NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' } }),
    );
    expect(r.exitCode).toBe(1);
    expect(readFileSync(join(dir, 'helm-env'), 'utf8')).toBe('/etc/ssl/certs/ca-certificates.crt|unset');
  });

  it('generate says it needs a checkout', async () => {
    const r = await runInstalled(['generate', '--check']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^gitspace-chart: generate works only in a checkout of gitspace-chart \(it writes charts\/gitspace\/\); there is none under .*\/lib\/node_modules\/gitspace-chart\n$/);
  });
});

describe('bin/gitspace-chart.js in a checkout', () => {
  it('runs the sources, not the build, once a source is newer than the build', async () => {
    // The copy was built by the pack; an edit after it must show at once, without a rebuild.
    const cli = join(copy, 'generator', 'src', 'cli.ts');
    writeFileSync(cli, readFileSync(cli, 'utf8').replace("'Run a gitspace on Kubernetes", "'EDITED: Run a gitspace on Kubernetes"));
    const r = result(await execa('node', [join(copy, 'bin', 'gitspace-chart.js'), '--help'], { cwd: dir, reject: false }));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('EDITED: Run a gitspace on Kubernetes');
  });
});
