// Gateway API in the browser stage: the same Traefik that serves the Ingress
// also runs its kubernetesGateway provider; the test makes a GatewayClass and a
// Gateway as a platform would, the chart attaches its HTTPRoute to it, and the
// IDE must answer through that route by host name on loopback: code-server's
// workbench page and a websocket upgrade (101), which is what the workbench
// lives on. The route's status is read as a user reads it (Accepted and
// ResolvedRefs on its parent). SSH the same way: a second gitspace, of an SSH
// IDE (vs_code), with the chart's TCPRoute on the Gateway's TCP listener, and a
// key login as the user through it.
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import YAML from 'yaml';
import { progress, run, waitFor } from '../parity/exec.ts';
import { sshRun } from '../parity/ide.ts';
import { KubernetesGitspace, kubeEnv, kubectl } from '../parity/kubernetes.ts';
import { repoRoot } from '../parity/values.ts';

/** Traefik's Gateway API controller name (pkg/provider/kubernetes/gateway, controllerName). */
const CONTROLLER = 'traefik.io/gateway-controller';
/**
 * GatewayClasses are cluster-wide: each run's Traefik only takes the class labelled with its own
 * namespace (its labelSelector), so two runs on one cluster never fight over a class's status.
 */
const CLASS_LABEL = 'gitspace-chart.test/gateway-for';
export const GATEWAY = 'gitspace';

export const gatewayClassName = (ns: string) => `gitspace-test-${ns}`;

/** The Gateway API CRDs of the version Traefik requires, on the cluster (idempotent, cached by version). */
export async function installGatewayApi(): Promise<void> {
  await run('bash', [path.join(repoRoot, 'test/ingress/traefik.sh'), 'install-crds'], { env: kubeEnv(), timeoutMs: 300_000 });
}

/** Traefik's flags for its Gateway API provider, watching ns and the class made for it. */
export function traefikGatewayArgs(ns: string): string[] {
  return [
    '--providers.kubernetesGateway=true',
    `--providers.kubernetesGateway.namespaces=${ns}`,
    `--providers.kubernetesGateway.labelSelector=${CLASS_LABEL}=${ns}`,
    // TCPRoute (the chart's tcpRoute for SSH IDEs) is in the experimental channel.
    '--providers.kubernetesGateway.experimentalChannel=true',
    // What `kubectl get gateway` shows as its ADDRESS.
    '--providers.kubernetesGateway.statusAddress.ip=127.0.0.1',
  ];
}

export interface GatewayListeners {
  /** Traefik's HTTP entrypoint port on loopback (a Gateway listener is matched to the entrypoint of its port). */
  http: number;
  /** Traefik's TCP entrypoint port for SSH, if any. */
  ssh?: number;
}

/** The GatewayClass (Traefik's) and the Gateway `gitspace` in ns with an HTTP listener, and a TCP one for SSH. */
export async function createGateway(ns: string, ports: GatewayListeners): Promise<void> {
  const listeners: object[] = [{ name: 'http', protocol: 'HTTP', port: ports.http, allowedRoutes: { namespaces: { from: 'Same' } } }];
  if (ports.ssh) listeners.push({ name: 'ssh', protocol: 'TCP', port: ports.ssh, allowedRoutes: { namespaces: { from: 'Same' }, kinds: [{ kind: 'TCPRoute' }] } });
  const docs = [
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: gatewayClassName(ns), labels: { [CLASS_LABEL]: ns } }, spec: { controllerName: CONTROLLER } },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: GATEWAY, namespace: ns }, spec: { gatewayClassName: gatewayClassName(ns), listeners } },
  ];
  await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }) });
}

