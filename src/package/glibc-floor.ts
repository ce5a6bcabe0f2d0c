/**
 * The glibc floor as a dependency. The health check knows, only in the build machine once the
 * package is staged, the newest glibc (and libstdc++) symbol versions its ELF files need; it writes
 * them as relations in the format's syntax (`libc6 (>= 2.28)`, `libc.so.6(GLIBC_2.28)(64bit)`), one
 * a line, to floorRelationsFile(role). Each packager then turns that file into what it reads, with
 * the shell lines of its `floorCommand`: dpkg-deb's DEBIAN/control, rpmbuild's spec (an %include),
 * fpm's options file. With the health check off there is no file, and no floor is declared.
 */
import type { PackageRole } from './packager.ts';

/** Where the health check writes the floor's relations in the build machine, per package of the build. */
export const FLOOR_DIR = '/ndist/floor';
export const floorRelationsFile = (role: PackageRole) => `${FLOOR_DIR}/${role}`;

/** The health check's arguments that make it write the floor's relations for `format`. */
export const floorArgs = (role: PackageRole, format: 'deb' | 'rpm') => ['--floor-out', floorRelationsFile(role), '--format', format];
