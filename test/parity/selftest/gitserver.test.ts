// The git server the suite clones from: public repos without auth, private
// repos only with the right basic-auth credentials, every request logged.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../exec.ts';
import { createRepo, startGitServer, type GitServer } from '../gitserver.ts';

let dir: string;
let server: GitServer;
const env = { GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: os.tmpdir() };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gitserver-test-'));
  await createRepo(path.join(dir, 'git'), 'pub', { 'README.md': 'public\n' }, { private: false });
  await createRepo(path.join(dir, 'git'), 'priv', { 'README.md': 'private\n' }, { private: true });
  server = await startGitServer({ root: path.join(dir, 'git'), hosts: ['127.0.0.1'], credentials: { username: 'u', password: 'pw-123' } });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const clone = (url: string, dest: string) => run('git', ['-c', 'credential.helper=', 'clone', '-q', url, path.join(dir, dest)], { env, allowFail: true });

describe('git server', () => {
  it('serves a public repository without credentials', async () => {
    const r = await clone(server.url('127.0.0.1', 'pub'), 'pub');
    expect(r.exitCode).toBe(0);
    expect((await run('git', ['-C', path.join(dir, 'pub'), 'log', '--oneline'])).stdout).toContain('pub: test content');
  });

  it('refuses a private repository without credentials and with a wrong password', async () => {
    expect((await clone(server.url('127.0.0.1', 'priv'), 'p1')).exitCode).not.toBe(0);
    expect((await clone(`http://u:wrong@127.0.0.1:${server.port}/priv.git`, 'p2')).exitCode).not.toBe(0);
    expect(server.requests.filter((r) => r.repo === 'priv.git').every((r) => r.status === 401)).toBe(true);
  });

  it('serves a private repository with the right credentials and logs who', async () => {
    const r = await clone(`http://u:pw-123@127.0.0.1:${server.port}/priv.git`, 'p3');
    expect(r.exitCode).toBe(0);
    expect(server.requests.some((q) => q.repo === 'priv.git' && q.status === 200 && q.user === 'u' && q.from === '127.0.0.1')).toBe(true);
  });

  it('answers 404 for a repository it does not have', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/nope.git/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(404);
  });
});
