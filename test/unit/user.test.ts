// The user model: precedence (Docker Gitspace) and formats (devcontainers/cli),
// resolved against an image's passwd and group. Every row of the table in
// docs/user-model.md has a test here.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../generator/src/cli.ts';
import type { Sourced } from '../../generator/src/devcontainer.ts';
import { parseGroup, parsePasswd } from '../../generator/src/passwd.ts';
import { createdUserWarnings, resolveUserModel, resolveUserSpec, userStrings, type UserDb } from '../../generator/src/user.ts';

const passwdText = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
vscode:x:1000:1000::/home/vscode:/bin/bash
node:x:1001:1001::/home/node:/bin/bash
svc:x:1500:100::/srv/svc:/bin/sh
`;
const groupText = `root:x:0:
users:x:100:svc
vscode:x:1000:
node:x:1001:
docker:x:999:vscode,node
`;
const db: UserDb = { passwd: parsePasswd(passwdText), groups: parseGroup(groupText) };
const s = (value: string, source = 'remoteUser (test)'): Sourced => ({ value, source });

describe('passwd and group files', () => {
  it('parse into entries, skipping comments and blank lines', () => {
    expect(db.passwd.map((p) => `${p.name}:${p.uid}:${p.gid}`)).toEqual(['root:0:0', 'daemon:1:1', 'vscode:1000:1000', 'node:1001:1001', 'svc:1500:100']);
    expect(db.groups.find((g) => g.name === 'docker')).toEqual({ name: 'docker', gid: 999, members: ['vscode', 'node'] });
  });
  it('a malformed line names the file and line', () => {
    expect(() => parsePasswd('root:x:0:0:root:/root:/bin/bash\nbroken:x:1\n', 'img/passwd')).toThrow('img/passwd:2: expected 7 fields');
    expect(() => parseGroup('g:x:abc:\n', 'img/group')).toThrow('img/group:1: gid "abc" is not a number');
  });
});

describe('formats, resolved against passwd and group', () => {
  it.each([
    ['vscode', { name: 'vscode', uid: 1000, gid: 1000, created: false }],
    ['1000', { name: 'vscode', uid: 1000, gid: 1000, created: false }],
    ['vscode:docker', { name: 'vscode', uid: 1000, gid: 999, created: false }],
    ['1001:999', { name: 'node', uid: 1001, gid: 999, created: false }],
    ['vscode:100', { name: 'vscode', uid: 1000, gid: 100, created: false }],
    ['1001:users', { name: 'node', uid: 1001, gid: 100, created: false }],
    ['svc', { name: 'svc', uid: 1500, gid: 100, created: false }], // primary gid from passwd, not uid
    ['0', { name: 'root', uid: 0, gid: 0, created: false }],
    ['root', { name: 'root', uid: 0, gid: 0, created: false }],
    ['1000:4242', { name: 'vscode', uid: 1000, gid: 4242, created: false }], // a gid needs no group entry
  ])('%s', (value, expected) => {
    expect(resolveUserSpec(s(value), db)).toMatchObject(expected);
  });

  it('a name missing from passwd is created at start with the default uid/gid', () => {
    expect(resolveUserSpec(s('dev'), db)).toMatchObject({ name: 'dev', uid: 1000, gid: 1000, created: true });
    expect(resolveUserSpec(s('dev'), db, { uid: 2000, gid: 3000 })).toMatchObject({ name: 'dev', uid: 2000, gid: 3000, created: true });
  });
  it('...with the given group when there is one', () => {
    expect(resolveUserSpec(s('dev:docker'), db)).toMatchObject({ name: 'dev', uid: 1000, gid: 999, created: true });
    expect(resolveUserSpec(s('dev:77'), db, { uid: 2000 })).toMatchObject({ name: 'dev', uid: 2000, gid: 77, created: true });
  });
  it('"0" and "root" are root even when passwd has no root line', () => {
    const noRoot: UserDb = { passwd: parsePasswd('vscode:x:1000:1000::/home/vscode:/bin/sh\n'), groups: [] };
    expect(resolveUserSpec(s('0'), noRoot)).toMatchObject({ name: 'root', uid: 0, gid: 0, created: false });
    expect(resolveUserSpec(s('root'), noRoot)).toMatchObject({ name: 'root', uid: 0, gid: 0, created: false });
  });
});

describe('errors: one line naming the field, the value and what to do', () => {
  const err = (value: string) => {
    try {
      resolveUserSpec(s(value, 'containerUser (.devcontainer/devcontainer.json)'), db);
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      const msg = (e as Error).message;
      expect(msg).not.toContain('\n');
      return msg;
    }
    throw new Error(`${value} resolved without an error`);
  };
  const F = 'containerUser (.devcontainer/devcontainer.json)';

  it('a numeric uid absent from passwd', () => {
    expect(err('1234')).toBe(
      `${F}: "1234": uid 1234 is not in the image's /etc/passwd, so it has no name or HOME; use a user name (a missing name is created at start) or a uid the image has`,
    );
    expect(err('1234:1000')).toMatch(/^containerUser .*: "1234:1000": uid 1234 is not in the image's \/etc\/passwd/);
  });
  it('an unknown group name', () => {
    expect(err('vscode:devs')).toBe(`${F}: "vscode:devs": group "devs" is not in the image's /etc/group; use a group the image has or a numeric gid`);
  });
  it.each([
    ['2147483648', 'uid 2147483648 is outside 0..2147483647'],
    ['-1', 'uid -1 is outside 0..2147483647'],
    ['vscode:2147483648', 'gid 2147483648 is outside 0..2147483647'],
    ['vscode:-5', 'gid -5 is outside 0..2147483647'],
  ])('an id out of range: %s', (value, what) => {
    expect(err(value)).toBe(`${F}: ${JSON.stringify(value)}: ${what}; use a ${what.slice(0, 3)} in that range`);
  });
  it.each(['VSCode', 'my user', 'a.b', '$(touch /tmp/pwned)', 'x'.repeat(33), 'new\nline'])('not a POSIX user name: %j', (value) => {
    expect(err(value)).toBe(`${F}: ${JSON.stringify(value)}: ${JSON.stringify(value)} is not a valid POSIX user name (^[a-z_][a-z0-9_-]{0,31}$); use a lowercase name such as "vscode"`);
  });
  it('a newline in the value stays visible (JSON-quoted)', () => {
    expect(err('new\nline')).toContain('"new\\nline"');
  });
  it('an empty string', () => {
    expect(err('')).toBe(`${F}: "" is empty; remove the field or set a user name such as "vscode"`);
  });
  it('empty parts and extra colons', () => {
    expect(err(':1000')).toBe(`${F}: ":1000" has no user before ":"; use name:group or uid:gid`);
    expect(err('vscode:')).toBe(`${F}: "vscode:" has no group after ":"; remove the ":" or name a group`);
    expect(err('a:b:c')).toBe(`${F}: "a:b:c" is not a user: use name, uid, name:group or uid:gid`);
  });
});

