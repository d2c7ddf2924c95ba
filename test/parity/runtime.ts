// The runtime interface of the parity suite (kind's Provider shape): a handful
// of verbs every runtime implements, and a capabilities record for the few
// honest differences. Checks are written once against this interface and never
// branch on the runtime's name.
import type { Gitspace as Values } from '../../generator/src/values.gen.ts';
import type { RunResult } from './exec.ts';
import type { GitCredentials } from './gitserver.ts';

export type RuntimeName = 'docker' | 'kubernetes';

export interface Capabilities {
  /** How a restart is done, in words for the report ("container stop + start", "pod delete"). */
  restart: string;
  /** How a re-create (new container, same volume) is done; on Kubernetes every pod delete is one. */
  recreate: string;
  /** How the gitspace moves to another image (the upgrade scenario: docs/parity.md). */
  upgrade: string;
  /** Whether /workspaces/{repo} exists (the chart's compat.workspacesMount; Docker Gitspace has none). */
  workspacesPath: boolean;
  /** Who PID 1 runs as: Docker runs the container as containerUser, the pod runs as remoteUser. */
  mainProcessUser: 'containerUser' | 'remoteUser';
}

/** Everything a runtime needs to start one case's gitspace. */
export interface CaseInput {
  /** Case name, [a-z0-9-]. */
  name: string;
  /** The values file written by `gitspace-chart values` for this case. */
  valuesFile: string;
  values: Values;
  /** Credentials of the private repository (Docker: fed to the clone step; Kubernetes: a Secret). */
  git: GitCredentials;
  /**
   * The repository's .devcontainer/devcontainer.json as parsed JSON ({} when the
   * repository has none): what Docker Gitspace reads (the reference runtime);
   * the chart gets the same file through the generator's values.
   */
  devcontainer?: Record<string, unknown>;
  /** Public key for an SSH IDE (authorized_keys). */
  sshPublicKey?: string;
  /** Scratch directory for this case (rendered files, logs). */
  workDir: string;
}

/** A local address forwarded to a container port. */
export interface Forward {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Where the platform says the gitspace volume is mounted in the main container. */
export interface VolumeMount {
  destination: string;
  readOnly: boolean;
}

export interface ExecOptions {
  input?: string;
  allowFail?: boolean;
  timeoutMs?: number;
}

/** One started gitspace. */
export interface Gitspace {
  /** Run argv in the gitspace as the user who works there (Docker: exec -u remoteUser; Kubernetes: plain exec). */
  exec(argv: string[], opts?: ExecOptions): Promise<RunResult>;
  /** Stop and start the gitspace again, keeping its volume; returns when the IDE answers. */
  restart(): Promise<void>;
  /** Replace the container with a new one from the image on the same volume; returns when the IDE answers. */
  recreate(): Promise<void>;
  /**
   * Move the gitspace to another image (REPOSITORY:TAG, built here), keeping its volume; returns
   * when the IDE answers. Kubernetes: helm upgrade; Docker Gitspace: a reset with the new image.
   */
  upgrade(image: string): Promise<void>;
  /** Remove everything start created, the volume included. Safe to call twice. */
  delete(): Promise<void>;
  /** Make a container port reachable on 127.0.0.1. */
  portAccess(containerPort: number): Promise<Forward>;
  /**
   * Reach a forwardPorts port the way a client outside the gitspace does:
   * Docker's published port (docker run -p), the Kubernetes Service.
   */
  forwardedPortAccess(port: number): Promise<Forward>;
  /**
   * The output of the current start where the platform shows it: Kubernetes,
   * `kubectl logs` of the main container; Docker, start.sh's output (Docker
   * Gitspace streams its setup steps' output into the gitspace's log).
   */
  startLog(): Promise<string>;
  /** The platform's own view of the volume's mount points in the main container. */
  describeMounts(): Promise<VolumeMount[]>;
  /** The address the gitspace's traffic to the git server comes from (its container / pod IP). */
  clientAddress(): Promise<string>;
  /** Logs and state for a failure report. */
  diagnostics(): Promise<string>;
}

export interface Runtime {
  readonly name: RuntimeName;
  readonly capabilities: Capabilities;
  /** Once per suite run: check the platform answers, remove an interrupted run's leftovers. */
  prepare(): Promise<void>;
  /** Start a gitspace for the case, run its setup, return when the IDE answers. */
  start(c: CaseInput): Promise<Gitspace>;
}
