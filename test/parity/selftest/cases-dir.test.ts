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

  it('an unknown key (upgrade: a later issue\'s) is a warning, not an error', () => {
    const warnings: string[] = [];
    parseExpected('e.json', JSON.stringify({ user, upgrade: { from: '0.1.0' } }), (m) => warnings.push(m));
    expect(warnings).toEqual(['WARNING: e.json: key "upgrade" is not known to this suite (known: user, writablePaths, dockerGitspaceStarts); ignored']);
  });

  it.each([
    [{}, 'e.json: "user" must be an object {"name","uid","gid","group","home"}'],
    [{ user: { ...user, uid: '1000' } }, 'e.json: user.uid must be an integer >= 0'],
    [{ user: { ...user, home: 'home/vscode' } }, 'e.json: user.home must be an absolute path'],
    [{ user, writablePaths: ['go'] }, 'e.json: writablePaths must be a list of absolute directory paths such as "/go"'],
    [{ user, dockerGitspaceStarts: 'yes' }, 'e.json: dockerGitspaceStarts must be true or false'],
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
