// What a user sees when a values file breaks a rule of the schema: one line per
// problem, naming the field (and the key of a map) and the rule in plain words.
// test/chart/same-rules.test.ts feeds the same files to helm.
import { describe, expect, it } from 'vitest';
import { defaults, valuesValidator } from '../../generator/src/schema.ts';
import { mergeValues } from '../../generator/src/values-files.ts';

const problems = (over: Record<string, unknown>) => valuesValidator()(mergeValues(defaults(), over));

describe('values rules', () => {
  it.each([
    [{ user: null }, ["user: is required (a values file that sets it to null deletes the chart's default); give it a value or remove the null"]],
    [{ user: { home: null } }, ["user.home: is required (a values file that sets it to null deletes the chart's default); give it a value or remove the null"]],
    [{ user: 'vscode' }, ['user: must be an object (got "vscode")']],
    [{ user: { uid: '1000' } }, ['user.uid: must be an integer (got "1000")']],
    [{ devcontainer: { containerEnv: { HOME: '/tmp' } } }, ['devcontainer.containerEnv: key "HOME" is reserved: the chart sets HOME from user.home (empty: /root for uid 0, else /home/{user.remoteUser}); remove it from containerEnv']],
    [{ devcontainer: { containerEnv: { GITSPACE_UID: '0' } } }, ['devcontainer.containerEnv: key "GITSPACE_UID" is reserved: GITSPACE_* are the chart\'s own variables, read by its scripts; remove it from containerEnv']],
    [{ devcontainer: { containerEnv: { IDE_PORT: '1' } } }, ['devcontainer.containerEnv: key "IDE_PORT" is reserved: the chart sets IDE_* from ide.* and devcontainer.vscodeExtensions; remove it from containerEnv']],
    [{ devcontainer: { containerEnv: { USER: 'x' } } }, ['devcontainer.containerEnv: key "USER" is reserved: the chart sets USER from user.remoteUser; remove it from containerEnv']],
    [{ devcontainer: { containerEnv: { '1BAD': 'x' } } }, ['devcontainer.containerEnv: key "1BAD" is not a valid environment variable name: use letters, digits and "_", not starting with a digit']],
    [{ devcontainer: { postCreateCommand: [1, 2] } }, ['devcontainer.postCreateCommand[0]: must be a string (got 1)', 'devcontainer.postCreateCommand[1]: must be a string (got 2)']],
    [{ devcontainer: { postStartCommand: 5 } }, ['devcontainer.postStartCommand: must be null, a string, an array or an object (got 5)']],
    [{ devcontainer: { postStartCommand: { a: ['x', 2] } } }, ['devcontainer.postStartCommand.a[1]: must be a string (got 2)']],
    [{ user: { home: '/etc' } }, ['user.home: is a system or gitspace directory (/etc, /proc, /sys, /dev, /bin, /sbin, /lib, /lib64, /usr, /gitspace): the volume would be mounted over it; use a path such as /home/NAME, or leave it empty (got "/etc")']],
    [{ user: { home: '/usr/local/me' } }, [expect.stringMatching(/^user\.home: is a system or gitspace directory/)]],
    [{ user: { home: '/gitspace/volume' } }, [expect.stringMatching(/^user\.home: is a system or gitspace directory/)]],
    [{ user: { home: 'home/me' } }, ['user.home: must be an absolute path such as /home/NAME (each part letters, digits, ".", "_" or "-"), or empty for the HOME rule (got "home/me")']],
    [{ user: { home: '/' } }, [expect.stringMatching(/^user\.home: must be an absolute path/)]],
    [{ ide: { port: 80 } }, ["ide.port: must be 0 (Docker Gitspace's default port for ide.type) or a port in 1024..65535 (got 80)"]],
    [{ image: { tag: 'latest' } }, ['image.tag: must be a fixed tag, never "latest": with no registry a moving tag cannot be pulled back (got "latest")']],
    [{ ide: { type: 'emacs' } }, [expect.stringMatching(/^ide\.type: must be one of "vs_code", "vs_code_web", .* \(got "emacs"\)$/)]],
    [{ replicas: 2 }, ['replicas: is not a known field']],
  ])('%j', (over, want) => {
    expect(problems(over)).toEqual(want);
  });

  it.each(['/home/dev', '/root', '/workspace', '/workspaces', '/srv/dev', '/var/lib/postgresql', '/opt/app', '/home/etc', '/usrdata', '/tmp/x', ''])(
    'user.home %j is accepted',
    (home) => {
      expect(problems({ user: { home } })).toEqual([]);
    },
  );

  it('ordinary containerEnv names are accepted, and the lifecycle commands may be null', () => {
    expect(problems({ devcontainer: { containerEnv: { NODE_ENV: 'x', _A1: 'y', HOMEBREW_PREFIX: 'z', MY_IDE_THEME: 'w' }, postCreateCommand: null } })).toEqual([]);
  });
});
