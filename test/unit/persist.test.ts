// persistence.paths from the image: which folders find reported are kept on the volume, which are
// written down as not persisted, and the find a container of the image runs.
import { describe, expect, it } from 'vitest';
import { classifyWritableDirs, findArgs, userGids } from '../../generator/src/persist.ts';

describe('classifyWritableDirs', () => {
  it('a language image: GOPATH and the npm prefix are persisted, top-most folders only', () => {
    const f = classifyWritableDirs(['/go', '/go/bin', '/usr/local/share/npm-global', '/usr/local/share/npm-global/lib', ''], '/home/vscode');
    expect(f).toEqual({ paths: ['/go', '/usr/local/share/npm-global'], notPersisted: [] });
  });

  it('system paths are written down as not persisted, with the reason', () => {
    const f = classifyWritableDirs(['/var/mail/vscode', '/tmp/x', '/run/user/1000', '/opt/conda'], '/home/vscode');
    expect(f.paths).toEqual(['/opt/conda']);
    expect(f.notPersisted).toEqual([
      { path: '/run/user/1000', why: 'under /run, a system path' },
      { path: '/tmp/x', why: 'under /tmp, a system path' },
      { path: '/var/mail/vscode', why: 'under /var, a system path' },
    ]);
  });

  it('HOME and its parents are the volume itself: neither listed', () => {
    const f = classifyWritableDirs(['/home/vscode', '/home', '/home/vscode/.cache'], '/home/vscode');
    expect(f).toEqual({ paths: [], notPersisted: [] });
  });

  it("another user's HOME the remote user can write (it took that user's uid) is not a tool folder: not persisted, said why", () => {
    const f = classifyWritableDirs(['/home/ubuntu', '/home/ubuntu/.cache', '/go'], '/home/vscode', [{ user: 'ubuntu', home: '/home/ubuntu' }]);
    expect(f).toEqual({ paths: ['/go'], notPersisted: [{ path: '/home/ubuntu', why: "the HOME of the image's user ubuntu, not a tool folder" }] });
  });

  it('a sibling of HOME whose name starts like it is not HOME', () => {
    expect(classifyWritableDirs(['/home/vscode2'], '/home/vscode').paths).toEqual(['/home/vscode2']);
  });

  it('a name persistence.paths cannot take (a space) is not listed, and says so', () => {
    const f = classifyWritableDirs(['/opt/my tools'], '/home/vscode');
    expect(f.paths).toEqual([]);
    expect(f.notPersisted[0].path).toBe('/opt/my tools');
    expect(f.notPersisted[0].why).toContain('by hand');
  });
});

describe('userGids', () => {
  it('the primary group and every group naming the user', () => {
    const groups = [
      { name: 'golang', gid: 999, members: ['vscode'] },
      { name: 'npm', gid: 998, members: ['node', 'vscode'] },
      { name: 'docker', gid: 997, members: ['node'] },
    ];
    expect(userGids('vscode', 1000, groups)).toEqual([998, 999, 1000]);
  });
});

describe('findArgs', () => {
  it('prunes the kernel\'s trees and HOME, matches the uid or a group-writable group, prunes at each match', () => {
    const a = findArgs(1000, [1000, 999], '/home/vscode');
    expect(a.slice(0, 2)).toEqual(['/', '-xdev']);
    expect(a.join(' ')).toContain('-path /proc -o -path /sys -o -path /dev -o -path /home/vscode ) -prune');
    expect(a.join(' ')).toContain('-type d ( -uid 1000 -o ( -perm -g+w ( -gid 1000 -o -gid 999 ) ) ) -print -prune');
  });
});
