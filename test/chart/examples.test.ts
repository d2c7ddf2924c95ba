// examples/: a base values file and two team overrides, rendered as a user would
// (helm template -f base -f team). Checks that the team's keys win and the base's others stay.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envOf, find, homeMounts, mainContainer, render, repoRoot } from './helm.ts';

const ex = (f: string) => join(repoRoot, 'examples', f);
const base = ex('base-values.yaml');

describe('examples: base + team overrides', () => {
  it('base alone renders the defaults it sets', async () => {
    const ms = await render([base]);
    expect(find(ms, 'PersistentVolumeClaim').spec.resources.requests.storage).toBe('20Gi');
    expect(find(ms, 'NetworkPolicy').spec.ingress[0].ports).toEqual([{ port: 8089, protocol: 'TCP' }]);
    expect(mainContainer(ms).resources.limits.memory).toBe('4Gi');
  });

  it('frontend: web IDE, its ports and hooks; memory limit overridden, requests and PVC from base', async () => {
    const ms = await render([base, ex('team-frontend-values.yaml')]);
    const main = mainContainer(ms);
    const pod = find(ms, 'Deployment').spec.template;
    expect(find(ms, 'Service').spec.ports.map((p: any) => [p.name, p.port])).toEqual([
      ['ide', 8089],
      ['port-3000', 3000],
      ['port-5173', 5173],
    ]);
    expect(main.resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '8Gi' } });
    expect(pod.metadata.annotations['example.com/team']).toBe('frontend');
    expect(pod.metadata.annotations['example.com/cost-center']).toBe('engineering');
    expect(envOf(main).NODE_ENV).toBe('development');
    expect(envOf(main).IDE_EXTENSIONS).toBe('dbaeumer.vscode-eslint,esbenp.prettier-vscode');
    expect(find(ms, 'ConfigMap', 'ws-gitspace-hooks').data).toEqual({
      'postCreateCommand__00-command': 'npm ci',
      'postStartCommand__00-dev': 'npm run dev',
    });
    expect(find(ms, 'PersistentVolumeClaim').spec.resources.requests.storage).toBe('20Gi');
    expect(homeMounts(main)[0]).toBe('/home/vscode');
  });

  it('data: PyCharm over SSH as analyst 1001, restricted (no root anywhere), 100Gi', async () => {
    const ms = await render([base, ex('team-data-values.yaml')]);
    const main = mainContainer(ms);
    const pod = find(ms, 'Deployment').spec.template.spec;
    expect(main.ports[0]).toEqual({ name: 'ide', containerPort: 8092, protocol: 'TCP' });
    expect(homeMounts(main)[0]).toBe('/home/analyst');
    expect(main.workingDir).toBe('/home/analyst');
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.securityContext.runAsUser, c.name).toBe(1001);
      expect(c.securityContext.runAsNonRoot, c.name).toBe(true);
      expect(c.securityContext.capabilities, c.name).toEqual({ drop: ['ALL'] });
    }
    expect(envOf(main).SSH_AUTHORIZED_KEYS_FILE).toBe('/gitspace/ssh/authorized_keys');
    expect(find(ms, 'ConfigMap', 'ws-gitspace-hooks').data).toEqual({
      'postCreateCommand__00-command': 'pip install --user -r requirements.txt',
    });
    expect(find(ms, 'PersistentVolumeClaim').spec.resources.requests.storage).toBe('100Gi');
    expect(find(ms, 'NetworkPolicy').spec.ingress[0].ports.map((p: any) => p.port)).toEqual([8092, 8888]);
    // base's memory limit kept (data does not override resources)
    expect(main.resources.limits.memory).toBe('4Gi');
  });
});
