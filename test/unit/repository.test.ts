// devcontainer.json read from the repository the way the Docker Gitspace
// server does: a shallow blobless clone, over a real smart-HTTP git server.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDevcontainerFromRepo, redactUrl } from '../../generator/src/repository.ts';
import { makeRepo, startGitHttp } from './git-http.ts';
import { tempDir } from './helpers.ts';

let server: { url: string; close: () => Promise<void> };
const work = tempDir('gitspace-repo-test-');
beforeAll(async () => {
  const root = join(work, 'srv');
  await makeRepo(root, 'acme/with', { '.devcontainer/devcontainer.json': '{ "remoteUser": "node", }\n', 'README.md': 'hi\n' }, work);
  await makeRepo(root, 'acme/without', { 'README.md': 'hi\n' }, work);
  server = await startGitHttp(root);
});
afterAll(() => server?.close());

describe('readDevcontainerFromRepo', () => {
  it('returns the file from HEAD of the default branch', async () => {
    expect(await readDevcontainerFromRepo(`${server.url}/acme/with.git`)).toBe('{ "remoteUser": "node", }\n');
  });
  it('returns undefined when the repository has none', async () => {
    expect(await readDevcontainerFromRepo(`${server.url}/acme/without.git`)).toBeUndefined();
  });
  it('a missing repository is one line naming repo.url and what to do', async () => {
    await expect(readDevcontainerFromRepo(`${server.url}/acme/nope.git`)).rejects.toThrow(
      new RegExp(`^repo\\.url: cannot read \\.devcontainer/devcontainer\\.json from "${server.url}/acme/nope\\.git": git clone failed: .*; check the URL and your access, or pass --devcontainer FILE$`),
    );
  });
  it('a missing branch names the branch', async () => {
    await expect(readDevcontainerFromRepo(`${server.url}/acme/with.git`, 'nope')).rejects.toThrow('(branch "nope"): git clone failed');
  });
  it('refuses unsafe URLs before running git', async () => {
    await expect(readDevcontainerFromRepo('ext::sh -c id')).rejects.toThrow(/^repo\.url: "ext::sh -c id" is not an https/);
  });
  it('messages never show credentials', () => {
    expect(redactUrl('https://user:tok@h/a.git')).toBe('https://***@h/a.git');
    expect(redactUrl('git@h:a.git')).toBe('git@h:a.git');
  });
});
