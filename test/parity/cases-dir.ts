// Cases from outside the repository (`npm run parity -- --cases-dir DIR`, docs/parity.md):
// every folder of DIR is one case, named `ext-<folder>`. A folder holds
//   devcontainer.json  the repository's .devcontainer/devcontainer.json (JSONC)
//   Dockerfile         optional; built with --build-arg BASE=gitspace-chart/gitspace:0.1.0
//                      (it starts `ARG BASE` / `FROM ${BASE}`), the case's image
//   expected.json      {"user": {"name","uid","gid","group","home"},
//                       "writablePaths": ["/go", ...], "dockerGitspaceStarts": true,
//                       "upgrade": {"dockerfile": "Dockerfile.next", "userEdits": {...},
//                                   "expect": {...}, "conflicts": [...]}}   (test/parity/upgrade.ts)
// What a case expects is the folder author's, never derived from the code under test.
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import { IMAGE, type ParityCase } from './cases.ts';
import type { ExpectedUser } from './checks.ts';
import { progress, run } from './exec.ts';
import { parseUpgrade, UpgradeSpecError, type UpgradeSpec } from './upgrade.ts';

/** The keys expected.json may have; others are warned about and ignored (later issues may add some). */
const KNOWN_KEYS = ['user', 'writablePaths', 'dockerGitspaceStarts', 'upgrade'];

export class CasesDirError extends Error {}

/** A folder name as part of a case name (namespaces, repositories): lower case, [a-z0-9-]. */
export function caseNameOf(folder: string): string {
  const s = folder.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 30);
  if (!s) throw new CasesDirError(`--cases-dir: folder ${JSON.stringify(folder)} has no letter or digit to name a case after`);
  return `ext-${s}`;
}

function jsonc(file: string, text: string): Record<string, unknown> {
  const errors: ParseError[] = [];
  const v = parseJsonc(text, errors, { allowTrailingComma: true }) as unknown;
  if (errors.length || v === null || typeof v !== 'object' || Array.isArray(v)) throw new CasesDirError(`${file}: not a JSON object`);
  return v as Record<string, unknown>;
}

/** expected.json, checked: one message naming the file, the field and what it must be. */
export function parseExpected(
  file: string,
  text: string,
  warn: (msg: string) => void = (m) => progress(m),
): { user: ExpectedUser; writablePaths: string[]; dockerGitspaceStarts: boolean; upgrade?: UpgradeSpec } {
  const e = jsonc(file, text);
  for (const k of Object.keys(e)) if (!KNOWN_KEYS.includes(k)) warn(`WARNING: ${file}: key ${JSON.stringify(k)} is not known to this suite (known: ${KNOWN_KEYS.join(', ')}); ignored`);
  const u = e.user as Record<string, unknown> | undefined;
  if (!u || typeof u !== 'object' || Array.isArray(u)) throw new CasesDirError(`${file}: "user" must be an object {"name","uid","gid","group","home"}`);
  const str = (k: string) => {
    if (typeof u[k] !== 'string' || !u[k]) throw new CasesDirError(`${file}: user.${k} must be a non-empty string`);
    return u[k] as string;
  };
  const int = (k: string) => {
    if (typeof u[k] !== 'number' || !Number.isInteger(u[k]) || (u[k] as number) < 0) throw new CasesDirError(`${file}: user.${k} must be an integer >= 0`);
    return u[k] as number;
  };
  const user: ExpectedUser = { name: str('name'), uid: int('uid'), gid: int('gid'), group: str('group'), home: str('home') };
  // Optional: what `id` lists after groups= (e.g. "1000(vscode),999(tools)"); without it only the primary group is checked.
  if (u.groups !== undefined && (typeof u.groups !== 'string' || !/^\d+\([^()\s]+\)(,\d+\([^()\s]+\))*$/.test(u.groups))) {
    throw new CasesDirError(`${file}: user.groups must be what id prints after groups=, e.g. "1000(vscode),999(tools)"`);
  }
  user.groups = typeof u.groups === 'string' ? u.groups : '*';
  for (const k of Object.keys(u)) if (!['name', 'uid', 'gid', 'group', 'home', 'groups'].includes(k)) warn(`WARNING: ${file}: key "user.${k}" is not known to this suite; ignored`);
  if (!user.home.startsWith('/')) throw new CasesDirError(`${file}: user.home must be an absolute path`);
  const wp = e.writablePaths ?? [];
  if (!Array.isArray(wp) || wp.some((p) => typeof p !== 'string' || !/^\/[^\s]*$/.test(p) || p === '/')) {
    throw new CasesDirError(`${file}: writablePaths must be a list of absolute directory paths such as "/go"`);
  }
  const starts = e.dockerGitspaceStarts ?? true;
  if (typeof starts !== 'boolean') throw new CasesDirError(`${file}: dockerGitspaceStarts must be true or false`);
  let upgrade: UpgradeSpec | undefined;
  try {
    upgrade = e.upgrade === undefined ? undefined : parseUpgrade(file, e.upgrade);
  } catch (err) {
    throw err instanceof UpgradeSpecError ? new CasesDirError(err.message) : err;
  }
  return { user, writablePaths: [...new Set(wp as string[])].sort(), dockerGitspaceStarts: starts, ...(upgrade ? { upgrade } : {}) };
}

