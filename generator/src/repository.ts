// Reads .devcontainer/devcontainer.json from the repository before install, as
// the Docker Gitspace server does: a shallow clone without checkout or blobs,
// then the one file. git runs with argument arrays (never a shell), no prompts
// and only the http(s)/ssh transports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from './cli.ts';
import { DEVCONTAINER_PATH } from './devcontainer.ts';
import { checkRepoUrl, q, redactUrl } from './model.ts';

export { redactUrl };


function gitEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: 'http:https:ssh',
    // ssh would otherwise ask on the terminal (host key, passphrase).
    GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
  };
}

/** The file's text, or undefined when the repository has none (that is fine: Docker Gitspace writes a default). */
export async function readDevcontainerFromRepo(url: string, branch = ''): Promise<string | undefined> {
  checkRepoUrl(url);
  const dir = mkdtempSync(join(tmpdir(), 'gitspace-repo-'));
  // stripFinalNewline off: `git show` returns the file byte for byte.
  const git = (args: string[]) => execa('git', args, { env: gitEnv(), reject: false, stdin: 'ignore', timeout: 120_000, stripFinalNewline: false });
  try {
    const clone = await git([
      'clone', '--quiet', '--depth', '1', '--no-checkout', '--filter=blob:none',
      ...(branch ? ['--branch', branch] : []),
      '--', url, join(dir, 'repo'),
    ]);
    if (clone.exitCode !== 0) {
      const detail = String(clone.stderr || (clone as { shortMessage?: string }).shortMessage || '').trim().split('\n').at(-1);
      throw new UserError(
        `repo.url: cannot read ${DEVCONTAINER_PATH} from ${q(redactUrl(url))}${branch ? ` (branch ${q(branch)})` : ''}: git clone failed: ${detail}; check the URL and your access, or pass --devcontainer FILE`,
      );
    }
    const repo = join(dir, 'repo');
    // An empty repository has no HEAD: no devcontainer.json either.
    if ((await git(['-C', repo, 'rev-parse', '--verify', '--quiet', 'HEAD'])).exitCode !== 0) return undefined;
    const listed = await git(['-C', repo, 'ls-tree', '--name-only', 'HEAD', '--', DEVCONTAINER_PATH]);
    if (String(listed.stdout).trim() === '') return undefined;
    const show = await git(['-C', repo, 'show', `HEAD:${DEVCONTAINER_PATH}`]);
    if (show.exitCode !== 0) throw new UserError(`repo.url: cannot read ${DEVCONTAINER_PATH} from ${q(redactUrl(url))}: ${String(show.stderr).trim()}`);
    return String(show.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
