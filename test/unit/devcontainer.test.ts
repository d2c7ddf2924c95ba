// devcontainer.json (JSONC) and the devcontainer.metadata label (strict JSON),
// merged like devcontainers/cli.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import {
  combineLifecycle,
  mergeConfigs,
  parseDevcontainerJson,
  parseMetadataLabel,
  userFromRunArgs,
} from '../../generator/src/devcontainer.ts';

const F = '.devcontainer/devcontainer.json';

describe('devcontainer.json is JSONC', () => {
  it('accepts // and /* */ comments and trailing commas', () => {
    const text = `// the dev image
{
  /* who works here */
  "remoteUser": "vscode", // trailing comment
  "forwardPorts": [3000, 5432,],
  "containerEnv": { "A": "1", },
}
`;
    expect(parseDevcontainerJson(text).config).toEqual({ remoteUser: 'vscode', forwardPorts: [3000, 5432], containerEnv: { A: '1' } });
  });

  it('a syntax error names the file, line and column', () => {
    // 1-based line and column of the first error: the missing value, then the second ","
    const text = '{\n  "image": "x",\n  "remoteUser":\n}';
    expect(() => parseDevcontainerJson(text)).toThrow(`${F}:4:1: syntax error: ValueExpected`);
    const text2 = '{\n  "a": 1,\n  "b": 2, , "c": 3\n}';
    expect(() => parseDevcontainerJson(text2)).toThrow(`${F}:3:11: syntax error: PropertyNameExpected`);
  });

  it('an empty file (or only comments) is an error naming the file', () => {
    for (const text of ['', '  \n', '// nothing here\n/* really */']) {
      expect(() => parseDevcontainerJson(text)).toThrow(`${F}: empty file: expected a JSON object`);
    }
  });

  it('a top level that is not an object is an error naming the file', () => {
    expect(() => parseDevcontainerJson('[{"image":"x"}]')).toThrow(`${F}: the top level must be an object, found an array`);
    expect(() => parseDevcontainerJson('"vscode"')).toThrow(`${F}: the top level must be an object, found string "vscode"`);
  });

  it('a user field that is not a string names the field and the value', () => {
    expect(() => parseDevcontainerJson('{"remoteUser": 1000}')).toThrow(`${F}: remoteUser must be a string (a user name or uid, e.g. "vscode" or "1000"), found number 1000`);
    expect(() => parseDevcontainerJson('{"containerUser": null}')).toThrow(`${F}: containerUser must be a string`);
    expect(() => parseDevcontainerJson('{"containerEnv": {"A": 1}}')).toThrow(`${F}: containerEnv.A must be a string, found number 1`);
    expect(() => parseDevcontainerJson('{"postCreateCommand": 5}')).toThrow(`${F}: postCreateCommand must be a string, an array of strings or an object, found number 5`);
  });

  it('a lifecycle array with a non-string element names the element', () => {
    expect(() => parseDevcontainerJson('{"postCreateCommand": [1, 2]}')).toThrow(`${F}: postCreateCommand[0] must be a string, found number 1`);
    expect(() => parseDevcontainerJson('{"postStartCommand": ["npm", null]}')).toThrow(`${F}: postStartCommand[1] must be a string, found null`);
    expect(() => parseDevcontainerJson('{"postStartCommand": {"db": ["up", 3]}}')).toThrow(`${F}: postStartCommand.db[1] must be a string, found number 3`);
  });

  it('reads the customizations issue 10 maps', () => {
    const { config } = parseDevcontainerJson(
      '{"customizations": {"vscode": {"extensions": ["ms-python.python"]}, "jetbrains": {"plugins": ["org.rust.lang"]}}}',
    );
    expect(config.vscodeExtensions).toEqual(['ms-python.python']);
    expect(config.jetbrainsPlugins).toEqual(['org.rust.lang']);
  });

  it.each([
    ['build', '{"build": {"dockerfile": "Dockerfile"}}'],
    ['dockerFile', '{"dockerFile": "Dockerfile"}'],
    ['dockerComposeFile', '{"dockerComposeFile": "compose.yml", "service": "app"}'],
  ])('warns that "%s" needs a pre-built image, and says to set "image"', (field, text) => {
    const { warnings } = parseDevcontainerJson(text);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${F}: "${field}" is not supported`);
    expect(warnings[0]).toContain('set "image"');
  });

  it('warns that "features" need a build and names the command that builds them', () => {
    const { warnings } = parseDevcontainerJson('{"features": {"ghcr.io/devcontainers/features/node:1": {}}}');
    expect(warnings).toEqual([
      `${F}: "features" is not supported (features are installed by an image build): build them first: \`gitspace-chart build --repo-dir DIR --image BASE --tag REPO:TAG\` (or \`values --build\`), then pass --image REPO:TAG`,
    ]);
  });

  it('empty features need no build: no warning', () => {
    expect(parseDevcontainerJson('{"features": {}}').warnings).toEqual([]);
  });

  it.each([
    ['onCreateCommand', 'move it to the start of postCreateCommand'],
    ['updateContentCommand', 'move it into postCreateCommand'],
    ['postAttachCommand', 'move it into postStartCommand'],
    ['initializeCommand', 'a gitspace has no host step'],
  ])('warns that "%s" is not run, and what to do', (field, todo) => {
    const { warnings } = parseDevcontainerJson(`{"${field}": "make"}`);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${F}: "${field}" is not run (Docker Gitspace runs only postCreateCommand and postStartCommand)`);
    expect(warnings[0]).toContain(todo);
  });

  it('warns about docker run options the chart cannot apply', () => {
    expect(parseDevcontainerJson('{"privileged": true}').warnings).toEqual([
      `${F}: "privileged" is applied by Docker Gitspace's docker run but has no Kubernetes equivalent in the chart: ignored`,
    ]);
  });
});

