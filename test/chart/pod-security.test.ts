// Pod Security Standards over every pod the chart renders (the Deployment's template, the
// migration Job's, the helm test pods), checked offline. docs/chart.md records the same result
// from a real API server's Pod Security admission (server-side dry run).
import { describe, expect, it } from 'vitest';
import { render, tempDir, valuesFile, type Manifest } from './helm.ts';

const BASELINE_CAPS = ['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'];
const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

type Pod = { name: string; spec: any };

function pods(ms: Manifest[]): Pod[] {
  return ms.flatMap((m) => {
    if (m.kind === 'Deployment' || m.kind === 'Job') return [{ name: `${m.kind}/${m.metadata.name}`, spec: m.spec.template.spec }];
    if (m.kind === 'Pod') return [{ name: `Pod/${m.metadata.name}`, spec: m.spec }];
    return [];
  });
}

/** Violations as "pod container: rule" (baseline, and restricted on top when asked). */
function violations(pod: Pod, level: 'baseline' | 'restricted'): string[] {
  const out: string[] = [];
  const s = pod.spec;
  const psc = s.securityContext ?? {};
  if (s.hostNetwork || s.hostPID || s.hostIPC) out.push(`${pod.name}: host namespaces`);
  for (const v of s.volumes ?? []) {
    if (v.hostPath) out.push(`${pod.name}: hostPath volume ${v.name}`);
    if (level === 'restricted' && !RESTRICTED_VOLUMES.some((t) => t in v)) out.push(`${pod.name}: volume type of ${v.name}`);
  }
  for (const c of [...(s.initContainers ?? []), ...(s.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    const at = `${pod.name} ${c.name}`;
    const add: string[] = sc.capabilities?.add ?? [];
    if (sc.privileged) out.push(`${at}: privileged`);
    if ((c.ports ?? []).some((p: any) => p.hostPort)) out.push(`${at}: hostPort`);
    for (const cap of add) if (!BASELINE_CAPS.includes(cap)) out.push(`${at}: capability ${cap} beyond baseline`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp === 'Unconfined') out.push(`${at}: seccomp Unconfined`);
    if (level === 'baseline') continue;
    if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation not false`);
    const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (nonRoot !== true) out.push(`${at}: runAsNonRoot not true`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) out.push(`${at}: runAsUser 0`);
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) out.push(`${at}: seccomp not RuntimeDefault/Localhost`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${at}: capabilities not dropping ALL`);
    for (const cap of add) if (cap !== 'NET_BIND_SERVICE') out.push(`${at}: adds ${cap}`);
  }
  return out;
}

const dir = tempDir('gitspace-psa-');
const ssh = { ide: { type: 'vs_code' }, ssh: { authorizedKeysSecret: 'keys' }, repo: { url: 'https://h/a/b.git', credentials: { existingSecret: 'c' } } };

describe('Pod Security', () => {
  it('the checker catches what it must (a root, capable, escalating container)', () => {
    const bad: Pod = { name: 'Pod/bad', spec: { containers: [{ name: 'x', securityContext: { runAsUser: 0, capabilities: { add: ['SYS_ADMIN'] } } }], volumes: [{ name: 'h', hostPath: { path: '/' } }] } };
    expect(violations(bad, 'baseline')).toEqual(['Pod/bad: hostPath volume h', 'Pod/bad x: capability SYS_ADMIN beyond baseline']);
    expect(violations(bad, 'restricted')).toEqual(expect.arrayContaining(['Pod/bad x: runAsNonRoot not true', 'Pod/bad x: runAsUser 0', 'Pod/bad x: adds SYS_ADMIN']));
  });

  it.each([
    ['defaults', {}],
    ['SSH IDE with secrets', ssh],
    ['custom user 1001 with the migration hook and layout test', { user: { remoteUser: 'dev', uid: 1001, gid: 1001 } }],
  ])('security.mode restricted, %s: every pod is restricted', async (_n, values) => {
    const ms = await render([valuesFile(dir, 'r.yaml', { ...values, security: { mode: 'restricted' } })]);
    const ps = pods(ms);
    expect(ps.map((p) => p.name)).toEqual(expect.arrayContaining(['Deployment/ws-gitspace', 'Job/ws-gitspace-migrate', 'Pod/ws-gitspace-test-ide', 'Pod/ws-gitspace-test-layout']));
    expect(ps.flatMap((p) => violations(p, 'restricted'))).toEqual([]);
  });

  it.each([
    ['defaults', {}],
    ['SSH IDE with secrets', ssh],
  ])('security.mode standard, %s: baseline everywhere; only prepare and migrate are not restricted', async (_n, values) => {
    const ms = await render([valuesFile(dir, 's.yaml', values)]);
    const ps = pods(ms);
    expect(ps.flatMap((p) => violations(p, 'baseline'))).toEqual([]);
    const offenders = new Set(ps.flatMap((p) => violations(p, 'restricted')).map((v) => v.split(':')[0]));
    expect([...offenders].sort()).toEqual(['Deployment/ws-gitspace prepare', 'Job/ws-gitspace-migrate migrate']);
  });

  it('security.sudo (standard): still baseline; the gitspace container is the only one more that is not restricted', async () => {
    const ms = await render([valuesFile(dir, 'sudo.yaml', { security: { mode: 'standard', sudo: true } })]);
    const ps = pods(ms);
    expect(ps.flatMap((p) => violations(p, 'baseline'))).toEqual([]);
    const offenders = new Set(ps.flatMap((p) => violations(p, 'restricted')).map((v) => v.split(':')[0]));
    expect([...offenders].sort()).toEqual(['Deployment/ws-gitspace gitspace', 'Deployment/ws-gitspace prepare', 'Job/ws-gitspace-migrate migrate']);
  });

  it('root user (standard): still baseline, nothing privileged or capable beyond prepare', async () => {
    const ms = await render([valuesFile(dir, 'root.yaml', { user: { remoteUser: 'root', containerUser: 'root', uid: 0, gid: 0 } })]);
    const ps = pods(ms);
    expect(ps.flatMap((p) => violations(p, 'baseline'))).toEqual([]);
    const main = ps[0].spec.containers[0];
    expect(main.securityContext.capabilities).toEqual({ drop: ['ALL'] });
  });
});
