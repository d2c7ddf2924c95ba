// `gitspace-chart feature push|copy`: put features into a registry you run, so
// builds work offline (a mirror) and your own features are published the way
// the features distribution spec stores them.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../cli.ts';
import { q } from '../model.ts';
import { parseOciRef, type OciRef } from './reference.ts';
// oci.ts (node:crypto) and tarball.ts (execa) are loaded in the actions: these commands
// register at every start, --help included, and need neither to do so.

function ociRef(text: string, what: string): OciRef {
  const ref = parseOciRef(text);
  if (!ref || ref.digest) throw new UserError(`${what}: ${q(text)} is not REGISTRY/NAMESPACE/ID:TAG`);
  return ref;
}

export function registerFeatureCommands(program: Command): void {
  const feature = program.command('feature').description('publish devcontainer features to an OCI registry (your own, or a mirror for offline builds)');
  feature
    .command('push')
    .description('push a feature folder (devcontainer-feature.json + install.sh) as an OCI artifact; prints the manifest digest')
    .argument('<dir>', 'the feature folder')
    .argument('<ref>', 'REGISTRY/NAMESPACE/ID:TAG (ID = the feature\'s id)')
    .action(async (dir: string, text: string) => {
      const ref = ociRef(text, 'feature push');
      const [{ pushFeature }, { featureJson, tarDirectory }] = await Promise.all([import('./oci.ts'), import('./tarball.ts')]);
      if (!existsSync(featureJson(dir)) || !existsSync(join(dir, 'install.sh'))) throw new UserError(`feature push: ${q(dir)} needs devcontainer-feature.json and install.sh`);
      const meta = readFileSync(featureJson(dir), 'utf8');
      const id = (JSON.parse(meta) as { id?: unknown }).id;
      if (id !== ref.id) throw new UserError(`feature push: the feature's id is ${q(String(id))}, the reference's last segment ${q(ref.id)}: make them equal`);
      process.stdout.write(`${await pushFeature(ref, await tarDirectory(dir), meta)}\n`);
    });
  feature
    .command('copy')
    .description('copy a feature from one registry to another (e.g. into a mirror reachable offline); prints the new manifest digest')
    .argument('<from>', 'REGISTRY/NAMESPACE/ID:TAG to pull')
    .argument('<to>', 'REGISTRY/NAMESPACE/ID:TAG to push')
    .action(async (fromText: string, toText: string) => {
      const from = parseOciRef(fromText);
      if (!from) throw new UserError(`feature copy: ${q(fromText)} is not REGISTRY/NAMESPACE/ID[:TAG|@DIGEST]`);
      const to = ociRef(toText, 'feature copy');
      const [{ pullFeature, pushFeature }, { extractTar, featureJson }] = await Promise.all([import('./oci.ts'), import('./tarball.ts')]);
      const { tar } = await pullFeature(from, `feature ${q(fromText)}`);
      const dir = mkdtempSync(join(tmpdir(), 'gitspace-feature-copy-'));
      try {
        await extractTar(tar, join(dir, 'f'), `feature ${q(fromText)}`);
          process.stdout.write(`${await pushFeature(to, tar, readFileSync(featureJson(join(dir, 'f')), 'utf8'))}\n`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
}
