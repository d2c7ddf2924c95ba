// The reference runtime ("docker" in the report): a gitspace started the way
// Docker Gitspace starts one (shared/reference/docker-gitspace.md), by our own
// code, never the chart's scripts. The container as upstream creates it (the
// raw remote user's HOME as the volume's mount point, the image's ENTRYPOINT
// replaced by a sleeping /bin/sh, containerEnv and `--env` run args,
// host.docker.internal, no WorkingDir/HOME/USER added), then upstream's setup
// steps in upstream's order, each a `docker exec` as the user upstream runs it
// as (test/parity/reference/setup-steps.sh), and the lifecycle commands
// upstream's way. What it is not: docs/parity.md, "The reference runtime".
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { idePortFor, repoNameOf } from '../../generator/src/model.ts';
import type { Gitspace as Values } from '../../generator/src/values.gen.ts';
import { progress, run, waitFor, type RunResult } from './exec.ts';
import { ideAnswers } from './ide.ts';
import type { Capabilities, CaseInput, ExecOptions, Forward, Gitspace, Runtime, VolumeMount } from './runtime.ts';
import { ideProtocol, repoRoot } from './values.ts';

/** Label on everything the suite creates, so a crashed run's leftovers are found and removed. */
export const PARITY_LABEL = 'org.gitspace-chart.parity';
/** The run's owner (kubernetes.ts, GITSPACE_PARITY_OWNER): the cleanup removes only that owner's containers and volumes. */
const OWNER_LABEL = 'org.gitspace-chart.parity.owner';
const PARITY_OWNER = (process.env.GITSPACE_PARITY_OWNER ?? 'parity').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 20) || 'parity';
/** The setup steps, passed to `bash -c` on each exec: nothing of the suite stays in the container. */
const STEPS_FILE = path.join(repoRoot, 'test/parity/reference/setup-steps.sh');
// Docker Gitspace's main process when nothing gives an entrypoint: the image's ENTRYPOINT is replaced.
const SLEEP = ['-c', "trap 'exit 0' 15; sleep infinity & wait $!"];

type Lifecycle = string | string[] | Record<string, string | string[]> | undefined;

/** A failed setup step: "<step>: <the command's last words>", what the gitspace's log ends with. */
export class StepError extends Error {}

/** What upstream reads from a devcontainer.json (the fields the reference uses). */
export interface DevcontainerConfig {
  image?: string;
  containerUser?: string;
  remoteUser?: string;
  containerEnv?: Record<string, string>;
  runArgs?: string[];
  forwardPorts?: (number | string)[];
  postCreateCommand?: Lifecycle;
  postStartCommand?: Lifecycle;
  customizations?: { vscode?: { extensions?: string[] } };
}

/** The lifecycle command forms, as upstream runs them: string one command, array joined with spaces, object one per entry. */
export function lifecycleCommands(cmd: Lifecycle): string[] {
  if (!cmd) return [];
  if (typeof cmd === 'string') return [cmd];
  if (Array.isArray(cmd)) return cmd.length ? [cmd.join(' ')] : [];
  return Object.values(cmd).map((v) => (Array.isArray(v) ? v.join(' ') : v)).filter(Boolean);
}

/** HOME as upstream computes it: /root for root, else /home/<the remote user string as written>. */
export function upstreamHome(remoteUser: string): string {
  return remoteUser === 'root' ? '/root' : path.posix.join('/home', remoteUser);
}

/** `--env`/`-e` run args (K=V), the only run args the reference applies besides what upstream always adds. */
export function runArgEnv(runArgs: string[] = []): string[] {
  const env: string[] = [];
  for (let i = 0; i < runArgs.length; i++) {
    const a = runArgs[i];
    if ((a === '-e' || a === '--env') && runArgs[i + 1] !== undefined) env.push(runArgs[++i]);
    else if (a.startsWith('--env=')) env.push(a.slice('--env='.length));
    else if (/^-e./.test(a)) env.push(a.slice(2));
  }
  return env.filter((kv) => kv.includes('='));
}

interface ImageFacts {
  user: string;
  metadata: Record<string, unknown>;
  /** The label entries of installed features (they carry an `id`), in install order. */
  features: Record<string, unknown>[];
}