export async function deleteGatewayClass(ns: string): Promise<void> {
  await kubectl(['delete', 'gatewayclass', gatewayClassName(ns), '--ignore-not-found', '--wait=false']);
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface RouteStatus {
  status?: { parents?: { parentRef: { name: string; sectionName?: string }; controllerName: string; conditions?: Condition[] }[] };
}

/**
 * Waits until the Gateway's controller reports the route Accepted and ResolvedRefs (its backend
 * Service and port found); returns the conditions as `kubectl get ROUTE -o yaml` shows them.
 * kind: httproute or tcproute.
 */
export async function waitRouteAccepted(kind: string, ns: string, name: string, timeoutMs = 60_000): Promise<Condition[]> {
  return waitFor(`${kind}/${name} Accepted and ResolvedRefs by ${CONTROLLER}`, timeoutMs, async () => {
    const out = await kubectl(['get', kind, name, '-n', ns, '-o', 'json']);
    const parent = (JSON.parse(out.stdout) as RouteStatus).status?.parents?.find((p) => p.parentRef.name === GATEWAY && p.controllerName === CONTROLLER);
    const conditions = parent?.conditions ?? [];
    const ok = (t: string) => conditions.some((c) => c.type === t && c.status === 'True');
    if (ok('Accepted') && ok('ResolvedRefs')) return conditions;
    // The last status read is the error a timeout reports.
    throw new Error(`its status on gateway/${GATEWAY}: ${JSON.stringify(conditions.map(({ type, status, reason, message }) => ({ type, status, reason, message })))}`);
  }, 500);
}

/** GET pathname on 127.0.0.1:port with Host: host; the status and the body. */
export function getVia(port: number, host: string, pathname: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, headers: { Host: host }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${pathname} (Host ${host}) on 127.0.0.1:${port}: no answer in 10s`)));
  });
}

/**
 * A websocket opening handshake (RFC 6455) to / on 127.0.0.1:port with Host: host, as the
 * workbench sends it (same Origin as the page: code-server refuses another). Returns the status
 * line's code, and whether Sec-WebSocket-Accept answers our key (a real websocket server, not a
 * proxy's canned 101).
 */
export function websocketUpgrade(port: number, host: string): Promise<{ status: number; acceptOk: boolean }> {
  const key = randomBytes(16).toString('base64');
  const want = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: `/?reconnectionToken=${randomBytes(8).toString('hex')}&reconnection=false&skipWebSocketFrames=false`,
      headers: { Host: host, Origin: `http://${host}`, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key },
      timeout: 10_000,
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, acceptOk: res.headers['sec-websocket-accept'] === want });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, acceptOk: false });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`websocket upgrade (Host ${host}) on 127.0.0.1:${port}: no answer in 10s`)));
    req.end();
  });
}

export interface HttpRouteCheck {
  via: 'httproute';
  host: string;
  routeConditions: string[];
  workbenchStatus: number;
  websocketStatus: number;
  problems: string[];
}

/** The IDE through the chart's HTTPRoute: Accepted/ResolvedRefs, the workbench page, a websocket 101. */
export async function checkHttpRoute(ns: string, route: string, port: number, host: string, folder: string): Promise<HttpRouteCheck> {
  const conditions = await waitRouteAccepted('httproute', ns, route);
  const routeConditions = conditions.map((c) => `${c.type}=${c.status}`);
  progress(`  kubernetes: httproute/${route} ${routeConditions.join(' ')} on gateway/${GATEWAY}`);
  // Traefik builds the router from the route it just accepted: a few hundred ms later it serves it.
  const page = await waitFor(`the workbench through httproute/${route} at ${host}`, 30_000, async () => {
    const r = await getVia(port, host, folder).catch(() => undefined);
    return r && r.status !== 404 ? r : undefined;
  }, 300);
  const ws = await websocketUpgrade(port, host);
  const problems: string[] = [];
  const workbench = /workbench/i.test(page.body) && /code-server|vscode/i.test(page.body);
  if (page.status !== 200 || !workbench) problems.push(`GET ${folder} via the HTTPRoute: HTTP ${page.status}${workbench ? '' : ', not the workbench page'}`);
  if (ws.status !== 101 || !ws.acceptOk) problems.push(`websocket upgrade via the HTTPRoute: HTTP ${ws.status}${ws.status === 101 && !ws.acceptOk ? ' with a wrong Sec-WebSocket-Accept' : ''}, want 101`);
  progress(`  kubernetes: ${host} via the HTTPRoute: GET ${folder} -> ${page.status}${workbench ? ' (workbench page)' : ''}; websocket upgrade -> ${ws.status}`);
  return { via: 'httproute', host, routeConditions, workbenchStatus: page.status, websocketStatus: ws.status, problems };
}

