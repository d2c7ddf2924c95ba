// The features spec's rules, each on its own: references, options and env
// names, the install-order rounds (dependsOn, installsAfter,
// overrideFeatureInstallOrder; cycles and ties), the label merge and what a pod
// cannot do.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../generator/src/cli.ts';
import { checkPodCan, mergedLabel } from '../../generator/src/features/merge.ts';
import { registryBase } from '../../generator/src/features/oci.ts';
import { envName, optionsEnv, resolveOptions, userOptions, checkDeclarations } from '../../generator/src/features/options.ts';
import { installRounds, overridePriorities, type OrderNode } from '../../generator/src/features/order.ts';
import { parseFeatureRef, resourceOf } from '../../generator/src/features/reference.ts';
import type { ResolvedFeature } from '../../generator/src/features/resolve.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILDX_VERSION, dockerfile, failedFeature, shq } from '../../generator/src/features/build.ts';
import { repoRoot } from './helpers.ts';

describe('feature references', () => {
  it('reads OCI references with a tag, without one (latest) and pinned by digest', () => {
    expect(parseFeatureRef('ghcr.io/devcontainers/features/node:1', undefined, 'f')).toMatchObject({
      kind: 'oci', registry: 'ghcr.io', path: 'devcontainers/features/node', id: 'node', tag: '1', resource: 'ghcr.io/devcontainers/features/node',
    });
    expect(parseFeatureRef('127.0.0.1:5050/features-test/hello', undefined, 'f')).toMatchObject({ registry: '127.0.0.1:5050', tag: 'latest', id: 'hello' });
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseFeatureRef(`ghcr.io/x/y/go@${d}`, undefined, 'f')).toMatchObject({ digest: d, id: 'go' });
  });

  it('reads a tarball URL only when it ends in devcontainer-feature-<id>.tgz', () => {
    expect(parseFeatureRef('https://example.com/f/devcontainer-feature-hello.tgz', undefined, 'f')).toMatchObject({ kind: 'tarball', id: 'hello' });
    expect(() => parseFeatureRef('https://example.com/f/hello.tgz', undefined, 'features["x"]')).toThrow(/must end in \/devcontainer-feature-<id>\.tgz/);
  });

  it('reads a local feature inside .devcontainer/ and refuses one outside it or without a checkout', () => {
    expect(parseFeatureRef('./tools/mytool', '/repo/.devcontainer', 'f')).toMatchObject({ kind: 'local', dir: '/repo/.devcontainer/tools/mytool', id: 'mytool' });
    expect(() => parseFeatureRef('../outside', '/repo/.devcontainer', 'f')).toThrow(/must be a folder inside/);
    expect(() => parseFeatureRef('./mytool', undefined, 'f')).toThrow(/needs the repository's files: pass --repo-dir/);
  });

  it('says what to write instead of a short id or garbage', () => {
    expect(() => parseFeatureRef('node', undefined, 'features["node"]')).toThrow('use its OCI reference, e.g. "ghcr.io/devcontainers/features/node:1"');
    expect(() => parseFeatureRef('ghcr.io/Bad Name', undefined, 'f')).toThrow(UserError);
    expect(() => parseFeatureRef('ghcr.io/x/y:1@sha256:' + 'a'.repeat(64), undefined, 'f')).toThrow(UserError);
  });

  it('names a resource without its version, as installsAfter does', () => {
    expect(resourceOf('ghcr.io/devcontainers/features/common-utils:2')).toBe('ghcr.io/devcontainers/features/common-utils');
    expect(resourceOf('ghcr.io/devcontainers/features/common-utils')).toBe('ghcr.io/devcontainers/features/common-utils');
  });

  it('talks plain HTTP to loopback and listed registries only', () => {
    expect(registryBase('127.0.0.1:5050', {})).toBe('http://127.0.0.1:5050');
    expect(registryBase('ghcr.io', {})).toBe('https://ghcr.io');
    expect(registryBase('172.17.0.1:5050', {})).toBe('https://172.17.0.1:5050');
    expect(registryBase('172.17.0.1:5050', { GITSPACE_INSECURE_REGISTRIES: 'x:1, 172.17.0.1:5050' })).toBe('http://172.17.0.1:5050');
  });
});

