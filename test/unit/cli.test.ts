// The commands end to end, as a user runs them: node bin/gitspace-chart.js.
// Errors: exit code 1, one line `gitspace-chart: ...` on stderr, nothing written.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { parse } from 'yaml';
import { defaults, valuesValidator } from '../../generator/src/schema.ts';
import { mergeValues } from '../../generator/src/values-files.ts';
import { makeRepo, startGitHttp } from './git-http.ts';
import { runCli, tempDir } from './helpers.ts';

const dir = tempDir('gitspace-cli-');
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const passwd = file('passwd', 'root:x:0:0:root:/root:/bin/bash\nvscode:x:1000:1000::/home/vscode:/bin/bash\nnode:x:1001:1001::/home/node:/bin/bash\n');
const group = file('group', 'root:x:0:\nvscode:x:1000:\nnode:x:1001:\ndocker:x:999:vscode\n');
const userFiles = ['--passwd', passwd, '--group', group];

/** Exit 1 and exactly one line on stderr, starting with gitspace-chart:. */
function expectOneLineError(r: { exitCode: number; stderr: string; stdout: string }, contains: string | RegExp) {
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^gitspace-chart: /);
  if (typeof contains === 'string') expect(lines[0]).toContain(contains);
  else expect(lines[0]).toMatch(contains);
}

