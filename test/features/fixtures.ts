// Test features, written at run time (the registry's address goes into their
// dependsOn/installsAfter), and the real places they are served from: OCI
// artifacts pushed to the local registry (scripts/registry.sh) with our own push
// code, a tarball on a loopback HTTP server, and local folders in a test checkout.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { execa } from 'execa';
import { pushFeature } from '../../generator/src/features/oci.ts';
import { parseOciRef } from '../../generator/src/features/reference.ts';
import { tarDirectory } from '../../generator/src/features/tarball.ts';
// Not ../unit/helpers.ts: the parity suite (test/parity/features.ts) uses these outside vitest.
const repoRoot = join(import.meta.dirname, '..', '..');

/** Where every test feature's install.sh appends its id: the install order as it happened. */
export const ORDER_LOG = '/usr/local/share/gitspace-features-test/order';
/** Our own prefix in the shared registry. */
export const PREFIX = 'gitspace-chart-test/features';

export type FeatureFiles = { json: Record<string, unknown>; install: string };

export function writeFeature(dir: string, f: FeatureFiles): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'devcontainer-feature.json'), JSON.stringify(f.json, null, 2));
  writeFileSync(join(dir, 'install.sh'), f.install);
  chmodSync(join(dir, 'install.sh'), 0o755);
  return dir;
}

const script = (id: string, body: string) => `#!/bin/sh
set -eu
mkdir -p /usr/local/share/gitspace-features-test
echo ${id} >> ${ORDER_LOG}
${body}
`;

/** The registry, started if it is not running; HOST:PORT. */
export async function registry(): Promise<string> {
  await execa('bash', [join(repoRoot, 'scripts/registry.sh'), 'start'], { stdio: 'inherit' });
  return String((await execa('bash', [join(repoRoot, 'scripts/registry.sh'), 'url'])).stdout).trim();
}

export async function push(reg: string, name: string, tag: string, dir: string): Promise<string> {
  const ref = parseOciRef(`${reg}/${PREFIX}/${name}:${tag}`)!;
  const meta = (await import('node:fs')).readFileSync(join(dir, 'devcontainer-feature.json'), 'utf8');
  await pushFeature(ref, await tarDirectory(dir), meta);
  return `${reg}/${PREFIX}/${name}:${tag}`;
}

/** Serves files from a map on 127.0.0.1 (port picked by the kernel). */
export async function serve(files: Map<string, Uint8Array>): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    res.writeHead(body ? 200 : 404);
    res.end(body ?? 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return { base: `http://127.0.0.1:${addr.port}`, server };
}

/**
 * The set: marker (OCI) <- hello (OCI, dependsOn marker, options, containerEnv PATH),
 * greet (tarball, installsAfter hello), local-tool (local, postCreateCommand).
 */
export async function publishSet(reg: string, work: string) {
  const marker = writeFeature(join(work, 'src/marker'), {
    json: { id: 'marker', version: '1.0.0', options: { note: { type: 'string', default: 'plain' } } },
    install: script('marker', 'echo "$NOTE" > /usr/local/share/gitspace-features-test/marker-note'),
  });
  const markerRef = await push(reg, 'marker', '1', marker);
  const hello = writeFeature(join(work, 'src/hello'), {
    json: {
      id: 'hello',
      version: '1.2.0',
      options: { greeting: { type: 'string', default: 'hello' }, shout: { type: 'boolean', default: false }, flavor: { type: 'string', enum: ['mild', 'hot'], default: 'mild' } },
      containerEnv: { HELLO_HOME: '/opt/hello', PATH: '/opt/hello/bin:${PATH}' },
      dependsOn: { [markerRef]: { note: 'from-hello' } },
    },
    install: script(
      'hello',
      `test -s /usr/local/share/gitspace-features-test/marker-note
mkdir -p /opt/hello/bin
g="$GREETING"; [ "$SHOUT" = true ] && g=$(echo "$g" | tr a-z A-Z)
printf '#!/bin/sh\\necho %s %s\\n' "$g" "$FLAVOR" > /opt/hello/bin/hello
chmod 755 /opt/hello/bin/hello
echo "HELLO_HOME=$HELLO_HOME" > /usr/local/share/gitspace-features-test/hello-env`,
    ),
  });
  const helloRef = await push(reg, 'hello', '1', hello);
  const greet = writeFeature(join(work, 'src/greet'), {
    json: { id: 'greet', version: '0.1.0', installsAfter: [`${reg}/${PREFIX}/hello`], containerEnv: { GREET_FROM: 'tarball' } },
    install: script('greet', '/opt/hello/bin/hello > /usr/local/share/gitspace-features-test/greet-saw'),
  });
  const tgz = new Map([['/features/devcontainer-feature-greet.tgz', await tarDirectory(greet, true)]]);
  const http = await serve(tgz);
  const greetRef = `${http.base}/features/devcontainer-feature-greet.tgz`;
  return { markerRef, helloRef, greetRef, http, marker, hello, greet };
}

/** A checkout with .devcontainer/devcontainer.json and a local feature ./local-tool. */
export function checkout(dir: string, devcontainer: Record<string, unknown>, local = true): string {
  const dc = join(dir, '.devcontainer');
  mkdirSync(dc, { recursive: true });
  writeFileSync(join(dc, 'devcontainer.json'), JSON.stringify(devcontainer, null, 2));
  if (local) {
    writeFeature(join(dc, 'local-tool'), {
      json: { id: 'local-tool', version: '0.0.1', options: { level: { type: 'string', default: '1' } }, postCreateCommand: 'local-tool > ~/local-tool-ran' },
      install: script(
        'local-tool',
        `printf '#!/bin/sh\\necho local-tool level %s\\n' "$LEVEL" > /usr/local/bin/local-tool
chmod 755 /usr/local/bin/local-tool
echo "$_CONTAINER_USER $_CONTAINER_USER_HOME $_REMOTE_USER $_REMOTE_USER_HOME" > /usr/local/share/gitspace-features-test/users`,
      ),
    });
  }
  return dir;
}
