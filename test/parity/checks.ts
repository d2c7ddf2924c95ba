// The parity checks, each written once against the Runtime interface (csi-sanity
// style): a check observes one thing a user of the gitspace would see and
// returns it as a string; the suite puts the Docker and Kubernetes strings side
// by side. Where the right answer is known (HOME, the user's id, "kept"), the
// check also states it, so two runtimes that are wrong the same way still fail.
import { randomBytes } from 'node:crypto';
import type { Gitspace as Values } from '../../generator/src/values.gen.ts';
import path from 'node:path';
import { run, type RunResult } from './exec.ts';
import type { GitCredentials, GitServer } from './gitserver.ts';
import { httpGet, sshBanner, sshRun } from './ide.ts';
import type { Capabilities, Gitspace } from './runtime.ts';
import { vsixIdFromPath } from './vsix.ts';

/** What a case's user must look like, written by hand in cases.ts (not derived by the generator). */
export interface ExpectedUser {
  name: string;
  uid: number;
  gid: number;
  group: string;
  home: string;
}

export interface CheckContext {
  gs: Gitspace;
  capabilities: Capabilities;
  values: Values;
  expected: ExpectedUser;
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
  /** Whether the case's devcontainer.json has lifecycle hooks (see cases.ts). */
  hooks: boolean;
  /** The hook files the chart renders for the case, "<hook>/<NN-name>" -> command (chart.ts). */
  hookFiles: Record<string, string>;
  /** A postStartCommand entry that fails on purpose (see cases.ts). */
  failingHook?: { label: string; code: number };
  /** Whether the case's repository has .devcontainer/devcontainer.json. */
  devcontainerInRepo: boolean;
}

export interface Observation {
  check: string;
  value: string;
  /** What a user must see; a value that differs fails even when both runtimes agree. */
  expected?: string;
  /** Differences are reported, not failed (with the reason in `note`). */
  informational?: boolean;
  note?: string;
}

export type Phase = 'fresh' | 'after-restart' | 'after-recreate';

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

/**
 * git fetch and git push from a login shell in the gitspace, with the gitspace's own credentials
 * (Docker Gitspace: its 30-day credential cache; the chart: repo.credentials.inGitspace). The push
 * goes to a branch of its own, so the other runtime's clone of the same repository is untouched.
 */
