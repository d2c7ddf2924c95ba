// What installed features add to the container, merged as devcontainers/cli
// merges image metadata: the built image's devcontainer.metadata label is the
// base image's entries followed by one entry per feature in install order, so
// the generator reads feature lifecycle commands and customizations from the
// label, once. A feature's containerEnv becomes image ENV (as devcontainers/cli
// bakes it) and is therefore not repeated in the label.
import { UserError } from '../cli.ts';
import { q } from '../model.ts';
import type { ResolvedFeature } from './resolve.ts';

/** Lifecycle commands a feature may declare (devcontainers/cli keeps them all in the label). */
const LIFECYCLE = ['onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand', 'postAttachCommand'] as const;

/**
 * Fields Docker Gitspace gives `docker run` that a gitspace pod cannot have: the chart runs a
 * fixed pod spec (no privileged container, no added capabilities or seccomp/apparmor
 * overrides, no Docker volumes or binds, the chart's own entrypoint).
 */
const POD_CANNOT: Record<string, string> = {
  privileged: 'a gitspace pod is never privileged (Pod Security baseline/restricted)',
  capAdd: 'a gitspace pod adds no capabilities (Pod Security baseline/restricted)',
  securityOpt: 'a gitspace pod takes no docker security options',
  mounts: 'a gitspace pod mounts only its HOME volume (no Docker volumes or binds)',
  entrypoint: 'a gitspace pod runs the chart\'s own entrypoint, not a feature\'s',
};

const present = (v: unknown) => v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0) && v !== '';

/** Refuses a feature that needs what a pod cannot do; warns for `init`. */
export function checkPodCan(features: ResolvedFeature[]): string[] {
  const warnings: string[] = [];
  for (const f of features) {
    for (const [field, why] of Object.entries(POD_CANNOT)) {
      if (present(f.metadata.raw[field])) {
        throw new UserError(`feature ${q(f.ref.userId)}: devcontainer-feature.json sets "${field}", which a gitspace on Kubernetes cannot apply: ${why}; remove the feature (or use Docker Gitspace for it)`);
      }
    }
    if (f.metadata.raw.init === true) warnings.push(`feature ${q(f.ref.userId)}: "init": true is not applied (a pod has no docker --init; the gitspace's main process reaps its children)`);
  }
  return warnings;
}

/** One label entry per feature: its id and what the container config takes from it. */
export function featureEntries(features: ResolvedFeature[]): Record<string, unknown>[] {
  return features.map((f) => {
    const entry: Record<string, unknown> = { id: f.ref.userId };
    const raw = f.metadata.raw;
    if (raw.init === true) entry.init = true;
    if (raw.customizations !== undefined) entry.customizations = raw.customizations;
    for (const hook of LIFECYCLE) if (raw[hook] !== undefined) entry[hook] = raw[hook];
    return entry;
  });
}

/** The built image's label: the base image's entries (array or one object), then the features'. */
export function mergedLabel(baseLabel: string | undefined, features: ResolvedFeature[]): string {
  let base: unknown[] = [];
  if (baseLabel !== undefined && baseLabel.trim() !== '') {
    const v: unknown = JSON.parse(baseLabel);
    base = Array.isArray(v) ? v : [v];
  }
  return JSON.stringify([...base, ...featureEntries(features)]);
}
