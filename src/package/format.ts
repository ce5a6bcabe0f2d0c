/**
 * A package format (deb, rpm): what differs between formats whichever tool writes the package.
 * Each format is a module of formats/, registered by name in formats.ts; the build never branches
 * on the format's name. What a packager does with a format is in packager.ts.
 */
import type { Arch, Hooks } from '../options/types.ts';
import type { StagedFile } from './packager.ts';
import type { PackageSpec } from './spec.ts';

export type PackageFormat = 'deb' | 'rpm';

export interface Format {
  readonly name: PackageFormat;
  /** The architecture as the format's package names and tools spell it (`uname -m` for rpm). */
  arch(arch: Arch): string;
  /** The package's file name: written here once, for app and runtime packages alike. */
  fileName(pkg: { name: string; version: string; iteration: string; arch: Arch }): string;
  /** A relation written in Debian syntax (`name (>= 1.2) | other`), in the format's own. */
  relation(relation: string): string;
  /** Where systemd units go on a machine of this format running `os` (its /etc/os-release). */
  unitDir(os: { id: string; versionId: string } | undefined): string;
  /** Shell lines of a maintainer script that set `$event` from what the package manager passes `phase`. */
  phaseEvent(phase: keyof Hooks): string[];
  /** Files the package's changelog becomes in the tree (deb: changelog.Debian.gz; rpm: none, its %changelog is in the spec). */
  changelogFiles(spec: PackageSpec, sourceDateEpoch: number): StagedFile[];
  /** Options the format has no equivalent for, each with why and what to do instead. */
  readonly unsupported: Partial<Record<'breaks' | 'fields' | 'changes', string>>;
  /** Shell lines every postrm ends with: system directories the package manager removed with the package, put back (see system-directories.ts). */
  readonly postrmRestore?: string[];
  /** The packager the format's distributions ship, used where a machine has no fpm. */
  readonly nativePackager: 'dpkg-deb' | 'rpmbuild';
  /** Machines of this format carry a spec template for the native packager: its default file. */
  readonly defaultSpecTemplate?: string;
}