async function gitFetchPush(ctx: CheckContext): Promise<Observation[]> {
  const branch = `parity-push-${randomBytes(4).toString('hex')}`;
  const script = `cd "$HOME/$1" || exit 9
export GIT_TERMINAL_PROMPT=0
if git fetch -q origin 2>/dev/null; then echo "fetch: ok"; else echo "fetch: refused"; fi
git -c user.name=parity -c user.email=parity@parity.invalid commit -q --allow-empty -m "parity push" >/dev/null 2>&1
if git push -q origin "HEAD:refs/heads/$2" 2>/dev/null; then echo "push: ok"; else echo "push: refused"; fi`;
  const r = await ctx.gs.exec(['/bin/bash', '-lc', script, 'bash', ctx.repoName, branch], { allowFail: true });
  const line = (what: string) => r.stdout.split('\n').find((l) => l.startsWith(`${what}: `))?.slice(what.length + 2) ?? `no answer (exit ${r.exitCode}: ${r.stderr.trim().split('\n').at(-1) ?? ''})`;
  // The server's own repository says whether the push landed.
  const gitDir = path.join(ctx.gitServer.root, `${ctx.repoName}.git`);
  const pushed = (await run('git', ['--git-dir', gitDir, 'rev-parse', '--verify', '-q', `refs/heads/${branch}`], { allowFail: true })).exitCode === 0;
  return [
    { check: 'git fetch from a login shell in the gitspace, with its own credentials', value: line('fetch'), expected: 'ok' },
    {
      check: 'git push from a login shell in the gitspace, with its own credentials',
      value: line('push') === 'ok' && !pushed ? 'ok, but the branch is not on the server' : line('push'),
      expected: 'ok',
    },
  ];
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
r second-repo 'git -C "$HOME/parity-second" rev-parse HEAD && grep -qxF "$t" "$HOME/parity-second/uncommitted.txt"'`;

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

export const CHECKS: Check[] = [
  {
    id: 'mount',
    phases: ['fresh'],
    async run(ctx) {
      const mounts = await ctx.gs.describeMounts();
      const home = ctx.expected.home;
      const atHome = mounts.filter((m) => m.destination === home);
      const others = mounts.filter((m) => m.destination !== home).map((m) => m.destination).sort();
      const info = await sh(ctx, 'awk -v h="$1" \'$5 == h { split($6, o, ","); print $5, o[1] }\' /proc/self/mountinfo', [home]);
      return [
        {
          check: 'mount: volume at (platform: docker inspect / pod spec)',
          value: atHome.length ? atHome.map((m) => `${m.destination} (${m.readOnly ? 'ro' : 'rw'})`).join(', ') : `not at ${home}: ${mounts.map((m) => m.destination).join(', ') || 'no volume mount'}`,
          expected: `${home} (rw)`,
        },
        {
          check: 'mount: HOME in /proc/self/mountinfo',
          value: info || `${home} is not a mount point`,
          expected: `${home} rw`,
        },
        {
          check: 'mount: other mount points of the volume',
          value: others.join(', ') || 'none',
          informational: true,
          note: 'Kubernetes also mounts the volume at /workspaces (compat.workspacesMount); Docker Gitspace has no /workspaces',
        },
      ];
    },
  },
  {
    id: 'workdir',
    phases: ['fresh'],
    async run(ctx) {
      const pid = await idePid(ctx);
      return [
        { check: 'workdir: pwd of an exec shell', value: await sh(ctx, 'pwd'), expected: ctx.expected.home },
        { check: 'workdir: IDE process cwd (/proc/<pid>/cwd)', value: await sh(ctx, 'readlink "/proc/$1/cwd"', [pid]) },
      ];
    },
  },
  {
    id: 'user',
    phases: ['fresh'],
    async run(ctx) {
      const id = await sh(ctx, 'id');
      const pid = await idePid(ctx);
      const u = ctx.values.user;
      const same = (u?.containerUser ?? 'root') === (u?.remoteUser ?? 'root');
      return [
        {
          check: 'user: id (uid, gid, groups, name)',
          value: id,
          expected: id.startsWith(`${idPrefix(ctx.expected)} `) || id === idPrefix(ctx.expected) ? id : `${idPrefix(ctx.expected)} groups=…`,
        },
        { check: 'user: HOME env', value: await sh(ctx, 'printf %s "$HOME"'), expected: ctx.expected.home },
        { check: 'user: whoami', value: await sh(ctx, 'whoami 2>&1 || id -un'), expected: ctx.expected.name },
        { check: 'user: IDE process', value: await sh(ctx, PROC_USER_SCRIPT, [pid]), expected: idPrefix(ctx.expected) },
        {
          check: 'user: main process (PID 1)',
          value: await sh(ctx, PROC_USER_SCRIPT, ['1']),
          // Docker runs PID 1 as containerUser, the pod as remoteUser: equal only when they are.
          informational: !same,
          note: same ? undefined : `containerUser ${u?.containerUser} ≠ remoteUser ${u?.remoteUser}: Docker's PID 1 runs as containerUser, the pod's as remoteUser`,
        },
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
      const names = listing
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/).at(-1) ?? '')
        .filter((n) => n && n !== '.' && n !== '..')
        .sort();
      return [
        {
          check: 'code: ls -la $HOME shows {repo}/ with .git',
          value: `${entry}, ${git}`,
          expected: `dir ${repo}/ owner ${ctx.expected.name}:${ctx.expected.group}, .git present`,
        },
        { check: 'code: $HOME/{repo} HEAD', value: head, expected: ctx.repoHead },
        {
          check: 'code: HOME entries',
          value: names.join(' '),
          informational: true,
          note: 'what the IDE and the platform add to HOME may differ (e.g. lost+found of a fresh filesystem)',
        },
        {
          check: 'code: HOME mode',
          value: await sh(ctx, 'stat -c %A "$HOME"'),
          informational: true,
          note: "fsGroup makes the volume root group-writable with setgid on Kubernetes (docs/seed-deviations.md #10)",
        },
      ];
    },
  },
  {
    id: 'seed',
    phases: ['fresh'],
    async run(ctx) {
      const files = ctx.imageHomeFiles;
      if (!files.length) return [{ check: 'seed: image HOME content on the new volume', value: 'the image has no files under HOME', expected: 'the image has no files under HOME' }];
      const missing = (await sh(ctx, 'for f in "$@"; do [ -e "$HOME/$f" ] || echo "$f"; done', files)).split('\n').filter(Boolean);
      const notMine = await sh(ctx, 'cd "$HOME" && for f in "$@"; do [ ! -e "$f" ] || [ -O "$f" ] || echo "$f"; done', files);
      return [
        {
          check: 'seed: image HOME content on the new volume',
          value: missing.length ? `missing ${missing.length} of ${files.length}: ${missing.slice(0, 5).join(', ')}` : `all ${files.length} image files present`,
          expected: `all ${files.length} image files present`,
        },
        {
          check: 'seed: seeded files owned by the user',
          value: notMine ? `not owned: ${notMine.split('\n').slice(0, 5).join(', ')}` : 'all',
          expected: 'all',
        },
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
      const want = ctx.capabilities.workspacesPath ? `same directory as $HOME/${ctx.repoName}` : `/workspaces/${ctx.repoName} does not exist`;
      return [
        {
          check: 'compat: /workspaces/{repo}',
          value: v,
          expected: want,
          informational: true,
          note: 'a Kubernetes-only capability (old runtime paths keep working); Docker Gitspace has no /workspaces',
        },
      ];
    },
  },
  {
    id: 'ide',
    phases: ['fresh', 'after-restart', 'after-recreate'],
    async run(ctx, phase) {
      const fwd = await ctx.gs.portAccess(ctx.ide.port);
      try {
        if (ctx.ide.protocol === 'http') {
          const a = await httpGet(fwd.host, fwd.port, `/?folder=${encodeURIComponent(`${ctx.expected.home}/${ctx.repoName}`)}`);
          // Docker Gitspace runs code-server with --disable-workspace-trust: the repository opens with no trust prompt.
          const cmdline = await sh(ctx, 'tr "\\0" " " <"/proc/$1/cmdline"', [await idePid(ctx)]);
          return [
            { check: `ide: code-server workbench over HTTP (${phase})`, value: `HTTP ${a.status}${a.workbench ? ', workbench page' : ', not the workbench'}`, expected: 'HTTP 200, workbench page' },
            {
              check: `ide: workspace trust of code-server (${phase})`,
              value: / --disable-workspace-trust( |$)/.test(cmdline) ? 'disabled: no trust prompt' : 'enabled: the trust prompt shows',
              expected: 'disabled: no trust prompt',
            },
          ];
        }
        const banner = (await sshBanner(fwd.host, fwd.port)).replace(/^(SSH-2\.0-OpenSSH)_.*/, '$1');
        const r = await sshRun(fwd.host, fwd.port, ctx.expected.name, ctx.ide.sshKeyFile ?? '', ['echo "$(id -un) $(pwd)"']);
        const login = r.exitCode === 0 ? `key login: ${r.stdout.trim()}` : `key login failed: ${r.stderr.trim().split('\n').at(-1)}`;
        return [{ check: `ide: SSH (${phase})`, value: `${banner}; ${login}`, expected: `SSH-2.0-OpenSSH; key login: ${ctx.expected.name} ${ctx.expected.home}` }];
      } finally {
        await fwd.close();
      }
    },
  },
  {
    id: 'credentials',
    phases: ['fresh'],
    async run(ctx) {
      // The password goes in on stdin; grep reads the whole HOME (repo .git/config included).
      // Status 1 (no match) is the answer wanted; anything else (2: grep could not read) fails the check.
      const files = await sh(ctx, 'pw=$(cat); rc=0; grep -rlsF -e "$pw" "$HOME" || rc=$?; [ "$rc" -le 1 ]', [], ctx.git.password);
      // This gitspace's own requests (the other runtime may clone the same repo at the same time).
      const from = await ctx.gs.clientAddress();
      const auth = ctx.gitServer.requests
        .slice(ctx.requestsFrom)
        .filter((r) => r.repo === `${ctx.repoName}.git` && r.status === 200 && r.from === from);
      return [
        { check: 'git: credentials in files under HOME', value: files ? `found in ${files.split('\n').join(', ')}` : 'none', expected: 'none' },
        {
          check: 'git: private repo cloned with basic auth',
          value: auth.length ? `yes, as ${[...new Set(auth.map((r) => r.user || '(anonymous)'))].join(', ')}` : 'no successful request',
          expected: `yes, as ${ctx.git.username}`,
        },
        ...(await gitFetchPush(ctx)),
      ];
    },
  },
  {
    id: 'lifecycle',
    phases: ['fresh', 'after-restart', 'after-recreate'],
    async run(ctx, phase) {
      if (!ctx.hooks) return [];
      const n = (f: string) => sh(ctx, 'if [ -f "$HOME/$1" ]; then wc -l <"$HOME/$1"; else echo 0; fi', [f]);
      // postCreate once per volume (marker on the volume, docs/architecture.md), postStart every start.
      const starts = { fresh: 1, 'after-restart': 2, 'after-recreate': 3 }[phase];
      // The hook log on the volume (what `kubectl logs` / the start log also show): one "done" per run.
      const logged = await sh(
        ctx,
        'f="$HOME/.gitspace/logs/lifecycle.log"; [ -f "$f" ] || { echo "no $f"; exit 0; }; printf "postCreate %s, postStart %s" "$(grep -c "hook postCreateCommand/.*: done" "$f")" "$(grep -c "hook postStartCommand/.*: done" "$f")"',
      );
      // A failing hook: logged with its exit code, the gitspace keeps running (the ide check answers).
      const failed = await sh(
        ctx,
        'sed -n "s/.*\\[gitspace\\] hook \\([^ ]*\\): FAILED with exit code \\([0-9]*\\).*/\\1: exit code \\2/p" "$HOME/.gitspace/logs/lifecycle.log" 2>/dev/null | sort | uniq -c',
      );
      const failedText = failed
        ? failed.split('\n').map((l) => { const m = /^\s*(\d+)\s+(.*)$/.exec(l); return m ? `${m[2]} ×${m[1]}` : l; }).join(', ')
        : 'none';
      const fh = ctx.failingHook;
      // This start's postStartCommand outcomes in the platform's log (kubectl logs / the start output).
      const postStartFiles = Object.keys(ctx.hookFiles).filter((f) => f.startsWith('postStartCommand/')).sort();
      const wantLog = postStartFiles.map((f) => `${f}: ${fh && f === fh.label ? `FAILED with exit code ${fh.code}` : 'done'}`).join(', ');
      let inLog = '';
      for (let i = 0; i < 20; i++) {
        const text = await ctx.gs.startLog();
        const seen = new Set<string>();
        for (const m of text.matchAll(/\[gitspace\] hook (postStartCommand\/\S+): (done|FAILED with exit code \d+)/g)) seen.add(`${m[1]}: ${m[2]}`);
        inLog = [...seen].sort().join(', ') || 'no hook lines';
        if (inLog === wantLog) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      return [
        { check: `lifecycle: postStartCommand outcome in the platform log (kubectl logs / start output) (${phase})`, value: inLog, expected: wantLog },
        { check: `lifecycle: failed hooks in the log, with exit code (${phase})`, value: failedText, expected: fh ? `${fh.label}: exit code ${fh.code} ×${starts}` : 'none' },
        { check: `lifecycle: postCreateCommand runs (${phase})`, value: `${await n('.parity-post-create')} time(s)`, expected: '1 time(s)' },
        { check: `lifecycle: postStartCommand runs (${phase})`, value: `${await n('.parity-post-start')} time(s)`, expected: `${starts} time(s)` },
        { check: `lifecycle: hooks logged done in ~/.gitspace/logs/lifecycle.log (${phase})`, value: logged, expected: `postCreate 1, postStart ${starts}` },
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
        printf '%s: %s\n' "$s" "$(tr -d '\n' <"$f")"`,
        [ctx.repoName],
      );
      const image = `${ctx.values.image?.repository}:${ctx.values.image?.tag}`;
      return [
        {
          check: 'devcontainer.json in $HOME/{repo}',
          value: ctx.devcontainerInRepo ? v.replace(/:.*/, '') : v,
          expected: ctx.devcontainerInRepo ? "the repository's, unchanged" : `written by the gitspace: {"image": "${image}"}`,
        },
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
      const obs: Observation[] = [];
      for (const [k, want] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
        const plain = await sh(ctx, 'printenv -- "$1" || echo "(unset)"', [k]);
        const login = await sh(ctx, 'env -i HOME="$HOME" PATH=/usr/bin:/bin bash -lc \'printenv -- "$1" || echo "(unset)"\' bash "$1"', [k]);
        obs.push(
          { check: `env: containerEnv ${k} in exec (${phase})`, value: plain, expected: want },
          { check: `env: containerEnv ${k} in a login shell from an empty environment (${phase})`, value: login, expected: want },
        );
      }
      return obs;
    },
  },
  {
    // forwardPorts: a server the user starts answers where Docker publishes the port / through the Service.
    id: 'forwarded-port',
    phases: ['fresh'],
    async run(ctx) {
      const ports = (ctx.values.devcontainer?.forwardPorts ?? []).filter((p) => p !== ctx.ide.port);
      const obs: Observation[] = [];
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
          obs.push({
            check: `forwardPorts: a server on ${port} in the gitspace answers from outside (Docker: published port; Kubernetes: the Service)`,
            value,
            expected: `HTTP 200 forwarded ${ctx.expected.name}`,
          });
        } finally {
          if (/^[0-9]+$/.test(pid)) await sh(ctx, 'kill "$1" 2>/dev/null; true', [pid]);
        }
      }
      return obs;
    },
  },
  {
    // customizations.vscode.extensions: installed into code-server (on the volume: kept by a re-create).
    id: 'extensions',
    phases: ['fresh', 'after-recreate'],
    async run(ctx, phase) {
      const wanted = ctx.values.devcontainer?.vscodeExtensions ?? [];
      if (ctx.ide.protocol !== 'http' || !wanted.length) return [];
      const ids = wanted.map((e) => (e.startsWith('/') ? (vsixIdFromPath(e) ?? e) : e.replace(/@.*/, '')).toLowerCase()).sort();
      const listed = new Set((await sh(ctx, 'code-server --list-extensions 2>/dev/null')).split('\n').map((l) => l.trim().toLowerCase()));
      return [
        {
          check: `extensions: code-server --list-extensions (${phase})`,
          value: ids.map((id) => `${id} ${listed.has(id) ? 'listed' : 'missing'}`).join(', '),
          expected: ids.map((id) => `${id} listed`).join(', '),
        },
      ];
    },
  },
  {
    // Git identity from values: set when the user has none; the user's own edit wins after a restart.
    id: 'git-identity',
    phases: ['fresh', 'after-restart', 'after-recreate'],
    async run(ctx, phase) {
      const name = ctx.values.git?.userName;
      const email = ctx.values.git?.userEmail;
      if (!name) return [];
      const get = (k: string) => sh(ctx, 'git config --global --get "$1" || echo "(unset)"', [k]);
      const obs: Observation[] = [];
      if (phase === 'fresh') {
        obs.push(
          { check: 'git identity: user.name from values (fresh)', value: await get('user.name'), expected: name },
          { check: 'git identity: user.email from values (fresh)', value: await get('user.email'), expected: email ?? '(unset)' },
          {
            check: 'git identity: safe.directory has $HOME/{repo} (fresh)',
            value: (await sh(ctx, 'git config --global --get-all safe.directory | grep -qxF "$HOME/$1" && echo yes || echo no', [ctx.repoName])),
            expected: 'yes',
          },
        );
        // The user's own edit, before the restart.
        await sh(ctx, 'git config --global user.name "$1"', [OWN_GIT_NAME]);
        return obs;
      }
      const how = phase === 'after-restart' ? ctx.capabilities.restart : ctx.capabilities.recreate;
      return [
        { check: `git identity: the user's own user.name kept (${phase})`, value: await get('user.name'), expected: OWN_GIT_NAME, note: `restart = ${how}` },
        { check: `git identity: user.email from values kept (${phase})`, value: await get('user.email'), expected: email ?? '(unset)' },
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
      const how = phase === 'after-restart' ? ctx.capabilities.restart : ctx.capabilities.recreate;
      const got = Object.fromEntries((await sh(ctx, PERSIST_READ, [TOKEN])).split('\n').map((l) => l.split('=') as [string, string]));
      return Object.entries(PERSIST_ITEMS).map(([k, label]) => ({
        check: `${label} (${phase})`,
        value: got[k] ?? 'not read',
        expected: 'kept',
        note: `restart = ${how}`,
      }));
    },
  },
];
