// Wrong values stop `helm template` (and so `helm install`, which renders the same way) before
// anything is created, with a message naming the field: values.schema.json for what a schema can
// say, `fail` in the templates for the cross-field rules.
import { describe, expect, it } from 'vitest';
import { chartDir, helm, KUBE_VERSION, tempDir, valuesFile } from './helm.ts';

type Case = { name: string; values: Record<string, unknown>; field: RegExp };

// Schema: helm reports "at '/a/b': <reason>" for the failing field.
const schemaCases: Case[] = [
  { name: 'uid -1', values: { user: { uid: -1 } }, field: /at '\/user\/uid': minimum: got -1/ },
  { name: 'uid 2147483648 (beyond int32)', values: { user: { uid: 2147483648 } }, field: /at '\/user\/uid': maximum: got / },
  { name: 'gid a string', values: { user: { gid: '1000' } }, field: /at '\/user\/gid': got string, want integer/ },
  { name: "remoteUser 'a;b'", values: { user: { remoteUser: 'a;b' } }, field: /at '\/user\/remoteUser': 'a;b' does not match pattern/ },
  { name: "remoteUser '$(id)'", values: { user: { remoteUser: '$(id)' } }, field: /at '\/user\/remoteUser': '\$\(id\)' does not match pattern/ },
  { name: 'remoteUser with a backtick', values: { user: { remoteUser: 'a`id`' } }, field: /at '\/user\/remoteUser': 'a`id`' does not match pattern/ },
  { name: 'remoteUser with a space', values: { user: { remoteUser: 'a b' } }, field: /at '\/user\/remoteUser': 'a b' does not match pattern/ },
  { name: 'remoteUser with a newline', values: { user: { remoteUser: 'a\nb' } }, field: /at '\/user\/remoteUser': 'a\\nb' does not match pattern/ },
  { name: 'containerUser uppercase', values: { user: { containerUser: 'Root' } }, field: /at '\/user\/containerUser'/ },
  { name: 'user.home relative', values: { user: { home: 'home/me' } }, field: /at '\/user\/home': 'home\/me' does not match pattern/ },
  { name: "repo.name '../x'", values: { repo: { name: '../x' } }, field: /at '\/repo\/name': '\.\.\/x' does not match pattern/ },
  { name: "repo.name '..'", values: { repo: { name: '..' } }, field: /at '\/repo\/name': 'not' failed/ },
  { name: "repo.url 'ext::sh -c id'", values: { repo: { url: 'ext::sh -c id' } }, field: /at '\/repo\/url': 'ext::sh -c id' does not match pattern/ },
  { name: "repo.url 'file:///etc'", values: { repo: { url: 'file:///etc' } }, field: /at '\/repo\/url': 'file:\/\/\/etc' does not match pattern/ },
  { name: 'repo.url with $(...)', values: { repo: { url: 'https://h/$(id).git' } }, field: /at '\/repo\/url'/ },
  { name: "repo.branch '-x' option-like", values: { repo: { branch: '--upload-pack=id' } }, field: /at '\/repo\/branch'/ },
  { name: 'image.tag latest', values: { image: { tag: 'latest' } }, field: /at '\/image\/tag': 'not' failed/ },
  { name: 'ide.type unknown', values: { ide: { type: 'notepad' } }, field: /at '\/ide\/type': value must be one of/ },
  { name: 'ide.port 80 (privileged)', values: { ide: { port: 80 } }, field: /at '\/ide\/port': 'anyOf' failed/ },
  { name: 'ide.port 70000', values: { ide: { port: 70000 } }, field: /at '\/ide\/port'/ },
  { name: "persistence.size '10GB'", values: { persistence: { size: '10GB' } }, field: /at '\/persistence\/size': '10GB' does not match pattern/ },
  { name: 'persistence.accessMode ReadOnlyMany', values: { persistence: { accessMode: 'ReadOnlyMany' } }, field: /at '\/persistence\/accessMode': value must be one of/ },
  { name: 'ingress.host with a space', values: { ingress: { enabled: true, host: 'a b.example.com' } }, field: /at '\/ingress\/host': 'a b.example.com' does not match pattern/ },
  { name: 'ingress.host with an unknown placeholder', values: { ingress: { enabled: true, host: '{{team}}.example.com' } }, field: /at '\/ingress\/host': '\{\{team\}\}.example.com' does not match pattern/ },
  { name: 'ingress.websocketTimeoutSeconds 5', values: { ingress: { websocketTimeoutSeconds: 5 } }, field: /at '\/ingress\/websocketTimeoutSeconds': minimum: got 5/ },
  { name: 'ingress.tls.certManagerIssuerKind Certificate', values: { ingress: { tls: { certManagerIssuerKind: 'Certificate' } } }, field: /at '\/ingress\/tls\/certManagerIssuerKind': value must be one of/ },
  { name: 'httpRoute.parentRefs entry without name', values: { httpRoute: { parentRefs: [{ namespace: 'infra' }] } }, field: /at '\/httpRoute\/parentRefs\/0': missing property 'name'/ },
  { name: 'tcpRoute.parentRefs entry without sectionName', values: { tcpRoute: { parentRefs: [{ name: 'gw' }] } }, field: /at '\/tcpRoute\/parentRefs\/0': missing property 'sectionName'/ },
  { name: 'unknown top-level key', values: { replicas: 2 }, field: /additional properties 'replicas' not allowed/ },
  { name: 'unknown nested key', values: { user: { name: 'x' } }, field: /at '\/user': additional properties 'name' not allowed/ },
  // patternProperties, not propertyNames: helm's validator reports propertyNames failures at a
  // random location (docs/chart.md, Schema requests).
  { name: "containerEnv key 'A-B'", values: { devcontainer: { containerEnv: { 'A-B': 'x' } } }, field: /at '\/devcontainer\/containerEnv': additional properties 'A-B' not allowed/ },
  { name: 'containerEnv sets HOME', values: { devcontainer: { containerEnv: { HOME: '/tmp' } } }, field: /at '\/devcontainer\/containerEnv\/HOME': 'not' failed/ },
  { name: 'user.home over /etc', values: { user: { home: '/etc' } }, field: /at '\/user\/home': 'not' failed/ },
  { name: 'user null (helm deletes the key)', values: { user: null }, field: /at '': missing property 'user'/ },
  { name: 'forwardPorts 0', values: { devcontainer: { forwardPorts: [0] } }, field: /at '\/devcontainer\/forwardPorts\/0': minimum: got 0/ },
  { name: 'security.mode privileged', values: { security: { mode: 'privileged' } }, field: /at '\/security\/mode': value must be one of/ },
  { name: 'resources cpu "lots"', values: { resources: { requests: { cpu: 'lots' } } }, field: /at '\/resources\/requests\/cpu': 'lots' does not match pattern/ },
];

