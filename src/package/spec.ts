/** What a package is, settled on the host before its machine starts (see metadata.ts). */
import type { PackageFormat } from './format.ts';
import type { ChangelogEntry } from './changelog.ts';
import type { Contents } from './contents.ts';
import type { Lifecycle } from './service.ts';
import type { WorkspacePlan } from './workspace.ts';
import type { Arch, Compression } from '../options/types.ts';
import type { ArchNames } from '../util/arch.ts';

export interface PackageSpec {
  app: string;
  /** Upstream version as the package manager sees it (semver pre-releases use `~`). */
  version: string;
  iteration: string;
  arch: Arch;
  /** Node's name for the architecture: x64, arm64 or armv7l. */
  nodeArch: ArchNames['node'];
  /** RPM's name for the architecture: x86_64, aarch64 or armv7hl. */
  rpmArch: ArchNames['rpm'];
  maintainer: string;
  description: string;
  license?: string;
  homepage?: string;
  /** Path of the script /usr/bin/<app> runs, relative to the app root. */
  entry: string;
  /** Every command installed in /usr/bin: /usr/bin/<app> (entry) first, then each other package.json bin. */
  commands: Command[];
  /** The man pages of package.json's `man`, installed gzipped. */
  manPages: ManPage[];
  /** Dependencies in the format's own syntax, `@names` replaced by the machine's distro packages. */
  runtimeDeps: string[];
  /** Build dependencies, `@names` replaced by the machine's distro packages. */
  buildDeps: string[];
  compression: Compression;
  format: PackageFormat;
  /** Where the app is installed: /opt/<app>. */
  prefix: string;
  fileName: string;
  /** Relations in the format's own syntax (rpm: replaces become Obsoletes). */
  provides: string[];
  conflicts: string[];
  replaces: string[];
  /** Weak and ordering relations in the format's syntax; a format without one refused it (Format.unsupported). */
  recommends: string[];
  suggests: string[];
  enhances: string[];
  preDepends: string[];
  breaks: string[];
  /** Version epoch: `epoch:version-iteration` in deb, Epoch: in rpm. */
  epoch?: number;
  /** Extra control fields (deb), X-… names. */
  fields: Record<string, string>;
  /** The releases of the build's `changelog` file, newest first; unset: no changelog. */
  changelog?: ChangelogEntry[];
  /** Files, symlinks, directories and ghosts of `contents` (config files and owners also in the lifecycle). */
  contents: Contents;
  /** runtime 'shared': the prefix of the runtime package the app runs on (/opt/ndist/node/<version>); unset: Node is bundled. */
  sharedRuntime?: string;
  /** Commands run in the machine after the full install, then dependencies pruned to production; absent or no commands: no build step. */
  buildStep?: BuildStep;
  /** The `workspace` option: the monorepo's workspace that ships and what it takes along; absent for an app at the source's root. */
  workspace?: WorkspacePlan;
  /** Service, account, config files, directories and hooks; absent for a plain package. */
  lifecycle?: Lifecycle;
}

/** A /usr/bin/<name> wrapper running `entry` (relative to the app root). */
export interface Command {
  name: string;
  entry: string;
}

/** A man page of the app: `source` relative to the app root, `path` where it is installed (…/man<section>/<page>.gz). */
export interface ManPage {
  source: string;
  path: string;
}

/** The build step: its commands, and where they come from (said in the build log). */
export interface BuildStep {
  commands: string[];
  from: string;
}

/** A package's relations and extra fields when it declares none (the shared runtime package, tests). */
export const NO_RELATIONS = {
  provides: [],
  conflicts: [],
  replaces: [],
  recommends: [],
  suggests: [],
  enhances: [],
  preDepends: [],
  breaks: [],
  fields: {},
} as const satisfies Pick<PackageSpec, 'provides' | 'conflicts' | 'replaces' | 'recommends' | 'suggests' | 'enhances' | 'preDepends' | 'breaks' | 'fields'>;
