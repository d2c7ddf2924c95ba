// user.etcFiles: the create-user script's output split into the two files, and the key the
// generator writes is the one the chart's real helm computes (else the files are never used).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { etcFilesFrom, etcKey } from '../../generator/src/etc-files.ts';
import { helmYaml } from '../../generator/src/helm-yaml.ts';
import { homeOf } from '../../generator/src/model.ts';
import { repoRoot, tempDir, toolEnv } from './helpers.ts';

const SEP = '--- gitspace-chart etc-files group ---';
const imagePasswd = 'root:x:0:0:root:/root:/bin/bash\nvscode:x:1000:1000::/home/vscode:/bin/bash\n';
const imageGroup = 'root:x:0:\nvscode:x:1000:\n';

describe('etcFilesFrom', () => {
  it('a user the image lacks: both files as the script left them, byte for byte', () => {
    const passwd = imagePasswd + 'alice:x:1001:1001::/home/alice:/bin/bash\n';
    const group = imageGroup + 'alice:x:1001:\n';
    expect(etcFilesFrom(`${passwd}\n${SEP}\n${group}`, imagePasswd, imageGroup, 'k')).toEqual({ renderedFor: 'k', passwd, group });
  });

  it('the image already has the user: empty files (nothing is mounted), the key kept', () => {
    expect(etcFilesFrom(`${imagePasswd}\n${SEP}\n${imageGroup}`, imagePasswd, imageGroup, 'k')).toEqual({ renderedFor: 'k', passwd: '', group: '' });
  });

  it('a passwd without a final newline stays without one', () => {
    const p = 'root:x:0:0:root:/root:/bin/sh';
    expect(etcFilesFrom(`${p}\n${SEP}\n${imageGroup}`, imagePasswd, imageGroup, 'k').passwd).toBe(p);
  });

  it('output without the separator is an error, not a guess', () => {
    expect(() => etcFilesFrom(imagePasswd, imagePasswd, imageGroup, 'k')).toThrow(/no .* line/);
  });
});

describe('etcKey and the chart', () => {
  const cases = [
    { remoteUser: 'alice', uid: 1000, gid: 1000, image: { repository: 'gitspace-chart/gitspace', tag: '0.1.0' } },
    { remoteUser: 'root', uid: 0, gid: 0, image: { repository: 'registry.example.com:5000/team/img', tag: 'v2.1' } },
    { remoteUser: 'dev', uid: 2147483647, gid: 100, image: { repository: 'img', tag: '2026.1' } },
  ];
  it.each(cases)('helm uses the rendered files for the key of $remoteUser $uid:$gid (no init container, prepare beside)', async (c) => {
    const home = homeOf({ uid: c.uid, remoteUser: c.remoteUser });
    const values = {
      repo: { url: 'https://git.example.com/acme/app.git' },
      image: c.image,
      user: { remoteUser: c.remoteUser, uid: c.uid, gid: c.gid, etcFiles: { renderedFor: etcKey(c.remoteUser, c.uid, c.gid, home, c.image), passwd: 'root:x:0:0::/root:/bin/sh\n', group: 'root:x:0:\n' } },
    };
    const file = join(tempDir('gitspace-etc-key-'), 'values.yaml');
    writeFileSync(file, helmYaml(values));
    const r = await execa('helm', ['template', 'ws', join(repoRoot, 'charts', 'gitspace'), '--kube-version', '1.34.0', '-f', file, '--show-only', 'templates/deployment.yaml'], { env: toolEnv() });
    const spec = parseAllDocuments(String(r.stdout))[0].toJS().spec.template.spec;
    expect(spec.initContainers).toBeUndefined();
    expect(spec.containers.map((x: { name: string }) => x.name)).toEqual(['gitspace', 'prepare']);
  });
});
