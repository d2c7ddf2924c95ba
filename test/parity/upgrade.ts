// The upgrade scenario of the parity suite (docs/parity.md, "The upgrade scenario"): a case's
// `upgrade` (cases.ts, or a --cases-dir folder's expected.json) names the next image's
// Dockerfile, what the user edits before the upgrade and what each path must hold after it.
// After the case's other rows, the suite writes the edits as the user, moves the gitspace to
// the next image (Kubernetes: helm upgrade; the reference: Docker Gitspace's reset with the new
// image on the same volume) and reads every expected path on both runtimes.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { progress, run } from './exec.ts';
import type { Observation } from './checks.ts';
import type { Gitspace, RuntimeName } from './runtime.ts';

export interface UpgradeSpec {
  /** The next image's Dockerfile, relative to the case's folder (the build context). */
  dockerfile: string;
  /** Files the user writes before the upgrade: absolute path -> content. */
  userEdits: Record<string, string>;
  /** What each path holds on Kubernetes after the upgrade: content, or null for absent. */
  expect: Record<string, string | null>;
  /** Paths the upgrade report must list as conflicts (the user's kept, the new image's beside it). */
  conflicts?: string[];
}

export class UpgradeSpecError extends Error {}

const ABS = /^\/[^\0]*[^/\0]$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An `upgrade` value checked: one message naming the file, the field and what it must be. */
export function parseUpgrade(file: string, v: unknown): UpgradeSpec {
  const bad = (field: string, must: string) => new UpgradeSpecError(`${file}: upgrade.${field} must be ${must}`);
  if (!isObject(v)) throw new UpgradeSpecError(`${file}: upgrade must be an object {"dockerfile", "userEdits", "expect"}`);
  for (const k of Object.keys(v)) {
    if (!['dockerfile', 'userEdits', 'expect', 'conflicts'].includes(k)) throw bad(k, 'one of dockerfile, userEdits, expect, conflicts (unknown key)');
  }
  const df = v.dockerfile;
  if (typeof df !== 'string' || !df || path.isAbsolute(df) || df.split(/[\\/]/).includes('..')) {
    throw bad('dockerfile', 'a file name relative to the case folder, such as "Dockerfile.next"');
  }
  const edits = v.userEdits ?? {};
  if (!isObject(edits) || Object.entries(edits).some(([p, c]) => !ABS.test(p) || typeof c !== 'string')) {
    throw bad('userEdits', 'an object {"/absolute/path": "content"}');
  }
  const expect = v.expect;
  if (!isObject(expect) || !Object.keys(expect).length || Object.entries(expect).some(([p, c]) => !ABS.test(p) || (typeof c !== 'string' && c !== null))) {
    throw bad('expect', 'a non-empty object {"/absolute/path": "content" or null (absent)}');
  }
  const conflicts = v.conflicts ?? [];
  if (!Array.isArray(conflicts) || conflicts.some((p) => typeof p !== 'string' || !ABS.test(p))) throw bad('conflicts', 'a list of absolute paths');
  return {
    dockerfile: df,
    userEdits: edits as Record<string, string>,
    expect: expect as Record<string, string | null>,
    ...(conflicts.length ? { conflicts: [...new Set(conflicts as string[])] } : {}),
  };
}

const INPUTS_LABEL = 'org.gitspace-chart.inputs';

/** sha256 of every file of dir (relative path and content) and of the given strings. */
async function inputsHash(dir: string, extra: string[]): Promise<string> {
  const h = createHash('sha256');
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => path.join(d.parentPath ?? d.path, d.name)).sort();
  for (const f of files) h.update(`${path.relative(dir, f)}\0`).update(await readFile(f)).update('\0');
  for (const s of extra) h.update(`${s}\0`);
  return h.digest('hex').slice(0, 12);
}

const imageId = async (image: string) => (await run('docker', ['image', 'inspect', '-f', '{{.Id}}', image], { allowFail: true })).stdout.trim();

/**
 * Builds the case's next image as a case's Dockerfile is built (legacy builder, BASE = the reference
 * image) with CASE_IMAGE = the case's image, so it may start `FROM ${CASE_IMAGE}`. Cached like
 * images/build.sh's: the image carries the hash of its inputs (the folder's files, both base
 * images) and is not built again while they are the same.
 */
