// --cases-dir's expected.json and folder names (test/parity/cases-dir.ts): a folder made
// outside the repository becomes a case; a wrong expected.json is one message naming the field.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseNameOf, parseExpected } from '../cases-dir.ts';
import { repoRoot } from '../values.ts';

const user = { name: 'vscode', uid: 1000, gid: 1000, group: 'vscode', home: '/home/vscode' };

describe('expected.json', () => {
  it('reads user, writablePaths (sorted, unique) and dockerGitspaceStarts', () => {
    const e = parseExpected('e.json', JSON.stringify({ user, writablePaths: ['/usr/local/share/npm-global', '/go', '/go'], dockerGitspaceStarts: false }), () => {});
    expect(e).toEqual({ user: { ...user, groups: '*' }, writablePaths: ['/go', '/usr/local/share/npm-global'], dockerGitspaceStarts: false });
  });

  it('defaults: no writable paths, Docker Gitspace starts', () => {
    const e = parseExpected('e.json', JSON.stringify({ user: { ...user, groups: '1000(vscode),999(tools)' } }), () => {});
    expect(e.writablePaths).toEqual([]);
    expect(e.dockerGitspaceStarts).toBe(true);
    expect(e.user.groups).toBe('1000(vscode),999(tools)');
  });

  it('an unknown key (a later issue\'s, or a typo) is a warning, not an error', () => {
    const warnings: string[] = [];
    parseExpected('e.json', JSON.stringify({ user, upgrades: { from: '0.1.0' } }), (m) => warnings.push(m));
    expect(warnings).toEqual(['WARNING: e.json: key "upgrades" is not known to this suite (known: user, writablePaths, dockerGitspaceStarts, upgrade); ignored']);
  });

  it('reads upgrade: the next Dockerfile, the user\'s edits, what Kubernetes must show (null: absent), the conflicts', () => {
    const upgrade = {
      dockerfile: 'Dockerfile.next',
      userEdits: { '/home/vscode/.profile': 'mine\n' },
      expect: { '/home/vscode/.profile': 'mine\n', '/go/bin/old': null },
      conflicts: ['/home/vscode/.profile', '/home/vscode/.profile'],
    };
    const e = parseExpected('e.json', JSON.stringify({ user, upgrade }), (m) => expect.fail(m));
    expect(e.upgrade).toEqual({ ...upgrade, conflicts: ['/home/vscode/.profile'] });
    expect(parseExpected('e.json', JSON.stringify({ user }), () => {}).upgrade).toBeUndefined();
  });

  it.each([
    [{}, 'e.json: "user" must be an object {"name","uid","gid","group","home"}'],
    [{ user: { ...user, uid: '1000' } }, 'e.json: user.uid must be an integer >= 0'],
    [{ user: { ...user, home: 'home/vscode' } }, 'e.json: user.home must be an absolute path'],
    [{ user, writablePaths: ['go'] }, 'e.json: writablePaths must be a list of absolute directory paths such as "/go"'],
    [{ user, dockerGitspaceStarts: 'yes' }, 'e.json: dockerGitspaceStarts must be true or false'],
    [{ user, upgrade: 'Dockerfile.next' }, 'e.json: upgrade must be an object {"dockerfile", "userEdits", "expect"}'],
    [{ user, upgrade: { dockerfile: '../Dockerfile', expect: { '/a': 'x' } } }, 'e.json: upgrade.dockerfile must be a file name relative to the case folder'],
    [{ user, upgrade: { dockerfile: 'D', userEdits: { 'home/x': 'x' }, expect: { '/a': 'x' } } }, 'e.json: upgrade.userEdits must be an object {"/absolute/path": "content"}'],
    [{ user, upgrade: { dockerfile: 'D', expect: {} } }, 'e.json: upgrade.expect must be a non-empty object'],
    [{ user, upgrade: { dockerfile: 'D', expect: { '/a': 1 } } }, 'e.json: upgrade.expect must be a non-empty object'],
    [{ user, upgrade: { dockerfile: 'D', expect: { '/a': 'x' }, conflicts: ['a'] } }, 'e.json: upgrade.conflicts must be a list of absolute paths'],
    [{ user, upgrade: { dockerfile: 'D', expect: { '/a': 'x' }, expected: {} } }, 'e.json: upgrade.expected must be one of dockerfile, userEdits, expect, conflicts'],
  ])('refuses %j: %s', (e, message) => {
    expect(() => parseExpected('e.json', JSON.stringify(e), () => {})).toThrow(message);
  });
});

describe('case names', () => {
  it('contain the folder name', () => {
    expect(caseNameOf('tools-group')).toBe('ext-tools-group');
    expect(caseNameOf('My_Case 2')).toBe('ext-my-case-2');
    expect(() => caseNameOf('___')).toThrow(/no letter or digit/);
  });
});

describe('the example folder (test/parity/cases-dir-example/make.sh)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gitspace-cases-dir-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('is a valid case: a Dockerfile from ARG BASE, a devcontainer.json, an expected.json the parser accepts', () => {
    const caseDir = execFileSync('bash', [path.join(repoRoot, 'test/parity/cases-dir-example/make.sh'), dir], { encoding: 'utf8' }).trim();
    expect(caseDir).toBe(path.join(dir, 'tools-group'));
    expect(readFileSync(path.join(caseDir, 'Dockerfile'), 'utf8')).toMatch(/^ARG BASE\nFROM \$\{BASE\}\n/);
    const e = parseExpected('expected.json', readFileSync(path.join(caseDir, 'expected.json'), 'utf8'), (m) => expect.fail(m));
    expect(e.writablePaths).toEqual(['/opt/tools']);
  });
});
