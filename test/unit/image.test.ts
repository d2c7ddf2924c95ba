// Why `values --image` could not read the image, in the words that lead to the fix:
// only a missing image is fixed by pulling it.
import { describe, expect, it } from 'vitest';
import { inspectProblem } from '../../generator/src/image.ts';

describe('inspectProblem', () => {
  it('an image the engine does not have: pull or load it', () => {
    expect(inspectProblem('Error response from daemon: No such image: acme/dev:1')).toBe(
      'not a local Docker image (Error response from daemon: No such image: acme/dev:1); docker pull or docker load it first',
    );
  });

  it.each([
    'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.47/images/x/json": dial unix /var/run/docker.sock: connect: permission denied',
    'error during connect: Get "http://%2F%2F.%2Fpipe%2FdockerDesktopLinuxEngine/v1.47/images/x/json": open //./pipe/dockerDesktopLinuxEngine: The system cannot find the file specified.',
  ])('an engine that does not answer: start it, or pass the files instead (%s)', (detail) => {
    const m = inspectProblem(detail);
    expect(m).toMatch(/^the Docker engine does not answer \(/);
    expect(m).toContain('or give the image\'s facts instead of --image: --passwd and --group');
    expect(m).not.toContain('pull');
  });

  it('no docker at all', () => {
    expect(inspectProblem('spawn docker ENOENT', 'ENOENT')).toMatch(/^docker is not installed \(no docker on PATH\); install it, or give the image's facts instead of --image/);
  });

  it('anything else is reported as docker said it', () => {
    expect(inspectProblem('invalid reference format')).toBe('docker image inspect failed (invalid reference format)');
  });
});
