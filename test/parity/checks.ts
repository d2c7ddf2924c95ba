// The parity checks, each written once against the Runtime interface (csi-sanity
// style): a check observes one thing a user of the gitspace would see and
// returns it as a string; the suite puts the Docker (reference) and Kubernetes
// (chart) strings side by side. A check states what each side must show: one
// value for both, or, where the chart deliberately differs from Docker
// Gitspace, each runtime's own value and the docs section that says why
// (`deliberate`). Two runtimes that are wrong the same way still fail.
import { randomBytes } from 'node:crypto';
import type { Gitspace as Values } from '../../generator/src/values.gen.ts';
import type { RunResult } from './exec.ts';
import type { GitCredentials, GitServer } from './gitserver.ts';
import { sshBanner, sshRun, workbenchGet } from './ide.ts';
import { FEATURES_POST_CREATE_FILE, type ExpectedFeatures, type LabelOnly } from './cases.ts';
import type { Capabilities, Gitspace, RuntimeName } from './runtime.ts';
import { vsixIdFromPath } from './vsix.ts';

/** What a case's user must look like, written by hand in cases.ts (not derived by the generator). */
export interface ExpectedUser {
  name: string;
  uid: number;
  gid: number;
  group: string;
  home: string;
  /** What `id` lists after `groups=` when the user has more groups than their own (written by hand); '*': not checked. */
  groups?: string;
}

/** Where HOME and the volume are on one runtime (cases.ts: the chart's, and Docker Gitspace's own where it differs). */
export interface ExpectedPlace extends ExpectedUser {
  /** The volume's mount point. */
  volumeAt: string;
}

export interface CheckContext {
  gs: Gitspace;
  capabilities: Capabilities;
  values: Values;
  /** The user the chart must give (Kubernetes), written by hand in cases.ts. */
  expected: ExpectedUser;
  /** Each runtime's user, HOME and volume mount point, written by hand in cases.ts. */
  place: Record<RuntimeName, ExpectedPlace>;
  repoName: string;
  /** HEAD commit of the case repository on the git server. */
  repoHead: string;
  /** URL of the public second repository, as the gitspace reaches the git server. */
  secondRepoUrl: string;
  git: GitCredentials;
  gitServer: GitServer;
  /** Index into gitServer.requests where this runtime's start began. */
  requestsFrom: number;
  ide: { protocol: 'http' | 'ssh'; port: number; sshKeyFile?: string };
  /** Files (relative paths) the image has under the remote user's HOME. */
  imageHomeFiles: string[];
  /** The names directly in the image's HOME (files and directories, an empty one too). */
  imageHomeEntries: string[];
  /** The image's WORKDIR ('' when it sets none). */
  imageWorkdir: string;
  /** The image's ENTRYPOINT ([] when it sets none). */
  imageEntrypoint: string[];
  /** Whether the case's devcontainer.json has lifecycle hooks (see cases.ts). */
  hooks: boolean;
  /** A postStartCommand entry that fails on purpose (see cases.ts). */
  failingHook?: { label: string; code: number };
  /** Whether the case's repository has .devcontainer/devcontainer.json. */
  devcontainerInRepo: boolean;
  /** The lifecycle hook files as the chart renders them (test/parity/chart.ts): "<hook>/NN-name" -> command. */
  hookFiles: Record<string, string>;
  /** The image gives the user passwordless sudo (cases.ts). */
  imageSudo: boolean;
  /** Directories outside HOME the user can write (cases.ts, or a --cases-dir case's expected.json). */
  writablePaths: string[];
  /** What only the image's devcontainer.metadata label carries (cases.ts). */
  labelOnly: LabelOnly;
  /** Probe the whole filesystem for directories outside HOME the user can write (cases.ts). */
  probeWritable: boolean;
  /** The features case's expectations (cases.ts). */
  features?: ExpectedFeatures;
}

export interface Observation {
  check: string;
  value: string;
  /**
   * What a user must see: one value for both runtimes, or each runtime's own.
   * A value that differs fails, even when both runtimes agree on it.
   */
  expected?: string | Record<RuntimeName, string>;
  /** Why the runtimes' expected values differ: a docs section, `docs/FILE.md#anchor` (report.ts checks it exists). */
  deliberate?: { doc: string };
  note?: string;
}

export type Phase = 'fresh' | 'after-restart' | 'after-recreate';

/** How a phase reads in a row: the suite's restart() is Docker Gitspace's stop + start, recreate() its reset. */
export const PHASE_LABEL: Record<Phase, string> = { fresh: 'fresh', 'after-restart': 'after stop/start', 'after-recreate': 'after reset' };

/** The docs sections that explain each deliberate difference (test/parity/selftest checks the anchors exist). */
const deviation = (anchor: string) => `docs/seed-deviations.md#${anchor}`;
export const DOCS = {
  users: deviation('users-missing-from-the-image-are-created'),
  home: deviation('home-comes-from-the-resolved-user'),
  profile: deviation('containerenv-in-etcprofile-is-quoted'),
  credentials: deviation('git-credentials-in-the-running-gitspace'),
  outsideHome: deviation('persistence-outside-home'),
  hostDockerInternal: deviation('no-hostdockerinternal'),
  workdir: deviation('working-directory-of-an-exec'),
  pid1: deviation('pid-1-runs-as-the-remote-user'),
  sshd: deviation('sshd-runs-as-the-remote-user'),
  homeMode: deviation('home-mode-under-fsgroup'),
  workspaces: deviation('workspaces-compat-mount'),
  hookLog: deviation('a-hook-log-on-the-volume'),
  homeEntries: deviation('home-entries-the-gitspace-adds'),
  sudo: deviation('sudo-only-with-securitysudo'),
  label: deviation('the-image-labels-lifecycle-commands-and-containerenv-are-used'),
  persistReset: deviation('persisted-paths-survive-a-reset'),
  upgrade: 'docs/persistence.md#compared-with-docker-gitspace',
} as const;

const RUNTIMES: RuntimeName[] = ['docker', 'kubernetes'];

/**
 * Each runtime's expected value from f; one string when they agree. When they
 * differ, the observation must carry `deliberate` (report.ts fails it otherwise).
 */
function each(f: (rt: RuntimeName) => string): string | Record<RuntimeName, string> {
  const v = Object.fromEntries(RUNTIMES.map((rt) => [rt, f(rt)])) as Record<RuntimeName, string>;
  return v.docker === v.kubernetes ? v.docker : v;
}

