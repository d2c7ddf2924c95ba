// The user-model matrix: one entry per case, each with its devcontainer.json
// under cases/<name>/ (fed to the real `gitspace-chart values`, so the matrix
// exercises resolution too) and, written by hand, the user a person working in
// that gitspace must see. A new case is one entry here and one file.
import type { ExpectedUser } from './checks.ts';
import type { UpgradeSpec } from './upgrade.ts';
import { buildVsix, vsixFileName } from './vsix.ts';

export const IMAGE = 'gitspace-chart/gitspace:0.1.0';
export const IMAGE_UID1000 = 'gitspace-chart/test-uid1000:0.1.0';
/** The gitspace image with an ENTRYPOINT that leaves a mark when it runs (images/entrypoint). */
export const IMAGE_ENTRYPOINT = 'gitspace-chart/test-entrypoint:0.1.0';
/** Like the devcontainers base family: passwordless sudo, zsh, a rich metadata label (images/devbase). */
export const IMAGE_DEVBASE = 'gitspace-chart/test-devbase:0.1.0';
/** A language image on it: /go (group golang) and an npm prefix (group npm), setgid, outside HOME (images/devbase). */
export const IMAGE_LANG = 'gitspace-chart/test-lang:0.1.0';

/**
 * What Docker Gitspace (the reference runtime) does with a case where it
 * differs from the chart, written by hand from shared/reference/docker-gitspace.md
 * (never read back from the runtime): its user and HOME, where its volume is
 * mounted (HOME = /home/<the remote user string as written>), or the step its
 * start fails at and the line that step ends with.
 */
export interface ReferenceCase {
  user?: Partial<ExpectedUser>;
  /** The volume's mount point when it is not the user's HOME. */
  volumeAt?: string;
  /** The start fails: "<step>: <last line>", the Docker value of every row of the case. */
  startFails?: string;
  /** The start fails at some setup step, not said which (a --cases-dir case with dockerGitspaceStarts false). */
  startFailsAnywhere?: boolean;
}

export interface ParityCase {
  name: string;
  about: string;
  image: string;
  /** Extra `gitspace-chart values` options. */
  generatorArgs: string[];
  /** The user the chart gives (the Kubernetes side). */
  expected: ExpectedUser;
  /** Docker Gitspace's own outcome where it differs (see ReferenceCase). */
  reference?: ReferenceCase;
  /** The devcontainer.json has postCreateCommand/postStartCommand writing marker files. */
  hooks: boolean;
  /** A postStartCommand entry made to fail: logged with its exit code at every start, the gitspace runs on. */
  failingHook?: { label: string; code: number };
  /**
   * false: the repository has no .devcontainer/devcontainer.json (the case's file
   * only feeds the generator); the gitspace writes one naming the image, as Docker Gitspace.
   */
  devcontainerInRepo?: boolean;
  /** More files in the case's repository (beside README.md and .devcontainer/devcontainer.json). */
  repoFiles?: () => Record<string, string | Buffer>;
  /**
   * Values the generator has no option for, merged over its output (top-level
   * keys replaced): what a platform sets from the user's settings, as Docker
   * Gitspace takes the git identity from the user's account.
   */
  values?: Record<string, unknown>;
  /** The image gives the user passwordless sudo (a sudoers.d entry). */
  imageSudo?: boolean;
  /** Directories outside HOME the user can write (the top-most ones), e.g. /go. */
  writablePaths?: string[];
  /**
   * What only the image's devcontainer.metadata label carries (no devcontainer.json repeats it):
   * the marker files its lifecycle commands append to in HOME, and its containerEnv.
   */
  labelOnly?: LabelOnly;
  /** A row lists the directories outside HOME the user can write, found by a probe in the gitspace, against writablePaths. */
  probeWritable?: boolean;
  /** The devcontainer.json when it is not test/parity/cases/<name>/devcontainer.json (a --cases-dir case). */
  devcontainerFile?: string;
  /**
   * The upgrade scenario, after the case's other rows (docs/parity.md): the next image's Dockerfile
   * in the case's folder, the user's edits before the upgrade, what each path holds on Kubernetes
   * after it, and the conflicts its report lists.
   */
  upgrade?: UpgradeSpec;
  /**
   * devcontainer features (test/parity/features.ts): devcontainer.json is written at run time, the
   * generator builds them FROM the image (values --build --push) and the pod pulls the result from
   * the cluster's registry; the rows compare what the user sees of them against this.
   */
  features?: ExpectedFeatures;
}