// Rules the schema cannot express: the templates `fail` with the field and the fix.
const ruleCases: Case[] = [
  { name: 'ingress for an SSH IDE', values: { ide: { type: 'vs_code' }, ssh: { authorizedKeysSecret: 'k' }, ingress: { enabled: true, host: 'a.example.com', allowUnauthenticated: true } }, field: /ingress\.enabled: ide\.type vs_code is reached over SSH, .*service\.type LoadBalancer/ },
  { name: 'httpRoute for an SSH IDE', values: { ide: { type: 'cursor' }, ssh: { authorizedKeysSecret: 'k' }, httpRoute: { enabled: true, host: 'a.example.com', parentRefs: [{ name: 'gw' }], allowUnauthenticated: true } }, field: /httpRoute\.enabled: ide\.type cursor is reached over SSH/ },
  { name: 'ingress without a host', values: { ingress: { enabled: true, allowUnauthenticated: true } }, field: /ingress\.host: ingress is enabled but names no host/ },
  { name: 'ingress with no login in front', values: { ingress: { enabled: true, host: 'a.example.com' } }, field: /ingress\.allowUnauthenticated: the IDE \(a shell as the user\) would be reachable at its host with no login; set ide\.auth to password/ },
  { name: 'httpRoute with no login in front', values: { httpRoute: { enabled: true, host: 'a.example.com', parentRefs: [{ name: 'gw' }] } }, field: /httpRoute\.allowUnauthenticated: the IDE/ },
  { name: 'httpRoute without a Gateway', values: { httpRoute: { enabled: true, host: 'a.example.com', allowUnauthenticated: true } }, field: /httpRoute\.parentRefs: the HTTPRoute attaches to no Gateway/ },
  { name: 'tcpRoute for the web IDE', values: { tcpRoute: { enabled: true, parentRefs: [{ name: 'gw', sectionName: 'ssh' }] } }, field: /tcpRoute\.enabled: ide\.type vs_code_web is the web IDE \(HTTP\), which needs no TCP route; .*use httpRoute or ingress/ },
  { name: 'tcpRoute without a Gateway', values: { ide: { type: 'vs_code' }, ssh: { authorizedKeysSecret: 'k' }, tcpRoute: { enabled: true } }, field: /tcpRoute\.parentRefs: the TCPRoute attaches to no Gateway; set tcpRoute\.parentRefs to \[\{name: GATEWAY, namespace: ITS_NAMESPACE, sectionName: ITS_TCP_LISTENER\}\]/ },
  { name: 'ingress.host placeholder giving no DNS name', values: { gitspace: { spacePath: 'acme/a_b' }, ingress: { enabled: true, host: '{{space}}.example.com', allowUnauthenticated: true } }, field: /ingress\.host: "\{\{space\}\}\.example\.com" becomes "acme-a_b\.example\.com" for this release, which is not a DNS name/ },
  { name: 'SSH IDE without ssh.authorizedKeysSecret', values: { ide: { type: 'vs_code' } }, field: /ssh\.authorizedKeysSecret: ide\.type vs_code is reached over SSH/ },
  { name: 'security.mode restricted with uid 0', values: { security: { mode: 'restricted' }, user: { remoteUser: 'root', uid: 0, gid: 0 } }, field: /user\.uid: 0 \(root\) cannot run under security\.mode restricted/ },
  {
    name: 'security.sudo true in restricted mode',
    values: { security: { mode: 'restricted', sudo: true } },
    field: /security\.sudo: true is refused under security\.mode restricted \(Pod Security restricted forbids the privilege escalation sudo needs\); set security\.sudo to false, or security\.mode to standard/,
  },
  { name: 'ide.auth password without passwordSecret', values: { ide: { auth: 'password' } }, field: /ide\.passwordSecret: ide\.auth is password but no Secret is named/ },
  { name: 'repo.url with no usable folder name', values: { repo: { url: 'https://git.example.com/acme/.git' } }, field: /repo\.url: cannot derive a folder name/ },
];

