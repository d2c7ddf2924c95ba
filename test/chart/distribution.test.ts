// The chart as a platform team consumes it, with no cluster: `scripts/package-chart.sh --push`
// signs the package (provenance file) and pushes it to the local OCI registry
// (scripts/registry.sh, here its own directory and a free port on 127.0.0.1); helm pulls it
// back with --verify from the registry and from the HTTP chart repository, and refuses a
// package changed after signing and a keyring without the signer's key.
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { parse } from 'yaml';
import { cacheDir, helm, helmEnv, repoRoot, tempDir } from './helm.ts';

const work = tempDir('gitspace-chart-dist-');
const out = join(work, 'charts');
const tampered = join(work, 'tampered');
const keyring = join(cacheDir(), 'gpg', 'pubring.gpg');
const signer = 'gitspace-chart test signing key <chart-signing@gitspace-chart.invalid>';
const repoEnv = {
  HELM_REPOSITORY_CONFIG: join(work, 'repositories.yaml'),
  HELM_REPOSITORY_CACHE: join(work, 'repository-cache'),
};
let registryEnv: Record<string, string>;
let registry: string; // 127.0.0.1:PORT
let packaged: { exitCode: number; stderr: string };
let server: Server;
let url: string;

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A port nothing listens on right now (the registry needs a fixed one in its config). */
async function freePort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** A new folder for helm pull --destination (helm does not make it). */
function dest(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  return dir;
}

function script(name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return execa('bash', [join(repoRoot, 'scripts', name), ...args], { env: helmEnv({ ...registryEnv, ...env }), cwd: repoRoot, reject: false });
}

beforeAll(async () => {
  const port = await freePort();
  registry = `127.0.0.1:${port}`;
  registryEnv = { GITSPACE_REGISTRY_DIR: join(work, 'registry'), GITSPACE_REGISTRY_PORT: String(port) };
  const r = await script('package-chart.sh', ['--push', out]);
  packaged = { exitCode: r.exitCode ?? -1, stderr: String(r.stderr) };
  if (packaged.exitCode !== 0) throw new Error(`package-chart.sh --push failed:\n${packaged.stderr}`);

  // What an attacker in the middle would serve: the chart changed after signing, the original
  // provenance file, and an index rebuilt to match the changed package.
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  mkdirSync(tampered);
  await execa('tar', ['xzf', join(out, 'gitspace-0.1.0.tgz'), '-C', unpacked]);
  await execa('bash', ['-c', 'printf "\\nimage:\\n  repository: attacker.invalid/gitspace\\n" >> "$1"', '_', join(unpacked, 'gitspace', 'values.yaml')]);
  await execa('tar', ['czf', join(tampered, 'gitspace-0.1.0.tgz'), '-C', unpacked, 'gitspace']);
  copyFileSync(join(out, 'gitspace-0.1.0.tgz.prov'), join(tampered, 'gitspace-0.1.0.tgz.prov'));
  await helm(['repo', 'index', tampered]);

  // /good/ serves the real repository, /tampered/ the changed one.
  server = createHttpServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const [, top, ...rest] = path.split('/');
    const base = top === 'good' ? out : top === 'tampered' ? tampered : '';
    const file = base && normalize(join(base, ...rest));
    if (!file || !file.startsWith(base) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200);
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (registryEnv) await script('registry.sh', ['stop']);
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
});

