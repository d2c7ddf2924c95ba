// Feature folders as tar archives: a direct https://…/devcontainer-feature-<id>.tgz
// (gzip) or an OCI layer (plain tar). Extraction is GNU tar's, run with an argument
// array: it refuses members that climb out with "..", and strips leading "/".
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../cli.ts';
import type { TarballRef } from './reference.ts';

/** Downloads a tarball feature. */
export async function downloadTarball(ref: TarballRef, what: string): Promise<Uint8Array> {
  const step = `downloading ${ref.url}`;
  const r = await fetch(ref.url, { redirect: 'follow' }).catch((e: Error) => {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new UserError(`${what}: ${step}: unreachable (${cause?.code ?? cause?.message ?? e.message})`);
  });
  if (!r.ok) throw new UserError(`${what}: ${step}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Extracts a tar (gzip or not: tar finds out) into `dir`, which is created. */
export async function extractTar(data: Uint8Array, dir: string, what: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const file = `${dir}.archive`;
  writeFileSync(file, data);
  const r = await execa('tar', ['-x', '--no-same-owner', '-f', file, '-C', dir], { reject: false, stdin: 'ignore' });
  rmSync(file, { force: true });
  if (r.exitCode !== 0) throw new UserError(`${what}: unpacking the feature failed: ${String(r.stderr).trim().split('\n').at(-1)}`);
}

/** A tar of `dir`'s contents (for pushing a feature), stable across runs: sorted, no owners, fixed times. */
export async function tarDirectory(dir: string, gzip = false): Promise<Uint8Array> {
  const r = await execa(
    'tar',
    ['-c', ...(gzip ? ['-z'] : []), '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', dir, '.'],
    { encoding: 'buffer', stdin: 'ignore' },
  );
  return new Uint8Array(r.stdout as unknown as Uint8Array);
}

export const featureJson = (dir: string) => join(dir, 'devcontainer-feature.json');