describe('resolve-user', () => {
  it('--json prints the resolved model', async () => {
    const dc = file('dc1.json', '// JSONC\n{ "containerUser": "1000", "remoteUser": "node:docker", }\n');
    const r = await runCli(['resolve-user', '--devcontainer', dc, ...userFiles, '--json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ containerUser: 'vscode', remoteUser: 'node', uid: 1001, gid: 999, home: '/home/node' });
  });

  it('precedence across run args, devcontainer.json, the label and the image USER', async () => {
    const dc = file('dc2.json', '{}');
    const meta = file('meta.json', '[{"containerUser":"node"},{"remoteUser":"vscode"}]');
    const run = (extra: string[]) => runCli(['resolve-user', '--devcontainer', dc, ...userFiles, '--json', ...extra]).then((r) => JSON.parse(r.stdout));
    expect(await run(['--image-user', '1001'])).toMatchObject({ containerUser: 'node', remoteUser: 'node' });
    expect(await run(['--image-user', '1001', '--metadata', meta])).toMatchObject({ containerUser: 'node', remoteUser: 'vscode' });
    expect(await run(['--metadata', meta, '--run-args', '["--init","-u","0"]'])).toMatchObject({ containerUser: 'root', remoteUser: 'vscode' });
    expect(await run([])).toEqual({ containerUser: 'root', remoteUser: 'root', uid: 0, gid: 0, home: '/root' });
  });

  it('without --json prints a readable block saying where each user came from', async () => {
    const dc = file('dc3.json', '{ "remoteUser": "dev" }');
    const r = await runCli(['resolve-user', '--devcontainer', dc, ...userFiles, '--image-user', 'vscode']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'containerUser  vscode     uid 1000 gid 1000  from Config.User (image): "vscode"',
      `remoteUser     dev        uid 1000 gid 1000  from remoteUser (${dc}): "dev" (not in the image: created at start)`,
      'home           /home/dev',
    ]);
  });

  it('a bad user string: exit 1, one line naming the field and value', async () => {
    const dc = file('dc4.json', '{ "remoteUser": "4242" }');
    const r = await runCli(['resolve-user', '--devcontainer', dc, ...userFiles, '--json']);
    expectOneLineError(r, `gitspace-chart: remoteUser (${dc}): "4242": uid 4242 is not in the image's /etc/passwd`);
  });

  it('a JSONC syntax error: file:line:column', async () => {
    const dc = file('dc5.json', '{\n  "remoteUser": "vscode"\n  "containerUser": "root"\n}');
    expectOneLineError(await runCli(['resolve-user', '--devcontainer', dc, ...userFiles]), `gitspace-chart: ${dc}:3:3: syntax error: CommaExpected`);
  });

  it('a missing required option is reported by the CLI with exit 1', async () => {
    const r = await runCli(['resolve-user', '--devcontainer', 'x.json']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("required option '--passwd <file>' not specified");
  });
});

describe('values', () => {
  const dc = file(
    'values-dc.json',
    `{
      "image": "mcr.microsoft.com/devcontainers/base:bookworm",
      "remoteUser": "vscode",
      "containerEnv": { "NODE_ENV": "development" },
      "forwardPorts": [3000, "db:5432"],
      "postCreateCommand": ["npm", "ci"],
      "customizations": { "vscode": { "extensions": ["dbaeumer.vscode-eslint"] }, "jetbrains": { "plugins": ["org.rust.lang"] } },
      "features": { "ghcr.io/devcontainers/features/node:1": {} },
    }`,
  );
  const args = ['values', '--repo-url', 'https://git.example.com/acme/app.git', '--devcontainer', dc, ...userFiles, '--image-user', 'root'];

  it('prints a values file that the schema accepts, with the user and devcontainer fields', async () => {
    const r = await runCli(args);
    expect(r.exitCode).toBe(0);
    const values = parse(r.stdout);
    expect(valuesValidator()(mergeValues(defaults(), values))).toEqual([]);
    expect(values).toEqual({
      repo: { url: 'https://git.example.com/acme/app.git' },
      image: { repository: 'mcr.microsoft.com/devcontainers/base', tag: 'bookworm' },
      user: {
        containerUser: 'root',
        remoteUser: 'vscode',
        uid: 1000,
        gid: 1000,
        devcontainerJson: { check: true, remoteUser: 'vscode', containerUser: '' },
      },
      devcontainer: {
        containerEnv: { NODE_ENV: 'development' },
        forwardPorts: [3000],
        postCreateCommand: ['npm', 'ci'],
        postStartCommand: '',
        vscodeExtensions: ['dbaeumer.vscode-eslint'],
        jetbrainsPlugins: ['org.rust.lang'],
      },
    });
    expect(r.stdout).toMatch(/^# remoteUser vscode \(uid 1000, gid 1000\), HOME \/home\/vscode; containerUser root\.$/m);
    // warnings on stderr, named by field
    expect(r.stderr).toContain('"features" is not supported');
    expect(r.stderr).toContain('forwardPorts entry "db:5432"');
  });

  it('without the image\'s passwd: names are created at start, with a warning saying so', async () => {
    const dcFile = file('nopw.json', '{"image": "acme/dev:2", "containerUser": "dev"}');
    const r = await runCli(['values', '--repo-url', 'https://git.example.com/acme/app.git', '--devcontainer', dcFile]);
    expect(r.exitCode).toBe(0);
    expect(parse(r.stdout).user).toEqual({
      containerUser: 'dev',
      remoteUser: 'dev',
      uid: 1000,
      gid: 1000,
      devcontainerJson: { check: true, remoteUser: '', containerUser: 'dev' },
    });
    expect(parse(r.stdout).image).toEqual({ repository: 'acme/dev', tag: '2' });
    expect(r.stderr).toContain('warning: no image passwd/group (--image, or --passwd and --group)');
    expect(r.stderr).toContain(`warning: image "acme/dev:2" from ${dcFile} was not inspected`);
  });

  it("containerUser alone in devcontainer.json, remoteUser in the image's label: the label's user, and the fields as written for the clone step", async () => {
    const dcFile = file('cu-only.json', '{ "containerUser": "root" }');
    const label = file('cu-only-label.json', '[{"remoteUser": "vscode"}]');
    const r = await runCli(['values', '--repo-url', 'https://git.example.com/acme/app.git', '--devcontainer', dcFile, '--metadata', label, ...userFiles]);
    expect(r.exitCode).toBe(0);
    expect(parse(r.stdout).user).toEqual({
      containerUser: 'root',
      remoteUser: 'vscode',
      uid: 1000,
      gid: 1000,
      devcontainerJson: { check: true, remoteUser: '', containerUser: 'root' },
    });
  });

  it('-o writes the file; --ide and --branch land in it', async () => {
    const out = join(dir, 'out.yaml');
    const r = await runCli([...args, '--ide', 'intellij', '--branch', 'develop', '--release', 'my-gs', '-o', out]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    const values = parse(readFileSync(out, 'utf8'));
    expect(values.ide).toEqual({ type: 'intellij' });
    expect(values.repo).toEqual({ url: 'https://git.example.com/acme/app.git', branch: 'develop' });
    expect(readFileSync(out, 'utf8')).toContain(`# helm install my-gs charts/gitspace -f ${out}`);
  });

  it.each([
    ['an unsafe repo URL', ['--repo-url', 'ext::sh -c touch% /tmp/x'], '--repo-url: "ext::sh -c touch% /tmp/x" is not an https://'],
    ['a URL without a folder name', ['--repo-url', 'https://git.example.com/acme/.git'], 'repo.url: cannot derive a folder name'],
    ['a bad branch', ['--branch', 'a..b'], 'repo.branch'],
    ['an unknown IDE', ['--ide', 'emacs'], "argument 'emacs' is invalid"],
    ['a bad release name', ['--release', 'My_GS'], '--release: "My_GS" is not a valid helm release name'],
    ['an image with no tag', ['--image', 'ubuntu'], '--image: "ubuntu" has no tag'],
    ['bad --run-args', ['--run-args', '-u root'], '--run-args: "-u root" is not JSON'],
    ['a numeric user the image lacks', ['--run-args', '["-u","777"]'], '--user (runArgs): "777": uid 777 is not in'],
    ['--passwd without --group', ['--passwd', passwd, '--group', undefined], '--passwd and --group: give both'],
  ])('%s: exit 1, one line, nothing written', async (_what, extra, message) => {
    const out = join(dir, `never-${readdirSync(dir).length}.yaml`);
    const a = [...args];
    for (let i = 0; i < extra.length; i += 2) {
      const at = a.indexOf(extra[i]!);
      if (at >= 0) a.splice(at, 2);
      if (extra[i + 1] !== undefined) a.push(extra[i]!, extra[i + 1]!);
    }
    const r = await runCli([...a, '-o', out]);
    if (r.exitCode === 1 && r.stderr.startsWith('error:')) expect(r.stderr).toContain(message); // commander's own messages
    else expectOneLineError(r, message);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    ['HOME', '{"containerEnv": {"HOME": "/tmp"}}', 'devcontainer.containerEnv: key "HOME" is reserved: the chart sets HOME from user.home'],
    ['GITSPACE_*', '{"containerEnv": {"GITSPACE_UID": "0"}}', 'devcontainer.containerEnv: key "GITSPACE_UID" is reserved'],
    ['IDE_*', '{"containerEnv": {"IDE_TYPE": "vs_code"}}', 'devcontainer.containerEnv: key "IDE_TYPE" is reserved'],
    ['1BAD', '{"containerEnv": {"1BAD": "x"}}', 'devcontainer.containerEnv: key "1BAD" is not a valid environment variable name'],
  ])('containerEnv %s in devcontainer.json: refused before anything is written, as the chart refuses it', async (_what, dcText, message) => {
    const out = join(dir, `never-env-${readdirSync(dir).length}.yaml`);
    const r = await runCli(['values', '--repo-url', 'https://git.example.com/acme/app.git', '--devcontainer', file(`env-${readdirSync(dir).length}.json`, dcText), ...userFiles, '-o', out]);
    expectOneLineError(r, message);
    expect(existsSync(out)).toBe(false);
  });

  it('an existing output file is left untouched on error', async () => {
    const out = file('keep.yaml', 'old: true\n');
    const r = await runCli([...args, '--ide', 'vs_code', '--run-args', '["-u","777"]', '-o', out]);
    expect(r.exitCode).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('old: true\n');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('values reads devcontainer.json from the repository (blobless clone)', () => {
  let server: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    const root = join(dir, 'srv');
    await makeRepo(root, 'acme/app', { '.devcontainer/devcontainer.json': '// from the repo\n{ "remoteUser": "node", "postStartCommand": "echo hi", }\n' }, dir);
    await makeRepo(root, 'acme/plain', { 'README.md': '# no devcontainer\n' }, dir);
    server = await startGitHttp(root);
  });
  afterAll(() => server?.close());

  it('uses the repository file when --devcontainer is not given', async () => {
    const r = await runCli(['values', '--repo-url', `${server.url}/acme/app.git`, ...userFiles]);
    expect(r.exitCode).toBe(0);
    const v = parse(r.stdout);
    expect(v.user).toEqual({
      containerUser: 'root',
      remoteUser: 'node',
      uid: 1001,
      gid: 1001,
      devcontainerJson: { check: true, remoteUser: 'node', containerUser: '' },
    });
    expect(v.devcontainer.postStartCommand).toBe('echo hi');
  });
  it('a repository without devcontainer.json is fine: the image decides', async () => {
    const r = await runCli(['values', '--repo-url', `${server.url}/acme/plain.git`, ...userFiles, '--image-user', 'vscode']);
    expect(r.exitCode).toBe(0);
    expect(parse(r.stdout).user).toEqual({
      containerUser: 'vscode',
      remoteUser: 'vscode',
      uid: 1000,
      gid: 1000,
      devcontainerJson: { check: true, remoteUser: '', containerUser: '' },
    });
  });
  it('an unreachable repository: one line, exit 1', async () => {
    expectOneLineError(await runCli(['values', '--repo-url', `${server.url}/acme/missing.git`, ...userFiles]), 'repo.url: cannot read .devcontainer/devcontainer.json');
  });
});

const dockerOk = (await execa('docker', ['info'], { reject: false, timeout: 20_000 }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
// The test suite (scripts/test.sh, CI) starts the engine before this stage and
// sets GITSPACE_REQUIRE_DOCKER: there a missing engine fails, never skips. A
// local `npx vitest` without Docker skips, and says so.
if (!dockerOk && process.env.GITSPACE_REQUIRE_DOCKER) {
  throw new Error('the Docker engine does not answer (docker info failed) but this run requires it: start it (scripts/lib.sh docker_up) or unset GITSPACE_REQUIRE_DOCKER');
}
if (!dockerOk) process.stderr.write('cli.test.ts: SKIPPING "values --image reads a LOCAL Docker image": the Docker engine does not answer\n');

describe.skipIf(!dockerOk)('values --image reads a LOCAL Docker image', () => {
  const tag = `gitspace-unit/probe:${process.pid}`;
  beforeAll(async () => {
    const root = join(dir, 'rootfs');
    await execa('mkdir', ['-p', join(root, 'etc')]);
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\ndev:x:1234:1234::/home/dev:/bin/sh\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\ndev:x:1234:\nstaff:x:50:\n');
    await execa('tar', ['-C', root, '-cf', join(dir, 'rootfs.tar'), 'etc']);
    await execa('docker', ['import', '--change', 'USER 0', '--change', `LABEL devcontainer.metadata='[{"remoteUser":"dev:staff"}]'`, join(dir, 'rootfs.tar'), tag]);
  });
  afterAll(async () => {
    await execa('docker', ['rmi', tag], { reject: false });
  });

  it('USER, the metadata label, passwd and group come from the image; the container is removed', async () => {
    const dc = file('img-dc.json', '{"image": "other/image:1"}');
    const r = await runCli(['values', '--repo-url', 'https://git.example.com/acme/app.git', '--devcontainer', dc, '--image', tag]);
    // This image has nothing but /etc: no find to look for persistence.paths with, which is a warning, not an error.
    expect(r.stderr.split('\n')[0]).toBe(`gitspace-chart: warning: --image "${tag}" differs from "image" "other/image:1" in ${dc}: the values use --image`);
    expect(r.stderr.split('\n')[1]).toMatch(/^gitspace-chart: warning: --image "[^"]+": looking for user-writable folders \(find in a container of the image\) failed: .*list persistence.paths by hand$/);
    expect(r.exitCode).toBe(0);
    const v = parse(r.stdout);
    expect(v.image).toEqual({ repository: 'gitspace-unit/probe', tag: String(process.pid) });
    // devcontainer.json names no user: the label's remoteUser is the answer, and the pod compares nothing of the file but its emptiness
    expect(v.user).toEqual({ containerUser: 'root', remoteUser: 'dev', uid: 1234, gid: 50, devcontainerJson: { check: true, remoteUser: '', containerUser: '' } });
    // only containers of this test's image: other engineers' containers come and go
    expect((await execa('docker', ['ps', '-aq', '--filter', `ancestor=${tag}`])).stdout).toBe('');
  });

  it('an image that is not local: one line saying to pull or load it', async () => {
    const r = await runCli(['values', '--repo-url', 'https://h/a/b.git', '--devcontainer', file('e2.json', '{}'), '--image', 'gitspace-unit/absent:0']);
    expectOneLineError(r, '--image "gitspace-unit/absent:0": not a local Docker image');
  });
});

describe('values --image when the Docker engine does not answer', () => {
  it('says the engine does not answer and what to do, not "pull it"', async () => {
    const sock = join(dir, 'no-engine.sock');
    const r = await runCli(['values', '--repo-url', 'https://h/a/b.git', '--devcontainer', file('engine.json', '{}'), '--image', 'gitspace-unit/any:1'], {
      env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONTEXT: '' },
    });
    expectOneLineError(r, '--image "gitspace-unit/any:1": the Docker engine does not answer (');
    expect(r.stderr).toContain(sock);
    expect(r.stderr).toContain('start it (e.g. sudo systemctl start docker, or Docker Desktop) and retry, or give the image\'s facts instead of --image: --passwd and --group');
    expect(r.stderr).not.toContain('docker pull');
  });
});

describe('user strings never reach a shell', () => {
  const marker = join(dir, 'pwned');
  const evil = `$(touch ${marker})`;
  it.each([
    ['remoteUser in devcontainer.json', (dc: string) => ['resolve-user', '--devcontainer', dc, ...userFiles], JSON.stringify({ remoteUser: evil })],
    ['containerUser in devcontainer.json', (dc: string) => ['resolve-user', '--devcontainer', dc, ...userFiles], JSON.stringify({ containerUser: `vscode:${evil}` })],
    ['--run-args', (dc: string) => ['resolve-user', '--devcontainer', dc, ...userFiles, '--run-args', JSON.stringify(['-u', evil])], '{}'],
    ['--image-user', (dc: string) => ['resolve-user', '--devcontainer', dc, ...userFiles, '--image-user', evil], '{}'],
    ['--image', (dc: string) => ['values', '--repo-url', 'https://h/a/b.git', '--devcontainer', dc, '--image', evil], '{}'],
    ['--repo-url', () => ['values', '--repo-url', `https://h/a/${evil}`, ...userFiles], '{}'],
    ['--branch', () => ['values', '--repo-url', 'https://h/a/b.git', '--branch', evil, ...userFiles], '{}'],
  ])('%s is rejected and creates nothing', async (_what, argv, dcText) => {
    const dc = file(`evil-${readdirSync(dir).length}.json`, dcText);
    const r = await runCli(argv(dc));
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(JSON.stringify(evil).slice(1, -1));
    expect(existsSync(marker)).toBe(false);
  });
});

describe('commands from devcontainer.json are data, never run by the CLI', () => {
  it('a postCreateCommand that would create a file is carried verbatim into the values', async () => {
    const marker = join(dir, 'ran-at-values-time');
    const cmd = `touch ${marker}; $(touch ${marker}-2)`;
    const dcFile = file('hooks.json', JSON.stringify({ postCreateCommand: cmd, postStartCommand: ['sh', '-c', `touch ${marker}-3`] }));
    const r = await runCli(['values', '--repo-url', 'https://h/a/b.git', '--devcontainer', dcFile, ...userFiles]);
    expect(r.exitCode).toBe(0);
    expect(parse(r.stdout).devcontainer.postCreateCommand).toBe(cmd);
    expect(readdirSync(dir).filter((f) => f.startsWith('ran-at-values-time'))).toEqual([]);
  });
});

describe('docker-spec', () => {
  it('merges -f files over the defaults (later wins) and prints the Docker container', async () => {
    const a = file('a.yaml', 'gitspace: {id: demo, spacePath: acme/team}\nuser: {remoteUser: node, containerUser: node, uid: 1001, gid: 1001}\nrepo: {url: "git@h:acme/app.git"}\n');
    const b = file('b.yaml', 'gitspace: {userId: u7}\nide: {type: vs_code}\n');
    const r = await runCli(['docker-spec', '-f', a, '-f', b, '--json']);
    expect(r.exitCode).toBe(0);
    const spec = JSON.parse(r.stdout);
    expect(spec).toMatchObject({
      name: 'gitspace-u7-demo',
      image: 'gitspace-chart/gitspace:0.1.0',
      user: 'node',
      home: '/home/node',
      volume: { name: 'gitspace-acme-team-demo', target: '/home/node' },
      repoPath: '/home/node/app',
      ports: [{ container: 8088, host: 8088 }],
    });
  });
  it('the values file from `values` feeds docker-spec', async () => {
    const out = join(dir, 'chain.yaml');
    expect((await runCli(['values', '--repo-url', 'https://h/acme/web.git', '--devcontainer', file('chain.json', '{"remoteUser":"vscode"}'), ...userFiles, '-o', out])).exitCode).toBe(0);
    const spec = JSON.parse((await runCli(['docker-spec', '-f', out, '--release', 'web-gs', '--json'])).stdout);
    expect([spec.name, spec.volume.name, spec.repoPath, spec.user, spec.remoteUser]).toEqual(['gitspace-user-web-gs', 'gitspace-web-gs', '/home/vscode/web', 'root', 'vscode']);
  });
  it('invalid values: one line naming the field and the value', async () => {
    const bad = file('bad.yaml', 'user: {uid: -1}\n');
    expectOneLineError(await runCli(['docker-spec', '-f', bad, '--release', 'x']), 'user.uid: must be >= 0 (got -1)');
  });
  it('layout legacy: the Docker side does not exist', async () => {
    const legacy = file('legacy.yaml', 'compat: {layout: legacy}\n');
    expectOneLineError(await runCli(['docker-spec', '-f', legacy, '--release', 'x']), 'compat.layout: "legacy"');
  });
});