/** What the features case's postCreateCommand writes in HOME: the features' tools as it finds them, and hello's greeting. */
export const FEATURES_POST_CREATE_FILE = '.parity-features-post-create';

/** What the features case's features give the user, written by hand from test/features/fixtures.ts. */
export interface ExpectedFeatures {
  /** Tool -> where `command -v` finds it, and what it prints when the user runs it (options applied). */
  tools: Record<string, { path: string; output: string }>;
  containerEnv: Record<string, string>;
  /** The features' ids in the order their install.sh ran. */
  order: string;
  /** Files the install scripts wrote (dependsOn options, what an installsAfter feature found). */
  files: Record<string, string>;
  /** What the user's postCreateCommand found (features.ts FEATURES_POST_CREATE_FILE). */
  postCreate: string;
  /** A feature's own postCreateCommand: the file in HOME it writes and what it holds. */
  featurePostCreate: { file: string; content: string };
}

export interface LabelOnly {
  postCreateMarker?: string;
  postStartMarker?: string;
  containerEnv?: Record<string, string>;
}

/** What images/devbase's label carries, written by hand from its Dockerfile. */
const DEVBASE_LABEL: LabelOnly = {
  postCreateMarker: '.devbase-label-post-create',
  postStartMarker: '.devbase-label-post-start',
  containerEnv: { DEVBASE_LABEL_ENV: 'set by the image label' },
};

/** The extension the default case's devcontainer.json names, committed in its repository. */
const PARITY_VSIX = { publisher: 'gitspace-parity', name: 'parity-ext', version: '0.0.1' };

const vscode: ExpectedUser = { name: 'vscode', uid: 1000, gid: 1000, group: 'vscode', home: '/home/vscode' };

