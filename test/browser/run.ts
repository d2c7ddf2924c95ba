// The browser stage (npm test -- browser): one `vscode` gitspace of the default
// image on each runtime, opened in headless Chromium as a person opens it.
//   kubernetes: the chart with ingress.enabled, reached through a real
//               ingress controller (Traefik, built from the Go module proxy by
//               test/ingress/traefik.sh) at http://{release}.{namespace}.gitspace.localhost:PORT;
//               the same release's HTTPRoute (httpRoute.enabled) on a Gateway that Traefik's
//               Gateway API provider serves answers at {release}.{namespace}.gateway.localhost
//               (workbench page, websocket 101: gateway.ts), and a second gitspace
//               of an SSH IDE logs the user in through the chart's TCPRoute
//   docker:     the reference runtime of Docker Gitspace (test/parity/docker.ts),
//               at the IDE port it publishes
// Writes browser-report.json at the repository root:
//   {"runs": [{"runtime", "url", "terminalText", "screenshot", ...}]}
//
//   node --import tsx test/browser/run.ts [--runtimes docker,kubernetes] [--report FILE] [--keep]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { DockerRuntime } from '../parity/docker.ts';
import { progress, run, waitFor } from '../parity/exec.ts';
import { createRepo, interfaceAddress, startGitServer } from '../parity/gitserver.ts';
import { KubernetesGitspace, installSharedScripts, kubeEnv, kubectl } from '../parity/kubernetes.ts';
import type { CaseInput, RuntimeName } from '../parity/runtime.ts';
import { loadValues, repoRoot } from '../parity/values.ts';
import {
  checkHttpRoute,
  checkTcpRoute,
  createGateway,
  deleteGatewayClass,
  GATEWAY,
  installGatewayApi,
  installSshGitspace,
  traefikGatewayArgs,
  type HttpRouteCheck,
  type SshGitspace,
  type TcpRouteCheck,
} from './gateway.ts';
import { CHROMIUM, launch, TERMINAL_COMMAND, visitIde, type IdeVisit } from './ide.ts';

const IMAGE = 'gitspace-chart/gitspace:0.1.0';
const RELEASE = 'browser';
const REPO = 'browser-demo';
/** What a person expects in the default image's gitspace (its label's remoteUser vscode). */
const EXPECTED = { user: 'vscode', home: '/home/vscode', pwd: `/home/vscode/${REPO}` };
// Namespace of the Kubernetes run: its own, so the controller watches nothing else.
const NAMESPACE = process.env.GITSPACE_BROWSER_NAMESPACE ?? 'gitspace-browser';
const INGRESS_DOMAIN = 'gitspace.localhost';
// The HTTPRoute's host differs from the Ingress's: only the Gateway API route can answer it.
const GATEWAY_DOMAIN = 'gateway.localhost';

interface GatewayChecks {
  httpRoute: HttpRouteCheck;
  tcpRoute: TcpRouteCheck;
}

interface Run extends Omit<IdeVisit, 'screenshot'> {
  runtime: RuntimeName;
  /** Relative to the repository root. */
  screenshot: string;
  /** kubernetes: the IDE through the chart's HTTPRoute, an SSH IDE's sshd through its TCPRoute. */
  gateway?: GatewayChecks;
  problems: string[];
}

function parseArgs(argv: string[]) {
  let runtimes: RuntimeName[] = ['kubernetes', 'docker'];
  let report = path.join(repoRoot, 'browser-report.json');
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runtimes') runtimes = (argv[++i] ?? '').split(',').filter(Boolean) as RuntimeName[];
    else if (a === '--report') report = path.resolve(argv[++i] ?? '');
    else if (a === '--keep') keep = true;
    else throw new Error(`unknown option ${a}; usage: run.ts [--runtimes docker,kubernetes] [--report FILE] [--keep]`);
  }
  for (const r of runtimes) if (r !== 'docker' && r !== 'kubernetes') throw new Error(`--runtimes: unknown runtime ${r}`);
  return { runtimes, report, keep };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** GET / on 127.0.0.1:port with a Host header: the status, or undefined while nothing answers. */
