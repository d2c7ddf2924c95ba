// user.etcFiles: /etc/passwd and /etc/group as the chart's own create-user script
// (charts/gitspace/files/scripts/create-user-dynamic.sh) makes them in the image,
// for the gitspace container to mount from a ConfigMap (docs/start-path.md): the
// pod then needs no init container to write them at every start. The script runs
// in a throwaway container of the image (root, no network, removed), exactly as
// the `prepare` init container would run it: the rules are never re-implemented here.
import { execa } from 'execa';
import { resolve } from 'node:path';
import { UserError } from './cli.ts';
import { checkImageRef } from './image.ts';
import { q } from './model.ts';
import { repoRoot } from './schema.ts';

export type EtcFiles = { renderedFor: string; passwd: string; group: string };

const SCRIPTS = resolve(repoRoot, 'charts', 'gitspace', 'files', 'scripts');
const MOUNT = '/gitspace/scripts';
const SEP = '--- gitspace-chart etc-files group ---';

/** The key the chart compares with its values (gitspace.etcKey in _helpers.tpl): user, uid, gid, HOME, image. */
export function etcKey(user: string, uid: number, gid: number, home: string, image: { repository: string; tag: string }): string {
  return `${user}:${uid}:${gid}:${home}@${image.repository}:${image.tag}`;
}

/** The script's output (passwd, a newline, the SEP line, group: the newline keeps a passwd without a final one exact) → the files; empty strings when both equal the image's. */
export function etcFilesFrom(stdout: string, imagePasswd: string, imageGroup: string, renderedFor: string): EtcFiles {
  const at = stdout.indexOf(`\n${SEP}\n`);
  if (at < 0) throw new UserError(`rendering /etc/passwd and /etc/group: the create-user script's output has no ${q(SEP)} line`);
  const passwd = stdout.slice(0, at);
  const group = stdout.slice(at + SEP.length + 2);
  if (passwd === imagePasswd && group === imageGroup) return { renderedFor, passwd: '', group: '' };
  return { renderedFor, passwd, group };
}

/**
 * Runs create_or_update_user USER UID GID HOME in a container of the LOCAL image REF and returns
 * the resulting files. A failure (an image without bash or user tools, a uid of a system user)
 * is a UserError: the caller leaves user.etcFiles empty and the chart keeps the init container,
 * whose log then says the same at the pod's start.
 */
export async function renderEtcFiles(ref: string, user: string, uid: number, gid: number, home: string, imagePasswd: string, imageGroup: string, renderedFor: string): Promise<EtcFiles> {
  checkImageRef(ref);
  const script = `set -euo pipefail; source ${MOUNT}/create-user-dynamic.sh; create_or_update_user "$1" "$2" "$3" "$4" >&2; cat /etc/passwd; printf '\\n%s\\n' '${SEP}'; cat /etc/group`;
  const r = await execa(
    'docker',
    ['run', '--rm', '--network', 'none', '--user', '0', '--entrypoint', 'bash', '--label', 'gitspace-chart.etc-files=1',
      '-v', `${SCRIPTS}:${MOUNT}:ro`, '--', ref, '-c', script, 'etc-files', user, String(uid), String(gid), home],
    { reject: false, stdin: 'ignore', timeout: 120_000, stripFinalNewline: false },
  );
  if (r.exitCode !== 0) {
    const detail = String(r.stderr || (r as { shortMessage?: string }).shortMessage || '').trim().split('\n').at(-1);
    throw new UserError(`--image ${q(ref)}: rendering /etc/passwd and /etc/group (the chart's create-user script in a container of the image) failed: ${detail}; the values keep user.etcFiles empty, so the gitspace's prepare init container makes the user at each start`);
  }
  return etcFilesFrom(String(r.stdout), imagePasswd, imageGroup, renderedFor);
}