/** An observation whose expectation may differ by runtime, for the reason in doc. */
function obs(check: string, value: string, expected: string | Record<RuntimeName, string>, doc?: string, note?: string): Observation {
  const o: Observation = { check, value, expected };
  if (typeof expected === 'object' && doc) o.deliberate = { doc };
  if (note) o.note = note;
  return o;
}

export interface Check {
  id: string;
  phases: Phase[];
  run(ctx: CheckContext, phase: Phase): Promise<Observation[]>;
}

const out = (r: RunResult) => r.stdout.trim();

/** sh -c SCRIPT with data as positional parameters ($1…), never spliced into the script. */
async function sh(ctx: CheckContext, script: string, args: string[] = [], input?: string): Promise<string> {
  return out(await ctx.gs.exec(['/bin/sh', '-c', script, 'sh', ...args], { input }));
}

/** PID of the IDE's main process (oldest process whose command line names it). */
const IDE_PID_SCRIPT = `
for d in /proc/[0-9]*; do
  cmd=$(tr '\\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
  case "$cmd" in *"for d in /proc"*) continue ;; *"$1"*) echo "\${d#/proc/}" ;; esac
done | sort -n | head -n 1`;

async function idePid(ctx: CheckContext): Promise<string> {
  const pattern = ctx.ide.protocol === 'ssh' ? 'sshd' : 'code-server';
  const pid = await sh(ctx, IDE_PID_SCRIPT, [pattern]);
  if (!pid) throw new Error(`no process with "${pattern}" in its command line`);
  return pid;
}

/** "uid=N(name) gid=N(group)" of a process, names from the gitspace's own passwd/group. */
const PROC_USER_SCRIPT = `
u=$(awk '/^Uid:/ {print $2}' "/proc/$1/status"); g=$(awk '/^Gid:/ {print $2}' "/proc/$1/status")
un=$(getent passwd "$u" | cut -d: -f1); gn=$(getent group "$g" | cut -d: -f1)
echo "uid=$u($un) gid=$g($gn)"`;

const idPrefix = (e: ExpectedUser) => `uid=${e.uid}(${e.name}) gid=${e.gid}(${e.group})`;

/** Persistence items: write before the restart, read after. */
const PERSIST_WRITE = `
set -e
printf '%s\\n' "$1" >"$HOME/.test-persistence"
printf '%s\\n' "$1" >"/tmp/parity-outside-home-$(id -u)"
printf '\\n# parity %s\\n' "$1" >>"$HOME/.bashrc"
git config --global parity.marker "$1"
mkdir -p "$HOME/.ssh" && chmod 700 "$HOME/.ssh"
rm -f "$HOME/.ssh/id_parity" "$HOME/.ssh/id_parity.pub"
ssh-keygen -q -t ed25519 -N '' -C "parity-$1" -f "$HOME/.ssh/id_parity" >/dev/null
rm -rf "$HOME/parity-second"
GIT_TERMINAL_PROMPT=0 git clone -q "$2" "$HOME/parity-second"
printf '%s\\n' "$1" >"$HOME/parity-second/uncommitted.txt"`;

const PERSIST_READ = `
t=$1
r() { if eval "$2" >/dev/null 2>&1; then echo "$1=kept"; else echo "$1=lost"; fi; }
r test-persistence 'grep -qxF "$t" "$HOME/.test-persistence"'
r bashrc 'grep -qxF "# parity $t" "$HOME/.bashrc"'
r gitconfig '[ "$(git config --global parity.marker)" = "$t" ]'
r ssh-key '[ "$(stat -c %a "$HOME/.ssh/id_parity")" = 600 ] && grep -q "parity-$t" "$HOME/.ssh/id_parity.pub" && ssh-keygen -y -f "$HOME/.ssh/id_parity" >/dev/null'
r second-repo 'git -C "$HOME/parity-second" rev-parse HEAD && grep -qxF "$t" "$HOME/parity-second/uncommitted.txt"'
r tmp 'grep -qxF "$t" "/tmp/parity-outside-home-$(id -u)"'`;

/**
 * Top-most directories outside HOME the user can write (group or other bits, or owned), on the
 * root filesystem: what a stop/start keeps on Docker and a new pod loses. Mounts, /tmp-like
 * scratch places, HOME and /home are left out. find exits 1 when it meets a directory it cannot
 * read (the user's view): that is the answer, not a failure.
 */
const WRITABLE_PROBE = `
find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /var/tmp -o -path /home -o -path /root \\
  -o -path /gitspace -o -path /workspaces -o -path /usr/local/gitspace -o -path "$HOME" \\) -prune -o -type d -writable -print -prune 2>/dev/null || [ $? -eq 1 ]`;

const PERSIST_ITEMS: Record<string, string> = {
  'test-persistence': 'persistence: $HOME/.test-persistence',
  bashrc: 'persistence: .bashrc edit',
  gitconfig: 'persistence: git config --global',
  'ssh-key': 'persistence: ~/.ssh key (mode 600)',
  'second-repo': 'persistence: second repo cloned into HOME',
};

// One token per suite run, written by each runtime before its restart.
const TOKEN = randomBytes(6).toString('hex');

/** The user's own git identity edit, made before the restart (issue 10: the user's edit wins). */
const OWN_GIT_NAME = 'Parity Own Name';

/**
 * A server the user starts on a forwarded port (node: the image has it for
 * code-server), detached so it outlives the exec; prints its PID.
 */
const LISTEN_SCRIPT = `
nohup node -e 'require("http").createServer((q, s) => s.end("forwarded " + require("os").userInfo().username)).listen(Number(process.argv[1]), "0.0.0.0")' "$1" >/dev/null 2>&1 &
echo $!`;

/** GET http://host:port/ until it answers (the listener may take a moment), "HTTP <status> <body>". */
async function getText(host: string, port: number, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(3000) });
      return `HTTP ${res.status} ${(await res.text()).trim()}`;
    } catch (err) {
      last = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
    }
    if (Date.now() > deadline) return `no answer from ${host}:${port} (${last})`;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The first stderr line of a failed git command, without git's "fatal: " and the URL (it holds the server's port). */
