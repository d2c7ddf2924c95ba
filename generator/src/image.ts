// What the user model needs from a LOCAL Docker image: Config.User, the
// devcontainer.metadata label, /etc/passwd and /etc/group. Docker is run with
// argument arrays (execa, never a shell); the container is created, never
// started, and always removed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from './cli.ts';
import { METADATA_LABEL } from './devcontainer.ts';
import { q } from './model.ts';

export type ImageFacts = { ref: string; user: string; metadataLabel?: string; passwd: string; group: string };

// A docker reference: [registry[:port]/]path[:tag][@digest]. Anything else
// (a leading "-", spaces, shell characters) is refused before docker sees it.
const IMAGE_REF = /^[a-z0-9][a-z0-9._-]*(:[0-9]+)?(\/[a-z0-9._-]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

export function checkImageRef(ref: string, field = '--image'): string {
  if (!IMAGE_REF.test(ref)) throw new UserError(`${field}: ${q(ref)} is not an image reference; use REPOSITORY:TAG, e.g. gitspace-chart/gitspace:0.1.0`);
  return ref;
}

/** repository and tag for the chart's image.* values. */
export function splitImageRef(ref: string, field = '--image'): { repository: string; tag: string } {
  checkImageRef(ref, field);
  if (ref.includes('@')) throw new UserError(`${field}: ${q(ref)} is pinned by digest; the chart's image.tag takes a tag: use REPOSITORY:TAG`);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) {
    throw new UserError(`${field}: ${q(ref)} has no tag (it means :latest, which a cluster without a registry cannot pull back); use a fixed tag, REPOSITORY:TAG`);
  }
  return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

async function docker(args: string[], what: string): Promise<string> {
  const r = await execa('docker', args, { reject: false, stdin: 'ignore', timeout: 120_000 });
  if (r.exitCode !== 0) {
    const detail = String(r.stderr || r.stdout || (r as { shortMessage?: string }).shortMessage || '').trim().split('\n').at(-1);
    throw new UserError(`${what}: docker ${args[0]} ${args[1] ?? ''} failed: ${detail}`);
  }
  return String(r.stdout);
}

// What the docker CLI prints when it cannot reach the engine (socket missing, refused, no permission).
const ENGINE_DOWN = /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|docker\.sock|connection refused/i;
const INSTEAD = 'or give the image\'s facts instead of --image: --passwd and --group (its /etc/passwd and /etc/group), --metadata (its devcontainer.metadata label) and --image-user (its USER)';

/** Why `docker image inspect` failed, and what to do: only a missing image is fixed by pulling it. */
export function inspectProblem(detail: string, code?: string): string {
  if (code === 'ENOENT') return `docker is not installed (no docker on PATH); install it, ${INSTEAD}`;
  if (/No such image/i.test(detail)) return `not a local Docker image (${detail}); docker pull or docker load it first`;
  if (ENGINE_DOWN.test(detail)) {
    return `the Docker engine does not answer (${detail}); start it (e.g. sudo systemctl start docker, or Docker Desktop) and retry, ${INSTEAD}`;
  }
  return `docker image inspect failed (${detail})`;
}

export async function readLocalImage(ref: string): Promise<ImageFacts> {
  checkImageRef(ref);
  const where = `--image ${q(ref)}`;
  const inspect = await execa('docker', ['image', 'inspect', '--format', '{{json .Config}}', '--', ref], { reject: false, stdin: 'ignore', timeout: 120_000 });
  if (inspect.exitCode !== 0) {
    const detail = String(inspect.stderr || (inspect as { shortMessage?: string }).shortMessage || '').trim().split('\n').at(-1) ?? '';
    throw new UserError(`${where}: ${inspectProblem(detail, (inspect as { code?: string }).code)}`);
  }
  const config = JSON.parse(String(inspect.stdout)) as { User?: string; Labels?: Record<string, string> | null } | null;
  const id = (await docker(['create', '--', ref, 'true'], where)).trim();
  const dir = mkdtempSync(join(tmpdir(), 'gitspace-image-'));
  try {
    await docker(['cp', '-L', `${id}:/etc/passwd`, join(dir, 'passwd')], `${where}: /etc/passwd`);
    await docker(['cp', '-L', `${id}:/etc/group`, join(dir, 'group')], `${where}: /etc/group`);
    return {
      ref,
      user: config?.User ?? '',
      metadataLabel: config?.Labels?.[METADATA_LABEL],
      passwd: readFileSync(join(dir, 'passwd'), 'utf8'),
      group: readFileSync(join(dir, 'group'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await execa('docker', ['rm', '--', id], { reject: false, stdin: 'ignore' });
  }
}
