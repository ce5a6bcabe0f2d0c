/**
 * A packager: the tool that turns the staged tree into a package file inside the build machine
 * (dpkg-deb, rpmbuild, fpm). Each is a module of packagers/, registered by name in packagers.ts;
 * the build never branches on the packager's name. Everything it knows is here: its command line,
 * the files it reads, how a machine is checked for it, the template variables it brings.
 */
import type { PackageFormat } from './format.ts';
import type { PackageSpec } from './spec.ts';
import type { InputEntry } from '../machine/inputs.ts';

export type PackagerName = 'dpkg-deb' | 'rpmbuild' | 'fpm';

/** Which package of a build a packager writes: the app's, or the shared runtime's beside it in the same machine. */
export type PackageRole = 'app' | 'runtime';

/** A file ndist writes into the staging tree. */
export interface StagedFile {
  /** Path relative to the staging root. */
  path: string;
  mode: number;
  content: string | Buffer;
}

export interface Packager {
  readonly name: PackagerName;
  /** The formats it writes. */
  readonly formats: readonly PackageFormat[];
  /** Shell command that succeeds when the machine has it; none: every machine of its formats has it. */
  readonly detect?: string;
  /** What a machine's Dockerfile installs to have it, for the error when it is missing. */
  readonly install?: string;
  /** It reads a spec rendered from the machine's spec template (given to `machineFiles`). */
  readonly rendersSpec: boolean;
  /** The command line that writes OUTPUT_DIR/<fileName> from the role's staging root; `extraArgs` are the build's fpmArgs. */
  command(spec: PackageSpec, role: PackageRole, extraArgs: string[]): string[];
  /** Control files it reads from the staging tree (dpkg-deb's DEBIAN/). */
  controlFiles(spec: PackageSpec): StagedFile[];
  /** Shell lines giving the tree in the shell variable `root` its control files, for a package staged by a script: the runtime package. */
  scriptedControl(spec: PackageSpec, root: string): string[];
  /** Shell lines run after the health check that put the glibc floor it wrote (glibc-floor.ts) into what the packager reads; nothing when the file is absent. */
  floorCommand(spec: PackageSpec, role: PackageRole): string[];
  /** The files it reads from elsewhere in the machine (maintainer scripts, the rendered spec…). */
  machineFiles(spec: PackageSpec, role: PackageRole, specText: string | undefined): InputEntry[];
  /** Template variables of its own; every template gets every packager's (the README lists them), `active` says whether this one packages. */
  templateVariables(spec: PackageSpec, role: PackageRole, active: boolean): Record<string, unknown>;
}