function gitWords(r: RunResult): string {
  // kubectl exec adds its own last line ("command terminated with exit code N"): git's words come before it.
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^command terminated with exit code/.test(l));
  const line = lines.at(-1) ?? `exit code ${r.exitCode}`;
  if (/could not read Username|terminal prompts disabled|Authentication failed/.test(line)) return 'asks for credentials: none in the gitspace';
  return `failed: ${line.replace(/^fatal: /, '').replace(/'https?:\/\/[^']*'/g, "'URL'")}`;
}

/** A git command in $HOME/{repo} with no terminal to prompt on, as a user's tool (not a terminal) runs it. */
async function gitInRepo(ctx: CheckContext, args: string[]): Promise<string> {
  const r = await ctx.gs.exec(['/bin/sh', '-c', 'cd "$HOME/$1" && shift && GIT_TERMINAL_PROMPT=0 GIT_ASKPASS= SSH_ASKPASS= git "$@"', 'sh', ctx.repoName, ...args], { allowFail: true });
  return r.exitCode === 0 ? 'works without a prompt' : gitWords(r);
}

/**
 * What each runtime adds to HOME besides the image's entries and the repository,
 * by the time of the fresh checks (before the IDE is loaded or the user writes).
 */
function homeAdded(ctx: CheckContext): string | Record<RuntimeName, string> {
  const ssh = ctx.ide.protocol === 'ssh';
  const hooks = ctx.hooks ? ['.parity-post-create', '.parity-post-start'] : [];
  // The features case: its postCreateCommand's file and the one a feature's own postCreateCommand writes (both runtimes).
  if (ctx.features) hooks.push(FEATURES_POST_CREATE_FILE, ctx.features.featurePostCreate.file);
  // The image label's lifecycle commands run on Kubernetes only (DOCS.label).
  const labelHooks = [ctx.labelOnly.postCreateMarker, ctx.labelOnly.postStartMarker].filter((m): m is string => Boolean(m));
  // code-server's config (~/.config) and data (~/.local) on both; an entry the image has is not counted.
  const codeServer = ssh ? [] : ['.config', '.local'];
  const image = new Set(ctx.imageHomeEntries);
  const sorted = (a: string[]) => [...new Set(a)].filter((n) => !image.has(n)).sort().join(' ') || 'none';
  return {
    // git's credential cache socket (~/.cache), the identity and helper (~/.gitconfig), code-server's log.
    docker: sorted([...hooks, ...codeServer, '.cache', '.gitconfig', ...(ssh ? ['.ssh'] : ['code-server.log'])]),
    // the hook log and markers (~/.gitspace), the identity; the filesystem's lost+found.
    kubernetes: sorted([...hooks, ...labelHooks, ...codeServer, '.gitconfig', '.gitspace', 'lost+found', ...(ssh ? ['.ssh'] : [])]),
  };
}

