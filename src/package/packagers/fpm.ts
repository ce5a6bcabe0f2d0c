/**
 * fpm, where the machine has it: writes .deb and .rpm from flags (its own control file), maintainer
 * scripts given as files.
 */
import { ConfigError } from '../../errors.ts';
import type { PackageFormat } from '../format.ts';
import { formatOf } from '../formats.ts';
import type { Packager } from '../packager.ts';
import { PHASES, phaseScripts, type Phase } from '../service.ts';
import { OUTPUT_DIR, machineFile, stagingRoot } from '../staging.ts';
import type { PackageSpec } from '../spec.ts';
import { RESTORE_POSTRM_IN_MACHINE, restorePostrm } from '../system-directories.ts';
import { FLOOR_DIR, floorRelationsFile } from '../glibc-floor.ts';
import type { PackageRole } from '../packager.ts';

/**
 * fpm's options file with the glibc floor (`--depends '<relation>'` a line, which fpm splits as a
 * shell does): named on every command line, empty until the health check's floor is written in.
 */
export const fpmFloorOptionsPath = (role: PackageRole) => `${FLOOR_DIR}/${role}.fpm`;

/** fpm reads maintainer scripts from files: they are put here in the machine, outside the package tree. */
export const FPM_SCRIPTS_DIR = '/ndist/scripts';

const FPM_SCRIPT_FLAGS: Record<Phase, string> = {
  preinst: '--before-install',
  postinst: '--after-install',
  prerm: '--before-remove',
  postrm: '--after-remove',
};

const FPM_DEB_COMPRESSION = { xz: 'xz', gzip: 'gz', zstd: 'zst', none: 'none' } as const;
const FPM_RPM_COMPRESSION = { xz: 'xz', gzip: 'gzip', none: 'none' } as const;

/** fpm's flags of its own for each format: the package's, and those owning its config directories. */
const FORMAT_ARGS: Record<PackageFormat, { package(spec: PackageSpec): string[]; configDirectories(spec: PackageSpec): string[]; relations(spec: PackageSpec): string[] }> = {
  deb: {
    // fpm has flags for these three; Breaks, Enhances and X- fields go in as control fields.
    relations: (spec) => [
      ...spec.preDepends.flatMap((relation) => ['--deb-pre-depends', relation]),
      ...spec.recommends.flatMap((relation) => ['--deb-recommends', relation]),
      ...spec.suggests.flatMap((relation) => ['--deb-suggests', relation]),
      ...(spec.enhances.length > 0 ? ['--deb-field', `Enhances: ${spec.enhances.join(', ')}`] : []),
      ...(spec.breaks.length > 0 ? ['--deb-field', `Breaks: ${spec.breaks.join(', ')}`] : []),
      ...Object.entries(spec.fields).flatMap(([name, value]) => ['--deb-field', `${name}: ${value}`]),
    ],
    package: (spec) => [
      // fpm marks every file under /etc as a conffile unless told not to (fpm #873).
      '--deb-no-default-config-files',
      '--deb-compression', FPM_DEB_COMPRESSION[spec.compression],
    ],
    configDirectories: () => [],
  },
  rpm: {
    // fpm writes no rpm Recommends, Suggests, Enhances, Requires(pre) or %ghost: rpmbuild (a machine without fpm) does.
    relations(spec) {
      const unsupported = (['recommends', 'suggests', 'enhances', 'preDepends'] as const).find((field) => spec[field].length > 0) ?? (spec.contents.ghosts.length > 0 ? 'contents' : undefined);
      if (unsupported) {
        throw new ConfigError(unsupported, `fpm cannot write ${unsupported === 'contents' ? "a ghost file (rpm %ghost)" : `rpm ${unsupported === 'preDepends' ? 'Requires(pre)' : unsupported}`}; build this .rpm on a machine without fpm (ndist then uses rpmbuild)`);
      }
      return [];
    },
    package(spec) {
      if (spec.compression === 'zstd') throw new ConfigError('compression', 'fpm cannot write zstd rpm payloads; use xz, gzip or none');
      return [
        // fpm's default rpm file digest is md5, which FIPS hosts refuse ("cpio: Digest mismatch").
        '--rpm-digest', 'sha256',
        '--rpm-compression', FPM_RPM_COMPRESSION[spec.compression],
        '--rpm-os', 'linux',
        // The package owns its own directories (every file below them too), never /opt, /usr or /usr/bin.
        '--directories', spec.prefix,
        '--directories', `/usr/share/doc/${spec.app}`,
      ];
    },
    // Own /etc/<app> when config files are below it; never /etc itself or /etc/default.
    configDirectories(spec) {
      const appEtc = `/etc/${spec.app}`;
      return spec.lifecycle?.configFiles.some((file) => file.path.startsWith(`${appEtc}/`)) ? ['--directories', appEtc] : [];
    },
  },
};