export const CASES: ParityCase[] = [
  {
    name: 'default',
    about: 'default image, remoteUser from its metadata label; hooks, containerEnv, forwardPorts, an extension, git identity',
    image: IMAGE,
    generatorArgs: [],
    expected: vscode,
    hooks: true,
    repoFiles: () => ({ [`.devcontainer/${vsixFileName(PARITY_VSIX)}`]: buildVsix(PARITY_VSIX) }),
    values: { git: { userName: 'Parity Values Name', userEmail: 'values@parity.invalid' } },
  },
  {
    name: 'remote-uid',
    about: 'remoteUser "1000"',
    image: IMAGE,
    generatorArgs: [],
    expected: vscode,
    hooks: false,
    // Docker Gitspace mounts the volume at /home/1000 (the raw string); `docker exec -u 1000` gets
    // HOME /home/vscode from the image's passwd: the user's HOME is not on the volume.
    reference: { volumeAt: '/home/1000' },
  },
  {
    name: 'remote-uid-gid',
    about: 'remoteUser "1000:1000"',
    image: IMAGE,
    generatorArgs: [],
    expected: vscode,
    hooks: false,
    // HOME /home/1000:1000; manage user's `chown -R USER:USER` gets "1000:1000:1000:1000".
    reference: { startFails: "manage user: chown: invalid group: ‘1000:1000:1000:1000’" },
  },
  {
    name: 'remote-name-group',
    about: 'remoteUser "vscode:vscode"',
    image: IMAGE,
    generatorArgs: [],
    expected: vscode,
    hooks: false,
    reference: { startFails: "manage user: chown: invalid group: ‘vscode:vscode:vscode:vscode’" },
  },
  {
    name: 'root',
    about: 'remoteUser root, HOME /root; an image with an ENTRYPOINT',
    image: IMAGE_ENTRYPOINT,
    generatorArgs: [],
    expected: { name: 'root', uid: 0, gid: 0, group: 'root', home: '/root' },
    hooks: false,
  },
  {
    name: 'custom-uid-1001',
    about: 'remoteUser "dev", absent from the image, created with uid/gid 1001',
    image: IMAGE,
    generatorArgs: ['--default-uid', '1001', '--default-gid', '1001'],
    expected: { name: 'dev', uid: 1001, gid: 1001, group: 'dev', home: '/home/dev' },
    hooks: false,
    // Docker Gitspace creates no user: manage user's chown names one the image does not have.
    reference: { startFails: "manage user: chown: invalid user: ‘dev:dev’" },
  },
  {
    name: 'uid1000-taken',
    about: 'image where uid/gid 1000 belong to ubuntu; remoteUser vscode',
    image: IMAGE_UID1000,
    generatorArgs: [],
    expected: vscode,
    hooks: false,
    reference: { startFails: "manage user: chown: invalid user: ‘vscode:vscode’" },
  },
  {
    name: 'container-root',
    about: 'containerUser root, remoteUser vscode; postStartCommand object form, one entry failing',
    image: IMAGE,
    generatorArgs: [],
    expected: vscode,
    hooks: true,
    failingHook: { label: 'postStartCommand/00-fails', code: 7 },
  },
  {
    name: 'devbase',
    about: 'devcontainers-base-like image: passwordless sudo with security.sudo true; only containerUser in devcontainer.json, remoteUser, containerEnv and hooks from the image label',
    image: IMAGE_DEVBASE,
    generatorArgs: [],
    expected: vscode,
    hooks: false,
    imageSudo: true,
    labelOnly: DEVBASE_LABEL,
    values: { security: { mode: 'standard', sudo: true } },
  },
  {
    name: 'lang',
    about: 'language image: /go and an npm prefix outside HOME, written through groups golang and npm; sudo off (the default)',
    image: IMAGE_LANG,
    generatorArgs: [],
    // groupadd --system gives golang 999, then npm 998 (images/devbase/Dockerfile).
    expected: { ...vscode, groups: '1000(vscode),998(npm),999(golang)' },
    hooks: false,
    imageSudo: true,
    writablePaths: ['/go', '/usr/local/share/npm-global'],
    probeWritable: true,
    labelOnly: DEVBASE_LABEL,
    // cases/lang/Dockerfile.next changes .bash_logout and .profile, adds .config/gotool/config.toml,
    // changes /go/bin/gotool and /go/gotool.conf and drops /go/bin/gotool-helper (images/devbase has them).
    upgrade: {
      dockerfile: 'Dockerfile.next',
      userEdits: {
        '/home/vscode/.profile': '# my own .profile\nexport EDITOR=vi\n',
        '/home/vscode/notes.txt': 'my notes\n',
        '/go/gotool.conf': 'format = "mine"\n',
        '/go/src/mine/main.go': 'package main\n',
      },
      expect: {
        // Untouched by the user, changed by the image: the new image's.
        '/home/vscode/.bash_logout': '# ~/.bash_logout of the next image\nclear\n',
        '/go/bin/gotool': '#!/bin/sh\necho "gotool 2.0"\n',
        // Edited by the user, changed by the image: the user's (the image's beside it, below).
        '/home/vscode/.profile': '# my own .profile\nexport EDITOR=vi\n',
        '/go/gotool.conf': 'format = "mine"\n',
        // Added by the user: untouched.
        '/home/vscode/notes.txt': 'my notes\n',
        '/go/src/mine/main.go': 'package main\n',
        // New in the image: copied in; dropped by the image, untouched: moved aside.
        '/home/vscode/.config/gotool/config.toml': 'theme = "next"\n',
        '/go/bin/gotool-helper': null,
      },
      conflicts: ['/home/vscode/.profile', '/go/gotool.conf'],
    },
  },
  {
    name: 'features',
    about: 'devcontainer features: OCI (dependsOn, options, containerEnv), tarball (installsAfter), local (its own postCreateCommand); built FROM the image with BuildKit, pulled by the cluster from its registry',
    image: IMAGE,
    generatorArgs: [],
    expected: vscode,
    hooks: false,
    features: {
      tools: {
        // hello: options greeting "hi", shout true, flavor "hot"; local-tool: option level "3".
        hello: { path: '/opt/hello/bin/hello', output: 'HI hot' },
        'local-tool': { path: '/usr/local/bin/local-tool', output: 'local-tool level 3' },
      },
      containerEnv: { HELLO_HOME: '/opt/hello', GREET_FROM: 'tarball' },
      // Round 1: marker (no dependencies) and local-tool, ties sorted by resource ("./local-tool" first);
      // round 2: hello (dependsOn marker); round 3: greet (installsAfter hello).
      order: 'local-tool marker hello greet',
      files: {
        // hello's dependsOn gives marker the option note "from-hello"; greet ran hello after it was installed.
        '/usr/local/share/gitspace-features-test/marker-note': 'from-hello',
        '/usr/local/share/gitspace-features-test/greet-saw': 'HI hot',
      },
      postCreate: '/opt/hello/bin/hello /usr/local/bin/local-tool HI hot',
      featurePostCreate: { file: 'local-tool-ran', content: 'local-tool level 3' },
    },
  },
  {
    name: 'ssh-ide',
    about: 'ide vs_code: sshd as the user, key login; no devcontainer.json in the repository',
    image: IMAGE,
    generatorArgs: ['--ide', 'vs_code'],
    expected: vscode,
    hooks: false,
    devcontainerInRepo: false,
  },
];