export const CHECKS: Check[] = [
  {
    id: 'mount',
    phases: ['fresh'],
    async run(ctx) {
      const mounts = await ctx.gs.describeMounts();
      const volume = mounts.map((m) => `${m.destination} (${m.readOnly ? 'ro' : 'rw'})`);
      const home = await sh(ctx, 'printf %s "$HOME"');
      const info = await sh(ctx, 'awk -v h="$1" \'$5 == h { split($6, o, ","); print $5, o[1] }\' /proc/self/mountinfo', [home]);
      const p = ctx.place;
      // persistence.paths: the chart mounts each from the volume too (docs/persistence.md); Docker keeps them in the container.
      const persisted = [...(ctx.values.persistence?.paths ?? [])].sort();
      const volumeAt = (rt: RuntimeName) => [`${p[rt].volumeAt} (rw)`, ...(rt === 'kubernetes' ? persisted.map((d) => `${d} (rw)`) : [])].sort().join(', ');
      return [
        obs(
          'mount: volume at (platform: docker inspect / pod spec)',
          volume.filter((m) => !m.startsWith('/workspaces ')).sort().join(', ') || 'no volume mount',
          persisted.length ? { docker: volumeAt('docker'), kubernetes: volumeAt('kubernetes') } : each((rt) => `${p[rt].volumeAt} (rw)`),
          persisted.length ? DOCS.outsideHome : DOCS.home,
        ),
        obs(
          'mount: HOME in /proc/self/mountinfo',
          info || `${home} is not a mount point`,
          each((rt) => (p[rt].volumeAt === p[rt].home ? `${p[rt].home} rw` : `${p[rt].home} is not a mount point`)),
          DOCS.home,
        ),
        obs(
          'mount: other mount points of the volume',
          mounts.map((m) => m.destination).filter((d) => d !== home && d !== p.docker.volumeAt).sort().join(', ') || 'none',
          { docker: 'none', kubernetes: ['/workspaces', ...persisted].sort().join(', ') },
          persisted.length ? DOCS.outsideHome : DOCS.workspaces,
        ),
      ];
    },
  },
  {
    id: 'workdir',
    phases: ['fresh'],
    async run(ctx) {
      const pid = await idePid(ctx);
      const ssh = ctx.ide.protocol === 'ssh';
      return [
        // Docker Gitspace gives the container no WorkingDir: an exec starts in the image's WORKDIR (none here: /).
        obs('workdir: pwd of an exec shell', await sh(ctx, 'pwd'), { docker: ctx.imageWorkdir || '/', kubernetes: ctx.place.kubernetes.home }, DOCS.workdir),
        obs(
          'workdir: IDE process cwd (/proc/<pid>/cwd)',
          await sh(ctx, 'readlink "/proc/$1/cwd" 2>/dev/null || echo "not readable by the user"', [pid]),
          // Docker: code-server is started by an exec in HOME as upstream computes it; sshd runs as root.
          // Kubernetes: code-server runs in HOME; the chart's sshd (the user's) works from / like any sshd.
          { docker: ssh ? 'not readable by the user' : ctx.place.docker.volumeAt, kubernetes: ssh ? '/' : ctx.place.kubernetes.home },
          ssh ? DOCS.sshd : DOCS.home,
        ),
      ];
    },
  },
  {
    id: 'user',
    phases: ['fresh'],
    async run(ctx) {
      const pid = await idePid(ctx);
      const p = ctx.place;
      const ssh = ctx.ide.protocol === 'ssh';
      const root = { name: 'root', uid: 0, gid: 0, group: 'root', home: '/root' };
      const containerUser = ctx.values.user?.containerUser ?? 'root';
      return [
        ctx.expected.groups === '*'
          ? // A --cases-dir case whose expected.json lists no groups: uid, gid and names only.
            obs('user: id (uid, gid, name; other groups not given)', (await sh(ctx, 'id')).replace(/ groups=.*$/, ''), each((rt) => idPrefix(p[rt])))
          : obs('user: id (uid, gid, groups, name)', await sh(ctx, 'id'), each((rt) => `${idPrefix(p[rt])} groups=${p[rt].groups ?? `${p[rt].gid}(${p[rt].group})`}`)),
        obs('user: HOME env', await sh(ctx, 'printf %s "$HOME"'), each((rt) => p[rt].home), DOCS.home),
        obs('user: whoami', await sh(ctx, 'whoami 2>&1 || id -un'), each((rt) => p[rt].name)),
        obs(
          'user: IDE process',
          await sh(ctx, PROC_USER_SCRIPT, [pid]),
          // Docker Gitspace runs sshd as root; the chart runs it as the user.
          each((rt) => idPrefix(ssh && rt === 'docker' ? root : p[rt])),
          DOCS.sshd,
        ),
        obs(
          'user: main process (PID 1)',
          await sh(ctx, PROC_USER_SCRIPT, ['1']),
          // Docker runs PID 1 as containerUser (root in every case here), the pod as the remote user.
          { docker: containerUser === 'root' ? idPrefix(root) : idPrefix(p.docker), kubernetes: idPrefix(p.kubernetes) },
          DOCS.pid1,
        ),
      ];
    },
  },
  {
    id: 'code',
    phases: ['fresh'],
    async run(ctx) {
      const repo = ctx.repoName;
      const listing = await sh(ctx, 'ls -la "$HOME"');
      const line = listing.split('\n').find((l) => l.split(/\s+/).at(-1) === repo);
      const f = line?.split(/\s+/);
      const entry = f ? `${f[0][0] === 'd' ? 'dir' : f[0]} ${repo}/ owner ${f[2]}:${f[3]}` : `no ${repo} in ls -la $HOME`;
      const git = await sh(ctx, 'test -d "$HOME/$1/.git" && echo ".git present" || echo "no .git"', [repo]);
      const head = await sh(ctx, 'git -C "$HOME/$1" rev-parse HEAD 2>&1', [repo]);
      // HOME's entries beyond the image's own and the repository: what the gitspace added.
      const image = new Set(ctx.imageHomeEntries);
      const added = listing
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/).at(-1) ?? '')
        .filter((n) => n && n !== '.' && n !== '..' && n !== repo && !image.has(n))
        .sort();
      const p = ctx.place;
      return [
        obs('code: ls -la $HOME shows {repo}/ with .git', `${entry}, ${git}`, each((rt) => `dir ${repo}/ owner ${p[rt].name}:${p[rt].group}, .git present`)),
        obs('code: $HOME/{repo} HEAD', head, ctx.repoHead),
        obs('code: HOME entries the gitspace added (besides the image\'s and the repository)', added.join(' ') || 'none', homeAdded(ctx), DOCS.homeEntries),
        obs(
          'code: HOME mode',
          await sh(ctx, 'stat -c %A "$HOME"'),
          // Docker Gitspace: chmod 755 on the HOME it computes (the image's own mode when HOME is elsewhere);
          // the chart: fsGroup makes the volume root group-writable with setgid.
          { docker: 'drwxr-xr-x', kubernetes: p.kubernetes.uid === 0 ? 'drwxrws---' : 'drwxrwsr-x' },
          DOCS.homeMode,
        ),
      ];
    },
  },
  {
    id: 'seed',
    phases: ['fresh'],
    async run(ctx) {
      const files = ctx.imageHomeFiles;
      if (!files.length) return [obs('seed: image HOME content on the new volume', 'the image has no files under HOME', 'the image has no files under HOME')];
      const missing = (await sh(ctx, 'for f in "$@"; do [ -e "$HOME/$f" ] || echo "$f"; done', files)).split('\n').filter(Boolean);
      const notMine = await sh(ctx, 'cd "$HOME" && for f in "$@"; do [ ! -e "$f" ] || [ -O "$f" ] || echo "$f"; done', files);
      return [
        obs(
          'seed: image HOME content on the new volume',
          missing.length ? `missing ${missing.length} of ${files.length}: ${missing.slice(0, 5).join(', ')}` : `all ${files.length} image files present`,
          `all ${files.length} image files present`,
        ),
        obs('seed: seeded files owned by the user', notMine ? `not owned: ${notMine.split('\n').slice(0, 5).join(', ')}` : 'all', 'all'),
      ];
    },
  },
  {
    id: 'workspaces',
    phases: ['fresh'],
    async run(ctx) {
      const v = await sh(
        ctx,
        'if [ -d "/workspaces/$1" ]; then [ "$(stat -c %d:%i "/workspaces/$1")" = "$(stat -c %d:%i "$HOME/$1")" ] && echo "same directory as \\$HOME/$1" || echo "a different directory"; else echo "/workspaces/$1 does not exist"; fi',
        [ctx.repoName],
      );
      return [
        obs(
          'compat: /workspaces/{repo}',
          v,
          { docker: `/workspaces/${ctx.repoName} does not exist`, kubernetes: `same directory as $HOME/${ctx.repoName}` },
          DOCS.workspaces,
        ),
      ];
    },
  },
  {
    id: 'ide',
    phases: ['fresh', 'after-restart', 'after-recreate'],
    async run(ctx, phase) {
      const fwd = await ctx.gs.portAccess(ctx.ide.port);
      const label = PHASE_LABEL[phase];
      try {
        if (ctx.ide.protocol === 'http') {
          const a = await workbenchGet(fwd.host, fwd.port, `/?folder=${encodeURIComponent(`${ctx.expected.home}/${ctx.repoName}`)}`);
          // Docker Gitspace runs code-server with --disable-workspace-trust: the repository opens with no trust prompt.
          const cmdline = await sh(ctx, 'tr "\\0" " " <"/proc/$1/cmdline"', [await idePid(ctx)]);
          return [
            obs(`ide: code-server workbench over HTTP (${label})`, `HTTP ${a.status}${a.workbench ? ', workbench page' : ', not the workbench'}`, 'HTTP 200, workbench page'),
            obs(
              `ide: workspace trust of code-server (${label})`,
              / --disable-workspace-trust( |$)/.test(cmdline) ? 'disabled: no trust prompt' : 'enabled: the trust prompt shows',
              'disabled: no trust prompt',
            ),
          ];
        }
        const banner = (await sshBanner(fwd.host, fwd.port)).replace(/^(SSH-2\.0-OpenSSH)_.*/, '$1');
        const r = await sshRun(fwd.host, fwd.port, ctx.expected.name, ctx.ide.sshKeyFile ?? '', ['echo "$(id -un) $(pwd)"']);
        const login = r.exitCode === 0 ? `key login: ${r.stdout.trim()}` : `key login failed: ${r.stderr.trim().split('\n').at(-1)}`;
        return [obs(`ide: SSH (${label})`, `${banner}; ${login}`, each((rt) => `SSH-2.0-OpenSSH; key login: ${ctx.place[rt].name} ${ctx.place[rt].home}`))];
      } finally {
        await fwd.close();
      }
    },
  },
  {
    id: 'credentials',
    phases: ['fresh', 'after-restart'],
    async run(ctx, phase) {
      const label = PHASE_LABEL[phase];
      // Docker Gitspace caches the clone's credentials in git's memory cache (re-armed at every start);
      // the chart's credential helper reads the mounted Secret (repo.credentials.inGitspace, the default).
      const gitRows = [
        obs(`git: git fetch in $HOME/{repo} (${label})`, await gitInRepo(ctx, ['fetch', '-q', 'origin']), 'works without a prompt'),
      ];
      if (phase !== 'fresh') return gitRows;
      gitRows.push(
        obs(`git: git push of a new branch (${label})`, await gitInRepo(ctx, ['push', '-q', 'origin', `HEAD:refs/heads/parity-push-${TOKEN}-${(await ctx.gs.clientAddress()).replace(/[^0-9a-z]/gi, '-')}`]), 'works without a prompt'),
      );
      // The password goes in on stdin; grep reads the whole HOME (repo .git/config included).
      // Status 1 (no match) is the answer wanted; anything else (2: grep could not read) fails the check.
      const files = await sh(ctx, 'pw=$(cat); rc=0; grep -rlsF -e "$pw" "$HOME" || rc=$?; [ "$rc" -le 1 ]', [], ctx.git.password);
      // This gitspace's own requests (the other runtime may clone the same repo at the same time).
      const from = await ctx.gs.clientAddress();
      const auth = ctx.gitServer.requests
        .slice(ctx.requestsFrom)
        .filter((r) => r.repo === `${ctx.repoName}.git` && r.status === 200 && r.from === from);
      return [
        obs('git: credentials in files under HOME', files ? `found in ${files.split('\n').join(', ')}` : 'none', 'none'),
        obs('git: private repo cloned with basic auth', auth.length ? `yes, as ${[...new Set(auth.map((r) => r.user || '(anonymous)'))].join(', ')}` : 'no successful request', `yes, as ${ctx.git.username}`),
        // Docker keeps them in git's memory cache; the chart mounts the Secret's files for its credential helper.
        obs('git: credentials files in the running gitspace (/gitspace/git-credentials)', await sh(ctx, 'ls /gitspace/git-credentials >/dev/null 2>&1 && echo present || echo absent'), {
          docker: 'absent',
          kubernetes: 'present',
        }, DOCS.credentials),
        ...gitRows,
      ];
    },
  },
  {
    id: 'lifecycle',
    phases: ['fresh', 'after-restart', 'after-recreate'],
    async run(ctx, phase) {
      if (!ctx.hooks) return [];
      const label = PHASE_LABEL[phase];
      const n = (f: string) => sh(ctx, 'if [ -f "$HOME/$1" ]; then wc -l <"$HOME/$1"; else echo 0; fi', [f]);
      const starts = { fresh: 1, 'after-restart': 2, 'after-recreate': 3 }[phase];
      // Docker Gitspace runs postCreateCommand in every new container (create, reset); the chart once per
      // volume and again at each `gitspace-chart reset` (the suite's reset on Kubernetes).
      const creates = { fresh: 1, 'after-restart': 1, 'after-recreate': 2 }[phase];
      // The chart's hook log on the volume (what `kubectl logs` also shows): one "done" per run.
      const logged = await sh(
        ctx,
        'f="$HOME/.gitspace/logs/lifecycle.log"; [ -f "$f" ] || { echo "no ~/.gitspace/logs/lifecycle.log"; exit 0; }; printf "postCreate %s, postStart %s" "$(grep -c "hook postCreateCommand/.*: done" "$f")" "$(grep -c "hook postStartCommand/.*: done" "$f")"',
      );
      const failed = await sh(
        ctx,
        'f="$HOME/.gitspace/logs/lifecycle.log"; [ -f "$f" ] || { echo "no ~/.gitspace/logs/lifecycle.log"; exit 0; }; sed -n "s/.*\\[gitspace\\] hook \\([^ ]*\\): FAILED with exit code \\([0-9]*\\).*/\\1: exit code \\2/p" "$f" | sort | uniq -c',
      );
      const failedText = failed.startsWith('no ')
        ? failed
        : failed
          ? failed.split('\n').map((l) => { const m = /^\s*(\d+)\s+(.*)$/.exec(l); return m ? `${m[2]} ×${m[1]}` : l; }).join(', ')
          : 'none';
      const fh = ctx.failingHook;
      // This start's postStartCommand outcomes in the platform's log (kubectl logs / the reference's setup log),
      // by command: the chart names a hook by its file, the reference by its command line.
      const files = ctx.hookFiles;
      const postStart = Object.entries(files).filter(([f]) => f.startsWith('postStartCommand/')).sort(([a], [b]) => a.localeCompare(b));
      const outcome = (f: string) => (fh && f === fh.label ? `exit code ${fh.code}` : 'done');
      const wantLog = postStart.map(([f, cmd]) => `${JSON.stringify(cmd)}: ${outcome(f)}`).sort().join(', ');
      let inLog = '';
      for (let i = 0; i < 20; i++) {
        const text = await ctx.gs.startLog();
        const seen = new Set<string>();
        const result = (s: string) => (s === 'done' ? 'done' : s.replace('FAILED with exit code', 'exit code'));
        for (const m of text.matchAll(/\[gitspace\] hook (postStartCommand\/\S+): (done|FAILED with exit code \d+)/g)) {
          seen.add(`${JSON.stringify(files[m[1]] ?? m[1])}: ${result(m[2])}`);
        }
        for (const m of text.matchAll(/\[lifecycle\] postStartCommand ("(?:[^"\\]|\\.)*"): (done|FAILED with exit code \d+)/g)) {
          seen.add(`${m[1]}: ${result(m[2])}`);
        }
        inLog = [...seen].sort().join(', ') || 'no postStartCommand lines';
        if (inLog === wantLog) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const noLog = 'no ~/.gitspace/logs/lifecycle.log';
      return [
        obs(`lifecycle: postStartCommand outcome in the platform log (kubectl logs / setup log) (${label})`, inLog, wantLog),
        obs(`lifecycle: failed hooks in ~/.gitspace/logs/lifecycle.log, with exit code (${label})`, failedText, {
          docker: noLog,
          kubernetes: fh ? `${fh.label}: exit code ${fh.code} ×${starts}` : 'none',
        }, DOCS.hookLog),
        obs(`lifecycle: postCreateCommand runs (${label})`, `${await n('.parity-post-create')} time(s)`, `${creates} time(s)`),
        obs(`lifecycle: postStartCommand runs (${label})`, `${await n('.parity-post-start')} time(s)`, `${starts} time(s)`),
        obs(`lifecycle: hooks logged done in ~/.gitspace/logs/lifecycle.log (${label})`, logged, { docker: noLog, kubernetes: `postCreate ${creates}, postStart ${starts}` }, DOCS.hookLog),
      ];
    },
  },
  {
    // No devcontainer.json in the repository: Docker Gitspace writes one naming the image.
    id: 'devcontainer-json',
    phases: ['fresh'],
    async run(ctx) {
      const v = await sh(
        ctx,
        `f="$HOME/$1/.devcontainer/devcontainer.json"
        [ -f "$f" ] || { echo "no $f"; exit 0; }
        st=$(git -C "$HOME/$1" status --porcelain -- .devcontainer/devcontainer.json | cut -c1-2)
        case "$st" in "") s="the repository's, unchanged" ;; "??") s="written by the gitspace" ;; *) s="the repository's, changed ($st)" ;; esac
        printf '%s\\n' "$s"; cat "$f"`,
        [ctx.repoName],
      );
      const [state, ...content] = v.split('\n');
      let json = content.join('\n');
      try {
        json = JSON.stringify(JSON.parse(json)); // the content, not its layout
      } catch {
        // not JSON: shown as it is
      }
      const image = `${ctx.values.image?.repository}:${ctx.values.image?.tag}`;
      return [
        obs(
          'devcontainer.json in $HOME/{repo}',
          ctx.devcontainerInRepo ? state : `${state}: ${json}`,
          ctx.devcontainerInRepo ? "the repository's, unchanged" : `written by the gitspace: ${JSON.stringify({ image })}`,
        ),
      ];
    },
  },
  {
    // containerEnv: Docker sets it on the container (every exec sees it) and appends export
    // lines to /etc/profile, so a login shell that starts from nothing (sshd's) sees it too.
    id: 'environment',
    phases: ['fresh', 'after-recreate'],
    async run(ctx, phase) {
      const env = ctx.values.devcontainer?.containerEnv ?? {};
      const label = PHASE_LABEL[phase];
      // Keys only the image label carries have rows of their own (check image-label).
      const labelOnly = ctx.labelOnly.containerEnv ?? {};
      const entries = Object.entries(env).filter(([k]) => !(k in labelOnly)).sort(([a], [b]) => a.localeCompare(b));
      if (!entries.length) return [];
      const result: Observation[] = [];
      // Docker Gitspace writes `export K=V` unquoted: a value with a quote makes /etc/profile a syntax error.
      const broken = entries.some(([, v]) => /['"]/.test(v));
      const loginErr = await ctx.gs.exec(['/bin/sh', '-c', 'env -i HOME="$HOME" PATH=/usr/bin:/bin bash -lc true 2>&1 >/dev/null'], { allowFail: true });
      const errText = loginErr.stdout.trim().split('\n').filter(Boolean).map((l) => l.replace(/^\/etc\/profile: line \d+: /, '/etc/profile: '));
      result.push(
        obs(`env: errors of a login shell (bash -l) reading /etc/profile (${label})`, errText.join('; ') || 'none', {
          docker: broken ? "/etc/profile: unexpected EOF while looking for matching `''" : 'none',
          kubernetes: 'none',
        }, DOCS.profile),
      );
      for (const [k, want] of entries) {
        const plain = await sh(ctx, 'printenv -- "$1" || echo "(unset)"', [k]);
        const login = await sh(ctx, 'env -i HOME="$HOME" PATH=/usr/bin:/bin bash -lc \'printenv -- "$1" || echo "(unset)"\' bash "$1" 2>/dev/null', [k]);
        result.push(
          obs(`env: containerEnv ${k} in exec (${label})`, plain, want),
          obs(`env: containerEnv ${k} in a login shell from an empty environment (${label})`, login, {
            docker: /['"]/.test(want) ? '(unset)' : want,
            kubernetes: want,
          }, DOCS.profile),
        );
      }
      return result;
    },
  },
  {
    // forwardPorts: a server the user starts answers where Docker publishes the port / through the Service.
    id: 'forwarded-port',
    phases: ['fresh'],
    async run(ctx) {
      const ports = (ctx.values.devcontainer?.forwardPorts ?? []).filter((p) => p !== ctx.ide.port);
      const result: Observation[] = [];
      for (const port of ports.slice(0, 1)) {
        const pid = await sh(ctx, LISTEN_SCRIPT, [String(port)]);
        try {
          let value: string;
          try {
            const fwd = await ctx.gs.forwardedPortAccess(port);
            try {
              value = await getText(fwd.host, fwd.port);
            } finally {
              await fwd.close();
            }
          } catch (err) {
            value = `not reachable: ${err instanceof Error ? err.message : String(err)}`;
          }
          result.push(obs(`forwardPorts: a server on ${port} in the gitspace answers from outside (Docker: published port; Kubernetes: the Service)`, value, `HTTP 200 forwarded ${ctx.expected.name}`));
        } finally {
          if (/^[0-9]+$/.test(pid)) await sh(ctx, 'kill "$1" 2>/dev/null; true', [pid]);
        }
      }
      return result;
    },
  },
  {
    // customizations.vscode.extensions: installed into code-server.
    id: 'extensions',
    phases: ['fresh', 'after-recreate'],
    async run(ctx, phase) {
      const wanted = ctx.values.devcontainer?.vscodeExtensions ?? [];
      if (ctx.ide.protocol !== 'http' || !wanted.length) return [];
      const ids = wanted.map((e) => (e.startsWith('/') ? (vsixIdFromPath(e) ?? e) : e.replace(/@.*/, '')).toLowerCase()).sort();
      const listed = new Set((await sh(ctx, 'code-server --list-extensions 2>/dev/null')).split('\n').map((l) => l.trim().toLowerCase()));
      return [
        obs(
          `extensions: code-server --list-extensions (${PHASE_LABEL[phase]})`,
          ids.map((id) => `${id} ${listed.has(id) ? 'listed' : 'missing'}`).join(', '),
          ids.map((id) => `${id} listed`).join(', '),
        ),
      ];
    },
  },
  {
    // Git identity from values: set when the user has none; the user's own edit is kept by a stop/start;
    // Docker Gitspace sets it again at a reset.
    id: 'git-identity',
    phases: ['fresh', 'after-restart', 'after-recreate'],
    async run(ctx, phase) {
      const name = ctx.values.git?.userName;
      const email = ctx.values.git?.userEmail;
      if (!name) return [];
      const get = (k: string) => sh(ctx, 'git config --global --get "$1" || echo "(unset)"', [k]);
      const label = PHASE_LABEL[phase];
      if (phase === 'fresh') {
        const result = [
          obs('git identity: user.name from values (fresh)', await get('user.name'), name),
          obs('git identity: user.email from values (fresh)', await get('user.email'), email ?? '(unset)'),
          obs(
            'git identity: safe.directory has $HOME/{repo} (fresh)',
            await sh(ctx, 'git config --global --get-all safe.directory | grep -qxF "$HOME/$1" && echo yes || echo no', [ctx.repoName]),
            'yes',
          ),
        ];
        // The user's own edit, before the stop/start.
        await sh(ctx, 'git config --global user.name "$1"', [OWN_GIT_NAME]);
        return result;
      }
      return [
        obs(
          `git identity: the user's own user.name (${label})`,
          await get('user.name'),
          // Docker's reset and `gitspace-chart reset` both write the identity from values again.
          phase === 'after-recreate' ? name : OWN_GIT_NAME,
        ),
        obs(`git identity: user.email from values kept (${label})`, await get('user.email'), email ?? '(unset)'),
      ];
    },
  },
  {
    id: 'persistence',
    phases: ['fresh', 'after-restart', 'after-recreate'],
    async run(ctx, phase) {
      if (phase === 'fresh') {
        await sh(ctx, PERSIST_WRITE, [TOKEN, ctx.secondRepoUrl]);
        return [];
      }
      const label = PHASE_LABEL[phase];
      const got = Object.fromEntries((await sh(ctx, PERSIST_READ, [TOKEN])).split('\n').map((l) => l.split('=') as [string, string]));
      // HOME is on the volume: kept by both. When Docker Gitspace's HOME is not (a raw user string), a reset loses it.
      const inHome = each((rt) => (phase === 'after-recreate' && ctx.place[rt].volumeAt !== ctx.place[rt].home ? 'lost' : 'kept'));
      const rows = Object.entries(PERSIST_ITEMS).map(([k, item]) => obs(`${item} (${label})`, got[k] ?? 'not read', inHome, DOCS.home));
      rows.push(
        obs(
          `persistence outside HOME: a /tmp file written by the user (${label})`,
          got.tmp ?? 'not read',
          // Docker keeps the container's writable layer over a stop/start; every pod is a new container.
          phase === 'after-restart' ? { docker: 'kept', kubernetes: 'lost' } : 'lost',
          DOCS.outsideHome,
        ),
      );
      return rows;
    },
  },
  {
    // Directories outside HOME the user writes (a GOPATH, an npm prefix) and what a stop/start keeps there.
    id: 'outside-home',
    phases: ['fresh', 'after-restart', 'after-recreate'],
    async run(ctx, phase) {
      const label = PHASE_LABEL[phase];
      const rows: Observation[] = [];
      // What `gitspace-chart values --image` listed in persistence.paths (the same values file on both runtimes).
      const persisted = new Set(ctx.values.persistence?.paths ?? []);
      if (phase === 'fresh' && ctx.probeWritable) {
        const found = (await sh(ctx, WRITABLE_PROBE)).split('\n').filter(Boolean).sort();
        rows.push(obs('outside HOME: directories the user can write (top-most, probe of the filesystem)', found.join(' ') || 'none', ctx.writablePaths.join(' ') || 'none'));
        rows.push(obs('outside HOME: directories the generator lists in persistence.paths', [...persisted].sort().join(' ') || 'none', ctx.writablePaths.join(' ') || 'none'));
      }
      for (const dir of ctx.writablePaths) {
        if (phase === 'fresh') {
          // Writable by the user: a new file there, as a tool's install would make.
          const w = await sh(ctx, 'f="$1/parity-outside-home-$(id -u)"; if printf "%s\\n" "$2" >"$f" 2>/dev/null; then echo "writable by the user, file group $(stat -c %G "$f")"; else echo "not writable by the user"; fi', [dir, TOKEN]);
          const group = await sh(ctx, 'stat -c %G "$1"', [dir]);
          rows.push(obs(`outside HOME: ${dir} writable by the user (${label})`, w, `writable by the user, file group ${group}`));
          continue;
        }
        const got = await sh(ctx, 'grep -qxF "$2" "$1/parity-outside-home-$(id -u)" 2>/dev/null && echo kept || echo lost', [dir, TOKEN]);
        // Docker keeps the container's writable layer over a stop/start and loses it at a reset; a
        // pod keeps only what is on the volume: the persisted paths, over a stop/start and a reset.
        const want: Record<RuntimeName, string> = persisted.has(dir)
          ? { docker: phase === 'after-restart' ? 'kept' : 'lost', kubernetes: 'kept' }
          : { docker: phase === 'after-restart' ? 'kept' : 'lost', kubernetes: 'lost' };
        const doc = persisted.has(dir) ? DOCS.persistReset : DOCS.outsideHome;
        rows.push(obs(`persistence outside HOME: a file written by the user in ${dir} (${label})`, got, want.docker === want.kubernetes ? want.docker : want, doc));
      }
      return rows;
    },
  },
  {
    // Lifecycle commands and containerEnv only the image's devcontainer.metadata label carries:
    // the chart runs and sets them (as the devcontainers CLI), Docker Gitspace reads the label for users only.
    id: 'image-label',
    phases: ['fresh', 'after-restart', 'after-recreate'],
    async run(ctx, phase) {
      const l = ctx.labelOnly;
      const label = PHASE_LABEL[phase];
      const n = (f: string) => sh(ctx, 'if [ -f "$HOME/$1" ]; then wc -l <"$HOME/$1"; else echo 0; fi', [f]);
      const rows: Observation[] = [];
      const starts = { fresh: 1, 'after-restart': 2, 'after-recreate': 3 }[phase];
      if (l.postCreateMarker) {
        const creates = phase === 'after-recreate' ? 2 : 1; // gitspace-chart reset runs it again
        rows.push(obs(`image label only: postCreateCommand runs (${label})`, `${await n(l.postCreateMarker)} time(s)`, { docker: '0 time(s)', kubernetes: `${creates} time(s)` }, DOCS.label));
      }
      if (l.postStartMarker) {
        rows.push(obs(`image label only: postStartCommand runs (${label})`, `${await n(l.postStartMarker)} time(s)`, { docker: '0 time(s)', kubernetes: `${starts} time(s)` }, DOCS.label));
      }
      if (phase === 'fresh') {
        for (const [k, want] of Object.entries(l.containerEnv ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
          rows.push(obs(`image label only: containerEnv ${k} in exec (${label})`, await sh(ctx, 'printenv -- "$1" || echo "(unset)"', [k]), { docker: '(unset)', kubernetes: want }, DOCS.label));
        }
      }
      return rows;
    },
  },
  {
    // devcontainer features, built FROM the image (Docker Gitspace's build; the pod pulls the
    // result from the cluster's registry): what the user finds of each, as the user.
    id: 'features',
    phases: ['fresh', 'after-recreate'],
    async run(ctx, phase) {
      const f = ctx.features;
      if (!f) return [];
      const label = PHASE_LABEL[phase];
      const rows: Observation[] = [];
      for (const [tool, want] of Object.entries(f.tools)) {
        rows.push(obs(`features: ${tool} on the user's PATH (${label})`, await sh(ctx, 'command -v -- "$1" || echo "(not found)"', [tool]), want.path));
        rows.push(obs(`features: ${tool} run by the user, its options applied (${label})`, await sh(ctx, '"$1" 2>&1 || echo "(exit $?)"', [tool]), want.output));
      }
      for (const [k, want] of Object.entries(f.containerEnv).sort(([a], [b]) => a.localeCompare(b))) {
        rows.push(obs(`features: containerEnv ${k} in exec (${label})`, await sh(ctx, 'printenv -- "$1" || echo "(unset)"', [k]), want));
      }
      if (phase !== 'fresh') return rows;
      rows.push(obs('features: install order (each install.sh appended its id)', await sh(ctx, "tr '\\n' ' ' < /usr/local/share/gitspace-features-test/order | sed 's/ $//'"), f.order));
      for (const [file, want] of Object.entries(f.files)) {
        rows.push(obs(`features: ${file} (written at install)`, await sh(ctx, 'cat -- "$1" 2>/dev/null || echo "(missing)"', [file]), want));
      }
      rows.push(obs('features: user and HOME of an exec', await sh(ctx, 'echo "$(id -un) $HOME"'), `${ctx.expected.name} ${ctx.expected.home}`));
      rows.push(obs("features: the user's postCreateCommand found the features' tools", await sh(ctx, 'if [ -f "$HOME/$1" ]; then tr "\\n" " " < "$HOME/$1" | sed "s/ $//"; else echo "(missing)"; fi', [FEATURES_POST_CREATE_FILE]), f.postCreate));
      const fp = f.featurePostCreate;
      rows.push(obs(`features: a feature's own postCreateCommand ran (~/${fp.file})`, await sh(ctx, 'cat -- "$HOME/$1" 2>/dev/null || echo "(missing)"', [fp.file]), fp.content));
      return rows;
    },
  },
  {
    id: 'platform',
    phases: ['fresh'],
    async run(ctx) {
      const sudo = await ctx.gs.exec(['/bin/sh', '-c', 'sudo -n true'], { allowFail: true });
      const sudoText = sudo.exitCode === 0 ? 'allowed without a password' : sudo.exitCode === 127 ? 'no sudo in the image' : 'refused';
      const sudoWords = sudo.exitCode === 0 || sudo.exitCode === 127 ? undefined : sudo.stderr.trim().split('\n').filter((l) => !/^command terminated/.test(l)).at(-1);
      const host = await sh(ctx, 'getent hosts host.docker.internal >/dev/null && echo resolves || echo "does not resolve"');
      const result = [
        // An image with passwordless sudo: Docker Gitspace lets it work; the chart only with security.sudo
        // (standard mode), else the container forbids privilege escalation.
        obs(
          'sudo -n true',
          sudoText,
          !ctx.imageSudo ? 'no sudo in the image' : ctx.values.security?.sudo ? 'allowed without a password' : { docker: 'allowed without a password', kubernetes: 'refused' },
          DOCS.sudo,
          sudoWords,
        ),
        obs('host.docker.internal in the gitspace', host, { docker: 'resolves', kubernetes: 'does not resolve' }, DOCS.hostDockerInternal),
      ];
      if (ctx.imageEntrypoint.length) {
        // gitspace-chart/test-entrypoint's ENTRYPOINT leaves this mark (images/entrypoint). Docker Gitspace
        // replaces an image's ENTRYPOINT with its own command; so does the chart (every container has a command).
        const ran = await sh(ctx, 'test -e /var/tmp/gitspace-test-entrypoint.ran && echo ran || echo "did not run"');
        result.push(obs(`image ENTRYPOINT (${ctx.imageEntrypoint.join(' ')})`, ran, 'did not run'));
      }
      return result;
    },
  },
];
