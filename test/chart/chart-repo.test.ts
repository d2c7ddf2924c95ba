// The chart as users get it: scripts/package-chart.sh builds a chart repository (helm package
// --sign + helm repo index), served here over HTTP on 127.0.0.1; helm adds the repository with its own
// repository config and cache (the user's are never touched) and renders the chart from it.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { parse } from 'yaml';
import { helm, helmEnv, KUBE_VERSION, render, repoRoot, tempDir } from './helm.ts';

const work = tempDir('gitspace-chart-repo-');
const out = join(work, 'charts');
const repoEnv = {
  HELM_REPOSITORY_CONFIG: join(work, 'repositories.yaml'),
  HELM_REPOSITORY_CACHE: join(work, 'repository-cache'),
};
let server: Server;
let url: string;
const requests: string[] = [];

beforeAll(async () => {
  await execa('bash', [join(repoRoot, 'scripts', 'package-chart.sh'), out], { env: helmEnv(), cwd: repoRoot });
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const file = normalize(join(out, decodeURIComponent((req.url ?? '/').split('?')[0])));
    if (!file.startsWith(out) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200);
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => (server ? server.close(() => ok()) : ok())));

describe('chart repository', () => {
  it('package-chart.sh writes the packaged chart and an index naming it', async () => {
    expect(existsSync(join(out, 'gitspace-0.1.0.tgz'))).toBe(true);
    // signed: distribution.test.ts checks what --verify makes of it
    expect(existsSync(join(out, 'gitspace-0.1.0.tgz.prov'))).toBe(true);
    const index = parse((await execa('cat', [join(out, 'index.yaml')])).stdout);
    const [entry] = index.entries.gitspace;
    expect(entry).toMatchObject({ name: 'gitspace', version: '0.1.0', appVersion: '0.1.0', kubeVersion: '>=1.29.0-0', urls: ['gitspace-0.1.0.tgz'] });
  });

  it('helm repo add + template from the repository renders what the source chart renders', async () => {
    const add = await helm(['repo', 'add', 'gitspace-local', url], repoEnv);
    expect(add.stderr).toBe('');
    expect(add.exitCode).toBe(0);
    const search = await helm(['search', 'repo', 'gitspace-local/gitspace', '--output', 'json'], repoEnv);
    expect(JSON.parse(search.stdout)).toEqual([
      expect.objectContaining({ name: 'gitspace-local/gitspace', version: '0.1.0', app_version: '0.1.0' }),
      expect.objectContaining({ name: 'gitspace-local/gitspace-features', version: '0.1.0' }),
      expect.objectContaining({ name: 'gitspace-local/gitspace-scripts', version: '0.1.0' }),
    ]);

    const values = join(repoRoot, 'examples', 'team-frontend-values.yaml');
    const fromRepo = await render([values], { chart: 'gitspace-local/gitspace', extra: ['--version', '0.1.0'], env: repoEnv });
    const fromSource = await render([values]);
    expect(requests).toContain('/gitspace-0.1.0.tgz');
    expect(fromRepo.map((m) => `${m.kind}/${m.metadata.name}`)).toContain('Deployment/ws-gitspace');
    expect(fromRepo).toEqual(fromSource);
  });

  it('the package leaves out the helm-unittest suites but keeps the helm test pods', async () => {
    const list = (await execa('tar', ['tzf', join(out, 'gitspace-0.1.0.tgz')])).stdout.split('\n');
    expect(list).toContain('gitspace/templates/tests/test-ide.yaml');
    expect(list).toContain('gitspace/values.schema.json');
    expect(list.filter((f) => f.startsWith('gitspace/tests/'))).toEqual([]);
  });

  it('a missing version fails cleanly', async () => {
    const r = await helm(['template', 'ws', 'gitspace-local/gitspace', '--version', '9.9.9', '--kube-version', KUBE_VERSION], repoEnv);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/9\.9\.9/);
  });
});