describe('signed chart, OCI registry and HTTP repository', () => {
  it('package-chart.sh --push signs the package (provenance names its sha256) and pushes it', () => {
    const prov = readFileSync(join(out, 'gitspace-0.1.0.tgz.prov'), 'utf8');
    expect(prov).toContain('-----BEGIN PGP SIGNED MESSAGE-----');
    expect(prov).toContain(`gitspace-0.1.0.tgz: sha256:${sha256(join(out, 'gitspace-0.1.0.tgz'))}`);
    expect(existsSync(join(out, 'index.yaml'))).toBe(true);
    expect(packaged.stderr).toContain(`Pushed: ${registry}/charts/gitspace:0.1.0`);
    expect(packaged.stderr).toContain(`pushed oci://${registry}/charts/gitspace:0.1.0 (with provenance)`);
  });

  it('registry.sh start again is the same registry; url and status print its address', async () => {
    const pid = readFileSync(join(work, 'registry', 'registry.pid'), 'utf8').split(' ')[0];
    const again = await script('registry.sh', ['start']);
    expect(again.exitCode).toBe(0);
    expect(String(again.stderr)).toContain(`registry already running at ${registry} (pid ${pid})`);
    expect(String((await script('registry.sh', ['url'])).stdout)).toBe(registry);
    expect(String((await script('registry.sh', ['status'])).stdout)).toBe(registry);
  });

  it('helm pull oci:// --verify --keyring pubring.gpg: signed by the test key, the pushed bytes', async () => {
    const into = dest('pulled-oci');
    const r = await helm(['pull', `oci://${registry}/charts/gitspace`, '--version', '0.1.0', '--plain-http', '--verify', '--keyring', keyring, '--destination', into]);
    // (helm prints what it pulled from a registry on stderr)
    expect(r.stderr).toContain(`Pulled: ${registry}/charts/gitspace:0.1.0`);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Signed by: ${signer}`);
    expect(r.stdout).toContain(`Chart Hash Verified: sha256:${sha256(join(out, 'gitspace-0.1.0.tgz'))}`);
    expect(sha256(join(into, 'gitspace-0.1.0.tgz'))).toBe(sha256(join(out, 'gitspace-0.1.0.tgz')));
  });

  it('helm show chart oci:// prints the chart and its Artifact Hub annotations', async () => {
    const r = await helm(['show', 'chart', `oci://${registry}/charts/gitspace`, '--version', '0.1.0', '--plain-http']);
    expect(r.exitCode).toBe(0);
    const chart = parse(r.stdout);
    expect(chart).toMatchObject({ name: 'gitspace', version: '0.1.0', appVersion: '0.1.0' });
    expect(parse(chart.annotations['artifacthub.io/images'])).toEqual([{ name: 'gitspace', image: 'gitspace-chart/gitspace:0.1.0' }]);
  });

  it('helm repo add over loopback HTTP + helm pull repo/gitspace --verify', async () => {
    const add = await helm(['repo', 'add', 'gitspace-signed', `${url}/good`], repoEnv);
    expect(add.exitCode).toBe(0);
    const r = await helm(['pull', 'gitspace-signed/gitspace', '--version', '0.1.0', '--verify', '--keyring', keyring, '--destination', dest('pulled-http')], repoEnv);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Signed by: ${signer}`);
  });

  it('a package changed after signing fails --verify, from the HTTP repository and from the registry', async () => {
    expect((await helm(['repo', 'add', 'gitspace-tampered', `${url}/tampered`], repoEnv)).exitCode).toBe(0);
    const http = await helm(['pull', 'gitspace-tampered/gitspace', '--version', '0.1.0', '--verify', '--keyring', keyring, '--destination', dest('pulled-tampered-http')], repoEnv);
    expect(http.exitCode).not.toBe(0);
    expect(http.stderr).toMatch(/sha256 sum does not match for gitspace-0\.1\.0\.tgz/);
    expect(http.stdout).not.toContain('Signed by');

    // The registry keeps whatever is pushed; --verify is what catches it.
    const push = await helm(['push', join(tampered, 'gitspace-0.1.0.tgz'), `oci://${registry}/tampered`, '--plain-http']);
    expect(push.exitCode).toBe(0);
    const oci = await helm(['pull', `oci://${registry}/tampered/gitspace`, '--version', '0.1.0', '--plain-http', '--verify', '--keyring', keyring, '--destination', dest('pulled-tampered-oci')]);
    expect(oci.exitCode).not.toBe(0);
    expect(oci.stderr).toMatch(/sha256 sum does not match for gitspace-0\.1\.0\.tgz/);
  });

  it('a keyring without the signing key fails --verify', async () => {
    const home = join(work, 'other-gnupg');
    mkdirSync(home, { mode: 0o700 });
    const gpg = (args: string[]) => execa('gpg', ['--homedir', home, '--batch', ...args]);
    await gpg(['--passphrase', '', '--quick-gen-key', 'someone else <other@gitspace-chart.invalid>', 'rsa2048', 'sign', 'never']);
    const other = join(work, 'other-pubring.gpg');
    await execa('bash', ['-c', 'gpg --homedir "$1" --batch --export > "$2"', '_', home, other]);
    await execa('gpgconf', ['--homedir', home, '--kill', 'all']);
    const r = await helm(['pull', `oci://${registry}/charts/gitspace`, '--version', '0.1.0', '--plain-http', '--verify', '--keyring', other, '--destination', dest('pulled-other')]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('openpgp: signature made by unknown entity');
  });

  it('registry.sh stop with a stale pid file (the pid now another process) leaves that process alone', async () => {
    const dir = join(work, 'stale-registry');
    mkdirSync(dir);
    const other = execa('sleep', ['60'], { reject: false });
    try {
      writeFileSync(join(dir, 'registry.pid'), `${other.pid} /usr/bin/docker-registry 12345\n`);
      const env = { GITSPACE_REGISTRY_DIR: dir };
      expect((await script('registry.sh', ['stop'], env)).exitCode).toBe(0);
      expect(other.exitCode).toBeNull();
      expect(() => process.kill(other.pid!, 0)).not.toThrow();
      expect(existsSync(join(dir, 'registry.pid'))).toBe(false);
      const url = await script('registry.sh', ['url'], env);
      expect(url.exitCode).toBe(1);
      expect(String(url.stderr)).toContain(`no registry runs from ${dir}: start it with 'bash scripts/registry.sh start'`);
    } finally {
      other.kill();
    }
  });

  it('bad input gets one error naming what to fix', async () => {
    const opt = await script('package-chart.sh', ['--sign-with-magic']);
    expect(opt.exitCode).toBe(1);
    expect(String(opt.stderr)).toMatch(/ERROR: unknown option '--sign-with-magic': the options are --push and --help$/m);
    const port = await script('registry.sh', ['start'], { GITSPACE_REGISTRY_PORT: 'http' });
    expect(port.exitCode).toBe(1);
    expect(String(port.stderr)).toMatch(/ERROR: GITSPACE_REGISTRY_PORT='http' is not a port: set it to a number from 1 to 65535$/m);
    const other = await script('registry.sh', ['start'], { GITSPACE_REGISTRY_PORT: '1' });
    expect(other.exitCode).toBe(1);
    expect(String(other.stderr)).toContain(`a registry from ${join(work, 'registry')} already runs at ${registry}`);
  });
});
