// The user model on both runtimes: for each resolved user (the values `gitspace-chart values`
// writes), the chart's Deployment and `gitspace-chart docker-spec` must agree field by field,
// and both must match what Docker Gitspace does (expected values written by hand below).
import { describe, expect, it } from 'vitest';
import { dockerSpec, envOf, find, homeMounts, mainContainer, render, tempDir, valuesFile } from './helm.ts';

type Case = {
  name: string;
  values: Record<string, unknown>;
  // What Docker Gitspace gives for this user (docs/reference: volume and cwd at HOME).
  expect: { remoteUser: string; uid: number; gid: number; home: string; repoPath: string | null; idePort: number };
};

const repo = { url: 'https://git.example.com/acme/app.git' };

const cases: Case[] = [
  {
    name: 'default vscode',
    values: { repo },
    expect: { remoteUser: 'vscode', uid: 1000, gid: 1000, home: '/home/vscode', repoPath: '/home/vscode/app', idePort: 8089 },
  },
  {
    // devcontainer.json "remoteUser": "1000" in a node image: resolved by uid to node.
    name: 'remoteUser given by uid (1000 -> node)',
    values: { repo, user: { containerUser: 'node', remoteUser: 'node', uid: 1000, gid: 1000 } },
    expect: { remoteUser: 'node', uid: 1000, gid: 1000, home: '/home/node', repoPath: '/home/node/app', idePort: 8089 },
  },
  {
    // "vscode:staff": the name and a group other than the user's own.
    name: 'name:group (vscode:staff)',
    values: { repo, user: { containerUser: 'vscode', remoteUser: 'vscode', uid: 1000, gid: 50 } },
    expect: { remoteUser: 'vscode', uid: 1000, gid: 50, home: '/home/vscode', repoPath: '/home/vscode/app', idePort: 8089 },
  },
  {
    // "1001:1002": both numeric, resolved against the image passwd to dev.
    name: 'uid:gid (1001:1002 -> dev)',
    values: { repo, user: { containerUser: 'dev', remoteUser: 'dev', uid: 1001, gid: 1002 } },
    expect: { remoteUser: 'dev', uid: 1001, gid: 1002, home: '/home/dev', repoPath: '/home/dev/app', idePort: 8089 },
  },
  {
    name: 'root -> /root',
    values: { repo, user: { containerUser: 'root', remoteUser: 'root', uid: 0, gid: 0 } },
    expect: { remoteUser: 'root', uid: 0, gid: 0, home: '/root', repoPath: '/root/app', idePort: 8089 },
  },
  {
    name: 'custom user uid 1001',
    values: { repo, user: { containerUser: 'alice', remoteUser: 'alice', uid: 1001, gid: 1001 } },
    expect: { remoteUser: 'alice', uid: 1001, gid: 1001, home: '/home/alice', repoPath: '/home/alice/app', idePort: 8089 },
  },
  {
    // Docker runs the container as root and the IDE/terminals/clone as vscode; HOME is vscode's.
    name: 'containerUser root + remoteUser vscode',
    values: { repo, user: { containerUser: 'root', remoteUser: 'vscode', uid: 1000, gid: 1000 } },
    expect: { remoteUser: 'vscode', uid: 1000, gid: 1000, home: '/home/vscode', repoPath: '/home/vscode/app', idePort: 8089 },
  },
  {
    name: 'explicit user.home, repo.name, SSH IDE with its default port',
    values: {
      repo: { ...repo, name: 'code' },
      user: { remoteUser: 'dev', uid: 1001, gid: 1001, home: '/workspace/dev' },
      ide: { type: 'goland' },
      ssh: { authorizedKeysSecret: 'keys' },
    },
    expect: { remoteUser: 'dev', uid: 1001, gid: 1001, home: '/workspace/dev', repoPath: '/workspace/dev/code', idePort: 8091 },
  },
  {
    name: 'no repository, ide.port set, forwardPorts and containerEnv',
    values: { ide: { port: 9000 }, devcontainer: { forwardPorts: [3000, 9000], containerEnv: { NODE_ENV: 'development' } } },
    expect: { remoteUser: 'vscode', uid: 1000, gid: 1000, home: '/home/vscode', repoPath: null, idePort: 9000 },
  },
];