describe('precedence (Docker Gitspace, orchestrator/container/util.go)', () => {
  const dc = (v: string) => ({ value: v, source: 'x (.devcontainer/devcontainer.json)' });
  const full = {
    runArgs: ['--user', 'runarg'],
    merged: { containerUser: dc('dcuser'), remoteUser: dc('remote') },
    imageUser: 'imguser',
  };
  it('containerUser: --user run arg first', () => {
    expect(userStrings(full).containerUser.value).toBe('runarg');
  });
  it('containerUser: then containerUser from devcontainer.json/metadata', () => {
    expect(userStrings({ ...full, runArgs: ['--init'] }).containerUser.value).toBe('dcuser');
  });
  it('containerUser: then the image Config.User', () => {
    expect(userStrings({ ...full, runArgs: [], merged: { remoteUser: dc('remote') } }).containerUser).toEqual({ value: 'imguser', source: 'Config.User (image)' });
  });
  it('containerUser: then root', () => {
    expect(userStrings({ merged: {}, imageUser: '' }).containerUser).toEqual({ value: 'root', source: 'default' });
    expect(userStrings({ merged: {} }).containerUser.value).toBe('root');
  });
  it('remoteUser: remoteUser from devcontainer.json/metadata first', () => {
    expect(userStrings(full).remoteUser.value).toBe('remote');
  });
  it('remoteUser: else the containerUser (whatever gave it)', () => {
    expect(userStrings({ ...full, merged: { containerUser: dc('dcuser') } }).remoteUser.value).toBe('runarg');
    expect(userStrings({ merged: {}, imageUser: '1001' }).remoteUser).toEqual({ value: '1001', source: 'Config.User (image)' });
  });
});

describe('resolveUserModel: uid, gid and HOME are the remote user\'s', () => {
  it('vscode from the metadata label, image USER root', () => {
    const r = resolveUserModel({ merged: { remoteUser: { value: 'vscode', source: 'remoteUser (devcontainer.metadata label)' } }, imageUser: 'root', db });
    expect(r.model).toEqual({ containerUser: 'root', remoteUser: 'vscode', uid: 1000, gid: 1000, home: '/home/vscode' });
  });
  it('numeric image USER resolves to a name: "1000" -> vscode, HOME /home/vscode (not /home/1000)', () => {
    expect(resolveUserModel({ merged: {}, imageUser: '1000', db }).model).toEqual({
      containerUser: 'vscode', remoteUser: 'vscode', uid: 1000, gid: 1000, home: '/home/vscode',
    });
  });
  it('"vscode:vscode" -> HOME /home/vscode (not /home/vscode:vscode)', () => {
    expect(resolveUserModel({ merged: { remoteUser: { value: 'vscode:vscode', source: 'remoteUser (x)' } }, db }).model.home).toBe('/home/vscode');
  });
  it('root -> /root', () => {
    expect(resolveUserModel({ merged: {}, db }).model).toEqual({ containerUser: 'root', remoteUser: 'root', uid: 0, gid: 0, home: '/root' });
  });
  it('an error in containerUser is reported even when remoteUser is fine', () => {
    expect(() => resolveUserModel({ runArgs: ['-u', '4321'], merged: { remoteUser: { value: 'vscode', source: 'remoteUser (x)' } }, db })).toThrow(
      /^--user \(runArgs\): "4321": uid 4321 is not in the image's \/etc\/passwd/,
    );
  });
});

describe('createdUserWarnings', () => {
  it('warns when a created user gets a uid another image user has, once per name', () => {
    const r = resolveUserModel({ merged: { containerUser: { value: 'dev', source: 'containerUser (x)' } }, db });
    expect(createdUserWarnings([r.containerUser, r.remoteUser], db)).toEqual([
      `containerUser (x): "dev" is not in the image and is created at start with uid 1000, which the image's user "vscode" already has; pass --default-uid to choose a free uid, or use "vscode"`,
    ]);
  });
  it('is silent when the uid is free or the user exists', () => {
    const r = resolveUserModel({ merged: { remoteUser: { value: 'dev', source: 'remoteUser (x)' } }, db, defaultUid: 4000 });
    expect(createdUserWarnings([r.containerUser, r.remoteUser], db)).toEqual([]);
  });
});