describe('the devcontainer.metadata label is strict JSON', () => {
  it('accepts an array of entries', () => {
    expect(parseMetadataLabel('[{"id":"common-utils"},{"remoteUser":"vscode"}]').entries).toEqual([{}, { remoteUser: 'vscode' }]);
  });
  it('accepts one object', () => {
    expect(parseMetadataLabel('{"remoteUser":"node"}').entries).toEqual([{ remoteUser: 'node' }]);
  });
  it.each([
    ['comments', '[{"remoteUser":"vscode"} /* no */]'],
    ['trailing commas', '[{"remoteUser":"vscode"},]'],
    ['garbage', 'remoteUser=vscode'],
  ])('refuses %s with an error naming the label', (_what, text) => {
    expect(() => parseMetadataLabel(text)).toThrow(/^image label devcontainer\.metadata: not valid JSON \(.*\); the label must be strict JSON/);
  });
  it('refuses an entry that is not an object', () => {
    expect(() => parseMetadataLabel('[{"remoteUser":"a"}, "b"]')).toThrow('image label devcontainer.metadata[1]: each entry must be an object, found string "b"');
  });
});

describe('merge: metadata entries in order, then devcontainer.json (devcontainers/cli)', () => {
  const meta = parseMetadataLabel(
    JSON.stringify([
      { containerUser: 'root', remoteUser: 'node', containerEnv: { A: 'meta', B: 'meta' }, forwardPorts: [3000], postCreateCommand: 'echo meta1', customizations: { vscode: { extensions: ['a.one'] } } },
      { remoteUser: 'vscode', forwardPorts: [3000, 4000], postCreateCommand: ['echo', 'meta2'], postStartCommand: 'echo start-meta' },
    ]),
  ).entries;

  it('remoteUser/containerUser: the last one wins, devcontainer.json last of all', () => {
    const m = mergeConfigs(meta, undefined);
    expect(m.remoteUser).toEqual({ value: 'vscode', source: 'remoteUser (devcontainer.metadata label)' });
    expect(m.containerUser).toEqual({ value: 'root', source: 'containerUser (devcontainer.metadata label)' });
    const m2 = mergeConfigs(meta, { remoteUser: 'dev' });
    expect(m2.remoteUser).toEqual({ value: 'dev', source: `remoteUser (${F})` });
    expect(m2.containerUser?.value).toBe('root');
  });

  it('containerEnv merges per key; forwardPorts and extensions are a union', () => {
    const m = mergeConfigs(meta, { containerEnv: { B: 'dc', C: 'dc' }, forwardPorts: [4000, 8080], vscodeExtensions: ['a.one', 'b.two'] });
    expect(m.containerEnv).toEqual({ A: 'meta', B: 'dc', C: 'dc' });
    expect(m.forwardPorts).toEqual([3000, 4000, 8080]);
    expect(m.vscodeExtensions).toEqual(['a.one', 'b.two']);
  });

  it('lifecycle commands all run: metadata first, then devcontainer.json', () => {
    const m = mergeConfigs(meta, { postCreateCommand: 'npm ci', postStartCommand: { web: 'npm start' } });
    expect(m.postCreateCommand).toEqual(['echo meta1', ['echo', 'meta2'], 'npm ci']);
    expect(m.postStartCommand).toEqual(['echo start-meta', { web: 'npm start' }]);
  });

  it('forwardPorts that are not container ports are skipped with a warning', () => {
    const m = mergeConfigs([], { forwardPorts: ['db:5432', 70000, '8081'] });
    expect(m.forwardPorts).toEqual([8081]);
    expect(m.warnings).toEqual([
      `${F}: forwardPorts entry "db:5432" is not a port of the gitspace container (1-65535): ignored`,
      `${F}: forwardPorts entry 70000 is not a port of the gitspace container (1-65535): ignored`,
    ]);
  });
});

describe('run args --user / -u', () => {
  it.each([
    [['-u', 'dev'], 'dev'],
    [['--user', 'dev'], 'dev'],
    [['--user=dev'], 'dev'],
    [['-udev'], 'dev'],
    [['-u=1000:1000'], '1000:1000'],
    [['--cap-add', 'SYS_PTRACE', '-u', 'a', '--user=b'], 'b'],
    [['--cap-add', 'SYS_PTRACE'], undefined],
    [['--userns=host'], undefined],
  ])('%j -> %s', (args, user) => {
    expect(userFromRunArgs(args)).toBe(user);
  });
  it('-u without a value is an error', () => {
    expect(() => userFromRunArgs(['-u'])).toThrow('runArgs: -u has no value');
  });
});

describe('combineLifecycle: one value for the chart', () => {
  it('none -> "", one -> unchanged', () => {
    expect(combineLifecycle([])).toBe('');
    expect(combineLifecycle([['npm', 'ci']])).toEqual(['npm', 'ci']);
    expect(combineLifecycle([{ a: 'x' }])).toEqual({ a: 'x' });
  });

  it('several run in order under sh -c and stop at the first failure', async () => {
    const script = combineLifecycle(['echo one', ['echo', 'two'], { p: "echo 'three'", q: 'echo four' }, 'echo five']) as string;
    const ok = await execa('sh', ['-c', script]);
    expect(ok.stdout.split('\n').slice(0, 2)).toEqual(['one', 'two']);
    expect(ok.stdout.split('\n').sort()).toEqual(['five', 'four', 'one', 'three', 'two']);
    expect(ok.stdout.split('\n').at(-1)).toBe('five');

    const failing = combineLifecycle(['echo one', { p: 'exit 3', q: 'echo q' }, 'echo never']) as string;
    const r = await execa('sh', ['-c', failing], { reject: false });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).not.toContain('never');
  });
});
