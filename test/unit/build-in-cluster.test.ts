// values --build-in-cluster: the options it needs and the registry it pushes to, refused with
// one message before anything is fetched or built (the real build: test/features/in-cluster.test.ts).
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildValuesPath } from '../../generator/src/commands.ts';
import { runCli, tempDir } from './helpers.ts';

const repo = tempDir('gitspace-bic-');
mkdirSync(join(repo, '.devcontainer'));
writeFileSync(join(repo, '.devcontainer', 'devcontainer.json'), JSON.stringify({ image: 'x', features: { './f': {} } }));
const out = join(repo, 'values.yaml');
const base = ['values', '--repo-url', 'https://git.example/team/app.git', '--repo-dir', repo, '-o', out];

describe('values --build-in-cluster', () => {
  it.each([
    [['--image', 'gitspace-chart/gitspace:0.1.0', '--build-in-cluster', 'reg.example:5000/t/g'], 'gitspace-chart: --build-in-cluster needs --image BASE (the local gitspace image, read for its users and label) and --base-ref REF (the same image in a registry the builder pulls from)'],
    [['--image', 'gitspace-chart/gitspace:0.1.0', '--build', '--build-in-cluster', 'reg.example:5000/t/g', '--base-ref', 'reg.example:5000/t/b:1'], 'gitspace-chart: --build and --build-in-cluster: give one (the host builds, or the cluster does)'],
    [['--image', 'gitspace-chart/gitspace:0.1.0', '--base-ref', 'reg.example:5000/t/b:1'], 'gitspace-chart: --base-ref, --plain-http and --build-output go with --build-in-cluster'],
    [['--image', 'gitspace-chart/gitspace:0.1.0', '--build-output', join(repo, 'b.yaml')], 'gitspace-chart: --base-ref, --plain-http and --build-output go with --build-in-cluster'],
    [['--image', 'gitspace-chart/gitspace:0.1.0', '--build-in-cluster', 'reg.example:5000/t/g', '--base-ref', 'reg.example:5000/t/b:1', '--build-output', out], `gitspace-chart: --build-output "${out}" is the -o file: the build's values need a file of their own`],
    [['--image', 'gitspace-chart/gitspace:0.1.0', '--build-in-cluster', 'team/gitspace', '--base-ref', 'reg.example:5000/t/b:1'], 'gitspace-chart: --build-in-cluster "team/gitspace": name the registry the Job pushes to, REGISTRY[:PORT]/REPOSITORY (e.g. registry.example:5000/team/gitspace)'],
  ])('%j is refused with one message, no values written', async (args, message) => {
    const r = await runCli([...base, ...args]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.trim()).toBe(message);
    expect(existsSync(out)).toBe(false);
  });

  it('without -o or --build-output, says the two files it writes', async () => {
    const r = await runCli(['values', '--repo-url', 'https://git.example/team/app.git', '--repo-dir', repo, '--image', 'gitspace-chart/gitspace:0.1.0', '--build-in-cluster', 'reg.example:5000/t/g', '--base-ref', 'reg.example:5000/t/b:1']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe("gitspace-chart: --build-in-cluster writes two values files, the gitspace's and the build's: give -o FILE (the build's go to FILE with .build before its extension) or --build-output FILE");
  });
});

describe('the build\'s values file next to -o', () => {
  it.each([
    ['values.yaml', 'values.build.yaml'],
    ['team/app.yml', 'team/app.build.yml'],
    ['values', 'values.build.yaml'],
    ['.yaml', '.yaml.build.yaml'],
    ['/dev/stdout', undefined],
    ['out/', undefined],
  ])('-o %s: %s', (output, expected) => {
    expect(buildValuesPath(output)).toBe(expected);
  });

  it('-o /dev/stdout without --build-output: asks for --build-output, writes nothing', async () => {
    const r = await runCli(['values', '--repo-url', 'https://git.example/team/app.git', '--repo-dir', repo, '--image', 'gitspace-chart/gitspace:0.1.0', '--build-in-cluster', 'reg.example:5000/t/g', '--base-ref', 'reg.example:5000/t/b:1', '-o', '/dev/stdout']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('gitspace-chart: --build-in-cluster writes two values files, the gitspace\'s and the build\'s: give --build-output FILE (-o "/dev/stdout" names no file to put .build into)');
  });
});