export async function buildNextImage(caseName: string, dir: string, spec: UpgradeSpec, caseImage: string, base: string): Promise<string> {
  const image = `gitspace-chart/parity-${caseName}-next:0.1.0`;
  const hash = await inputsHash(dir, [spec.dockerfile, caseImage, await imageId(caseImage), base, await imageId(base)]);
  const have = (await run('docker', ['image', 'inspect', '-f', `{{ index .Config.Labels "${INPUTS_LABEL}" }}`, image], { allowFail: true })).stdout.trim();
  if (have === hash) return image;
  progress(`  upgrade: docker build ${image} from ${path.join(dir, spec.dockerfile)} (CASE_IMAGE=${caseImage}, BASE=${base})`);
  const r = await run(
    'docker',
    ['build', '-f', path.join(dir, spec.dockerfile), '--build-arg', `BASE=${base}`, '--build-arg', `CASE_IMAGE=${caseImage}`, '--label', `${INPUTS_LABEL}=${hash}`, '-t', image, dir],
    { allowFail: true, env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 900_000 },
  );
  if (r.exitCode !== 0) throw new Error(`${path.join(dir, spec.dockerfile)}: docker build failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  return image;
}

/** What is at a path: a regular file's content, or why there is none (`absent`, another type, unreadable). */
export type Found = { content: string } | { other: string };

/** Prints one line per path: "F <base64>", "A" (absent), "T <type>" (not a regular file), "U" (unreadable). */
const READ_SCRIPT = `for p; do
  if [ -f "$p" ]; then if b=$(base64 -w0 <"$p" 2>/dev/null); then echo "F $b"; else echo U; fi
  elif [ -e "$p" ] || [ -L "$p" ]; then echo "T $(stat -c %F "$p")"
  else echo A; fi
done`;

function parseFound(stdout: string, paths: string[]): Map<string, Found> {
  const lines = stdout.split('\n').filter(Boolean);
  if (lines.length !== paths.length) throw new Error(`reading ${paths.length} paths gave ${lines.length} lines: ${stdout.slice(0, 200)}`);
  const found = (l: string): Found => {
    if (l === 'F' || l.startsWith('F ')) return { content: Buffer.from(l.slice(2), 'base64').toString('utf8') };
    if (l === 'A') return { other: 'absent' };
    if (l === 'U') return { other: 'unreadable by the user' };
    return { other: `not a file: ${l.slice(2)}` };
  };
  return new Map(paths.map((p, i) => [p, found(lines[i])]));
}

/** The files at paths in an image (a throwaway container, as root, no network). */
export async function imageFiles(image: string, paths: string[]): Promise<Map<string, string | null>> {
  if (!paths.length) return new Map();
  const r = await run('docker', ['run', '--rm', '--network', 'none', '--user', '0', '--entrypoint', '/bin/sh', image, '-c', READ_SCRIPT, 'sh', ...paths]);
  return new Map([...parseFound(r.stdout, paths)].map(([p, f]) => [p, 'content' in f ? f.content : null]));
}

/** The files at paths in the gitspace, read as the user. */
async function gitspaceFiles(gs: Gitspace, paths: string[]): Promise<Map<string, Found>> {
  if (!paths.length) return new Map();
  return parseFound((await gs.exec(['/bin/sh', '-c', READ_SCRIPT, 'sh', ...paths])).stdout, paths);
}

/** A row's text for a path's content: the content as a JSON string, or "absent". */
export const shown = (c: string | null): string => (c === null ? 'absent' : JSON.stringify(c));
const shownFound = (f: Found): string => ('content' in f ? JSON.stringify(f.content) : f.other);

/** Writes the user's edits, as the user (the file's owner and mode stay when it exists). */
export async function writeUserEdits(gs: Gitspace, spec: UpgradeSpec): Promise<void> {
  for (const [p, content] of Object.entries(spec.userEdits)) {
    await gs.exec(['/bin/sh', '-c', 'mkdir -p -- "$(dirname -- "$1")" && cat >"$1"', 'sh', p], { input: content });
  }
}

/** Everything both runtimes' upgrade rows need, fixed before either runs. */
export interface UpgradePlan {
  spec: UpgradeSpec;
  /** The case's image and the next one. */
  from: string;
  image: string;
  /** The files of the expected and conflict paths in each image. */
  oldFiles: Map<string, string | null>;
  newFiles: Map<string, string | null>;
  /** Where each runtime's volume is mounted (Docker Gitspace: HOME as it computes it). */
  volumeAt: Record<RuntimeName, string>;
  /** The chart's HOME (where its upgrade report is) and the persisted paths (the report's trees). */
  home: string;
  persisted: string[];
  /** The docs section that says why the runtimes differ. */
  doc: string;
}

export async function planUpgrade(
  spec: UpgradeSpec,
  from: string,
  image: string,
  place: { volumeAt: Record<RuntimeName, string>; home: string; persisted: string[] },
  doc: string,
): Promise<UpgradePlan> {
  const paths = [...new Set([...Object.keys(spec.expect), ...(spec.conflicts ?? [])])];
  return { spec, from, image, oldFiles: await imageFiles(from, paths), newFiles: await imageFiles(image, paths), ...place, doc };
}

/**
 * What Docker Gitspace shows after a reset with the new image: its volume keeps what it had (the
 * user's edit, else what the old image seeded: a volume that is not empty is not seeded again);
 * everywhere else the new container shows the new image (the user's edits there are gone).
 */
export function dockerAfterUpgrade(plan: UpgradePlan, p: string): string | null {
  const v = plan.volumeAt.docker;
  if (p === v || p.startsWith(`${v}/`)) return p in plan.spec.userEdits ? plan.spec.userEdits[p] : (plan.oldFiles.get(p) ?? null);
  return plan.newFiles.get(p) ?? null;
}

/** The report's tree and path of an absolute path: `home` and the path in HOME, or the persisted path without its slash. */
export function reportTree(plan: Pick<UpgradePlan, 'home' | 'persisted'>, p: string): { tree: string; rel: string } | undefined {
  if (p.startsWith(`${plan.home}/`)) return { tree: 'home', rel: p.slice(plan.home.length + 1) };
  const d = plan.persisted.filter((x) => p.startsWith(`${x}/`)).sort((a, b) => b.length - a.length)[0];
  return d ? { tree: d.slice(1), rel: p.slice(d.length + 1) } : undefined;
}

export const NO_REPORT = 'no upgrade report';
export const CONFLICT_OK = "conflict, the new image's version beside it";

/** The rows after the upgrade: each expected path, then each conflict the report must list. */
export async function upgradeObservations(gs: Gitspace, plan: UpgradePlan): Promise<Observation[]> {
  const rows: Observation[] = [];
  const expectPaths = Object.keys(plan.spec.expect);
  const got = await gitspaceFiles(gs, expectPaths);
  for (const p of expectPaths) {
    const want = { docker: shown(dockerAfterUpgrade(plan, p)), kubernetes: shown(plan.spec.expect[p]) };
    const o: Observation = { check: `upgrade: ${p}`, value: shownFound(got.get(p) as Found), expected: want.docker === want.kubernetes ? want.docker : want };
    if (want.docker !== want.kubernetes) o.deliberate = { doc: plan.doc };
    rows.push(o);
  }
  const conflicts = plan.spec.conflicts ?? [];
  if (!conflicts.length) return rows;
  // ~/.gitspace/upgrade-report: "# image upgrade A -> B at STAMP", then "decision<TAB>tree<TAB>path: what happened".
  const r = await gs.exec(['/bin/sh', '-c', 'cat -- "$1/.gitspace/upgrade-report" 2>/dev/null || true', 'sh', plan.home]);
  const lines = r.stdout.split('\n');
  const stamp = /^# image upgrade .* at (\S+)$/m.exec(r.stdout)?.[1];
  const beside = new Map<string, string>();
  const listed = new Map<string, boolean>();
  for (const p of conflicts) {
    const t = reportTree(plan, p);
    listed.set(p, Boolean(t && lines.some((l) => l.startsWith(`conflict\t${t.tree}\t${t.rel}: `))));
    if (t && stamp) beside.set(p, path.posix.join(plan.home, '.gitspace/upgrades', stamp, t.tree, t.rel));
  }
  const besideFiles = await gitspaceFiles(gs, [...beside.values()]);
  for (const p of conflicts) {
    let value: string;
    if (!r.stdout.trim()) value = NO_REPORT;
    else if (!listed.get(p)) value = 'not listed as a conflict';
    else {
      const f = besideFiles.get(beside.get(p) as string) as Found;
      const image = plan.newFiles.get(p) ?? null;
      value = 'content' in f && f.content === image ? CONFLICT_OK : `conflict, beside it: ${shownFound(f)} (the new image has ${shown(image)})`;
    }
    rows.push({ check: `upgrade report: ${p}`, value, expected: { docker: NO_REPORT, kubernetes: CONFLICT_OK }, deliberate: { doc: plan.doc } });
  }
  return rows;
}