function statusVia(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { Host: host }, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

/**
 * Traefik on loopback, with its Kubernetes Ingress and Gateway API providers watching one
 * namespace through the cluster's kubeconfig; port: its HTTP entrypoint (the Gateway's listener
 * has the same port: Traefik matches them by port).
 */
async function startTraefik(ns: string, port: number, sshPort: number, logFile: string): Promise<{ port: number; child: ChildProcess }> {
  const bin = (await run('bash', [path.join(repoRoot, 'test/ingress/traefik.sh'), 'bin'], { timeoutMs: 3_600_000 })).stdout.trim();
  const { openSync } = await import('node:fs');
  const out = openSync(logFile, 'w');
  const child = spawn(
    bin,
    [
      `--entryPoints.web.address=127.0.0.1:${port}`,
      // A TCP entrypoint for the Gateway's SSH listener (same port).
      `--entryPoints.ssh.address=127.0.0.1:${sshPort}`,
      '--providers.kubernetesIngress=true',
      `--providers.kubernetesIngress.namespaces=${ns}`,
      ...traefikGatewayArgs(ns),
      '--log.level=INFO',
    ],
    { env: { ...process.env, ...kubeEnv() }, stdio: ['ignore', out, out] },
  );
  progress(`traefik ${bin} on 127.0.0.1:${port} (log: ${logFile})`);
  return { port, child };
}

async function main(argv: string[]): Promise<number> {
  const opts = parseArgs(argv);
  const work = await mkdtemp(path.join(os.tmpdir(), 'gitspace-browser-'));
  const shots = path.join(repoRoot, 'browser-screenshots');
  await mkdir(shots, { recursive: true });
  const runId = randomBytes(4).toString('hex');
  const git = { username: 'gitspace', password: `browser-${randomBytes(12).toString('hex')}` };
  const docker0 = await interfaceAddress('docker0');
  const cni0 = await interfaceAddress('cni0');
  if (!docker0) throw new Error('no docker0 address: is the Docker engine running? (source scripts/lib.sh; docker_up)');
  const server = await startGitServer({ root: path.join(work, 'git'), hosts: ['127.0.0.1', docker0, ...(cni0 ? [cni0] : [])], credentials: git });
  const devcontainer = { image: IMAGE };
  await createRepo(server.root, REPO, { 'README.md': `# ${REPO}\n\nOpened in a real browser by test/browser/run.ts.\n`, '.devcontainer/devcontainer.json': JSON.stringify(devcontainer, null, 2) + '\n' }, { private: true });
  const valuesFile = path.join(work, 'values.yaml');
  const devcontainerFile = path.join(work, 'devcontainer.json');
  await writeFile(devcontainerFile, JSON.stringify(devcontainer));
  // The repository is private: the generator gets the same file the repository holds.
  const valuesArgs = ['--image', IMAGE, '--devcontainer', devcontainerFile, '--repo-url', server.url(docker0, REPO)];
  await run('node', [path.join(repoRoot, 'bin/gitspace-chart.js'), 'values', ...valuesArgs, '--release', RELEASE, '-o', valuesFile]);
  const values = await loadValues(valuesFile);
  const input: CaseInput = { name: RELEASE, valuesFile, values, devcontainer, git, workDir: work };
  const folder = `/?folder=${EXPECTED.pwd}`;

  const browser = await launch();
  progress(`chromium ${CHROMIUM}: ${browser.version()}`);
  const runs: Run[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  try {
    for (const runtime of opts.runtimes) {
      const shot = path.join(shots, `${runtime}.png`);
      let url: string;
      let httpRoute: HttpRouteCheck | undefined;
      // Never rejects: an error is its value, so nothing is left unhandled while the browser visits.
      let tcpRoute: Promise<TcpRouteCheck | Error> | undefined;
      if (runtime === 'docker') {
        progress('docker: starting the reference gitspace');
        const gs = await new DockerRuntime(runId).start(input);
        if (!opts.keep) cleanups.push(() => gs.delete());
        const fwd = await gs.portAccess(8089);
        url = `http://127.0.0.1:${fwd.port}${folder}`;
      } else {
        progress(`kubernetes: helm install ${RELEASE} in ${NAMESPACE}, with ingress.enabled and httpRoute.enabled, and ${RELEASE}-ssh with tcpRoute.enabled`);
        // The SSH gitspace's check runs while the browser visits the web one.
        ({ url, httpRoute, tcpRoute } = await startKubernetes(input, valuesArgs, work, opts.keep, cleanups));
      }
      const visit = await visitIde(browser, url, shot, (m) => progress(`  ${runtime}: ${m}`));
      const problems: string[] = [];
      let gateway: GatewayChecks | undefined;
      if (httpRoute && tcpRoute) {
        const t = await tcpRoute;
        if (t instanceof Error) problems.push(`tcpRoute: ${t.message}`);
        else gateway = { httpRoute, tcpRoute: t };
        problems.push(...httpRoute.problems, ...(t instanceof Error ? [] : t.problems));
      }
      if (visit.answers.pwd !== EXPECTED.pwd) problems.push(`pwd: ${JSON.stringify(visit.answers.pwd)}, want ${EXPECTED.pwd}`);
      if (visit.answers.user !== EXPECTED.user) problems.push(`id -un: ${JSON.stringify(visit.answers.user)}, want ${EXPECTED.user}`);
      if (visit.answers.home !== EXPECTED.home) problems.push(`$HOME: ${JSON.stringify(visit.answers.home)}, want ${EXPECTED.home}`);
      if (!visit.explorerNames.includes('README.md')) problems.push(`explorer shows ${JSON.stringify(visit.explorerNames)}, not the repository's README.md`);
      if (visit.trustPrompt !== undefined) problems.push(`a workspace trust prompt: ${JSON.stringify(visit.trustPrompt.slice(0, 120))}`);
      runs.push({ ...visit, runtime, screenshot: path.relative(repoRoot, shot), ...(gateway ? { gateway } : {}), problems });
      progress(`  ${runtime}: ${problems.length ? `FAILED: ${problems.join('; ')}` : `ok (${TERMINAL_COMMAND} -> ${visit.answers.pwd} ${visit.answers.user} ${visit.answers.home}); screenshot ${path.relative(repoRoot, shot)}`}`);
    }
  } finally {
    await browser.close();
    for (const c of cleanups.reverse()) await c().catch((e) => progress(`cleanup: ${String(e)}`));
    await server.close();
    if (!opts.keep) await rm(work, { recursive: true, force: true });
  }
  await writeFile(opts.report, JSON.stringify({ generatedAt: new Date().toISOString(), runs }, null, 2) + '\n');
  const failed = runs.filter((r) => r.problems.length);
  process.stdout.write(`browser: ${runs.length - failed.length} passed, ${failed.length} failed; report: ${path.relative(process.cwd(), opts.report) || opts.report}\n`);
  return failed.length || runs.length !== opts.runtimes.length ? 1 : 0;
}

/**
 * The chart on the cluster with its Ingress and its HTTPRoute, Traefik in front; returns the IDE
 * URL through the Ingress (the browser's), what the HTTPRoute answered, and the SSH gitspace's
 * TCPRoute check under way.
 */
async function startKubernetes(
  c: CaseInput,
  valuesArgs: string[],
  work: string,
  keep: boolean,
  cleanups: (() => Promise<void>)[],
): Promise<{ url: string; httpRoute: HttpRouteCheck; tcpRoute: Promise<TcpRouteCheck | Error> }> {
  await run('bash', [path.join(repoRoot, 'test/cluster/cluster.sh'), 'load-image', IMAGE], { timeoutMs: 900_000 });
  const gs = new KubernetesGitspace(NAMESPACE, c.name);
  await gs.delete(); // an interrupted run's leftovers
  if (!keep) cleanups.push(() => gs.delete());
  await kubectl(['create', 'namespace', NAMESPACE]);
  // The scripts every gitspace mounts, once per namespace as a platform installs them (docs/fleet.md).
  await installSharedScripts(NAMESPACE);
  // The git password on stdin, never in argv.
  await kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git', namespace: NAMESPACE }, type: 'Opaque', stringData: { username: c.git.username, password: c.git.password } }),
  });
  const overlay = {
    repo: { credentials: { existingSecret: 'git' } },
    // One host per gitspace from the platform's pattern. code-server's own auth stays off as in
    // Docker Gitspace: loopback is the "network in front" here.
    ingress: { enabled: true, host: `{{release}}.{{namespace}}.${INGRESS_DOMAIN}`, allowUnauthenticated: true },
    // Both on one release (a platform picks one): one pod serves both checks.
    httpRoute: { enabled: true, host: `{{release}}.{{namespace}}.${GATEWAY_DOMAIN}`, parentRefs: [{ name: GATEWAY, sectionName: 'http' }], allowUnauthenticated: true },
  };
  const overlayFile = path.join(work, 'kubernetes-overlay.yaml');
  await writeFile(overlayFile, YAML.stringify(overlay));
  // The Gateway API: CRDs (cluster-wide, idempotent), then a class and a Gateway as a platform makes them.
  await installGatewayApi();
  const webPort = await freePort();
  const sshPort = await freePort();
  await createGateway(NAMESPACE, { http: webPort, ssh: sshPort });
  if (!keep) cleanups.push(() => deleteGatewayClass(NAMESPACE));
  const traefik = await startTraefik(NAMESPACE, webPort, sshPort, path.join(work, 'traefik.log'));
  cleanups.push(async () => {
    traefik.child.kill('SIGTERM');
  });
  // The SSH gitspace starts beside the web one (its checks come after the web one's); an error is kept for then.
  const sshGitspace: Promise<SshGitspace | Error> = installSshGitspace(NAMESPACE, `${c.name}-ssh`, work, valuesArgs, 'git').catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  await run('helm', ['upgrade', '--install', c.name, path.join(repoRoot, 'charts/gitspace'), '-n', NAMESPACE, '-f', c.valuesFile, '-f', overlayFile, '--timeout', '10m'], { timeoutMs: 660_000, env: kubeEnv() });
  await gs.waitPod();
  const host = `${c.name}.${NAMESPACE}.${INGRESS_DOMAIN}`;
  // The route is there once Traefik has read the Ingress and its endpoints: code-server answers through it.
  const status = await waitFor(`code-server through traefik at ${host}`, 120_000, async () => {
    const s = await statusVia(traefik.port, host);
    return s !== undefined && s < 400 ? s : undefined;
  }, 500).catch(async (err) => {
    process.stderr.write(`${await readFile(path.join(work, 'traefik.log'), 'utf8').catch(() => '')}\n`);
    throw err;
  });
  progress(`  kubernetes: ${host} answers ${status} through traefik`);
  const gatewayHost = `${c.name}.${NAMESPACE}.${GATEWAY_DOMAIN}`;
  const httpRoute = await checkHttpRoute(NAMESPACE, `${c.name}-gitspace`, traefik.port, gatewayHost, `/?folder=${EXPECTED.pwd}`);
  // Not awaited here (an error is a value until the caller awaits it: no unhandled rejection).
  const tcpRoute = (async (): Promise<TcpRouteCheck | Error> => {
    const ssh = await sshGitspace;
    if (ssh instanceof Error) return ssh;
    return checkTcpRoute(ssh, sshPort, EXPECTED).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  })();
  return { url: `http://${host}:${traefik.port}/?folder=${EXPECTED.pwd}`, httpRoute, tcpRoute };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`browser: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