/** The image's USER and its devcontainer.metadata label (entries merged, later wins), as upstream reads them. */
async function imageFacts(image: string): Promise<ImageFacts> {
  const cfg = JSON.parse((await run('docker', ['image', 'inspect', '-f', '{{json .Config}}', image])).stdout) as {
    User?: string;
    Labels?: Record<string, string> | null;
  };
  const metadata: Record<string, unknown> = {};
  const features: Record<string, unknown>[] = [];
  const label = cfg.Labels?.['devcontainer.metadata'];
  if (label) {
    const parsed = JSON.parse(label) as unknown;
    for (const entry of Array.isArray(parsed) ? parsed : [parsed]) {
      Object.assign(metadata, entry);
      if (entry && typeof entry === 'object' && typeof (entry as { id?: unknown }).id === 'string') features.push(entry as Record<string, unknown>);
    }
  }
  return { user: cfg.User ?? '', metadata, features };
}

/** Everything the reference decides before `docker run`, from the repository's devcontainer.json and the image. */
export interface ReferencePlan {
  container: string;
  volume: string;
  image: string;
  containerUser: string;
  remoteUser: string;
  home: string;
  repoName: string;
  repoDir: string;
  env: string[];
  idePort: number;
  ports: number[];
  postCreate: string[];
  postStart: string[];
  extensions: string[];
}

export async function referencePlan(c: CaseInput): Promise<ReferencePlan> {
  const v = c.values;
  const dc: DevcontainerConfig = c.devcontainer ?? {};
  const image = `${v.image?.repository}:${v.image?.tag}`;
  const facts = await imageFacts(image);
  const metaString = (k: string) => (typeof facts.metadata[k] === 'string' ? (facts.metadata[k] as string) : '');
  const containerUser = dc.containerUser || metaString('containerUser') || facts.user || 'root';
  const remoteUser = dc.remoteUser || metaString('remoteUser') || containerUser;
  const home = upstreamHome(remoteUser);
  const repoName = repoNameOf(v.repo ?? {});
  const idePort = idePortFor(v.ide?.type ?? 'vs_code_web', v.ide?.port ?? 0);
  const env = [...Object.entries(dc.containerEnv ?? {}).map(([k, val]) => `${k}=${val}`), ...runArgEnv(dc.runArgs)];
  const forwarded = (dc.forwardPorts ?? []).map(Number).filter((p) => Number.isInteger(p) && p > 0 && p !== idePort);
  return {
    // The owner in the names: runs of several owners side by side on one dockerd do not clash.
    container: `gitspace-ref-${PARITY_OWNER}-${c.name}`,
    volume: `gitspace-ref-${PARITY_OWNER}-${c.name}`,
    image,
    containerUser,
    remoteUser,
    home,
    repoName,
    repoDir: path.posix.join(home, repoName),
    env,
    idePort,
    ports: [idePort, ...new Set(forwarded)],
    // Upstream takes each feature's postCreateCommand and postStartCommand from the feature's metadata,
    // before the user's (features in install order); the image built here carries that metadata as
    // the label's feature entries. Other label entries' commands stay unused, as upstream.
    postCreate: [...facts.features.flatMap((f) => lifecycleCommands(f.postCreateCommand as Lifecycle)), ...lifecycleCommands(dc.postCreateCommand)],
    postStart: [...facts.features.flatMap((f) => lifecycleCommands(f.postStartCommand as Lifecycle)), ...lifecycleCommands(dc.postStartCommand)],
    extensions: dc.customizations?.vscode?.extensions ?? [],
  };
}

class ReferenceGitspace implements Gitspace {
  /** This start's log: every step's output, as Docker Gitspace streams it into the gitspace's log. */
  private log: string[] = [];
  private readonly steps = readFileSync(STEPS_FILE, 'utf8');

  constructor(
    public plan: ReferencePlan,
    private values: Values,
    private readonly c: CaseInput,
    private readonly runId: string,
  ) {}

  private get ideProtocol() {
    return ideProtocol(this.values);
  }

