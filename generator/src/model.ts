// The user model's rules, written once. Pure functions: no I/O. The chart's
// named templates (charts/gitspace/templates/_model.tpl: gitspace.model.home,
// repoName, idePort) implement the same rules in Go templates, and
// test/unit/model-helm.test.ts renders both over one corpus so they cannot drift.
import { UserError } from './cli.ts';
import { ideTable } from './schema.ts';

/** Largest uid/gid Linux and Kubernetes (runAsUser is int64, but 2^31-1 by convention) accept. */
export const MAX_ID = 2147483647;

/** POSIX portable user name as useradd accepts it (and the schema's user.* pattern). */
export const POSIX_USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Folder name under HOME (the schema's repo.name pattern). */
const REPO_NAME = /^[A-Za-z0-9._-]+$/;

/** JSON-quoted, so an empty string, spaces and newlines are visible in a message. */
/** A value quoted for a message; a long one is cut (a 1 MB field must not become a 1 MB error). */
export const q = (value: string): string =>
  value.length > 80 ? `${JSON.stringify(value.slice(0, 64)).slice(0, -1)}…" (${value.length} characters)` : JSON.stringify(value);

/**
 * The folder the repository is cloned into, as Docker Gitspace derives it: the
 * last URL path segment without `.git`. One trailing `/` is ignored; in the
 * scp-like form `git@host:repo.git` the path starts after `:`.
 */
export function deriveRepoName(url: string): string {
  const trimmed = url.endsWith('/') ? url.slice(0, -1) : url;
  const last = trimmed.replace(/^.*[/:]/, '');
  const name = last.endsWith('.git') ? last.slice(0, -'.git'.length) : last;
  if (!REPO_NAME.test(name) || name === '.' || name === '..') {
    throw new UserError(`repo.url: cannot derive a folder name from ${q(url)} (got ${q(name)}); set repo.name`);
  }
  return name;
}

/** HOME as Docker Gitspace sets it: /root for uid 0, else /home/{name}. */
export function homeFor(name: string, uid: number): string {
  return uid === 0 ? '/root' : `/home/${name}`;
}

/** The IDE's container port: ide.port, or Docker Gitspace's default for the type. */
export function idePortFor(type: string, port = 0): number {
  if (port) return port;
  const table = ideTable();
  const info = table[type];
  if (!info) throw new UserError(`ide.type: unknown IDE type ${q(type)}; use one of: ${Object.keys(table).sort().join(', ')}`);
  return info.port;
}

// Characters a shell or git would interpret; a clone URL never needs them.
const UNSAFE_URL_CHARS = /[\s'"`$;|&<>\\\x00-\x1f\x7f]/;

/**
 * Why a clone URL is refused, or undefined when it is safe to hand to git.
 * Only https, http, ssh:// and scp-like git@host:path: git's other transports
 * (`ext::` runs a command, `file://` reads the host) and a leading `-` (read
 * as an option) are refused, as are characters a shell would interpret.
 */
export function repoUrlProblem(url: string): string | undefined {
  if (url === '') return 'is empty';
  if (url.startsWith('-')) return 'starts with "-" (git would read it as an option)';
  if (!/^(https?|ssh):\/\/[^/]+/.test(url) && !/^git@[A-Za-z0-9.-]+:[^:]+$/.test(url)) {
    return 'is not an https://, http://, ssh:// or git@host:path URL (other git transports such as ext:: and file:// are refused)';
  }
  if (UNSAFE_URL_CHARS.test(url)) return 'contains whitespace, a quote or one of $ ` ; | & < > \\';
  // git keeps the URL in .git/config and ssh reads a host starting with '-' as an option.
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/.test(url)) {
    return 'carries a password or token (user:password@host), which git would keep in .git/config; put the credentials in the Secret named by repo.credentials.existingSecret';
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/@]*@)?([A-Za-z0-9]|\[)/.test(url)) {
    return "has no host (the part after :// must start with a host name; ssh reads a leading '-' as an option)";
  }
  return undefined;
}

/** The URL with any user:password removed, for messages (a token must not land in a terminal log). */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@]*@/, '$1***@');
}

/** Throws a one-line UserError naming the field when the clone URL is unsafe. */
export function checkRepoUrl(url: string, field = 'repo.url'): string {
  const problem = repoUrlProblem(url);
  if (problem) throw new UserError(`${field}: ${q(redactUrl(url))} ${problem}; use an https:// or ssh:// clone URL`);
  return url;
}

export function isPosixUserName(name: string): boolean {
  return POSIX_USER_NAME.test(name);
}

/** Parses a decimal uid/gid in 0..2^31-1; undefined when the text is not a number at all. */
export function parseId(text: string): number | 'out-of-range' | undefined {
  if (!/^-?[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return !text.startsWith('-') && n <= MAX_ID ? n : 'out-of-range';
}

export function isValidId(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_ID;
}

/** user.home, or the HOME rule (the chart's gitspace.model.home). */
export function homeOf(user: { home?: string; remoteUser: string; uid: number }): string {
  return user.home || homeFor(user.remoteUser, user.uid);
}

/** repo.name, or the name derived from repo.url; empty when there is no repository (gitspace.model.repoName). */
export function repoNameOf(repo: { url?: string; name?: string }): string {
  if (repo.name) return repo.name;
  return repo.url ? deriveRepoName(repo.url) : '';
}
