// The Docker runtime: starts a gitspace exactly as Docker Gitspace does
// (reference/docker-gitspace.md), from `gitspace-chart docker-spec`: a named
// volume at the remote user's HOME (seeded by Docker's copy-up), the container
// running `sleep infinity` as containerUser, then the setup steps by
// `docker exec` in Docker Gitspace's order, using the SAME in-container scripts
// as the chart (charts/gitspace/files/scripts, copied into the container).
import path from 'node:path';
import { idePortFor, repoNameOf } from '../../generator/src/model.ts';
import type { Gitspace as Values } from '../../generator/src/values.gen.ts';
import { progress, run, waitFor, type RunResult } from './exec.ts';
import { ideAnswers } from './ide.ts';
import type { Capabilities, CaseInput, ExecOptions, Forward, Gitspace, Runtime, VolumeMount } from './runtime.ts';
import { chartHookFiles } from './chart.ts';
import { ideProtocol, repoRoot } from './values.ts';

/** Output of `gitspace-chart docker-spec --json`. */
export interface DockerSpec {
  name: string;
  image: string;
  /** containerUser: docker run --user. */
  user: string;
  remoteUser: string;
  uid: number;
  gid: number;
  home: string;
  workingDir: string;
  volume: { name: string; target: string };
  repoPath: string;
  env: Record<string, string> | string[];
  ports: { container: number; host?: number }[];
  command: string[];
  labels: Record<string, string>;
}

/** Label on everything the suite creates, so a crashed run's leftovers are found and removed. */
export const PARITY_LABEL = 'org.gitspace-chart.parity';
const SCRIPTS_DIR = '/usr/local/gitspace/scripts';
const HOOKS_DIR = '/gitspace/hooks';
const SSH_DIR = '/gitspace/ssh';
const CREDENTIALS_DIR = '/gitspace/git-credentials';
// Docker Gitspace's main process when the image gives no entrypoint.
const SLEEP_COMMAND = ['/bin/sh', '-c', "trap 'exit 0' 15; sleep infinity & wait $!"];

export async function dockerSpec(valuesFile: string, extraArgs: string[] = []): Promise<DockerSpec> {
  const r = await run('node', [path.join(repoRoot, 'bin/gitspace-chart.js'), 'docker-spec', '-f', valuesFile, '--json', ...extraArgs]);
  return JSON.parse(r.stdout) as DockerSpec;
}

function envEntries(env: DockerSpec['env']): [string, string][] {
  if (Array.isArray(env)) return env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]);
  return Object.entries(env ?? {});
}

class DockerGitspace implements Gitspace {
  constructor(
    private readonly spec: DockerSpec,
    private readonly values: Values,
    private readonly c: CaseInput,
    private readonly runId: string,
  ) {}

  private get container() {
    return this.spec.name;
  }

  private get ideProtocol() {
    return ideProtocol(this.values);
  }

  private get idePort() {
    return idePortFor(this.values.ide?.type ?? 'vs_code_web', this.values.ide?.port ?? 0);
  }

  /** The environment the chart gives the scripts (docs/architecture.md), for the same steps here. */
  private scriptEnv(): Record<string, string> {
    const v = this.values;
    const repoName = repoNameOf(v.repo ?? {});
    const env: Record<string, string> = {
      GITSPACE_USER: this.spec.remoteUser,
      GITSPACE_UID: String(this.spec.uid),
      GITSPACE_GID: String(this.spec.gid),
      HOME: this.spec.home,
      USER: this.spec.remoteUser,
      GITSPACE_LAYOUT: 'home',
      REPO_URL: v.repo?.url ?? '',
      REPO_NAME: repoName,
      REPO_BRANCH: v.repo?.branch ?? '',
      GIT_USER_NAME: v.git?.userName ?? '',
      GIT_USER_EMAIL: v.git?.userEmail ?? '',
      GITSPACE_EXPECT_REMOTE_USER: this.spec.remoteUser,
      // The chart's clone-step contract: compare devcontainer.json with the fields the values were rendered from.
      GITSPACE_CHECK_DEVCONTAINER_USER: String(v.user?.devcontainerJson?.check ?? false),
      GITSPACE_DEVCONTAINER_REMOTE_USER: v.user?.devcontainerJson?.remoteUser ?? '',
      GITSPACE_DEVCONTAINER_CONTAINER_USER: v.user?.devcontainerJson?.containerUser ?? '',
      GITSPACE_IMAGE: this.spec.image,
      GITSPACE_REPO_PATH: this.spec.repoPath,
      IDE_TYPE: v.ide?.type ?? 'vs_code_web',
      IDE_PORT: String(this.idePort),
      IDE_AUTH: v.ide?.auth ?? 'none',
      GITSPACE_HOOKS_DIR: HOOKS_DIR,
    };
    if (this.ideProtocol === 'ssh') env.SSH_AUTHORIZED_KEYS_FILE = `${SSH_DIR}/authorized_keys`;
    const ext = v.devcontainer?.vscodeExtensions ?? [];
    if (ext.length) env.IDE_EXTENSIONS = ext.join(',');
    const plugins = v.devcontainer?.jetbrainsPlugins ?? [];
    if (plugins.length) env.JETBRAINS_PLUGINS = plugins.join(',');
    return env;
  }

