// The container Docker Gitspace would create for the same gitspace
// (orchestrator/container/embedded_docker_container_orchestrator.go), derived
// from resolved values. The chart's tests and the parity suite compare the
// Kubernetes side against this shape: keep it stable.
import { UserError } from './cli.ts';
import { homeOf, idePortFor, q, repoNameOf } from './model.ts';
import type { Gitspace } from './values.gen.ts';

export type DockerSpec = {
  name: string;
  image: string;
  user: string;
  remoteUser: string;
  uid: number;
  gid: number;
  home: string;
  workingDir: string;
  volume: { name: string; target: string };
  repoPath: string | null;
  env: Record<string, string>;
  ports: Array<{ container: number; host: number }>;
  command: string[];
  labels: Record<string, string>;
};

/** Docker Gitspace's main process when no entrypoint is given: idle until stopped. */
export const DOCKER_COMMAND = ['/bin/sh', '-c', "trap 'exit 0' 15; sleep infinity & wait $!"];

/** `values`: validated values (loadValues/resolveValues), so every field is there and right. */
export function dockerSpec(values: Gitspace, release = ''): DockerSpec {
  if (values.compat.layout === 'legacy') {
    throw new UserError(
      'compat.layout: "legacy" (volume at /workspaces) has no Docker Gitspace equivalent: Docker always mounts the volume at HOME; docker-spec describes layout "home" only',
    );
  }
  const id = values.gitspace.id || release;
  if (!id) throw new UserError('gitspace.id: empty and no --release given; Docker names the container and volume after it: set gitspace.id or pass --release NAME');
  const { user } = values;
  const home = homeOf(user);
  const repoName = values.repo.url ? repoNameOf(values.repo) : '';
  const port = idePortFor(values.ide.type, values.ide.port);
  const spacePath = values.gitspace.spacePath.replaceAll('/', '-');
  const forwardPorts = values.devcontainer.forwardPorts.filter((p) => p !== port);
  return {
    name: `gitspace-${values.gitspace.userId || 'user'}-${id}`,
    image: `${values.image.repository}:${values.image.tag}`,
    user: user.containerUser,
    remoteUser: user.remoteUser,
    uid: user.uid,
    gid: user.gid,
    home,
    workingDir: home,
    volume: { name: spacePath ? `gitspace-${spacePath}-${id}` : `gitspace-${id}`, target: home },
    repoPath: repoName ? `${home}/${repoName}` : null,
    env: { HOME: home, USER: user.remoteUser, ...values.devcontainer.containerEnv },
    ports: [{ container: port, host: port }, ...forwardPorts.map((p) => ({ container: p, host: p }))],
    command: [...DOCKER_COMMAND],
    labels: {
      'gitspace.remote.user': user.remoteUser,
      'gitspace.lifecycle.hooks': JSON.stringify({
        // null, or absent when a values file set it to null: no command either way.
        postCreateCommand: values.devcontainer.postCreateCommand ?? null,
        postStartCommand: values.devcontainer.postStartCommand ?? null,
      }),
    },
  };
}

/** Helm's release-name rule, checked so a typo fails here and not at install. */
export function checkReleaseName(name: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 53) {
    throw new UserError(`--release: ${q(name)} is not a valid helm release name (lowercase letters, digits and "-", at most 53)`);
  }
  return name;
}