  private docker(args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}) {
    return run('docker', args, opts);
  }

  /** One setup step by `docker exec` as USER in DIR; a failure is a StepError naming the step and its last words. */
  private async step(name: string, user: string, dir: string, args: string[], input = ''): Promise<void> {
    const r = await this.docker(['exec', '-i', '-u', user, '-w', dir, this.plan.container, 'bash', '-c', this.steps, 'setup-steps', ...args], {
      input,
      allowFail: true,
      timeoutMs: 600_000,
    });
    this.log.push(`[step ${name}] ${`${r.stdout}${r.stderr}`.trim()}`);
    if (r.exitCode !== 0) {
      const last = (r.stderr.trim() || r.stdout.trim()).split('\n').filter(Boolean).at(-1) ?? `exit code ${r.exitCode}`;
      throw new StepError(`${name}: ${last.replace(/^setup-steps: line \d+: /, '')}`);
    }
  }

  /** docker volume create + docker run, as upstream creates the container. */
  async create(): Promise<void> {
    const p = this.plan;
    const label = `${PARITY_LABEL}=${this.runId}`;
    const owner = `${OWNER_LABEL}=${PARITY_OWNER}`;
    await this.docker(['volume', 'create', '--label', label, '--label', owner, p.volume]);
    const args = [
      'run', '-d', '--name', p.container, '--label', label, '--label', owner,
      '--user', p.containerUser,
      // The API's mount (no `-v` parsing): a raw user like "1000:1000" gives a HOME with a colon.
      '--mount', `type=volume,src=${p.volume},dst=${p.home}`,
      '--add-host', 'host.docker.internal:host-gateway',
      '--label', `gitspace.remote.user=${p.remoteUser}`,
      '--label', `gitspace.lifecycle.hooks=${JSON.stringify({ postCreateCommand: p.postCreate, postStartCommand: p.postStart })}`,
      '--entrypoint', '/bin/sh',
    ];
    for (const kv of p.env) args.push('-e', kv);
    // Published on loopback, host port picked by Docker (upstream uses the same number: cases would clash).
    for (const port of p.ports) args.push('-p', `127.0.0.1::${port}`);
    args.push(p.image, ...SLEEP);
    await this.docker(args);
  }

  /** The setup steps of a new container, upstream's order; any failing step ends the start. */
  async setup(): Promise<void> {
    const p = this.plan;
    const ssh = this.ideProtocol === 'ssh';
    this.log = [];
    await this.step('validate supported OS', 'root', p.home, ['os-check']);
    await this.step('manage user', 'root', p.home, ['manage-user', p.remoteUser, p.home, ssh ? 'ssh_key' : 'none'], ssh ? (this.c.sshPublicKey ?? '').trim() : '');
    if (p.env.length) await this.step('set environment', 'root', p.home, ['set-env', ...p.env]);
    await this.step('install git', 'root', p.home, ['install-git']);
    await this.gitCredentials();
    const v = this.values;
    await this.step('clone code', p.remoteUser, p.home, [
      'clone', v.repo?.url ?? '', v.repo?.branch || 'main', p.repoName, p.image, v.git?.userName ?? '', v.git?.userEmail ?? '',
    ]);
    if (ssh) await this.step('setup IDE', 'root', p.home, ['ssh-setup', p.remoteUser]);
    else await this.step('setup IDE', p.remoteUser, p.home, ['vscode-web-setup', ...p.extensions]);
    await this.ideRun();
    await this.lifecycle('postCreateCommand', p.postCreate);
    await this.lifecycle('postStartCommand', p.postStart);
  }

  /** Git credentials: the clone URL with the credentials (stdin, never argv) fed to git's credential cache. */
  private async gitCredentials(): Promise<void> {
    const url = new URL(this.values.repo?.url ?? '');
    url.username = encodeURIComponent(this.c.git.username);
    url.password = encodeURIComponent(this.c.git.password);
    await this.step('setup git credentials', this.plan.remoteUser, this.plan.home, ['git-credentials'], `url=${url.toString()}`);
  }

  private async ideRun(): Promise<void> {
    const p = this.plan;
    if (this.ideProtocol === 'ssh') await this.step('run IDE', 'root', p.home, ['ssh-run', String(p.idePort)]);
    else await this.step('run IDE', p.remoteUser, p.home, ['vscode-web-run', String(p.idePort)]);
    await this.waitIde();
  }

  /**
   * A lifecycle hook: each command by `docker exec -u <remote user> -w $HOME/<repo> … /bin/sh -c`,
   * the object form's entries in parallel; a failure is logged and the gitspace runs on.
   */
  private async lifecycle(hook: string, commands: string[]): Promise<void> {
    await Promise.all(
      commands.map(async (command) => {
        const r = await this.docker(['exec', '-u', this.plan.remoteUser, '-w', this.plan.repoDir, this.plan.container, '/bin/sh', '-c', command], {
          allowFail: true,
          timeoutMs: 600_000,
        });
        const out = `${r.stdout}${r.stderr}`.trim();
        const outcome = r.exitCode === 0 ? 'done' : `FAILED with exit code ${r.exitCode}`;
        this.log.push(`[lifecycle] ${hook} ${JSON.stringify(command)}: ${outcome}${out ? `\n${out}` : ''}`);
      }),
    );
  }

  /**
   * Waits like kubelet's tcpSocket probe: a connection to the container's own
   * address (on the docker0 bridge). Not the published port: docker-proxy
   * accepts connections there before anything listens in the container.
   */
  private async waitIde(): Promise<void> {
    // The container's state and address by one `docker inspect` a second; the IDE's port in
    // between every 50 ms (a connect, no process): bench/ times the IDE answering, not the poll's
    // own cost, as the Kubernetes side sees the pod Ready through a watch. The address is fixed
    // while the container runs (it is read again after each inspect).
    let address = '';
    let inspected = 0;
    await waitFor(`the IDE (${this.ideProtocol}) on ${this.plan.container}:${this.plan.idePort}`, 300_000, async () => {
      if (!address || Date.now() - inspected >= 1000) {
        const [running, ip] = (await this.docker(['inspect', '-f', '{{.State.Running}} {{.NetworkSettings.IPAddress}}', this.plan.container])).stdout.trim().split(' ');
        if (running !== 'true') throw new Error(`container ${this.plan.container} is not running`);
        address = ip ?? '';
        inspected = Date.now();
      }
      return address && (await ideAnswers(this.ideProtocol, address, this.plan.idePort)) ? true : undefined;
    }, 50);
  }

  /** As the remote user, with no working directory given: the image's WORKDIR, as a `docker exec` is. */
  async exec(argv: string[], opts: ExecOptions = {}): Promise<RunResult> {
    return this.docker(['exec', '-i', '-u', this.plan.remoteUser, this.plan.container, ...argv], opts);
  }

  /** Stop, then start a stopped gitspace: docker start, git credentials, IDE run, postStartCommand. */
  async restart(): Promise<void> {
    await this.docker(['stop', '-t', '10', this.plan.container]);
    await this.docker(['start', this.plan.container]);
    this.log = [];
    await this.gitCredentials();
    await this.ideRun();
    await this.lifecycle('postStartCommand', this.plan.postStart);
  }

  /** `docker restart` (bench/: against the kubelet's in-place restart), then the steps a start runs. */
  async restartInPlace(): Promise<void> {
    await this.docker(['restart', '-t', '10', this.plan.container]);
    this.log = [];
    await this.gitCredentials();
    await this.ideRun();
    await this.lifecycle('postStartCommand', this.plan.postStart);
  }

  /** Reset: the container removed, the volume kept, a new container and every setup step again. */
  async recreate(): Promise<void> {
    await this.docker(['rm', '-f', this.plan.container]);
    await this.create(); // docker volume create of an existing volume is a no-op
    await this.setup();
  }

  /**
   * Docker Gitspace on a new image: a reset with it (the container removed, a new one from the new
   * image on the same volume, every setup step), its users and label read from the new image.
   */
  async upgrade(image: string): Promise<void> {
    const at = image.lastIndexOf(':');
    this.values = { ...this.values, image: { ...this.values.image, repository: image.slice(0, at), tag: image.slice(at + 1) } };
    this.plan = await referencePlan({ ...this.c, values: this.values });
    await this.recreate();
  }

  async delete(): Promise<void> {
    await this.docker(['rm', '-f', '-v', this.plan.container], { allowFail: true });
    await this.docker(['volume', 'rm', '-f', this.plan.volume], { allowFail: true });
  }

  async portAccess(containerPort: number): Promise<Forward> {
    const out = (await this.docker(['port', this.plan.container, `${containerPort}/tcp`])).stdout.trim().split('\n')[0];
    const m = /^(.*):(\d+)$/.exec(out);
    if (!m) throw new Error(`docker port ${this.plan.container} ${containerPort}: unexpected output ${out}`);
    return { host: m[1], port: Number(m[2]), close: async () => {} };
  }

  /** Docker Gitspace publishes forwardPorts: the published port on the host. */
  async forwardedPortAccess(port: number): Promise<Forward> {
    return this.portAccess(port);
  }

  async startLog(): Promise<string> {
    return this.log.join('\n');
  }

  async describeMounts(): Promise<VolumeMount[]> {
    const out = (await this.docker(['inspect', '-f', '{{json .Mounts}}', this.plan.container])).stdout;
    const mounts = JSON.parse(out) as { Type: string; Name?: string; Destination: string; RW: boolean }[];
    return mounts
      .filter((m) => m.Type === 'volume' && m.Name === this.plan.volume)
      .map((m) => ({ destination: m.Destination, readOnly: !m.RW }));
  }

  async clientAddress(): Promise<string> {
    return (await this.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', this.plan.container])).stdout.trim();
  }

  async diagnostics(): Promise<string> {
    const parts = [`--- setup log\n${this.log.join('\n')}`];
    const add = async (title: string, args: string[]) => {
      const r = await this.docker(args, { allowFail: true });
      parts.push(`--- ${title}\n${r.stdout}${r.stderr}`);
    };
    await add('docker ps', ['ps', '-a', '--filter', `name=${this.plan.container}`]);
    await add('docker logs', ['logs', '--tail', '50', this.plan.container]);
    return parts.join('\n');
  }
}