/** Whether the remote user gets passwordless sudo in the image (what the image gives, read from the image). */
async function imageSudo(image: string, user: string): Promise<boolean> {
  const r = await run('docker', ['run', '--rm', '--user', user, '--entrypoint', '/bin/sh', image, '-c', 'sudo -n true'], { allowFail: true });
  return r.exitCode === 0;
}

/** Builds a folder's Dockerfile (cheap when dockerd's layer cache has it); returns the image. */
async function buildImage(dir: string, name: string): Promise<string> {
  const image = `gitspace-chart/parity-${name}:0.1.0`;
  progress(`  cases-dir: docker build ${image} from ${dir}/Dockerfile (BASE=${IMAGE})`);
  const r = await run('docker', ['build', '--build-arg', `BASE=${IMAGE}`, '-t', image, dir], { allowFail: true, env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 900_000 });
  if (r.exitCode !== 0) throw new CasesDirError(`${dir}/Dockerfile: docker build failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  return image;
}

/** Every folder of dir as a parity case (folders in name order). */
export async function loadCasesDir(dir: string): Promise<ParityCase[]> {
  const root = path.resolve(dir);
  if (!existsSync(root) || !(await stat(root)).isDirectory()) throw new CasesDirError(`--cases-dir: ${root} is not a directory`);
  const folders = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  if (!folders.length) throw new CasesDirError(`--cases-dir: ${root} has no folder (one folder per case)`);
  const out: ParityCase[] = [];
  for (const folder of folders) {
    const d = path.join(root, folder);
    const name = caseNameOf(folder);
    const dcFile = path.join(d, 'devcontainer.json');
    const exFile = path.join(d, 'expected.json');
    if (!existsSync(dcFile)) throw new CasesDirError(`${d}: no devcontainer.json (the repository's .devcontainer/devcontainer.json)`);
    if (!existsSync(exFile)) throw new CasesDirError(`${d}: no expected.json ({"user": {...}, "writablePaths": [...], "dockerGitspaceStarts": true})`);
    const dc = jsonc(dcFile, await readFile(dcFile, 'utf8'));
    const expected = parseExpected(exFile, await readFile(exFile, 'utf8'));
    if (expected.upgrade && !existsSync(path.join(d, expected.upgrade.dockerfile))) {
      throw new CasesDirError(`${exFile}: upgrade.dockerfile: no ${path.join(d, expected.upgrade.dockerfile)} (the next image's Dockerfile, in the case folder)`);
    }
    let image: string;
    if (existsSync(path.join(d, 'Dockerfile'))) image = await buildImage(d, name);
    else if (typeof dc.image === 'string' && dc.image) image = dc.image;
    else throw new CasesDirError(`${dcFile}: no "image" and no Dockerfile beside it: the case needs an image`);
    out.push({
      name,
      about: `--cases-dir folder ${folder} (${d})`,
      image,
      generatorArgs: [],
      expected: expected.user,
      devcontainerFile: dcFile,
      // Docker Gitspace's start fails somewhere (the folder says so, not where): any setup step.
      reference: expected.dockerGitspaceStarts ? undefined : { startFailsAnywhere: true },
      hooks: false,
      imageSudo: await imageSudo(image, expected.user.name),
      writablePaths: expected.writablePaths,
      probeWritable: true,
      ...(expected.upgrade ? { upgrade: expected.upgrade } : {}),
    });
  }
  return out;
}
