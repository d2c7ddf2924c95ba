// The Kubernetes runtime: `helm install` of charts/gitspace on the local
// cluster (test/cluster), one namespace per case, from the same values file
// the Docker runtime starts from. Exec is a plain `kubectl exec` (the pod runs
// as the remote user), port access is `kubectl port-forward`, a restart is a
// pod delete.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { helmYaml } from '../../generator/src/helm-yaml.ts';
import { progress, run, waitFor, type RunResult } from './exec.ts';
import type { Capabilities, CaseInput, ExecOptions, Forward, Gitspace, Runtime, VolumeMount } from './runtime.ts';
import { repoRoot } from './values.ts';

export const PARITY_LABEL = 'org.gitspace-chart.parity';
/**
 * Whose parity run this is (GITSPACE_PARITY_OWNER, default "parity"): the prefix of its namespaces
 * and the value of their label, so the cleanup of one run (several may share the cluster) deletes
 * only its own.
 */
export const PARITY_OWNER = (process.env.GITSPACE_PARITY_OWNER ?? 'parity').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 20) || 'parity';
const MAIN_CONTAINER = 'gitspace';
const GIT_SECRET = 'gitspace-git';
const SSH_SECRET = 'gitspace-ssh';

export function kubeEnv(): Record<string, string> {
  const cache = process.env.GITSPACE_CACHE ?? path.join(process.env.HOME ?? '/root', '.cache/gitspace-chart');
  const kubeconfig = process.env.GITSPACE_KUBECONFIG ?? path.join(cache, 'cluster/kubeconfig');
  return { KUBECONFIG: kubeconfig, PATH: `${path.join(cache, 'bin')}:${process.env.PATH ?? ''}` };
}

export const kubectl = (args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}) =>
  run('kubectl', args, { ...opts, env: kubeEnv() });
const helm = (args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}) => run('helm', args, { ...opts, env: kubeEnv() });

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec: {
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
    containers: { name: string; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }[];
  };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** charts/gitspace-scripts in ns (release gitspace-scripts-<version>): the scripts every gitspace there mounts. */
export async function installSharedScripts(ns: string): Promise<void> {
  const chart = path.join(repoRoot, 'charts/gitspace-scripts');
  const version = /^version:\s*(\S+)/m.exec(await readFile(path.join(chart, 'Chart.yaml'), 'utf8'))?.[1] ?? '';
  await helm(['upgrade', '--install', `gitspace-scripts-${version.replaceAll('.', '-')}`, chart, '-n', ns, '--history-max', '2']);
}

/** A Secret from data given on stdin (never argv: the password is not in ps). */
function secretManifest(ns: string, name: string, data: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns, labels: { [PARITY_LABEL]: PARITY_OWNER } },
    type: 'Opaque',
    stringData: data,
  });
}

/** A gitspace's pod(s) in ns, found by the chart's labels (instance = release, component gitspace). */
export class KubernetesGitspace implements Gitspace {
  pod = '';
  private forwards = new Set<Forward>();

  constructor(
    readonly ns: string,
    readonly release: string,
  ) {}

  private get selector() {
    return `app.kubernetes.io/instance=${this.release},app.kubernetes.io/component=gitspace`;
  }

