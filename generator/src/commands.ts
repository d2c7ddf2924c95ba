// The user-model commands: resolve-user, values, docker-spec. Each gathers its
// inputs (files, a local image, the repository), hands them to the pure
// modules, and prints or writes the result; nothing is written on error.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { Command, Option } from 'commander';
import { UserError } from './cli.ts';
import {
  combineLifecycle,
  DEVCONTAINER_PATH,
  mergeConfigs,
  parseDevcontainerJson,
  parseMetadataLabel,
  type DevcontainerConfig,
  type MergedConfig,
} from './devcontainer.ts';
import { checkReleaseName, dockerSpec } from './docker-spec.ts';
import type { ImageFacts } from './image.ts';
import { checkRepoUrl, deriveRepoName, idePortFor, parseId, q } from './model.ts';
import { parseGroup, parsePasswd } from './passwd.ts';
import { ideTable } from './schema.ts';
import { createdUserWarnings, DEFAULT_GID, DEFAULT_UID, resolveUserModel, type ResolvedUser, type UserDb, type UserModel } from './user.ts';
import type { ValuesFile } from './values-files.ts';
import type { Gitspace } from './values.gen.ts';

type UserOpts = {
  metadata?: string;
  imageUser?: string;
  runArgs?: string;
  passwd?: string;
  group?: string;
  defaultUid?: string;
  defaultGid?: string;
};

function readText(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${option}: cannot read ${q(file)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function parseRunArgs(json: string | undefined): string[] {
  if (json === undefined) return [];
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new UserError(`--run-args: ${q(json)} is not JSON; give a JSON array of strings, e.g. '["--user","vscode"]'`);
  }
  if (!Array.isArray(v) || v.some((a) => typeof a !== 'string')) throw new UserError(`--run-args: ${q(json)} is not a JSON array of strings`);
  return v as string[];
}

function idOption(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = parseId(text);
  if (typeof n !== 'number') throw new UserError(`${option}: ${q(text)} is not an id in 0..2147483647`);
  return n;
}

const warn = (messages: string[]) => messages.forEach((m) => process.stderr.write(`gitspace-chart: warning: ${m}\n`));

/** Everything the user model is resolved from, once the files and the image are read. */
type Sources = { devcontainer?: DevcontainerConfig; metadata: DevcontainerConfig[]; imageUser: string; db?: UserDb; warnings: string[] };

function userSources(opts: UserOpts, devcontainerText: string | undefined, devcontainerFile: string, image?: ImageFacts): Sources {
  const warnings: string[] = [];
  let devcontainer: DevcontainerConfig | undefined;
  if (devcontainerText !== undefined) {
    const r = parseDevcontainerJson(devcontainerText, devcontainerFile);
    devcontainer = r.config;
    warnings.push(...r.warnings);
  }
  let metadata: DevcontainerConfig[] = [];
  const label = opts.metadata !== undefined ? readText(opts.metadata, '--metadata') : image?.metadataLabel;
  if (label !== undefined) {
    const r = parseMetadataLabel(label, opts.metadata !== undefined ? `--metadata ${opts.metadata}` : undefined);
    metadata = r.entries;
    warnings.push(...r.warnings);
  }
  if ((opts.passwd === undefined) !== (opts.group === undefined)) throw new UserError('--passwd and --group: give both files (the image\'s /etc/passwd and /etc/group) or neither');
  let db: UserDb | undefined;
  if (opts.passwd !== undefined && opts.group !== undefined) {
    db = { passwd: parsePasswd(readText(opts.passwd, '--passwd'), opts.passwd), groups: parseGroup(readText(opts.group, '--group'), opts.group) };
  } else if (image) {
    db = { passwd: parsePasswd(image.passwd, `${image.ref}:/etc/passwd`), groups: parseGroup(image.group, `${image.ref}:/etc/group`) };
  }
  return { devcontainer, metadata, imageUser: opts.imageUser ?? image?.user ?? '', db, warnings };
}

function resolve(opts: UserOpts, s: Sources, merged: MergedConfig) {
  return resolveUserModel({
    runArgs: [...merged.runArgs, ...parseRunArgs(opts.runArgs)],
    merged,
    imageUser: s.imageUser,
    db: s.db ?? { passwd: [], groups: [] },
    defaultUid: idOption(opts.defaultUid, '--default-uid', DEFAULT_UID),
    defaultGid: idOption(opts.defaultGid, '--default-gid', DEFAULT_GID),
  });
}

function describeUser(label: string, u: ResolvedUser): string {
  const from = `${u.spec.source}: ${q(u.spec.value)}`;
  return `${label.padEnd(14)} ${u.name.padEnd(10)} uid ${u.uid} gid ${u.gid}  from ${from}${u.created ? ' (not in the image: created at start)' : ''}`;
}

function readable(model: UserModel, r: { containerUser: ResolvedUser; remoteUser: ResolvedUser }): string {
  return [
    describeUser('containerUser', r.containerUser),
    describeUser('remoteUser', r.remoteUser),
    `${'home'.padEnd(14)} ${model.home}`,
    '',
  ].join('\n');
}

const userOptions = (cmd: Command) =>
  cmd
    .option('--metadata <file>', 'file holding the image\'s devcontainer.metadata label (strict JSON)')
    .option('--image-user <user>', 'the image\'s Config.User (USER in its Dockerfile)')
    .option('--run-args <json>', 'docker run arguments as a JSON array; --user/-u sets containerUser')
    .option('--default-uid <uid>', `uid of a user created at start (not in the image)`, String(DEFAULT_UID))
    .option('--default-gid <gid>', `gid of a user created at start`, String(DEFAULT_GID));

/** Writes atomically: the file appears whole or not at all. */
/**
 * values.yaml -> values.build.yaml: where --build-in-cluster writes the build's values by default;
 * undefined for a device (-o /dev/stdout) or a folder, which name no file to add .build to.
 */
export function buildValuesPath(output: string): string | undefined {
  if (output.startsWith('/dev/') || output.endsWith('/')) return undefined;
  const m = /^(.*[^/])(\.ya?ml)$/.exec(output);
  return m ? `${m[1]}.build${m[2]}` : `${output}.build.yaml`;
}

/** A word for a printed shell command: as is when safe, else single-quoted. */
const shellWord = (s: string): string => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);

