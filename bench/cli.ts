// The CLI's start-up: `gitspace-chart --help` of the package as a user installs it (npm pack, then
// npm i -g --prefix of the tarball) against the TypeScript sources run through tsx (what
// bin/gitspace-chart.js falls back to without a build), beside a bare `node -e 0` on the same
// machine: node's own start-up is the floor no CLI goes under (when NODE_EXTRA_CA_CERTS is set,
// also without it: the packed CLI's #! line starts node so). Runs interleaved, so a busy moment
// of the host hits them all alike. Part of `npm run bench`; alone:
//
//   npm run bench -- cli [--runs N] [--smoke] [--out FILE]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mergeResults } from './results.ts';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The issue's target for the packed CLI's --help. */
export const HELP_TARGET_SECONDS = 0.2;

export interface MsStat {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
  /** CPU time (user + system) per run, mean: steadier than wall time on a busy host. */
  cpuMs?: number;
}

export interface CliResults {
  /** nodeBare: `node -e 0` without NODE_EXTRA_CA_CERTS, as the packed CLI's #! line starts node (only when it is set). */
  helpMs: { node: MsStat; packed: MsStat; tsx: MsStat; nodeBare?: MsStat };
  /** packed / tsx, medians. */
  ratio: number;
  target: { target: string; value: number; met: boolean };
  /** Set when node loads extra CA certificates at every start (part of the floor, not of the CLI). */
  nodeExtraCaCerts?: string;
}

function msStat(samples: number[], cpuMs: number | undefined): MsStat {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const r = (n: number) => Math.round(n * 10) / 10;
  return { medianMs: r(median), minMs: r(s[0]), maxMs: r(s[s.length - 1]), runs: s.length, ...(cpuMs !== undefined ? { cpuMs: r(cpuMs / s.length) } : {}) };
}

let clockTicks: number | undefined;

/** CPU ms used by this process's finished children so far (Linux: /proc/self/stat cutime + cstime). */
function childrenCpuMs(): number | undefined {
  try {
    // Asked once, before the first reading: getconf is a child too.
    clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}

function sh(cmd: string, args: string[], cwd: string): string {
  // npm's own npm_* settings (npm run bench) would point the pack and the install at this checkout.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  return r.stdout;
}

function timeMs(cmd: string, args: string[], env?: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return ms;
}

/** Packs and installs the package in a temp dir, then times --help `runs` times each (after 2 untimed). */
export function cliBench(runs: number, progress: (m: string) => void = () => undefined): CliResults {
  const work = mkdtempSync(path.join(os.tmpdir(), 'gitspace-bench-cli-'));
  try {
    progress('cli: npm pack (runs the build) and npm i -g --prefix of the tarball');
    const [packed] = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work], repoRoot)) as { filename: string }[];
    const prefix = path.join(work, 'prefix');
    sh('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(work, packed.filename)], work);

    const tsx = pathToFileURL(createRequire(path.join(repoRoot, 'package.json')).resolve('tsx')).href;
    const sources = `const { main } = await import(${JSON.stringify(path.join(repoRoot, 'generator/src/cli.ts'))}); process.exitCode = await main(process.argv);`;
    const commands: Partial<Record<keyof CliResults['helpMs'], [string, string[], NodeJS.ProcessEnv?]>> = {
      node: [process.execPath, ['-e', '0']],
      packed: [path.join(prefix, 'bin', 'gitspace-chart'), ['--help']],
      tsx: [process.execPath, ['--import', tsx, '--input-type=module', '-e', sources, 'gitspace-chart', '--help']],
    };
    // The floor the packed CLI stands on: its #! line starts node without NODE_EXTRA_CA_CERTS.
    if (process.env.NODE_EXTRA_CA_CERTS) {
      const { NODE_EXTRA_CA_CERTS: _, ...bare } = process.env;
      commands.nodeBare = [process.execPath, ['-e', '0'], bare];
    }
    progress(`cli: ${runs} runs of each, interleaved`);
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
    const cpu: Record<string, number | undefined> = Object.fromEntries(Object.keys(commands).map((k) => [k, 0]));
    for (let i = -2; i < runs; i++) {
      for (const [name, [cmd, args, env]] of Object.entries(commands)) {
        const cpu0 = childrenCpuMs();
        const ms = timeMs(cmd, args, env);
        const cpu1 = childrenCpuMs();
        if (i < 0) continue;
        samples[name].push(ms);
        cpu[name] = cpu0 === undefined || cpu1 === undefined ? undefined : cpu[name]! + cpu1 - cpu0;
      }
    }
    const helpMs: CliResults['helpMs'] = {
      node: msStat(samples.node, cpu.node),
      packed: msStat(samples.packed, cpu.packed),
      tsx: msStat(samples.tsx, cpu.tsx),
      ...(samples.nodeBare ? { nodeBare: msStat(samples.nodeBare, cpu.nodeBare) } : {}),
    };
    const seconds = helpMs.packed.medianMs / 1000;
    return {
      helpMs,
      ratio: Math.round((helpMs.packed.medianMs / helpMs.tsx.medianMs) * 100) / 100,
      target: { target: `≤ ${HELP_TARGET_SECONDS} s`, value: seconds, met: seconds <= HELP_TARGET_SECONDS },
      ...(process.env.NODE_EXTRA_CA_CERTS ? { nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS } : {}),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The table rows (markdown), for this file's output and bench.ts's. */
export function cliRows(c: CliResults): string[] {
  const f = (s: MsStat) => `${s.medianMs.toFixed(0)} ms (${s.minMs.toFixed(0)}–${s.maxMs.toFixed(0)}, n=${s.runs})${s.cpuMs !== undefined ? `, CPU ${s.cpuMs.toFixed(0)} ms` : ''}`;
  return [
    `| \`gitspace-chart --help\`: the packed CLI (npm i -g of npm pack) | ${f(c.helpMs.packed)} | ${c.target.target}: ${c.target.met ? 'met' : 'MISSED'} |`,
    `| \`gitspace-chart --help\`: the sources through tsx (no build) | ${f(c.helpMs.tsx)} | packed / tsx: ${c.ratio} |`,
    `| \`node -e 0\` (the floor${c.nodeExtraCaCerts ? ': NODE_EXTRA_CA_CERTS is set, node loads those certificates at every start' : ''}) | ${f(c.helpMs.node)} | |`,
    ...(c.helpMs.nodeBare ? [`| \`node -e 0\` without NODE_EXTRA_CA_CERTS (the packed CLI's floor: its #! line unsets it) | ${f(c.helpMs.nodeBare)} | |`] : []),
  ];
}

function main(argv: string[]): number {
  let runs = 20;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--smoke') runs = 3;
    else if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--out') out = path.resolve(argv[++i] ?? '');
    else throw new Error(`unknown option ${a}; usage: npm run bench -- cli [--runs N] [--smoke] [--out FILE]`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: a whole number of at least 1');
  const c = cliBench(runs, (m) => process.stderr.write(`${m}\n`));
  if (out) mergeResults(out, { cli: c });
  process.stdout.write(['| measure | time | |', '|---|---|---|', ...cliRows(c), ''].join('\n'));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench cli: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
