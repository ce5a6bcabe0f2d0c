/**
 * The packagers by name (adding one is a module of packagers/ and a line here), and which one a
 * build uses: fpm where the machine has it, else the native packager of the machine's format.
 */
import { BuildError } from '../errors.ts';
import type { Machine } from '../machine/catalogue.ts';
import { formatOf } from './formats.ts';
import type { PackageRole, Packager, PackagerName } from './packager.ts';
import { dpkgDeb } from './packagers/dpkg-deb.ts';
import { fpm } from './packagers/fpm.ts';
import { rpmbuild } from './packagers/rpmbuild.ts';
import type { PackageSpec } from './spec.ts';

export const PACKAGERS: Record<PackagerName, Packager> = { 'dpkg-deb': dpkgDeb, rpmbuild, fpm };

export function packagerNamed(name: PackagerName): Packager {
  return PACKAGERS[name];
}

/** The packager a build of `machine` would use without looking in the machine: its format's native one. */
export function nativePackager(machine: Pick<Machine, 'format'>): Packager {
  return PACKAGERS[formatOf(machine.format).nativePackager];
}

/** fpm where the machine has it, else the native packager; `has` runs a shell command in the machine and says whether it succeeded. */
export async function detectPackager(machine: Machine, has: (command: string) => Promise<boolean>): Promise<Packager> {
  const native = nativePackager(machine);
  for (const candidate of [fpm, native]) {
    if (candidate.detect === undefined || (await has(candidate.detect))) return candidate;
  }
  throw new BuildError(
    `machine ${machine.id} makes .${machine.format} packages but has neither fpm nor ${native.name}: ${native.install ?? `install ${native.name}`} in its Dockerfile`,
    { stage: 'package' },
  );
}

/** Every packager's template variables (a template may name any of them), each saying whether it is `active`. */
export function packagerVariables(active: Packager, spec: PackageSpec, role: PackageRole): Record<string, unknown> {
  // glibcFloorCommand: the active packager's, ndist's own shell (no user input), inserted raw after the health check.
  return Object.assign({ packager: active.name, glibcFloorCommand: active.floorCommand(spec, role).join('\n') }, ...Object.values(PACKAGERS).map((packager) => packager.templateVariables(spec, role, packager === active)));
}