describe.each([
  ['values.schema.json', schemaCases],
  ['template rules', ruleCases],
] as const)('%s', (_kind, cases) => {
  const dir = tempDir('gitspace-wrong-values-');
  it.each(cases)('$name fails naming the field', async (c) => {
    const file = valuesFile(dir, `${c.name.replace(/[^A-Za-z0-9]+/g, '_')}.yaml`, c.values);
    const r = await helm(['template', 'ws', chartDir, '--kube-version', KUBE_VERSION, '-f', file]);
    expect(r.exitCode, r.stdout.slice(0, 200)).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(c.field);
  });
});

it('the same values without the mistake render (the cases above fail for their field only)', async () => {
  const dir = tempDir('gitspace-right-values-');
  const file = valuesFile(dir, 'ok.yaml', {
    user: { remoteUser: 'dev', uid: 2147483647, gid: 0, home: '/home/dev' },
    repo: { url: 'git@git.example.com:acme/app.git', name: 'x', branch: 'feature/a' },
    ide: { type: 'vs_code', port: 1024 },
    ssh: { authorizedKeysSecret: 'keys' },
    persistence: { size: '10Gi', accessMode: 'ReadWriteOncePod' },
    devcontainer: { containerEnv: { A_B: 'x' }, forwardPorts: [1, 65535] },
    security: { mode: 'restricted' },
  });
  const r = await helm(['template', 'ws', chartDir, '--kube-version', KUBE_VERSION, '-f', file]);
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
});
