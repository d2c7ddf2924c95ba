// persistence.paths from the image: the folders outside HOME the remote user
// can write (owned by the user, or group-writable through one of the user's
// groups). Docker keeps them across stop/start (the container stays); a pod
// starts from the image again, so the chart keeps each on the volume.
// One `find` in a throwaway container of the image (run as root, no network,
// removed): it prunes at each match, so it prints top-most folders only and
// never walks what it found. Classified here, without docker (unit-tested).
import { execa } from 'execa';
import { UserError } from './cli.ts';
import { checkImageRef } from './image.ts';
import { q } from './model.ts';
import type { GroupEntry } from './passwd.ts';

/** Never persisted: the system's and the kernel's; what the user writes there is scratch or state Docker also loses on reset. */
export const SYSTEM_PATHS = ['/tmp', '/var', '/run', '/proc', '/sys', '/dev', '/etc', '/boot', '/gitspace', '/usr/local/gitspace', '/workspaces'];
// The same list as the schema's persistence.paths items (a path there is refused).
const PATH_RE = /^(\/[A-Za-z0-9._@+-]+)+$/;

export type PersistFindings = { paths: string[]; notPersisted: Array<{ path: string; why: string }> };

const under = (p: string, dir: string) => p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);

/** The user's group ids: the primary one and every group naming the user as a member. */
export function userGids(user: string, gid: number, groups: GroupEntry[]): number[] {
  return [...new Set([gid, ...groups.filter((g) => g.members.includes(user)).map((g) => g.gid)])].sort((a, b) => a - b);
}

/**
 * find's lines (one folder each) → what to persist and what not, and why. Top-most folders only.
 * otherHomes: HOME folders of the image's other users (its passwd), e.g. /home/ubuntu when the
 * remote user took uid 1000 from `ubuntu`: the user can write them, but they are another user's
 * HOME, not a tool folder the image made writable, so they stay in the image as on a new container.
 */
export function classifyWritableDirs(lines: string[], home: string, otherHomes: Array<{ user: string; home: string }> = []): PersistFindings {
  const found = [...new Set(lines.map((l) => l.replace(/\/+$/, '')).filter((l) => l.startsWith('/')))].sort();
  const top = found.filter((p) => !found.some((o) => o !== p && under(p, o)));
  const out: PersistFindings = { paths: [], notPersisted: [] };
  for (const p of top) {
    const sys = SYSTEM_PATHS.find((s) => under(p, s));
    if (p === '/' || p === '') out.notPersisted.push({ path: '/', why: 'the whole filesystem is the user\'s: list folders by hand' });
    else if (under(p, home) || under(home, p)) continue; // HOME is the volume itself
    else if (sys) out.notPersisted.push({ path: p, why: `under ${sys}, a system path` });
    else if (otherHomes.some((o) => under(p, o.home))) {
      const o = otherHomes.find((h) => under(p, h.home))!;
      out.notPersisted.push({ path: p, why: `the HOME of the image's user ${o.user}, not a tool folder` });
    }
    else if (!PATH_RE.test(p) || /(^|\/)\.\.?(\/|$)/.test(p)) out.notPersisted.push({ path: p, why: 'a name with characters persistence.paths does not take (list a parent by hand)' });
    else out.paths.push(p);
  }
  return out;
}

/** The find arguments: folders owned by UID or group-writable with one of GIDS, pruned at each match. */
export function findArgs(uid: number, gids: number[], home: string): string[] {
  const groups = gids.flatMap((g, i) => (i ? ['-o', '-gid', String(g)] : ['-gid', String(g)]));
  return [
    '/', '-xdev',
    '(', '-path', '/proc', '-o', '-path', '/sys', '-o', '-path', '/dev', '-o', '-path', home, ')', '-prune', '-o',
    '-type', 'd', '(', '-uid', String(uid), '-o', '(', '-perm', '-g+w', '(', ...groups, ')', ')', ')', '-print', '-prune',
  ];
}

/** Runs the find in a throwaway container of the LOCAL image REF. */
export async function findWritableDirs(ref: string, uid: number, gids: number[], home: string, otherHomes: Array<{ user: string; home: string }> = []): Promise<PersistFindings> {
  checkImageRef(ref);
  if (uid === 0) return { paths: [], notPersisted: [{ path: '/', why: 'the remote user is root: every folder is writable; list folders by hand' }] };
  const r = await execa(
    'docker',
    ['run', '--rm', '--network', 'none', '--user', '0', '--entrypoint', 'find', '--label', 'gitspace-chart.persist-scan=1', '--', ref, ...findArgs(uid, gids, home)],
    { reject: false, stdin: 'ignore', timeout: 300_000 },
  );
  // find exits 1 when a folder cannot be read (it still printed the rest): only no output with an error is a failure.
  if (r.exitCode !== 0 && !String(r.stdout).trim()) {
    const detail = String(r.stderr || (r as { shortMessage?: string }).shortMessage || '').trim().split('\n').at(-1);
    throw new UserError(`--image ${q(ref)}: looking for user-writable folders (find in a container of the image) failed: ${detail}; the image needs find, or list persistence.paths by hand`);
  }
  return classifyWritableDirs(String(r.stdout).split('\n'), home, otherHomes);
}
