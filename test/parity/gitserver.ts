// A real git server for the parity suite and the demo: git's own
// `git http-backend` (CGI) behind a small Node HTTP server with basic auth.
// It listens only on loopback and on bridges our own test processes made
// (docker0 for Docker containers, cni0 for pods): test traffic never goes
// anywhere else.
//
//   tsx test/parity/gitserver.ts serve --root DIR --port N --host 127.0.0.1 [--host …]
//       runs until SIGTERM (the demo keeps one in the background)
//   tsx test/parity/gitserver.ts create-repo --root DIR --name NAME [--private] [--file path=content…]
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { run } from './exec.ts';

/** Marker file in a bare repo: requests for it need basic auth. */
const PRIVATE_MARKER = 'gitspace-test-private';

export interface GitCredentials {
  username: string;
  password: string;
}

export interface GitRequest {
  repo: string;
  user: string;
  status: number;
  /** Client address: tells apart two gitspaces cloning the same repo at once. */
  from: string;
}

export interface GitServer {
  root: string;
  port: number;
  hosts: string[];
  /** Every request served (repo, authenticated user, status): proves a clone used auth. */
  requests: GitRequest[];
  url(host: string, repo: string): string;
  close(): Promise<void>;
}

export interface GitServerOptions {
  root: string;
  hosts: string[];
  /** 0 = pick a free port on the first host and use it on every host. */
  port?: number;
  credentials: GitCredentials;
}

function authorized(header: string | undefined, c: GitCredentials): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const got = Buffer.from(Buffer.from(header.slice(6), 'base64').toString('utf8'));
  const want = Buffer.from(`${c.username}:${c.password}`);
  return got.length === want.length && timingSafeEqual(got, want) ? c.username : undefined;
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** Starts the server on every host with one port. */
export async function startGitServer(opts: GitServerOptions): Promise<GitServer> {
  const requests: GitRequest[] = [];
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://gitserver');
    const m = /^\/([A-Za-z0-9._-]+\.git)(\/.*)?$/.exec(url.pathname);
    const repo = m?.[1] ?? '';
    const from = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const done = (status: number, user = '') => requests.push({ repo, user, status, from });
    if (!m || repo.startsWith('.') || !(await exists(path.join(opts.root, repo)))) {
      res.writeHead(404).end('no such repository\n');
      return done(404);
    }
    let user = '';
    if (await exists(path.join(opts.root, repo, PRIVATE_MARKER))) {
      user = authorized(req.headers.authorization, opts.credentials) ?? '';
      if (!user) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="gitspace-test"' }).end('authentication required\n');
        return done(401);
      }
    }
    // The CGI environment git http-backend reads (git-http-backend(1)).
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_PROJECT_ROOT: opts.root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: url.pathname,
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '',
      REMOTE_USER: user,
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
    };
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
    if (req.headers['content-length']) env.CONTENT_LENGTH = String(req.headers['content-length']);
    const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    req.pipe(cgi.stdin);
    cgi.stdin.on('error', () => {});
    let head = Buffer.alloc(0);
    let headersSent = false;
    let status = 200;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const sep = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
      if (sep < 0) return;
      const sepLen = head[sep] === 0x0d ? 4 : 2;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, sep).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i <= 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = parseInt(v, 10) || 200;
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      headersSent = true;
      res.write(head.subarray(sep + sepLen));
    });
    cgi.stderr.on('data', () => {});
    cgi.on('close', (code) => {
      if (!headersSent) {
        status = 500;
        res.writeHead(500).end(`git http-backend exited ${code}\n`);
      } else res.end();
      done(status, user);
    });
  };

  const servers: http.Server[] = [];
  let port = opts.port ?? 0;
  for (const host of opts.hosts) {
    const s = http.createServer((req, res) => {
      handler(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    servers.push(s);
  }
  return {
    root: opts.root,
    port,
    hosts: opts.hosts,
    requests,
    url: (host, repo) => `http://${host}:${port}/${repo}.git`,
    close: async () => {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.close(() => r());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}

/** Creates (or replaces) ROOT/NAME.git with one commit holding files. */
export async function createRepo(
  root: string,
  name: string,
  files: Record<string, string | Buffer>,
  opts: { private: boolean; branch?: string },
): Promise<void> {
  const bare = path.join(root, `${name}.git`);
  await rm(bare, { recursive: true, force: true });
  const work = await mkdtemp(path.join(os.tmpdir(), `gitspace-repo-${name}-`));
  try {
    const branch = opts.branch ?? 'main';
    const git = (...args: string[]) =>
      run('git', ['-C', work, '-c', 'user.name=Parity Suite', '-c', 'user.email=parity@gitspace.invalid', ...args]);
    await git('init', '-q', '-b', branch);
    for (const [rel, content] of Object.entries(files)) {
      const f = path.join(work, rel);
      await mkdir(path.dirname(f), { recursive: true });
      await writeFile(f, content);
    }
    await git('add', '-A');
    await git('commit', '-q', '-m', `${name}: test content`);
    await mkdir(root, { recursive: true });
    await run('git', ['clone', '-q', '--bare', work, bare]);
    if (opts.private) await writeFile(path.join(bare, PRIVATE_MARKER), 'basic auth required\n');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * IPv4 address of a local interface (e.g. docker0, cni0), or undefined. From
 * `ip`, not os.networkInterfaces(): libuv omits a bridge with no carrier (docker0
 * while no container runs), and the address is still ours to bind.
 */
export async function interfaceAddress(name: string): Promise<string | undefined> {
  const r = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', name], { allowFail: true });
  return /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout)?.[1];
}

function parseArgs(argv: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    const v = next !== undefined && !next.startsWith('--') ? (i++, next) : 'true';
    m.set(a.slice(2), [...(m.get(a.slice(2)) ?? []), v]);
  }
  return m;
}

async function cli(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  const a = parseArgs(rest);
  const one = (k: string) => {
    const v = a.get(k)?.[0];
    if (!v) throw new Error(`--${k} is required`);
    return v;
  };
  // Credentials come from the environment, never argv (visible in ps).
  const credentials = {
    username: process.env.GITSPACE_GIT_USERNAME ?? 'gitspace',
    password: process.env.GITSPACE_GIT_PASSWORD ?? '',
  };
  if (cmd === 'serve') {
    if (!credentials.password) throw new Error('GITSPACE_GIT_PASSWORD is required');
    const s = await startGitServer({ root: one('root'), hosts: a.get('host') ?? ['127.0.0.1'], port: Number(one('port')), credentials });
    process.stdout.write(`git server on ${s.hosts.map((h) => `${h}:${s.port}`).join(', ')} serving ${s.root}\n`);
    const stop = () => void s.close().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  } else if (cmd === 'create-repo') {
    const files: Record<string, string> = {};
    for (const kv of a.get('file') ?? []) {
      const i = kv.indexOf('=');
      files[kv.slice(0, i)] = kv.slice(i + 1).replace(/\\n/g, '\n');
    }
    await createRepo(one('root'), one('name'), files, { private: a.has('private') });
  } else {
    throw new Error('usage: gitserver.ts serve|create-repo …');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  cli(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`gitserver: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
