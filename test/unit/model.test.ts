// The rules of generator/src/model.ts, with expected values written from the
// rules in docs/user-model.md and reference/docker-gitspace.md.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../generator/src/cli.ts';
import { checkRepoUrl, deriveRepoName, homeFor, idePortFor, isPosixUserName, parseId, repoUrlProblem } from '../../generator/src/model.ts';

describe('deriveRepoName (Docker Gitspace: last URL path segment without .git)', () => {
  it.each([
    ['https://git.example.com/acme/app.git', 'app'],
    ['https://git.example.com/acme/app', 'app'],
    ['https://git.example.com/acme/app.git/', 'app'],
    ['https://git.example.com/acme/app/', 'app'],
    ['git@github.com:acme/app.git', 'app'],
    ['git@github.com:app.git', 'app'],
    ['ssh://git@git.example.com:2222/acme/my.repo.git', 'my.repo'],
    ['https://git.example.com/acme/app.git.git', 'app.git'],
    ['http://h/a/b/c/Deep_Name-1', 'Deep_Name-1'],
  ])('%s -> %s', (url, name) => {
    expect(deriveRepoName(url)).toBe(name);
  });

  it.each([
    ['https://git.example.com/acme/.git', ''],
    ['https://git.example.com/acme/..', '..'],
    ['https://git.example.com/acme/.', '.'],
    ['https://git.example.com/acme/app?ref=main', 'app?ref=main'],
    ['https://git.example.com/acme/app//', ''],
    ['', ''],
  ])('%s: error naming repo.url and what was left (%s)', (url, left) => {
    expect(() => deriveRepoName(url)).toThrow(UserError);
    expect(() => deriveRepoName(url)).toThrow(
      `repo.url: cannot derive a folder name from ${JSON.stringify(url)} (got ${JSON.stringify(left)}); set repo.name`,
    );
  });
});

describe('homeFor', () => {
  it('is /root for uid 0 whatever the name', () => {
    expect(homeFor('root', 0)).toBe('/root');
    expect(homeFor('toor', 0)).toBe('/root');
  });
  it('is /home/{name} for any other uid', () => {
    expect(homeFor('vscode', 1000)).toBe('/home/vscode');
    expect(homeFor('root', 1)).toBe('/home/root');
  });
});

describe('idePortFor (Docker Gitspace defaults, types/enum/ide.go)', () => {
  it.each([
    ['vs_code', 8088],
    ['vs_code_web', 8089],
    ['intellij', 8090],
    ['rider', 8097],
    ['cursor', 8098],
    ['windsurf', 8099],
  ])('%s defaults to %i', (type, port) => {
    expect(idePortFor(type, 0)).toBe(port);
    expect(idePortFor(type)).toBe(port);
  });
  it('ide.port wins when set', () => {
    expect(idePortFor('vs_code_web', 9000)).toBe(9000);
  });
  it('an unknown type names ide.type and lists the known ones', () => {
    expect(() => idePortFor('emacs')).toThrow(/^ide\.type: unknown IDE type "emacs"; use one of: clion, cursor, goland,/);
  });
});

describe('repo URL safety', () => {
  it.each([
    'https://git.example.com/acme/app.git',
    'http://git.example.com/acme/app.git',
    'ssh://git@git.example.com:2222/acme/app.git',
    'git@github.com:acme/app.git',
  ])('accepts %s', (url) => {
    expect(repoUrlProblem(url)).toBeUndefined();
    expect(checkRepoUrl(url)).toBe(url);
  });

  it.each([
    ['ext::sh -c touch% /tmp/pwned', /not an https/],
    ['ext::ssh', /not an https/],
    ['file:///etc', /not an https/],
    ['/srv/git/app.git', /not an https/],
    ['git://git.example.com/app.git', /not an https/],
    ['-uhttps://x/y', /starts with "-"/],
    ['--upload-pack=touch /tmp/x', /starts with "-"/],
    ['https://x/a b', /whitespace/],
    ['https://x/$(id)', /whitespace, a quote/],
    ['https://x/`id`', /whitespace, a quote/],
    ['https://x/a;b', /whitespace, a quote/],
    ['https://x/a|b', /whitespace, a quote/],
    ['https://x/a&b', /whitespace, a quote/],
    ['https://x/a>b', /whitespace, a quote/],
    ["https://x/a'b", /whitespace, a quote/],
    ['https://x/a"b', /whitespace, a quote/],
    ['https://x/a\\b', /whitespace, a quote/],
    ['https://x/a\nb', /whitespace/],
    ['', /is empty/],
    ['ssh://-oProxyCommand=id/x', /has no host/],
    ['https://-x/a', /has no host/],
  ])('refuses %j', (url, why) => {
    expect(repoUrlProblem(url)).toMatch(why);
    expect(() => checkRepoUrl(url)).toThrow(`repo.url: ${JSON.stringify(url)} `);
  });
});

it('messages about a refused URL never show its credentials', () => {
  expect(() => checkRepoUrl('https://me:s3cret@h/a b')).toThrow('repo.url: "https://***@h/a b" contains whitespace');
});

it('refuses a password in the URL without showing it, and keeps a user name alone', () => {
  expect(() => checkRepoUrl('https://me:s3cret@git.example.com/a.git')).toThrow(/^repo\.url: "https:\/\/\*\*\*@git\.example\.com\/a\.git" carries a password/);
  expect(() => checkRepoUrl('https://me:s3cret@git.example.com/a.git')).not.toThrow(/s3cret/);
  expect(repoUrlProblem('https://me@git.example.com/a.git')).toBeUndefined();
});

it('a huge value is cut in messages', () => {
  const url = `https://x/${'a'.repeat(100_000)} b`;
  let message = '';
  try {
    checkRepoUrl(url);
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toMatch(/^repo\.url: "https:\/\/x\/a+…" \(100012 characters\) contains whitespace/);
  expect(message.length).toBeLessThan(300);
});

describe('POSIX user names and ids', () => {
  it.each(['vscode', 'root', '_apt', 'a', 'node-1', 'x'.repeat(32)])('%s is a valid user name', (n) => {
    expect(isPosixUserName(n)).toBe(true);
  });
  it.each(['', 'Vscode', '1user', '-x', 'a b', 'x'.repeat(33), 'vscode:vscode', '$(touch /tmp/pwned)'])('%j is not', (n) => {
    expect(isPosixUserName(n)).toBe(false);
  });
  it('ids are 0..2147483647', () => {
    expect(parseId('0')).toBe(0);
    expect(parseId('1000')).toBe(1000);
    expect(parseId('2147483647')).toBe(2147483647);
    expect(parseId('2147483648')).toBe('out-of-range');
    expect(parseId('-1')).toBe('out-of-range');
    expect(parseId('99999999999999999999')).toBe('out-of-range');
    expect(parseId('vscode')).toBeUndefined();
    expect(parseId('')).toBeUndefined();
  });
});