/**
 * fpm flags for relations, config files and maintainer scripts. Our postrm handles purge itself,
 * so no --deb-after-purge; no --deb-systemd either, since the unit and its handling are ours.
 */
function fpmLifecycleArgs(spec: PackageSpec): string[] {
  const lifecycle = spec.lifecycle;
  const args = [
    ...spec.provides.flatMap((relation) => ['--provides', relation]),
    ...spec.conflicts.flatMap((relation) => ['--conflicts', relation]),
    ...spec.replaces.flatMap((relation) => ['--replaces', relation]),
    ...FORMAT_ARGS[spec.format].relations(spec),
  ];
  // No lifecycle: only the postrm putting back what dpkg removed with the package, where the format needs one.
  if (!lifecycle) return restorePostrm(spec.format) ? [...args, FPM_SCRIPT_FLAGS.postrm, RESTORE_POSTRM_IN_MACHINE] : args;
  args.push(...lifecycle.configFiles.flatMap((file) => ['--config-files', file.path]));
  args.push(...FORMAT_ARGS[spec.format].configDirectories(spec));
  args.push(...PHASES.flatMap((phase) => [FPM_SCRIPT_FLAGS[phase], `${FPM_SCRIPTS_DIR}/${phase}`]));
  return args;
}

export const fpm: Packager = {
  name: 'fpm',
  formats: ['deb', 'rpm'],
  detect: 'command -v fpm',
  rendersSpec: false,
  command(spec, role, fpmArgs) {
    // fpm writes a changelog of its own into a .deb (and renames it changelog.gz); rpmbuild and dpkg-deb write ndist's.
    if (spec.changelog) throw new ConfigError('changelog', 'is not written by fpm yet; build on a machine without fpm (ndist then uses dpkg-deb or rpmbuild)');
    const optional = (flag: string, value: string | undefined) => (value ? [flag, value] : []);
    return [
      'fpm', '-s', 'dir', '-t', spec.format,
      '-n', spec.app,
      '-v', spec.version,
      '--iteration', spec.iteration,
      ...(spec.epoch !== undefined ? ['--epoch', String(spec.epoch)] : []),
      '-a', formatOf(spec.format).arch(spec.arch),
      '-m', spec.maintainer,
      '--description', spec.description,
      ...optional('--license', spec.license),
      ...optional('--url', spec.homepage),
      ...spec.runtimeDeps.flatMap((dep) => ['-d', dep]),
      '--fpm-options-file', fpmFloorOptionsPath(role),
      ...FORMAT_ARGS[spec.format].package(spec),
      ...fpmLifecycleArgs(spec),
      '-p', `${OUTPUT_DIR}/${spec.fileName}`,
      ...fpmArgs,
      '-C', stagingRoot(role),
      '.',
    ];
  },
  controlFiles: () => [],
  scriptedControl: (_spec, root) => [`rm -rf "$${root}/DEBIAN"`],
  floorCommand: (_spec, role) => [
    `if [ -s ${floorRelationsFile(role)} ]; then`,
    `  while IFS= read -r relation; do printf -- "--depends '%s'\\n" "$relation"; done < ${floorRelationsFile(role)} > ${fpmFloorOptionsPath(role)}`,
    'fi',
  ],
  // The floor's options file (empty), and the maintainer scripts for the package's format (its --before-install… flags name them).
  machineFiles(spec, role) {
    const floor = machineFile(fpmFloorOptionsPath(role), '', 0o644);
    if (!spec.lifecycle) {
      const postrm = restorePostrm(spec.format);
      return [floor, ...(postrm ? [machineFile(RESTORE_POSTRM_IN_MACHINE, postrm, 0o755)] : [])];
    }
    const scripts = phaseScripts(spec.lifecycle, spec.format);
    return [floor, ...PHASES.map((phase) => machineFile(`${FPM_SCRIPTS_DIR}/${phase}`, scripts[phase], 0o755))];
  },
  templateVariables: () => ({}),
};