/** The command that runs the build (charts/gitspace-features) with FILE (none: the file itself). */
function installBuild(release: string | undefined, file?: string): string {
  return `helm upgrade --install ${release ?? 'RELEASE'}-features charts/gitspace-features -n BUILD_NAMESPACE -f ${file === undefined ? 'THIS_FILE' : shellWord(file)}`;
}

function writeOutput(file: string, text: string, flag = '-o'): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UserError(`${flag}: cannot write ${q(file)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** devcontainer.json from --devcontainer FILE or --repo-dir DIR, with the folder its local features live in. */
function devcontainerSource(opts: { devcontainer?: string; repoDir?: string }): { text: string; file: string; dir: string } | undefined {
  if (opts.devcontainer !== undefined) return { text: readText(opts.devcontainer, '--devcontainer'), file: opts.devcontainer, dir: dirname(resolvePath(opts.devcontainer)) };
  if (opts.repoDir === undefined) return undefined;
  const file = join(opts.repoDir, DEVCONTAINER_PATH);
  return { text: readText(file, '--repo-dir'), file, dir: dirname(resolvePath(file)) };
}

export function registerModelCommands(program: Command): void {
  userOptions(
    program
      .command('resolve-user')
      .description('resolve containerUser, remoteUser, uid, gid and HOME from devcontainer.json, the image metadata label, the image USER and the image\'s passwd/group')
      .requiredOption('--devcontainer <file>', 'devcontainer.json (JSONC)')
      .requiredOption('--passwd <file>', 'the image\'s /etc/passwd')
      .requiredOption('--group <file>', 'the image\'s /etc/group')
      .option('--json', 'print JSON'),
  ).action((opts: UserOpts & { devcontainer: string; json?: boolean }) => {
    const s = userSources(opts, readText(opts.devcontainer, '--devcontainer'), opts.devcontainer);
    const merged = mergeConfigs(s.metadata, s.devcontainer, opts.devcontainer);
    warn([...s.warnings, ...merged.warnings]);
    const r = resolve(opts, s, merged);
    warn(createdUserWarnings([r.containerUser, r.remoteUser], s.db ?? { passwd: [], groups: [] }));
    process.stdout.write(opts.json ? JSON.stringify(r.model) + '\n' : readable(r.model, r));
  });

  userOptions(
    program
      .command('values')
      .description('write a values file for helm install: the user model and devcontainer.json fields resolved as Docker Gitspace would')
      .requiredOption('--repo-url <url>', 'clone URL (https, http, ssh:// or git@host:path)')
      .option('--branch <branch>', 'branch to clone (default: the remote\'s default branch)')
      .addOption(new Option('--ide <type>', 'IDE type').choices(Object.keys(ideTable())))
      .option('--image <ref>', 'a LOCAL Docker image (REPOSITORY:TAG): its USER, metadata label, passwd and group are read')
      .option('--devcontainer <file>', `devcontainer.json to use instead of the repository's ${DEVCONTAINER_PATH} (the repository is then not contacted)`)
      .option('--passwd <file>', 'the image\'s /etc/passwd (instead of reading it from --image)')
      .option('--group <file>', 'the image\'s /etc/group (instead of reading it from --image)')
      .option('--release <name>', 'helm release name (used in the printed install command)')
      .option('--repo-dir <dir>', `a checkout of the repository: its ${DEVCONTAINER_PATH} is used (and its local features, with --build)`)
      .option('--build', 'first build --image with the devcontainer.json features (as the build command), then use the built image')
      .option('--tag <ref>', 'with --build: tag the built image so (REPOSITORY:TAG)')
      .option('--push', 'with --build: push the --tag after the build')
      .option('--build-in-cluster <registry/repository>', 'build the features in the cluster instead (charts/gitspace-features: a hook Job pushing REGISTRY/REPOSITORY:KEY, installed before the gitspace); needs --image and --base-ref')
      .option('--base-ref <ref>', 'with --build-in-cluster: --image as the cluster\'s builder pulls it from a registry (REGISTRY/REPOSITORY:TAG)')
      .option('--plain-http', 'with --build-in-cluster: the registry speaks plain HTTP')
      .option('--build-output <file>', 'with --build-in-cluster: write the build\'s values (charts/gitspace-features) here (default: the -o file with .build before its extension)')
      .option('-o, --output <file>', 'write here instead of stdout'),
  ).action(async (opts: UserOpts & { repoUrl: string; branch?: string; ide?: Gitspace['ide']['type']; image?: string; devcontainer?: string; release?: string; output?: string; repoDir?: string; build?: boolean; tag?: string; push?: boolean; buildInCluster?: string; baseRef?: string; plainHttp?: boolean; buildOutput?: string }) => {
    // Imported by the actions that use them, not at the top: execa, yaml and ajv were most of the
    // CLI's start-up, and --help needs none of them.
    const [{ readLocalImage, splitImageRef }, { readDevcontainerFromRepo }, { resolveValues }, { helmYaml }] = await Promise.all([
      import('./image.ts'),
      import('./repository.ts'),
      import('./values-files.ts'),
      import('./helm-yaml.ts'),
    ]);
    checkRepoUrl(opts.repoUrl, '--repo-url');
    deriveRepoName(opts.repoUrl);
    // Checked before git sees them: the schema's rules for repo.url and repo.branch.
    resolveValues([{ repo: { url: opts.repoUrl, branch: opts.branch ?? '' } }]);
    if (opts.release !== undefined) checkReleaseName(opts.release);
    if (opts.ide !== undefined) idePortFor(opts.ide);
    if ((opts.tag !== undefined || opts.push) && !opts.build) throw new UserError('--tag and --push go with --build');
    if (opts.build && opts.image === undefined) throw new UserError('--build needs --image BASE: the local image the features are built FROM');
    if (opts.repoDir !== undefined && opts.devcontainer !== undefined) throw new UserError('--repo-dir and --devcontainer: give one');
    if (opts.build && opts.buildInCluster !== undefined) throw new UserError('--build and --build-in-cluster: give one (the host builds, or the cluster does)');
    if ((opts.baseRef !== undefined || opts.plainHttp || opts.buildOutput !== undefined) && opts.buildInCluster === undefined) throw new UserError('--base-ref, --plain-http and --build-output go with --build-in-cluster');
    if (opts.buildInCluster !== undefined && (opts.image === undefined || opts.baseRef === undefined)) {
      throw new UserError('--build-in-cluster needs --image BASE (the local gitspace image, read for its users and label) and --base-ref REF (the same image in a registry the builder pulls from)');
    }
    // The build's values go to a file of their own: the gitspace's release would store the context in every revision.
    const buildOutput = opts.buildInCluster === undefined ? undefined : (opts.buildOutput ?? (opts.output ? buildValuesPath(opts.output) : undefined));
    if (opts.buildInCluster !== undefined && buildOutput === undefined) {
      throw new UserError(`--build-in-cluster writes two values files, the gitspace's and the build's: give ${opts.output ? `--build-output FILE (-o ${q(opts.output)} names no file to put .build into)` : '-o FILE (the build\'s go to FILE with .build before its extension) or --build-output FILE'}`);
    }
    if (buildOutput !== undefined && opts.output && resolvePath(buildOutput) === resolvePath(opts.output)) {
      throw new UserError(`--build-output ${q(buildOutput)} is the -o file: the build's values need a file of their own`);
    }
    if (opts.image !== undefined && !opts.build) splitImageRef(opts.image);

    const source = devcontainerSource(opts);
    const devcontainerText = source ? source.text : await readDevcontainerFromRepo(opts.repoUrl, opts.branch);
    const devcontainerFile = source?.file ?? DEVCONTAINER_PATH;
    const buildWarnings: string[] = [];
    let imageRef = opts.image;
    if (opts.build) {
      if (devcontainerText === undefined) throw new UserError(`--build: the repository has no ${DEVCONTAINER_PATH}: nothing to build`);
      const { buildWithFeatures } = await import('./features/build.ts');
      const b = await buildWithFeatures({ devcontainerText, devcontainerFile, devcontainerDir: source?.dir, image: opts.image!, tag: opts.tag, push: opts.push, log: (l) => process.stderr.write(`gitspace-chart: ${l}\n`) });
      buildWarnings.push(...b.warnings);
      imageRef = b.ref;
    }
    let inCluster: Awaited<ReturnType<typeof import('./features/build.ts')['prepareInCluster']>> | undefined;
    if (opts.buildInCluster !== undefined) {
      if (devcontainerText === undefined) throw new UserError(`--build-in-cluster: the repository has no ${DEVCONTAINER_PATH}: nothing to build`);
      const { prepareInCluster } = await import('./features/build.ts');
      inCluster = await prepareInCluster({ devcontainerText, devcontainerFile, devcontainerDir: source?.dir, image: opts.image!, baseRef: opts.baseRef!, repository: opts.buildInCluster, log: (l) => process.stderr.write(`gitspace-chart: ${l}\n`) });
      buildWarnings.push(...inCluster.warnings);
    }
    const imageValues = inCluster ? inCluster.image : imageRef !== undefined ? splitImageRef(imageRef, opts.build ? '--tag' : '--image') : undefined;
    // Built in the cluster later: the base image as read here, with the label the build will give it.
    const image = imageRef !== undefined ? { ...(await readLocalImage(imageRef)), ...(inCluster ? { metadataLabel: inCluster.values.label } : {}) } : undefined;
    const s = userSources(opts, devcontainerText, devcontainerFile, image);
    const merged = mergeConfigs(s.metadata, s.devcontainer, devcontainerFile);
    // Once built, the features are in the image: the "features need a build" warning is moot.
    const built = opts.build || inCluster !== undefined;
    const warnings = [...buildWarnings, ...s.warnings.filter((w) => !(built && /"features" is not supported/.test(w))), ...merged.warnings];
    if (!s.db) {
      warnings.push(
        'no image passwd/group (--image, or --passwd and --group): a user name is assumed to be created at start with the default uid/gid, and a numeric user cannot be resolved',
      );
    }
    const r = resolve(opts, s, merged);
    if (s.db) warnings.push(...createdUserWarnings([r.containerUser, r.remoteUser], s.db));

    // The image: --image, else devcontainer.json's "image" (what Docker Gitspace would run).
    let imageOut = imageValues;
    if (imageOut && !built && s.devcontainer?.image !== undefined && s.devcontainer.image !== opts.image) {
      warnings.push(`--image ${q(opts.image!)} differs from "image" ${q(s.devcontainer.image)} in ${devcontainerFile}: the values use --image`);
    }
    if (!imageOut && s.devcontainer?.image !== undefined) {
      imageOut = splitImageRef(s.devcontainer.image, `image (${devcontainerFile})`);
      warnings.push(`image ${q(s.devcontainer.image)} from ${devcontainerFile} was not inspected (its USER and devcontainer.metadata label were not read): pass --image ${s.devcontainer.image} once it is a local image`);
    }

    // persistence.paths: the image's user-writable folders outside HOME (docs/persistence.md).
    let persistNote: string[] = [];
    let persistPaths: string[] | undefined;
    if (image && s.db) {
      const { findWritableDirs, userGids } = await import('./persist.ts');
      // An image without find (a distroless one) still gets its values: the folders are listed by hand then.
      const f = await findWritableDirs(image.ref, r.model.uid, userGids(r.model.remoteUser, r.model.gid, s.db.groups), r.model.home,
        // Other users' folders under /home only: system users' homes are /, /usr/sbin, /var/... (not theirs alone).
        s.db.passwd.filter((u) => u.name !== r.model.remoteUser && u.home.startsWith('/home/')).map((u) => ({ user: u.name, home: u.home })),
      ).catch((e: unknown) => {
        if (!(e instanceof UserError)) throw e;
        warnings.push(e.message);
        return { paths: [], notPersisted: [] };
      });
      persistPaths = f.paths;
      persistNote = f.notPersisted.map((n) => `#   ${n.path}: ${n.why}`);
      if (persistNote.length) persistNote.unshift('# Writable by the user but not persisted (persistence.paths):');
    } else {
      warnings.push('persistence.paths not detected (no --image to look into): list the folders outside HOME the user writes (e.g. /go) by hand');
    }

    // user.etcFiles: passwd/group after the chart's create-user script, run in the image (etc-files.ts);
    // with them the pod starts without an init container (docs/start-path.md).
    let etcFiles: { renderedFor: string; passwd: string; group: string } | undefined;
    if (image && s.db && imageOut) {
      const { etcKey, renderEtcFiles } = await import('./etc-files.ts');
      const key = etcKey(r.model.remoteUser, r.model.uid, r.model.gid, r.model.home, imageOut);
      etcFiles = await renderEtcFiles(image.ref, r.model.remoteUser, r.model.uid, r.model.gid, r.model.home, image.passwd, image.group, key).catch((e: unknown) => {
        if (!(e instanceof UserError)) throw e;
        warnings.push(e.message);
        return undefined;
      });
    }

    const values: ValuesFile = {
      repo: { url: opts.repoUrl, ...(opts.branch ? { branch: opts.branch } : {}) },
      ...(persistPaths?.length ? { persistence: { paths: persistPaths } } : {}),
      ...(imageOut ? { image: imageOut } : {}),
      ...(opts.ide ? { ide: { type: opts.ide } } : {}),
      user: {
        containerUser: r.model.containerUser,
        remoteUser: r.model.remoteUser,
        uid: r.model.uid,
        gid: r.model.gid,
        // What the clone step compares the cloned devcontainer.json with (it resolves nothing itself).
        devcontainerJson: { check: true, remoteUser: s.devcontainer?.remoteUser ?? '', containerUser: s.devcontainer?.containerUser ?? '' },
        ...(etcFiles ? { etcFiles } : {}),
      },
      devcontainer: {
        containerEnv: merged.containerEnv,
        forwardPorts: merged.forwardPorts,
        postCreateCommand: combineLifecycle(merged.postCreateCommand),
        postStartCommand: combineLifecycle(merged.postStartCommand),
        vscodeExtensions: merged.vscodeExtensions,
        jetbrainsPlugins: merged.jetbrainsPlugins,
      },
    };
    resolveValues([values]);

    const created = [r.containerUser, r.remoteUser].filter((u) => u.created).map((u) => u.name);
    const header = [
      '# gitspace-chart values: resolved like Docker Gitspace (see docs/user-model.md).',
      `# remoteUser ${r.model.remoteUser} (uid ${r.model.uid}, gid ${r.model.gid}), HOME ${r.model.home}; containerUser ${r.model.containerUser}.`,
      ...(created.length ? [`# Not in the image, created at start: ${[...new Set(created)].join(', ')}.`] : []),
      ...persistNote,
      '# once per namespace, the scripts every gitspace there mounts: gitspace-chart install-shared -n NAMESPACE',
      ...(buildOutput !== undefined ? [`# first, the features build (it pushes image.repository:image.tag): ${installBuild(opts.release, buildOutput)}`] : []),
      `# helm install ${opts.release ?? 'RELEASE'} charts/gitspace -f ${opts.output ?? 'THIS_FILE'}`,
    ];
    const text = header.join('\n') + '\n' + helmYaml(values);
    warn(warnings);
    if (inCluster && buildOutput !== undefined) {
      const { featuresBuildValues } = await import('./features/build.ts');
      writeOutput(buildOutput, featuresBuildValues(inCluster, { plainHttp: opts.plainHttp === true, devcontainerFile, install: installBuild(opts.release) }), '--build-output');
      process.stderr.write(`gitspace-chart: wrote ${buildOutput} (the build's values: ${installBuild(opts.release, buildOutput)})\n`);
    }
    if (opts.output) {
      writeOutput(opts.output, text);
      process.stderr.write(`gitspace-chart: wrote ${opts.output}\n`);
    } else process.stdout.write(text);
  });

  program
    .command('build')
    .description('build an image FROM --image with the features of devcontainer.json (BuildKit, as Docker Gitspace does before a start); prints the built reference on its last line')
    .option('--repo-dir <dir>', `a checkout: its ${DEVCONTAINER_PATH} and local features`)
    .option('--devcontainer <file>', 'devcontainer.json (local features relative to its folder)')
    .requiredOption('--image <ref>', 'the LOCAL gitspace image to build FROM')
    .option('--tag <ref>', 'also tag the result so (on a cache hit too)')
    .option('--push', 'push --tag once built')
    .action(async (opts: { repoDir?: string; devcontainer?: string; image: string; tag?: string; push?: boolean }) => {
      if ((opts.repoDir === undefined) === (opts.devcontainer === undefined)) throw new UserError('build: give --repo-dir DIR or --devcontainer FILE');
      const source = devcontainerSource(opts)!;
      const { buildWithFeatures } = await import('./features/build.ts');
      const b = await buildWithFeatures({ devcontainerText: source.text, devcontainerFile: source.file, devcontainerDir: source.dir, image: opts.image, tag: opts.tag, push: opts.push, log: (l) => process.stderr.write(`gitspace-chart: ${l}\n`) });
      warn(b.warnings);
      process.stdout.write(`${b.ref}\n`);
    });

  program
    .command('docker-spec')
    .description('print the container Docker Gitspace would create for these values (JSON)')
    .requiredOption('-f, --values <file>', 'values file (repeatable; later files win, merged like helm)', collect, [] as string[])
    .option('--release <name>', 'helm release name (the gitspace id when gitspace.id is empty)')
    .option('--json', 'print JSON (the only format)')
    .action(async (opts: { values: string[]; release?: string }) => {
      if (opts.release !== undefined) checkReleaseName(opts.release);
      const { loadValues } = await import('./values-files.ts');
      process.stdout.write(JSON.stringify(dockerSpec(loadValues(opts.values), opts.release), null, 2) + '\n');
    });
}