  /**
   * The Ready, not-terminating gitspace pod (other than `not`), seen through `kubectl get --watch`:
   * the pod's Ready condition arrives as an event the moment the kubelet reports it. A poll (a
   * kubectl process every 250 ms, each ~0.15 s) saw it 0.2–0.4 s late on average, where the Docker
   * side's poll is a TCP connect (bench/, docs/benchmarks.md). A watch that ends (the API server
   * closes watches after a while; a connection error) is started again until the deadline.
   */
  async waitPod(not = ''): Promise<string> {
    const what = `a Ready gitspace pod in ${this.ns}`;
    const deadline = Date.now() + 600_000;
    let last = '';
    while (Date.now() < deadline) {
      const found = await this.watchReady(not, deadline).catch((err: unknown) => {
        last = err instanceof Error ? err.message : String(err);
        return undefined;
      });
      if (found) return (this.pod = found);
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out after 600s waiting for ${what}${last ? `: ${last}` : ''}`);
  }

  /** One `kubectl get pods --watch`: the first Ready pod it shows (not `not`, not terminating), or undefined when it ends. */
  private watchReady(not: string, deadline: number): Promise<string | undefined> {
    const line = '{.metadata.name}|{.metadata.deletionTimestamp}|{.status.conditions[?(@.type=="Ready")].status}{"\\n"}';
    return new Promise((resolve, reject) => {
      const child = spawn('kubectl', ['get', 'pods', '-n', this.ns, '-l', this.selector, '--watch', '-o', `jsonpath=${line}`], {
        env: { ...process.env, ...kubeEnv() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      let found: string | undefined;
      const timer = setTimeout(() => child.kill(), Math.max(0, deadline - Date.now()));
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        for (let i = out.indexOf('\n'); i >= 0 && !found; i = out.indexOf('\n')) {
          const [name, deleting, ready] = out.slice(0, i).split('|');
          out = out.slice(i + 1);
          if (name && name !== not && !deleting && ready === 'True') {
            found = name;
            child.kill();
          }
        }
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        if (found) resolve(found);
        else if (code) reject(new Error(err.trim() || `kubectl get --watch exited with ${code}`));
        else resolve(undefined);
      });
    });
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<RunResult> {
    return kubectl(['exec', '-i', '-n', this.ns, this.pod, '-c', MAIN_CONTAINER, '--', ...argv], opts);
  }

  async restart(): Promise<void> {
    const old = this.pod;
    await kubectl(['delete', 'pod', '-n', this.ns, old, '--wait=false']);
    await this.waitPod(old);
  }

  /**
   * The user's stop/start (bench/): `gitspace-chart stop --wait` (running=false, the Deployment at 0
   * replicas, the volume kept), then `gitspace-chart start`; returns when the new pod is Ready.
   */
  async stopStart(): Promise<void> {
    const cli = [path.join(repoRoot, 'bin/gitspace-chart.js')];
    const common = [this.release, '-n', this.ns, '--chart', path.join(repoRoot, 'charts/gitspace')];
    await run('node', [...cli, 'stop', ...common, '--wait'], { env: kubeEnv(), timeoutMs: 600_000 });
    await run('node', [...cli, 'start', ...common], { env: kubeEnv(), timeoutMs: 600_000 });
    await this.waitPod();
  }

  /**
   * The gitspace container restarted in place by the kubelet, as `docker restart` restarts a
   * container (bench/): its main process is told to stop (start.sh exits 0 on SIGTERM) and the
   * kubelet starts it again in the same pod, with no init container. Returns when it is Ready.
   * The kubelet backs off a second restart of the same container within 10 s: one per pod.
   */
  async restartInPlace(): Promise<void> {
    const status = async () => {
      const out = await kubectl(['get', 'pod', '-n', this.ns, this.pod, '-o', 'json']);
      const p = JSON.parse(out.stdout) as { status: { containerStatuses?: { name: string; restartCount: number; ready: boolean }[] } };
      const c = p.status.containerStatuses?.find((x) => x.name === MAIN_CONTAINER);
      if (!c) throw new Error(`pod ${this.pod}: no status of container ${MAIN_CONTAINER}`);
      return c;
    };
    const before = (await status()).restartCount;
    await this.exec(['/bin/sh', '-c', 'kill -TERM 1']);
    await waitFor(`container ${MAIN_CONTAINER} of ${this.pod} restarted and Ready`, 600_000, async () => {
      const c = await status();
      return c.restartCount > before && c.ready ? true : undefined;
    }, 250);
  }

  async recreate(): Promise<void> {
    // The chart's own reset (gitspace-chart reset: reset.generation, a new pod that re-runs
    // postCreateCommand and the git identity), as a user runs it: the rows after reset compare
    // Docker's reset with the real operation, not with a plain pod replacement.
    const old = this.pod;
    const env = kubeEnv();
    await run('node', [path.join(repoRoot, 'bin/gitspace-chart.js'), 'reset', this.release, '-n', this.ns, '--kubeconfig', env.KUBECONFIG], { env, timeoutMs: 660_000 });
    await this.waitPod(old);
  }

  /**
   * An image upgrade as a user runs it: `helm upgrade --reuse-values` with the new image.repository
   * and image.tag (the image loaded into the cluster first); the new pod's prepare refreshes what
   * the image put on the volume (docs/persistence.md). Returns when the new pod is Ready.
   */
  async upgrade(image: string): Promise<void> {
    const at = image.lastIndexOf(':');
    if (at <= 0 || image.slice(at).includes('/')) throw new Error(`upgrade: ${image} has no tag`);
    await run('bash', [path.join(repoRoot, 'test/cluster/cluster.sh'), 'load-image', image], { timeoutMs: 900_000 });
    const old = this.pod;
    await helm(
      ['upgrade', this.release, path.join(repoRoot, 'charts/gitspace'), '-n', this.ns, '--reuse-values',
        '--set-string', `image.repository=${image.slice(0, at)}`, '--set-string', `image.tag=${image.slice(at + 1)}`, '--timeout', '10m'],
      { timeoutMs: 660_000 },
    );
    await this.waitPod(old);
  }

  async delete(): Promise<void> {
    for (const f of this.forwards) await f.close();
    await helm(['uninstall', this.release, '-n', this.ns, '--wait', '--timeout', '3m'], { allowFail: true });
    await kubectl(['delete', 'namespace', this.ns, '--ignore-not-found', '--wait=true', '--timeout=180s'], { allowFail: true });
  }

  async portAccess(containerPort: number): Promise<Forward> {
    return this.portForward(`pod/${this.pod}`, containerPort);
  }

  /** kubectl port-forward TARGET :PORT on 127.0.0.1 (TARGET pod/NAME or service/NAME). */
  private async portForward(target: string, containerPort: number): Promise<Forward> {
    const child = spawn('kubectl', ['port-forward', '-n', this.ns, target, `:${containerPort}`, '--address', '127.0.0.1'], {
      env: { ...process.env, ...kubeEnv() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`kubectl port-forward ${target} ${containerPort}: no port after 30s: ${out}`)), 30_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`kubectl port-forward exited ${code}: ${out}`));
      });
    });
    const fwd: Forward = {
      host: '127.0.0.1',
      port,
      close: async () => {
        this.forwards.delete(fwd);
        if (child.exitCode === null) child.kill('SIGTERM');
      },
    };
    this.forwards.add(fwd);
    return fwd;
  }

  /**
   * The release's Service, through its ClusterIP (kube-proxy routes it to the
   * pod's targetPort, as for any client in the cluster): the Service must list
   * the port. The test cluster runs kube-proxy on this host, so ClusterIPs
   * answer here; with GITSPACE_PARITY_SERVICE_ACCESS=port-forward it is
   * `kubectl port-forward service/NAME` instead (clusters whose ClusterIPs the
   * host cannot reach).
   */
  async forwardedPortAccess(port: number): Promise<Forward> {
    const out = await kubectl(['get', 'service', '-n', this.ns, '-l', `app.kubernetes.io/instance=${this.release}`, '-o', 'json']);
    const svcs = (JSON.parse(out.stdout) as { items: { metadata: { name: string }; spec: { clusterIP?: string; ports?: { port: number }[] } }[] }).items;
    const svc = svcs.find((s) => s.spec.ports?.some((p) => p.port === port));
    if (!svc) throw new Error(`no Service of release ${this.release} in ${this.ns} has port ${port} (services: ${svcs.map((s) => `${s.metadata.name} [${(s.spec.ports ?? []).map((p) => p.port).join(',')}]`).join('; ') || 'none'})`);
    if (process.env.GITSPACE_PARITY_SERVICE_ACCESS === 'port-forward') return this.portForward(`service/${svc.metadata.name}`, port);
    if (!svc.spec.clusterIP || svc.spec.clusterIP === 'None') throw new Error(`Service ${svc.metadata.name} has no ClusterIP`);
    return { host: svc.spec.clusterIP, port, close: async () => {} };
  }

  async startLog(): Promise<string> {
    return (await kubectl(['logs', '-n', this.ns, this.pod, '-c', MAIN_CONTAINER])).stdout;
  }

  async describeMounts(): Promise<VolumeMount[]> {
    const pod = JSON.parse((await kubectl(['get', 'pod', '-n', this.ns, this.pod, '-o', 'json'])).stdout) as PodJson;
    const pvcVolumes = new Set((pod.spec.volumes ?? []).filter((v) => v.persistentVolumeClaim).map((v) => v.name));
    const main = pod.spec.containers.find((c) => c.name === MAIN_CONTAINER);
    return (main?.volumeMounts ?? [])
      .filter((m) => pvcVolumes.has(m.name))
      .map((m) => ({ destination: m.mountPath, readOnly: Boolean(m.readOnly) }));
  }

  async clientAddress(): Promise<string> {
    return (await kubectl(['get', 'pod', '-n', this.ns, this.pod, '-o', 'jsonpath={.status.podIP}'])).stdout.trim();
  }

  async diagnostics(): Promise<string> {
    const parts: string[] = [];
    const add = async (title: string, args: string[]) => {
      const r = await kubectl(args, { allowFail: true });
      parts.push(`--- ${title}\n${r.stdout}${r.stderr}`);
    };
    await add('pods', ['get', 'pods', '-n', this.ns, '-o', 'wide']);
    await add('events', ['get', 'events', '-n', this.ns, '--sort-by=.lastTimestamp']);
    for (const c of ['prepare', 'clone', MAIN_CONTAINER]) {
      await add(`logs ${c}`, ['logs', '-n', this.ns, '-l', this.selector, '-c', c, '--tail', '60']);
    }
    return parts.join('\n');
  }
}

export class KubernetesRuntime implements Runtime {
  readonly name = 'kubernetes' as const;
  readonly capabilities: Capabilities = {
    restart: 'pod delete',
    recreate: 'gitspace-chart reset (a new pod; postCreateCommand and the git identity again)',
    upgrade: 'helm upgrade --reuse-values with the new image (the new pod refreshes what the image put on the volume)',
    workspacesPath: true,
    mainProcessUser: 'remoteUser',
  };
  private loaded = new Set<string>();

  async prepare(): Promise<void> {
    await run('bash', [path.join(repoRoot, 'test/cluster/cluster.sh'), 'status'], { timeoutMs: 60_000 });
    await cleanupKubernetes();
  }

  /** cluster.sh load-image, once per image per run (cheap when the cluster has it; bench/ calls it before timing a start). */
  async loadImage(image: string): Promise<void> {
    if (this.loaded.has(image)) return;
    progress(`  kubernetes: cluster.sh load-image ${image}`);
    await run('bash', [path.join(repoRoot, 'test/cluster/cluster.sh'), 'load-image', image], { timeoutMs: 900_000 });
    this.loaded.add(image);
  }

  async start(c: CaseInput): Promise<Gitspace> {
    // imagePullPolicy Always: the image comes from a registry (the features case's, pushed by the
    // generator's build): importing it would hide a pull that does not work.
    if (c.values.image?.pullPolicy !== 'Always') await this.loadImage(`${c.values.image?.repository}:${c.values.image?.tag}`);
    const ns = `${PARITY_OWNER}-${c.name}`.slice(0, 63);
    const gs = new KubernetesGitspace(ns, c.name);
    // The namespace and the git Secret in one `kubectl create` (a List, created in order). It
    // fails only when the namespace is there already (an interrupted run's leftovers): then
    // delete it and create again. A fresh name (every start but a rerun) costs this one process,
    // where a helm uninstall, a namespace delete and two applies cost ~1 s of a cold start that
    // a user's `helm install` does not have (bench/, docs/benchmarks.md).
    const platform = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { [PARITY_LABEL]: PARITY_OWNER } } },
        JSON.parse(secretManifest(ns, GIT_SECRET, { username: c.git.username, password: c.git.password })),
      ],
    });
    const created = await kubectl(['create', '-f', '-'], { input: platform, allowFail: true });
    if (created.exitCode !== 0) {
      if (!/AlreadyExists/.test(created.stderr)) throw new Error(`kubectl create namespace ${ns}: ${created.stderr.trim()}`);
      await gs.delete(); // an interrupted run's leftovers
      await kubectl(['create', '-f', '-'], { input: platform });
    }
    try {
      // The shared scripts, once per namespace as a platform installs them (docs/fleet.md): here every
      // case has its namespace, so the cold start includes this one helm install.
      await installSharedScripts(ns);
      // Platform objects the values file cannot name (Docker has no Secrets): an overlay.
      const overlay: Record<string, unknown> = { repo: { credentials: { existingSecret: GIT_SECRET } } };
      if (c.sshPublicKey) {
        await kubectl(['apply', '-f', '-'], { input: secretManifest(ns, SSH_SECRET, { authorized_keys: `${c.sshPublicKey.trim()}\n` }) });
        overlay.ssh = { authorizedKeysSecret: SSH_SECRET };
      }
      const overlayFile = path.join(c.workDir, 'kubernetes-overlay.yaml');
      await writeFile(overlayFile, helmYaml(overlay));
      // No --wait: helm polls every 2 s, so the start would be timed to helm's poll, not to the
      // IDE answering; waitPod polls every 250 ms, as the Docker side does (bench/, docs/benchmarks.md).
      // --timeout still bounds the migration hook Job.
      await helm(
        ['upgrade', '--install', c.name, path.join(repoRoot, 'charts/gitspace'), '-n', ns, '-f', c.valuesFile, '-f', overlayFile, '--timeout', '10m'],
        { timeoutMs: 660_000 },
      );
      await gs.waitPod();
    } catch (err) {
      // Diagnostics to stderr; the error itself stays short for the table.
      process.stderr.write(`${await gs.diagnostics().catch(() => '')}\n`);
      await gs.delete();
      throw err;
    }
    return gs;
  }
}

/** Deletes every namespace a parity run of this owner (this or an interrupted one) created. */
export async function cleanupKubernetes(): Promise<void> {
  const r = await kubectl(['get', 'namespaces', '-l', `${PARITY_LABEL}=${PARITY_OWNER}`, '-o', 'name'], { allowFail: true });
  const names = r.stdout.split('\n').filter(Boolean);
  if (names.length) await kubectl(['delete', ...names, '--wait=true', '--timeout=180s'], { allowFail: true });
}