  private envArgs(env: Record<string, string>): string[] {
    return Object.entries(env).flatMap(([k, val]) => ['-e', `${k}=${val}`]);
  }

  private async docker(args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}) {
    return run('docker', args, opts);
  }

  /** A root step, as Docker Gitspace runs its root scripts. */
  private async asRoot(argv: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
    return this.docker(['exec', '-i', '-u', 'root', ...this.envArgs(opts.env ?? {}), this.container, ...argv], { input: opts.input });
  }

  /** Writes content to a file in the container as root (content on stdin, never argv). */
  private async writeFile(file: string, content: string, mode: string, owner = '0:0') {
    await this.asRoot(
      ['/bin/sh', '-c', 'set -e; mkdir -p "$(dirname "$1")"; umask 077; cat >"$1"; chown "$2" "$1"; chmod "$3" "$1"', 'sh', file, owner, mode],
      { input: content },
    );
  }

  /** docker volume create + docker run, as the orchestrator does. */
  async create(): Promise<void> {
    const s = this.spec;
    await this.docker(['volume', 'create', '--label', `${PARITY_LABEL}=${this.runId}`, s.volume.name]);
    const args = ['run', '-d', '--name', s.name, '--user', s.user, '-v', `${s.volume.name}:${s.volume.target}`, '--label', `${PARITY_LABEL}=${this.runId}`];
    if (s.workingDir) args.push('-w', s.workingDir);
    for (const [k, val] of envEntries(s.env)) args.push('-e', `${k}=${val}`);
    // Published on loopback only; the host port is Docker's choice (a fixed one could clash).
    for (const p of s.ports) args.push('-p', `127.0.0.1::${p.container}`);
    for (const [k, val] of Object.entries(s.labels ?? {})) args.push('--label', `${k}=${val}`);
    args.push(s.image, ...(s.command?.length ? s.command : SLEEP_COMMAND));
    await this.docker(args);
  }

  /** The setup steps after the container started, in Docker Gitspace's order. */
  async setup(): Promise<void> {
    const env = this.scriptEnv();
    // check OS (Docker Gitspace supports debian/fedora/opensuse families).
    const os = await this.asRoot(['/bin/sh', '-c', '. /etc/os-release && printf %s "$ID"']);
    progress(`    docker: OS ${os.stdout.trim()}`);
    // The same scripts as the chart's ConfigMap (the chart's copy wins over the image's too).
    await this.asRoot(['mkdir', '-p', SCRIPTS_DIR]);
    await this.docker(['cp', `${path.join(repoRoot, 'charts/gitspace/files/scripts')}/.`, `${this.container}:${SCRIPTS_DIR}/`]);
    await this.asRoot(['/bin/sh', '-c', 'chown -R 0:0 "$1" && chmod -R a+rX,go-w "$1" && find "$1" -name "*.sh" -exec chmod 0755 {} +', 'sh', SCRIPTS_DIR]);
    // manage user (root) + set env (containerEnv into /etc/profile).
    const kv = envEntries(this.spec.env).map(([k, val]) => `${k}=${val}`);
    await this.asRoot([`${SCRIPTS_DIR}/gitspace-init.sh`, 'docker-manage-user', ...kv], { env });
    // Hooks and SSH keys where the chart mounts them (ConfigMap / Secret on Kubernetes): the
    // chart's own hook files, so both runtimes run the same files under the same names.
    for (const [file, content] of Object.entries(await chartHookFiles(this.c.valuesFile, this.values))) {
      await this.writeFile(`${HOOKS_DIR}/${file}`, content, '0444');
    }
    if (this.ideProtocol === 'ssh' && this.c.sshPublicKey) {
      await this.writeFile(`${SSH_DIR}/authorized_keys`, `${this.c.sshPublicKey.trim()}\n`, '0444');
    }
    // git credentials (remote user) + clone (skipped by the script when $HOME/{repo}/.git
    // exists, e.g. after a re-create): credentials in a temp dir outside HOME, removed
    // right after, as Docker Gitspace deletes its temp credentials file.
    const owner = `${this.spec.uid}:${this.spec.gid}`;
    await this.writeFile(`${CREDENTIALS_DIR}/username`, this.c.git.username, '0400', owner);
    await this.writeFile(`${CREDENTIALS_DIR}/password`, this.c.git.password, '0400', owner);
    try {
      await this.docker([
        'exec', '-u', this.spec.remoteUser, '-w', this.spec.home,
        ...this.envArgs({ ...env, GIT_CREDENTIALS_DIR: CREDENTIALS_DIR }),
        this.container, `${SCRIPTS_DIR}/gitspace-init.sh`, 'user-setup',
      ]);
    } finally {
      await this.asRoot(['rm', '-rf', CREDENTIALS_DIR]);
    }
    await this.credentialCache();
    await this.ideRun();
  }

  /**
   * Docker Gitspace's git credentials step (remote user), at every create and start: the
   * credential cache helper for 30 days, fed the clone URL's credentials with `git credential
   * approve` (on stdin), so git fetch/push in the gitspace need no prompt until the container stops.
   */
  private async credentialCache(): Promise<void> {
    if (!this.values.repo?.url || !URL.canParse(this.values.repo.url)) return;
    const url = new URL(this.values.repo.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
    const input = `protocol=${url.protocol.slice(0, -1)}\nhost=${url.host}\nusername=${this.c.git.username}\npassword=${this.c.git.password}\n\n`;
    await this.docker(
      ['exec', '-i', '-u', this.spec.remoteUser, '-e', `HOME=${this.spec.home}`, this.container, '/bin/sh', '-c',
        "git config --global credential.helper 'cache --timeout=2592000' && git credential approve"],
      { input },
    );
  }

  /** IDE setup + run + postCreate + postStart: start.sh, detached, as the remote user. */
  private async ideRun(): Promise<void> {
    await this.docker([
      'exec', '-d', '-u', this.spec.remoteUser, ...this.envArgs(this.scriptEnv()), this.container,
      '/bin/sh', '-c', `exec ${SCRIPTS_DIR}/start.sh >/tmp/gitspace-start.log 2>&1`,
    ]);
    await this.waitIde();
  }

  /**
   * Waits like kubelet's tcpSocket probe: a connection to the container's own
   * address (on the docker0 bridge). Not the published port: docker-proxy
   * accepts connections there before anything listens in the container.
   */
  private async waitIde(): Promise<void> {
    await waitFor(`the IDE (${this.ideProtocol}) on ${this.container}:${this.idePort}`, 300_000, async () => {
      const running = (await this.docker(['inspect', '-f', '{{.State.Running}}', this.container])).stdout.trim();
      if (running !== 'true') throw new Error(`container ${this.container} is not running`);
      return (await ideAnswers(this.ideProtocol, await this.clientAddress(), this.idePort)) ? true : undefined;
    }, 250); // both runtimes poll alike: bench/ times a restart to the next poll
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<RunResult> {
    return this.docker(['exec', '-i', '-u', this.spec.remoteUser, this.container, ...argv], opts);
  }

  async restart(): Promise<void> {
    await this.docker(['stop', '-t', '10', this.container]);
    await this.docker(['start', this.container]);
    // A stopped gitspace's start re-runs git credentials, IDE run and postStart only.
    await this.credentialCache();
    await this.ideRun();
  }

  async recreate(): Promise<void> {
    // Docker Gitspace's reset: remove the container, keep the volume, start anew.
    await this.docker(['rm', '-f', this.container]);
    await this.create(); // docker volume create of an existing volume is a no-op
    await this.setup();
  }

  async delete(): Promise<void> {
    await this.docker(['rm', '-f', '-v', this.container], { allowFail: true });
    await this.docker(['volume', 'rm', '-f', this.spec.volume.name], { allowFail: true });
  }

  async portAccess(containerPort: number): Promise<Forward> {
    const out = (await this.docker(['port', this.container, `${containerPort}/tcp`])).stdout.trim().split('\n')[0];
    const m = /^(.*):(\d+)$/.exec(out);
    if (!m) throw new Error(`docker port ${this.container} ${containerPort}: unexpected output ${out}`);
    return { host: m[1], port: Number(m[2]), close: async () => {} };
  }

  /** Docker Gitspace publishes forwardPorts (-p): the published port on the host. */
  async forwardedPortAccess(port: number): Promise<Forward> {
    return this.portAccess(port);
  }

  async startLog(): Promise<string> {
    return (await this.docker(['exec', '-u', 'root', this.container, 'cat', '/tmp/gitspace-start.log'])).stdout;
  }

  async describeMounts(): Promise<VolumeMount[]> {
    const out = (await this.docker(['inspect', '-f', '{{json .Mounts}}', this.container])).stdout;
    const mounts = JSON.parse(out) as { Type: string; Name?: string; Destination: string; RW: boolean }[];
    return mounts
      .filter((m) => m.Type === 'volume' && m.Name === this.spec.volume.name)
      .map((m) => ({ destination: m.Destination, readOnly: !m.RW }));
  }

  async clientAddress(): Promise<string> {
    return (await this.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', this.container])).stdout.trim();
  }

  async diagnostics(): Promise<string> {
    const parts: string[] = [];
    const add = async (title: string, args: string[]) => {
      const r = await this.docker(args, { allowFail: true });
      parts.push(`--- ${title}\n${r.stdout}${r.stderr}`);
    };
    await add('docker ps', ['ps', '-a', '--filter', `name=${this.container}`]);
    await add('docker logs', ['logs', '--tail', '50', this.container]);
    await add('start.sh log', ['exec', '-u', 'root', this.container, 'tail', '-n', '80', '/tmp/gitspace-start.log']);
    return parts.join('\n');
  }
}

export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  readonly capabilities: Capabilities = {
    restart: 'container stop + start',
    recreate: 'container rm + run on the same volume',
    workspacesPath: false,
    mainProcessUser: 'containerUser',
  };

  constructor(private readonly runId: string) {}

  async prepare(): Promise<void> {
    await run('docker', ['info', '--format', '{{.ServerVersion}}']);
    await cleanupDocker();
  }

  async start(c: CaseInput): Promise<Gitspace> {
    const spec = await dockerSpec(c.valuesFile, ['--release', c.name]);
    // Nothing can be pulled here: a missing image is this case's failure, said plainly.
    await run('docker', ['image', 'inspect', '--format', '{{.Id}}', spec.image]).catch(() => {
      throw new Error(`image ${spec.image} is not in the Docker engine: build it with 'bash images/build.sh all'`);
    });
    const gs = new DockerGitspace(spec, c.values, c, this.runId);
    // Leftovers of an interrupted run with the same names.
    await gs.delete();
    try {
      await gs.create();
      await gs.setup();
    } catch (err) {
      // Diagnostics to stderr; the error itself stays short for the table.
      process.stderr.write(`${await gs.diagnostics().catch(() => '')}\n`);
      await gs.delete();
      throw err;
    }
    return gs;
  }
}

/** Removes every container and volume a parity run (this or an interrupted one) created. */
export async function cleanupDocker(): Promise<void> {
  const ids = (await run('docker', ['ps', '-aq', '--filter', `label=${PARITY_LABEL}`])).stdout.split('\n').filter(Boolean);
  if (ids.length) await run('docker', ['rm', '-f', '-v', ...ids], { allowFail: true });
  const vols = (await run('docker', ['volume', 'ls', '-q', '--filter', `label=${PARITY_LABEL}`])).stdout.split('\n').filter(Boolean);
  if (vols.length) await run('docker', ['volume', 'rm', '-f', ...vols], { allowFail: true });
}
