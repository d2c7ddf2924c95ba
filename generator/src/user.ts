// The user model: which user the container runs as (containerUser), who works
// in it (remoteUser), and their uid, gid and HOME. The precedence is Docker
// Gitspace's (orchestrator/container/util.go); the user strings are resolved
// against the image's passwd/group the way devcontainers/cli does, not used
// raw (Docker Gitspace's defect: "1000" -> /home/1000).
import { UserError } from './cli.ts';
import type { MergedConfig, Sourced } from './devcontainer.ts';
import { userFromRunArgs } from './devcontainer.ts';
import { homeFor, isPosixUserName, MAX_ID, parseId, POSIX_USER_NAME, q } from './model.ts';
import type { GroupEntry, PasswdEntry } from './passwd.ts';

export const DEFAULT_UID = 1000;
export const DEFAULT_GID = 1000;

export type UserDb = { passwd: PasswdEntry[]; groups: GroupEntry[] };

/** One resolved user string. `created`: the name is not in the image and is created at start. */
export type ResolvedUser = { name: string; uid: number; gid: number; created: boolean; spec: Sourced };

/** What resolve-user prints and values writes (user.*). */
export type UserModel = { containerUser: string; remoteUser: string; uid: number; gid: number; home: string };

export type UserInputs = {
  /** docker run arguments: devcontainer.json runArgs, then --run-args. */
  runArgs?: string[];
  merged: Pick<MergedConfig, 'containerUser' | 'remoteUser'>;
  /** The image's Config.User ("" = not set). */
  imageUser?: string;
  db: UserDb;
  defaultUid?: number;
  defaultGid?: number;
};

/**
 * The user strings, by Docker Gitspace's precedence:
 * containerUser: --user/-u run arg > devcontainer.json containerUser >
 *   metadata containerUser (later entries win) > image Config.User > root;
 * remoteUser: devcontainer.json remoteUser > metadata remoteUser > containerUser.
 * (`merged` already applies "devcontainer.json over metadata, last entry wins".)
 */
export function userStrings(inputs: Pick<UserInputs, 'runArgs' | 'merged' | 'imageUser'>): { containerUser: Sourced; remoteUser: Sourced } {
  const fromRunArgs = userFromRunArgs(inputs.runArgs ?? []);
  const containerUser: Sourced =
    fromRunArgs !== undefined
      ? { value: fromRunArgs, source: '--user (runArgs)' }
      : (inputs.merged.containerUser ??
        (inputs.imageUser ? { value: inputs.imageUser, source: 'Config.User (image)' } : { value: 'root', source: 'default' }));
  const remoteUser = inputs.merged.remoteUser ?? containerUser;
  return { containerUser, remoteUser };
}

const ROOT: PasswdEntry = { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh' };

/**
 * Resolves `name`, `uid`, `name:group`, `uid:gid`, `name:gid` or `uid:group`
 * against passwd and group. The uid part gives the uid; the gid is the group
 * part if given, else the passwd entry's primary gid. A name missing from
 * passwd is created at start with the default uid/gid.
 */
export function resolveUserSpec(spec: Sourced, db: UserDb, defaults: { uid?: number; gid?: number } = {}): ResolvedUser {
  const raw = spec.value;
  const where = `${spec.source}: ${q(raw)}`;
  if (raw === '') throw new UserError(`${where} is empty; remove the field or set a user name such as "vscode"`);
  const parts = raw.split(':');
  if (parts.length > 2) throw new UserError(`${where} is not a user: use name, uid, name:group or uid:gid`);
  const [userPart, groupPart] = parts;
  if (userPart === '') throw new UserError(`${where} has no user before ":"; use name:group or uid:gid`);
  if (groupPart === '') throw new UserError(`${where} has no group after ":"; remove the ":" or name a group`);

  // "0" is root even in an image whose passwd forgot it; every Linux image has root.
  const passwd = db.passwd.some((p) => p.uid === 0) ? db.passwd : [...db.passwd, ROOT];

  let entry: PasswdEntry | undefined;
  let created = false;
  const uidNum = parseId(userPart);
  if (uidNum === 'out-of-range') throw new UserError(`${where}: uid ${userPart} is outside 0..${MAX_ID}; use a uid in that range`);
  if (uidNum !== undefined) {
    entry = passwd.find((p) => p.uid === uidNum);
    if (!entry) {
      throw new UserError(
        `${where}: uid ${uidNum} is not in the image's /etc/passwd, so it has no name or HOME; use a user name (a missing name is created at start) or a uid the image has`,
      );
    }
  } else {
    if (!isPosixUserName(userPart)) {
      throw new UserError(`${where}: ${q(userPart)} is not a valid POSIX user name (${POSIX_USER_NAME.source}); use a lowercase name such as "vscode"`);
    }
    entry = passwd.find((p) => p.name === userPart);
    if (!entry) {
      created = true;
      entry = { name: userPart, uid: defaults.uid ?? DEFAULT_UID, gid: defaults.gid ?? DEFAULT_GID, home: '', shell: '' };
    }
  }
  if (!isPosixUserName(entry.name)) {
    throw new UserError(`${where}: resolves to ${q(entry.name)}, which is not a valid POSIX user name (${POSIX_USER_NAME.source}); use another user`);
  }

  let gid = entry.gid;
  if (groupPart !== undefined) {
    const gidNum = parseId(groupPart);
    if (gidNum === 'out-of-range') throw new UserError(`${where}: gid ${groupPart} is outside 0..${MAX_ID}; use a gid in that range`);
    if (gidNum !== undefined) gid = gidNum;
    else {
      const group = db.groups.find((g) => g.name === groupPart);
      if (!group) throw new UserError(`${where}: group ${q(groupPart)} is not in the image's /etc/group; use a group the image has or a numeric gid`);
      gid = group.gid;
    }
  }
  return { name: entry.name, uid: entry.uid, gid, created, spec };
}

/** Resolves both users; uid, gid and HOME are the remote user's (who works in the gitspace). */
export function resolveUserModel(inputs: UserInputs): { model: UserModel; containerUser: ResolvedUser; remoteUser: ResolvedUser } {
  const strings = userStrings(inputs);
  const defaults = { uid: inputs.defaultUid, gid: inputs.defaultGid };
  const containerUser = resolveUserSpec(strings.containerUser, inputs.db, defaults);
  const remoteUser = resolveUserSpec(strings.remoteUser, inputs.db, defaults);
  return {
    containerUser,
    remoteUser,
    model: {
      containerUser: containerUser.name,
      remoteUser: remoteUser.name,
      uid: remoteUser.uid,
      gid: remoteUser.gid,
      home: homeFor(remoteUser.name, remoteUser.uid),
    },
  };
}

/**
 * Warnings for users created at start whose uid another image user already
 * has: both names would share the uid (files, ps and ssh show either name).
 */
export function createdUserWarnings(users: ResolvedUser[], db: UserDb): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const u of users) {
    if (!u.created || seen.has(u.name)) continue;
    seen.add(u.name);
    const owner = db.passwd.find((p) => p.uid === u.uid);
    if (owner) {
      out.push(
        `${u.spec.source}: ${q(u.spec.value)} is not in the image and is created at start with uid ${u.uid}, which the image's user ${q(owner.name)} already has; pass --default-uid to choose a free uid, or use ${q(owner.name)}`,
      );
    }
  }
  return out;
}