describe.each(cases)('user model: $name', (c) => {
  const dir = tempDir('gitspace-user-model-');
  const file = valuesFile(dir, 'values.yaml', c.values);

  it('Kubernetes renders what Docker Gitspace does for this user', async () => {
    const ms = await render([file]);
    const main = mainContainer(ms);
    const env = envOf(main);
    const pod = find(ms, 'Deployment').spec.template.spec;
    expect(homeMounts(main)[0]).toBe(c.expect.home);
    expect(main.workingDir).toBe(c.expect.home);
    expect(main.securityContext.runAsUser).toBe(c.expect.uid);
    expect(main.securityContext.runAsGroup).toBe(c.expect.gid);
    expect(pod.securityContext.fsGroup).toBe(c.expect.gid);
    expect(env.HOME).toBe(c.expect.home);
    expect(env.USER).toBe(c.expect.remoteUser);
    expect(env.GITSPACE_USER).toBe(c.expect.remoteUser);
    expect(env.GITSPACE_REPO_PATH || null).toBe(c.expect.repoPath);
    expect(main.ports[0]).toEqual({ name: 'ide', containerPort: c.expect.idePort, protocol: 'TCP' });
    // The clone step (start.sh, in the gitspace container) writes into the same place the IDE opens.
    expect(pod.initContainers.map((x: any) => x.name)).toEqual(['prepare']);
    expect(env.GITSPACE_CLONE_AT_START).toBe('true');
    expect(env.GITSPACE_CLONE_HOME).toBe(c.expect.home);
  });

  it('equals gitspace-chart docker-spec field by field', async () => {
    const [ms, docker] = await Promise.all([render([file]), dockerSpec([file])]);
    const main = mainContainer(ms);
    const env = envOf(main);
    const svc = find(ms, 'Service');
    expect(docker.home).toBe(c.expect.home);
    expect({
      target: homeMounts(main)[0],
      workingDir: main.workingDir,
      uid: main.securityContext.runAsUser,
      gid: main.securityContext.runAsGroup,
      home: env.HOME,
      remoteUser: env.GITSPACE_USER,
      repoPath: env.GITSPACE_REPO_PATH || null,
      idePort: main.ports[0].containerPort,
      ports: svc.spec.ports.map((p: any) => p.port),
    }).toEqual({
      target: docker.volume.target,
      workingDir: docker.workingDir,
      uid: docker.uid,
      gid: docker.gid,
      home: docker.home,
      remoteUser: docker.remoteUser,
      repoPath: docker.repoPath,
      idePort: docker.ports[0].container,
      ports: docker.ports.map((p: any) => p.container),
    });
    // Docker's environment (HOME, USER, containerEnv) is the container's on Kubernetes too.
    for (const [k, v] of Object.entries(docker.env as Record<string, string>)) expect(env[k], k).toBe(v);
  });
});

describe('layout legacy (the old runtime; Docker has no equivalent)', () => {
  it('mounts the volume at /workspaces only and starts there, with the repo at /workspaces/{repo}', async () => {
    const dir = tempDir('gitspace-legacy-');
    const ms = await render([valuesFile(dir, 'v.yaml', { repo, compat: { layout: 'legacy' } })]);
    const main = mainContainer(ms);
    expect(homeMounts(main)).toEqual(['/workspaces']);
    expect(main.workingDir).toBe('/workspaces');
    expect(envOf(main).GITSPACE_REPO_PATH).toBe('/workspaces/app');
  });

  it('layout home also mounts the same volume at /workspaces, so /workspaces/{repo} is $HOME/{repo}', async () => {
    const dir = tempDir('gitspace-home-');
    const ms = await render([valuesFile(dir, 'v.yaml', { repo })]);
    expect(homeMounts(mainContainer(ms))).toEqual(['/home/vscode', '/workspaces']);
  });
});
