// The restart floor (docs/benchmarks.md): what a pod delete costs on this
// cluster before any step of ours. A Deployment with the gitspace image, the
// user, a volume at HOME, the chart's readiness probe (as helm renders it for
// the same values) and requests, and code-server started directly: no init
// container, no passwd/group, ConfigMap or Secret mount, no script.
// Optionally one init container that exits at once: the
// least a pod needs to do root work (the user, the volume) before the user's
// container starts. Timed by the same KubernetesGitspace.restart() as the chart.
import { kubectl, KubernetesGitspace, PARITY_LABEL } from '../test/parity/kubernetes.ts';

export interface FloorOptions {
  /** Release-like name: namespace parity-NAME, labels as the chart's. */
  name: string;
  image: string;
  uid: number;
  gid: number;
  home: string;
  port: number;
  /** 0: code-server alone; 1: one init container (/bin/true as root) before it. */
  initContainers: 0 | 1;
  /** The chart's readiness probe for the same values (test/parity/chart.ts, chartReadinessProbe). */
  readinessProbe: Record<string, unknown>;
}

const userContext = (uid: number, gid: number) => ({
  runAsUser: uid,
  runAsGroup: gid,
  runAsNonRoot: uid !== 0,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

/** The floor's namespace, named as the parity runtime names a case's (parity-NAME). */
const floorNamespace = (name: string) => `parity-${name}`.slice(0, 63);

export function floorManifests(o: FloorOptions, ns = floorNamespace(o.name)): object[] {
  const labels = { 'app.kubernetes.io/instance': o.name, 'app.kubernetes.io/component': 'gitspace' };
  const initContainers = o.initContainers
    ? [{ name: 'noop', image: o.image, imagePullPolicy: 'Never', command: ['/bin/true'], securityContext: { ...userContext(0, 0), runAsNonRoot: false } }]
    : [];
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { [PARITY_LABEL]: 'true' } } },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'home', namespace: ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: o.name, namespace: ns, labels },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { fsGroup: o.gid, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } },
            initContainers,
            containers: [
              {
                name: 'gitspace',
                image: o.image,
                imagePullPolicy: 'Never',
                command: ['code-server', '--bind-addr', `0.0.0.0:${o.port}`, '--auth', 'none', o.home],
                workingDir: o.home,
                env: [{ name: 'HOME', value: o.home }],
                ports: [{ name: 'ide', containerPort: o.port }],
                readinessProbe: o.readinessProbe,
                resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '4Gi' } },
                securityContext: userContext(o.uid, o.gid),
                volumeMounts: [{ name: 'home', mountPath: o.home }],
              },
            ],
            volumes: [{ name: 'home', persistentVolumeClaim: { claimName: 'home' } }],
          },
        },
      },
    },
  ];
}

/** Starts the floor Deployment and waits for its first Ready pod (not timed). */
export async function startFloor(o: FloorOptions): Promise<KubernetesGitspace> {
  const ns = floorNamespace(o.name);
  const gs = new KubernetesGitspace(ns, o.name);
  await gs.delete();
  try {
    for (const m of floorManifests(o, ns)) await kubectl(['apply', '-f', '-'], { input: JSON.stringify(m) });
    await gs.waitPod();
  } catch (err) {
    // Not handed to the caller yet, so its cleanup cannot see it: a floor pod left behind (CI: one
    // crash-looping for an hour on a broken volume) would hold a PV and load the next runs.
    await gs.delete().catch(() => undefined);
    throw err;
  }
  return gs;
}