describe('feature options', () => {
  it('turns option names into env names as the spec says', () => {
    expect(envName('version')).toBe('VERSION');
    expect(envName('installZsh')).toBe('INSTALLZSH');
    expect(envName('my-option.name')).toBe('MY_OPTION_NAME');
    expect(envName('3rd-party')).toBe('_RD_PARTY');
    expect(envName('__private')).toBe('_PRIVATE');
  });

  const decls = checkDeclarations(
    { version: { type: 'string', default: 'latest', proposals: ['1', '2'] }, flavor: { type: 'string', enum: ['mild', 'hot'], default: 'mild' }, verbose: { type: 'boolean', default: false } },
    'd',
  );

  it('overrides defaults with the user values; a string is short for version', () => {
    expect(resolveOptions(decls, userOptions({ flavor: 'hot' }, 'f'), 'f')).toEqual({ version: 'latest', flavor: 'hot', verbose: false });
    expect(resolveOptions(decls, userOptions('2.1', 'f'), 'f')).toEqual({ version: '2.1', flavor: 'mild', verbose: false });
    expect(resolveOptions(decls, userOptions(true, 'f'), 'f')).toEqual({ version: 'latest', flavor: 'mild', verbose: false });
    expect(optionsEnv({ version: '2', verbose: true }, 'f')).toEqual({ VERSION: '2', VERBOSE: 'true' });
  });

  it('refuses a wrong type, a value outside the enum and an unknown option, naming the feature', () => {
    const w = 'feature "127.0.0.1:5050/t/hello:1"';
    expect(() => resolveOptions(decls, { verbose: 'yes' }, w)).toThrow(`${w}: option "verbose" must be a boolean, found string "yes"`);
    expect(() => resolveOptions(decls, { flavor: 'sweet' }, w)).toThrow(`${w}: option "flavor" must be one of "mild", "hot", found "sweet"`);
    expect(() => resolveOptions(decls, { flavour: 'hot' }, w)).toThrow(`${w}: option "flavour" is not declared by the feature (its options: version, flavor, verbose)`);
    expect(() => userOptions({ version: 2 }, 'features["x"]')).toThrow('features["x"].version: an option value must be a string or a boolean, found number 2');
    expect(() => optionsEnv({ 'a-b': '1', a_b: '2' }, w)).toThrow('both become A_B');
  });
});

// Nodes for the order tests: resource R, dependsOn keys, installsAfter resources.
const node = (resource: string, dependsOn: string[] = [], installsAfter: string[] = [], options = ''): OrderNode => ({
  key: `${resource} ${options}`,
  resource,
  sortKey: `${resource}\u0000${options}`,
  dependsOn: dependsOn.map((d) => `${d} `),
  installsAfter,
  label: resource,
});
const order = (nodes: OrderNode[], override: string[] = []) => installRounds(nodes, overridePriorities(nodes, override, (s) => s)).map((r) => r.map((n) => n.resource));

describe('install order (the spec\'s rounds)', () => {
  it('installs what a feature dependsOn first, however they are listed', () => {
    expect(order([node('c', ['b']), node('b', ['a']), node('a')])).toEqual([['a'], ['b'], ['c']]);
  });

  it('sorts ties in one round by resource, not by the order in devcontainer.json', () => {
    expect(order([node('zsh'), node('go'), node('node')])).toEqual([['go', 'node', 'zsh']]);
  });

  it('honours installsAfter among the features installed and ignores it for absent ones', () => {
    expect(order([node('a', [], ['z']), node('z')])).toEqual([['z'], ['a']]);
    expect(order([node('a', [], ['not-installed']), node('b')])).toEqual([['a', 'b']]);
  });

  it('puts overrideFeatureInstallOrder first, round by round, never before a dependsOn', () => {
    expect(order([node('a'), node('b'), node('c')], ['c', 'b'])).toEqual([['c'], ['b'], ['a']]);
    expect(order([node('a'), node('c', ['a'])], ['c'])).toEqual([['a'], ['c']]);
    expect(() => order([node('a')], ['b'])).toThrow('overrideFeatureInstallOrder[0]: "b" names no feature being installed (features: a)');
  });

  it('keeps one feature with two option sets as two installs', () => {
    expect(order([node('a', [], [], 'x'), node('a', [], [], 'y')])).toEqual([['a', 'a']]);
  });

  it('refuses a dependsOn cycle and an installsAfter cycle, naming what waits for what', () => {
    expect(() => order([node('a', ['b']), node('b', ['a']), node('c')])).toThrow('features: a dependsOn/installsAfter cycle, no feature can be installed first: a waits for b; b waits for a');
    expect(() => order([node('a', [], ['b']), node('b', [], ['a'])])).toThrow(/cycle.*a waits for b; b waits for a/);
  });
});

