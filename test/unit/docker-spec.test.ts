// The Docker side of a gitspace: the container Docker Gitspace would create
// for the same values (names, mount, user, env, ports, labels).
import { describe, expect, it } from 'vitest';
import { dockerSpec } from '../../generator/src/docker-spec.ts';
import { resolveValues } from '../../generator/src/values-files.ts';

/** Values as docker-spec gets them: the defaults with `over` merged, validated by the schema. */
const values = (over: Record<string, unknown> = {}) => resolveValues([over]);

describe('dockerSpec', () => {
  it('the full shape for a typical gitspace', () => {
    const spec = dockerSpec(
      values({
        gitspace: { id: 'app-dev', spacePath: 'acme/team', userId: 'u42' },
        image: { repository: 'gitspace-chart/gitspace', tag: '0.1.0' },
        repo: { url: 'https://git.example.com/acme/app.git' },
        user: { containerUser: 'root', remoteUser: 'vscode', uid: 1000, gid: 1000 },
        ide: { type: 'vs_code_web' },
        devcontainer: { containerEnv: { NODE_ENV: 'development' }, forwardPorts: [3000], postCreateCommand: 'npm ci', postStartCommand: ['npm', 'start'] },
      }),
    );
    expect(spec).toEqual({
      name: 'gitspace-u42-app-dev',
      image: 'gitspace-chart/gitspace:0.1.0',
      user: 'root',
      remoteUser: 'vscode',
      uid: 1000,
      gid: 1000,
      home: '/home/vscode',
      workingDir: '/home/vscode',
      volume: { name: 'gitspace-acme-team-app-dev', target: '/home/vscode' },
      repoPath: '/home/vscode/app',
      env: { HOME: '/home/vscode', USER: 'vscode', NODE_ENV: 'development' },
      ports: [
        { container: 8089, host: 8089 },
        { container: 3000, host: 3000 },
      ],
      command: ['/bin/sh', '-c', "trap 'exit 0' 15; sleep infinity & wait $!"],
      labels: {
        'gitspace.remote.user': 'vscode',
        'gitspace.lifecycle.hooks': '{"postCreateCommand":"npm ci","postStartCommand":["npm","start"]}',
      },
    });
  });

  it('defaults: id from the release, userId "user", volume gitspace-{id}, no repo', () => {
    const spec = dockerSpec(values(), 'my-gs');
    expect(spec.name).toBe('gitspace-user-my-gs');
    expect(spec.volume).toEqual({ name: 'gitspace-my-gs', target: '/home/vscode' });
    expect(spec.repoPath).toBeNull();
    expect(spec.user).toBe('vscode');
    expect(spec.ports).toEqual([{ container: 8089, host: 8089 }]);
  });

  it('root: HOME /root, mounted there', () => {
    const spec = dockerSpec(values({ user: { containerUser: 'root', remoteUser: 'root', uid: 0, gid: 0 }, repo: { url: 'git@h:acme/x.git' } }), 'r');
    expect([spec.home, spec.workingDir, spec.volume.target, spec.repoPath, spec.env.HOME]).toEqual(['/root', '/root', '/root', '/root/x', '/root']);
  });

  it('user.home, repo.name and ide.port override the derived ones', () => {
    const spec = dockerSpec(values({ user: { home: '/work/me' }, repo: { url: 'https://h/a/b.git', name: 'src' }, ide: { type: 'intellij', port: 9000 } }), 'r');
    expect([spec.home, spec.repoPath, spec.ports[0]]).toEqual(['/work/me', '/work/me/src', { container: 9000, host: 9000 }]);
  });

  it('the IDE default port follows ide.type', () => {
    expect(dockerSpec(values({ ide: { type: 'vs_code' } }), 'r').ports[0].container).toBe(8088);
    expect(dockerSpec(values({ ide: { type: 'windsurf' } }), 'r').ports[0].container).toBe(8099);
  });

  it('a forwarded port equal to the IDE port is published once', () => {
    expect(dockerSpec(values({ devcontainer: { forwardPorts: [8089, 5000] } }), 'r').ports).toEqual([
      { container: 8089, host: 8089 },
      { container: 5000, host: 5000 },
    ]);
  });

  it('containerEnv is applied after HOME and USER, but may not name them: the values are refused first', () => {
    expect(dockerSpec(values({ devcontainer: { containerEnv: { NODE_ENV: 'x' } } }), 'r').env).toEqual({ HOME: '/home/vscode', USER: 'vscode', NODE_ENV: 'x' });
    expect(() => values({ devcontainer: { containerEnv: { HOME: '/x' } } })).toThrow(
      'values: invalid values: devcontainer.containerEnv: key "HOME" is reserved: the chart sets HOME from user.home',
    );
  });

  it('lifecycle commands set to null (deleted, as helm does) are null in the label', () => {
    const spec = dockerSpec(values({ devcontainer: { postCreateCommand: null, postStartCommand: 'x' } }), 'r');
    expect(spec.labels['gitspace.lifecycle.hooks']).toBe('{"postCreateCommand":null,"postStartCommand":"x"}');
  });

  it('compat.layout legacy has no Docker side: an error saying so', () => {
    expect(() => dockerSpec(values({ compat: { layout: 'legacy' } }), 'r')).toThrow(/^compat\.layout: "legacy" \(volume at \/workspaces\) has no Docker Gitspace equivalent/);
  });

  it('no id and no release: an error naming gitspace.id', () => {
    expect(() => dockerSpec(values())).toThrow(/^gitspace\.id: empty and no --release given/);
  });
});
