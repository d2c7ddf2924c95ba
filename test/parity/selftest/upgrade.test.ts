// The upgrade scenario's rules that need no runtime (test/parity/upgrade.ts): what Docker
// Gitspace must show after a reset with the new image, and where the chart's report puts a path.
import { describe, expect, it } from 'vitest';
import { dockerAfterUpgrade, reportTree, shown, type UpgradePlan } from '../upgrade.ts';

const plan: UpgradePlan = {
  spec: {
    dockerfile: 'Dockerfile.next',
    userEdits: { '/home/vscode/.profile': 'mine', '/go/gotool.conf': 'mine', '/go/src/mine.go': 'package main' },
    expect: {},
  },
  from: 'old:1',
  image: 'new:2',
  oldFiles: new Map([
    ['/home/vscode/.bash_logout', 'old logout'],
    ['/home/vscode/.profile', 'old profile'],
    ['/home/vscode/.config/new.toml', null],
    ['/go/gotool.conf', 'v1'],
    ['/go/src/mine.go', null],
  ]),
  newFiles: new Map([
    ['/home/vscode/.bash_logout', 'new logout'],
    ['/home/vscode/.profile', 'new profile'],
    ['/home/vscode/.config/new.toml', 'new'],
    ['/go/gotool.conf', 'v2'],
    ['/go/src/mine.go', null],
  ]),
  volumeAt: { docker: '/home/vscode', kubernetes: '/home/vscode' },
  home: '/home/vscode',
  persisted: ['/go', '/usr/local/share/npm-global'],
  doc: 'docs/persistence.md#compared-with-docker-gitspace',
};

describe('Docker Gitspace after a reset with the new image', () => {
  it('keeps its volume as it was: the user\'s edit, else the old image\'s file, and nothing new', () => {
    expect(dockerAfterUpgrade(plan, '/home/vscode/.profile')).toBe('mine');
    expect(dockerAfterUpgrade(plan, '/home/vscode/.bash_logout')).toBe('old logout');
    expect(dockerAfterUpgrade(plan, '/home/vscode/.config/new.toml')).toBeNull();
  });

  it('shows the new image outside its volume: the user\'s edits and additions there are lost', () => {
    expect(dockerAfterUpgrade(plan, '/go/gotool.conf')).toBe('v2');
    expect(dockerAfterUpgrade(plan, '/go/src/mine.go')).toBeNull();
  });

  it('uses Docker Gitspace\'s own volume mount point (a raw remote user string)', () => {
    const raw = { ...plan, volumeAt: { docker: '/home/1000', kubernetes: '/home/vscode' } };
    expect(dockerAfterUpgrade(raw, '/home/vscode/.profile')).toBe('new profile');
  });
});

describe('the report\'s tree of a path', () => {
  it('is home for HOME, else the longest persisted path without its slash', () => {
    expect(reportTree(plan, '/home/vscode/.profile')).toEqual({ tree: 'home', rel: '.profile' });
    expect(reportTree(plan, '/go/src/a.go')).toEqual({ tree: 'go', rel: 'src/a.go' });
    expect(reportTree(plan, '/usr/local/share/npm-global/lib/x')).toEqual({ tree: 'usr/local/share/npm-global', rel: 'lib/x' });
    expect(reportTree({ ...plan, persisted: ['/opt', '/opt/tools'] }, '/opt/tools/x')).toEqual({ tree: 'opt/tools', rel: 'x' });
    expect(reportTree(plan, '/etc/passwd')).toBeUndefined();
    expect(reportTree(plan, '/gopher/x')).toBeUndefined();
  });
});

describe('a row\'s text for content', () => {
  it('is the content as a JSON string, absent for null', () => {
    expect(shown('a\n')).toBe('"a\\n"');
    expect(shown(null)).toBe('absent');
  });
});