// A resolved feature as the build sees it, from devcontainer-feature.json fields.
const feature = (id: string, raw: Record<string, unknown> = {}, dir = `/w/features/01-${id}`): ResolvedFeature => ({
  ...node(id),
  ref: { kind: 'oci', userId: `reg.test/ns/${id}:1`, registry: 'reg.test', path: `ns/${id}`, id, tag: '1', resource: `reg.test/ns/${id}` },
  metadata: { id, version: '1.0.0', containerEnv: (raw.containerEnv as Record<string, string>) ?? {}, dependsOn: {}, installsAfter: [], raw: { id, version: '1.0.0', ...raw } },
  options: {},
  env: {},
  dir,
  source: 'sha256:x',
});

describe('merge into the built image', () => {
  it('appends one label entry per feature after the base image\'s, without containerEnv (that is image ENV)', () => {
    const f = feature('hello', { containerEnv: { HELLO_HOME: '/opt/hello' }, postCreateCommand: 'hello --check', customizations: { vscode: { extensions: ['x.y'] } } });
    expect(JSON.parse(mergedLabel('{"remoteUser":"vscode"}', [f]))).toEqual([
      { remoteUser: 'vscode' },
      { id: 'reg.test/ns/hello:1', customizations: { vscode: { extensions: ['x.y'] } }, postCreateCommand: 'hello --check' },
    ]);
  });

  it('refuses what a pod cannot do, naming the feature and the field', () => {
    expect(() => checkPodCan([feature('docker-in-docker', { privileged: true })])).toThrow(
      'feature "reg.test/ns/docker-in-docker:1": devcontainer-feature.json sets "privileged", which a gitspace on Kubernetes cannot apply',
    );
    for (const field of ['capAdd', 'securityOpt', 'mounts']) expect(() => checkPodCan([feature('f', { [field]: ['x'] })])).toThrow(`sets "${field}"`);
    expect(() => checkPodCan([feature('f', { entrypoint: '/usr/local/share/f-init.sh' })])).toThrow('sets "entrypoint"');
    expect(checkPodCan([feature('f', { init: true, capAdd: [] })])).toEqual([expect.stringContaining('"init": true is not applied')]);
  });

  it('writes ENV before each install.sh, quotes paths for the shell and puts USER back', () => {
    const text = dockerfile('base:1', 'vscode', [feature('hello', { containerEnv: { PATH: '/opt/hello/bin:${PATH}', Q: 'a"b' } })]);
    expect(text).toBe(
      [
        'FROM base:1',
        'USER root',
        'COPY features/ /tmp/gitspace-features/',
        'ENV PATH="/opt/hello/bin:${PATH}" Q="a\\"b"',
        "RUN cd '/tmp/gitspace-features/01-hello' && set -a && . ./devcontainer-features.builtin.env && . ./devcontainer-features.env && set +a && chmod +x ./install.sh && ./install.sh",
        'RUN rm -rf /tmp/gitspace-features',
        'USER vscode',
        '',
      ].join('\n'),
    );
    expect(shq("it's")).toBe(`'it'\\''s'`);
    expect(dockerfile('base:1', '', []).split('\n').filter((l) => l.startsWith('USER'))).toEqual([]);
  });

  it('finds the feature whose install.sh failed in BuildKit\'s output', () => {
    const fs = [feature('a', {}, '/w/features/01-a'), feature('b', {}, '/w/features/02-b')];
    const out = `#9 ERROR: process "/bin/sh -c cd '/tmp/gitspace-features/02-b' && set -a && ./install.sh" did not complete successfully: exit code: 3`;
    expect(failedFeature(out, fs)?.metadata.id).toBe('b');
  });
});

describe('the builder', () => {
  it('looks for the buildx release scripts/setup.sh installs', () => {
    expect(readFileSync(join(repoRoot, 'scripts/lib.sh'), 'utf8')).toContain(`BUILDX_VERSION="${BUILDX_VERSION}"`);
  });
});