export interface TcpRouteCheck {
  via: 'tcproute';
  release: string;
  routeConditions: string[];
  /** What `id -un; echo $HOME` printed over SSH through the route. */
  sshOutput: string;
  problems: string[];
}

export interface SshGitspace {
  ns: string;
  release: string;
  keyFile: string;
}

/**
 * An SSH gitspace (ide.type vs_code) in ns with the chart's TCPRoute on the Gateway's `ssh`
 * listener, a fresh key in its authorized_keys. valuesArgs: `gitspace-chart values` options of
 * the browser's gitspace (image, devcontainer, repo URL); the repository Secret `gitSecret` is
 * already in ns. Returns when its pod is Ready.
 */
export async function installSshGitspace(ns: string, release: string, work: string, valuesArgs: string[], gitSecret: string): Promise<SshGitspace> {
  const keyFile = path.join(work, 'id_gateway');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `gitspace-${release}`, '-f', keyFile]);
  const { readFile } = await import('node:fs/promises');
  const pub = await readFile(`${keyFile}.pub`, 'utf8');
  await kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${release}-keys`, namespace: ns }, type: 'Opaque', stringData: { authorized_keys: pub } }),
  });
  const valuesFile = path.join(work, `${release}-values.yaml`);
  await run('node', [path.join(repoRoot, 'bin/gitspace-chart.js'), 'values', ...valuesArgs, '--ide', 'vs_code', '--release', release, '-o', valuesFile]);
  const overlayFile = path.join(work, `${release}-overlay.yaml`);
  await writeFile(
    overlayFile,
    YAML.stringify({
      repo: { credentials: { existingSecret: gitSecret } },
      ssh: { authorizedKeysSecret: `${release}-keys` },
      tcpRoute: { enabled: true, parentRefs: [{ name: GATEWAY, sectionName: 'ssh' }] },
    }),
  );
  await run('helm', ['upgrade', '--install', release, path.join(repoRoot, 'charts/gitspace'), '-n', ns, '-f', valuesFile, '-f', overlayFile, '--timeout', '10m'], { timeoutMs: 660_000, env: kubeEnv() });
  await new KubernetesGitspace(ns, release).waitPod();
  return { ns, release, keyFile };
}

/** A key login as user through the TCPRoute (Traefik's TCP entrypoint on loopback, port sshPort). */
export async function checkTcpRoute(g: SshGitspace, sshPort: number, expected: { user: string; home: string }): Promise<TcpRouteCheck> {
  const route = `${g.release}-gitspace`;
  const conditions = await waitRouteAccepted('tcproute', g.ns, route);
  const routeConditions = conditions.map((c) => `${c.type}=${c.status}`);
  progress(`  kubernetes: tcproute/${route} ${routeConditions.join(' ')} on gateway/${GATEWAY}`);
  // sshd starts after the pod is Ready's probe (the IDE port answers) and Traefik adds the route a moment after accepting it.
  const r = await waitFor(`ssh ${expected.user}@127.0.0.1 -p ${sshPort} through tcproute/${route}`, 60_000, async () => {
    const out = await sshRun('127.0.0.1', sshPort, expected.user, g.keyFile, ['id -un; echo $HOME']);
    if (out.exitCode !== 0) throw new Error(`exit ${out.exitCode}: ${out.stderr.trim()}`);
    return out;
  }, 500);
  const sshOutput = r.stdout.trim();
  const want = `${expected.user}\n${expected.home}`;
  const problems = sshOutput === want ? [] : [`ssh through the TCPRoute printed ${JSON.stringify(sshOutput)}, want ${JSON.stringify(want)}`];
  progress(`  kubernetes: ssh -p ${sshPort} ${expected.user}@127.0.0.1 via the TCPRoute: ${sshOutput.replaceAll('\n', ' ')}`);
  return { via: 'tcproute', release: g.release, routeConditions, sshOutput, problems };
}