export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  readonly capabilities: Capabilities = {
    restart: 'docker stop + docker start (git credentials, IDE run, postStartCommand)',
    recreate: 'reset: container removed, a new one on the same volume, every setup step',
    upgrade: 'reset with the new image: container removed, a new one from the new image on the same volume, every setup step',
    workspacesPath: false,
    mainProcessUser: 'containerUser',
  };

  constructor(private readonly runId: string) {}

  async prepare(): Promise<void> {
    await run('docker', ['info', '--format', '{{.ServerVersion}}']);
    await cleanupDocker();
  }

  async start(c: CaseInput): Promise<Gitspace> {
    const image = `${c.values.image?.repository}:${c.values.image?.tag}`;
    // Nothing can be pulled here: a missing image is this case's failure, said plainly.
    await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]).catch(() => {
      throw new Error(`image ${image} is not in the Docker engine: build it with 'bash images/build.sh all'`);
    });
    const plan = await referencePlan(c);
    progress(`    docker (reference): containerUser ${plan.containerUser}, remoteUser ${plan.remoteUser}, HOME ${plan.home}`);
    const gs = new ReferenceGitspace(plan, c.values, c, this.runId);
    await gs.delete(); // an interrupted run's leftovers with the same names
    try {
      await gs.create();
      await gs.setup();
    } catch (err) {
      process.stderr.write(`${await gs.diagnostics().catch(() => '')}\n`);
      await gs.delete();
      throw err;
    }
    return gs;
  }
}

/** Removes every container and volume a parity run of this owner (this or an interrupted one) created. */
export async function cleanupDocker(): Promise<void> {
  const ids = (await run('docker', ['ps', '-aq', '--filter', `label=${PARITY_LABEL}`, '--filter', `label=${OWNER_LABEL}=${PARITY_OWNER}`])).stdout.split('\n').filter(Boolean);
  if (ids.length) await run('docker', ['rm', '-f', '-v', ...ids], { allowFail: true });
  const vols = (await run('docker', ['volume', 'ls', '-q', '--filter', `label=${PARITY_LABEL}`, '--filter', `label=${OWNER_LABEL}=${PARITY_OWNER}`])).stdout.split('\n').filter(Boolean);
  if (vols.length) await run('docker', ['volume', 'rm', '-f', ...vols], { allowFail: true });
}
