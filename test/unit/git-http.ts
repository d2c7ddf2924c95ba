// A smart-HTTP git server for tests: node's http server running
// `git http-backend` as CGI over a directory of bare repositories, so the
// CLI's real clone path (http, shallow, blobless) runs without a network.
import { createServer, type Server } from 'node:http';
import { execa } from 'execa';

export async function startGitHttp(projectRoot: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', async () => {
      const r = await execa('git', ['http-backend'], {
        input: Buffer.concat(body),
        encoding: 'buffer',
        reject: false,
        stripFinalNewline: false,
        env: {
          GIT_PROJECT_ROOT: projectRoot,
          GIT_HTTP_EXPORT_ALL: '1',
          PATH_INFO: decodeURIComponent(u.pathname),
          QUERY_STRING: u.search.slice(1),
          REQUEST_METHOD: req.method ?? 'GET',
          CONTENT_TYPE: req.headers['content-type'] ?? '',
          HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
          GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
          REMOTE_ADDR: '127.0.0.1',
        },
      });
      const out = Buffer.from(r.stdout as Uint8Array);
      const split = out.indexOf('\r\n\r\n');
      const head = out.subarray(0, split).toString().split('\r\n');
      let status = 200;
      for (const line of head) {
        const [k, ...v] = line.split(':');
        if (k.toLowerCase() === 'status') status = parseInt(v.join(':'), 10);
        else res.setHeader(k, v.join(':').trim());
      }
      res.statusCode = status;
      res.end(out.subarray(split + 4));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(() => ok())) };
}

/** A bare repository at ROOT/NAME.git with FILES committed (path -> content); serves blobless clones. */
export async function makeRepo(root: string, name: string, files: Record<string, string>, work: string): Promise<void> {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const src = join(work, `${name.replaceAll('/', '_')}-src`);
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  await execa('git', ['init', '-q', '-b', 'main', src]);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), content);
  }
  await execa('git', ['-C', src, 'add', '-A'], { env });
  await execa('git', ['-C', src, 'commit', '-q', '--allow-empty', '-m', 'init'], { env });
  const bare = join(root, `${name}.git`);
  await execa('git', ['clone', '-q', '--bare', src, bare]);
  await execa('git', ['-C', bare, 'config', 'uploadpack.allowFilter', 'true']);
  await execa('git', ['-C', bare, 'config', 'uploadpack.allowAnySHA1InWant', 'true']);
}
