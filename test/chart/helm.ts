// Shared by the chart tests: the real helm (cached by scripts/setup.sh), the chart rendered
// from value files, and lookups into the rendered manifests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll } from 'vitest';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { helmYaml } from '../../generator/src/helm-yaml.ts';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const chartDir = join(repoRoot, 'charts', 'gitspace');
export const cliPath = join(repoRoot, 'bin', 'gitspace-chart.js');
/**
 * helm's client-only default Kubernetes is v1.20, below the chart's kubeVersion (>=1.29):
 * every render names a supported version, as a user without a cluster must.
 */
export const KUBE_VERSION = '1.31.0';

export function cacheDir(): string {
  return process.env.GITSPACE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gitspace-chart');
}

/** PATH with the cached tools first; helm's plugin/config dirs as scripts/lib.sh sets them. */
export function helmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const cache = cacheDir();
  return {
    ...process.env,
    PATH: `${join(cache, 'bin')}${delimiter}${process.env.PATH ?? ''}`,
    HELM_PLUGINS: process.env.HELM_PLUGINS ?? join(cache, 'helm', 'plugins'),
    HELM_CONFIG_HOME: process.env.HELM_CONFIG_HOME ?? join(cache, 'helm', 'config'),
    HELM_CACHE_HOME: process.env.HELM_CACHE_HOME ?? join(cache, 'helm', 'cache'),
    HELM_DATA_HOME: process.env.HELM_DATA_HOME ?? join(cache, 'helm', 'data'),
    ...extra,
  };
}

/** A temp dir removed after the file's tests. */
export function tempDir(prefix = 'gitspace-chart-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export type Result = { exitCode: number; stdout: string; stderr: string };

/** Runs helm; never throws: tests look at the exit code and output. */
export async function helm(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const r = await execa('helm', args, { env: helmEnv(env), reject: false, cwd: repoRoot });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Writes values to a file in dir and returns its path. */
export function valuesFile(dir: string, name: string, values: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, helmYaml(values));
  return file;
}

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: any; data?: any };

/** `helm template` of the chart (or ref) with value files; throws with helm's stderr on failure. */
export async function render(files: string[], opts: { release?: string; chart?: string; extra?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Manifest[]> {
  const args = ['template', opts.release ?? 'ws', opts.chart ?? chartDir, '--kube-version', KUBE_VERSION, ...files.flatMap((f) => ['-f', f]), ...(opts.extra ?? [])];
  const r = await helm(args, opts.env);
  if (r.exitCode !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${r.stderr}`);
  // Read as the API server's YAML reader does (YAML 1.1: a bare `yes` is a boolean), so an
  // unquoted user string in a template shows here as the wrong type, as it would on install.
  return parseAllDocuments(r.stdout, { version: '1.1' })
    .map((d) => d.toJS() as Manifest)
    .filter((m) => m && typeof m === 'object');
}

export function find(ms: Manifest[], kind: string, name?: string): Manifest {
  const m = ms.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!m) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in the rendered chart (have: ${ms.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')})`);
  return m;
}

/** The gitspace (main) container of the rendered Deployment. */
export function mainContainer(ms: Manifest[]): any {
  const c = find(ms, 'Deployment').spec.template.spec.containers.find((x: any) => x.name === 'gitspace');
  if (!c) throw new Error('the Deployment has no container named gitspace');
  return c;
}

export function envOf(container: any): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value]));
}

/** Where the main container mounts the PVC ("home" volume), in order. */
export function homeMounts(container: any): string[] {
  return (container.volumeMounts ?? []).filter((m: any) => m.name === 'home').map((m: any) => m.mountPath);
}

/** `node bin/gitspace-chart.js docker-spec -f FILE --json` for the same values. */
export async function dockerSpec(files: string[], release = 'ws'): Promise<any> {
  const r = await execa('node', [cliPath, 'docker-spec', ...files.flatMap((f) => ['-f', f]), '--release', release, '--json'], { cwd: repoRoot, reject: false });
  if (r.exitCode !== 0) throw new Error(`docker-spec failed (${r.exitCode}):\n${String(r.stderr)}`);
  return JSON.parse(String(r.stdout));
}
