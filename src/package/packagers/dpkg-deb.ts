/** dpkg-deb: builds a .deb from the staged tree and the DEBIAN/ control files ndist writes. */
import type { Lifecycle } from '../service.ts';
import { PHASES, phaseScripts } from '../service.ts';
import type { Packager, StagedFile } from '../packager.ts';
import { OUTPUT_DIR, stagingRoot } from '../staging.ts';
import type { PackageSpec } from '../spec.ts';
import { shellQuote } from '../../machine/script.ts';
import { restorePostrm } from '../system-directories.ts';
import { FLOOR_DIR, floorRelationsFile } from '../glibc-floor.ts';
import type { PackageRole } from '../packager.ts';

const list = (relations: string[]) => (relations.length > 0 ? relations.join(', ') : undefined);

export function debControl(spec: PackageSpec): string {
  const fields: [string, string | undefined][] = [
    ['Package', spec.app],
    ['Version', `${spec.epoch !== undefined ? `${spec.epoch}:` : ''}${spec.version}-${spec.iteration}`],
    ['Architecture', spec.arch],
    ['Maintainer', spec.maintainer],
    ['Pre-Depends', list(spec.preDepends)],
    ['Depends', list(spec.runtimeDeps)],
    ['Recommends', list(spec.recommends)],
    ['Suggests', list(spec.suggests)],
    ['Enhances', list(spec.enhances)],
    ['Breaks', list(spec.breaks)],
    ['Provides', list(spec.provides)],
    ['Conflicts', list(spec.conflicts)],
    ['Replaces', list(spec.replaces)],
    ['Section', 'misc'],
    ['Priority', 'optional'],
    ['Homepage', spec.homepage],
    ...Object.entries(spec.fields),
    ['Description', spec.description],
  ];
  return fields
    .filter((field): field is [string, string] => field[1] !== undefined)
    .map(([name, value]) => `${name}: ${value}\n`)
    .join('');
}

/** DEBIAN/conffiles: exactly the config files, nothing else under /etc. */
export function debConffiles(lifecycle: Lifecycle): string {
  return lifecycle.configFiles.map((file) => `${file.path}\n`).join('');
}

/**
 * Shell that appends `Installed-Size:` for the tree at `root` (a shell expression) to its
 * DEBIAN/control, counted as dpkg-gencontrol does (KiB per file rounded up, 1 per other entry):
 * `du` counts directory blocks, which depend on the filesystem, and the package's bytes must not.
 */
export function installedSizeCommand(root: string): string {
  return `find ${root} -mindepth 1 -path ${root}/DEBIAN -prune -o -printf '%y %s\\n' | awk '{ s += ($1 == "f") ? int(($2 + 1023) / 1024) : 1 } END { print "Installed-Size: " s }' >> ${root}/DEBIAN/control`;
}

/**
 * Awk that adds the relations in `floor` to a control file's Depends (after the runtimeDeps), or
 * gives it a Depends where debControl's would be: after Package … Pre-Depends.
 */
const MERGE_DEPENDS = [
  '!done && /^Depends: / { print $0 ", " floor; done = 1; next }',
  '!done && !/^(Package|Version|Architecture|Maintainer|Pre-Depends):/ { print "Depends: " floor; done = 1 }',
  '{ print }',
].join('\n');

/** Shell that writes the floor's relations into the role's DEBIAN/control, keeping its time SOURCE_DATE_EPOCH (reproducible bytes). */
export function debFloorCommand(role: PackageRole): string[] {
  const relations = floorRelationsFile(role);
  const control = `${stagingRoot(role)}/DEBIAN/control`;
  const merged = `${FLOOR_DIR}/control.${role}`;
  return [
    `if [ -s ${relations} ]; then`,
    `  awk -v floor="$(paste -sd, ${relations} | sed 's/,/, /g')" ${shellQuote(MERGE_DEPENDS)} ${control} > ${merged}`,
    `  cat ${merged} > ${control} && rm -f ${merged}`,
    `  touch --date="@$SOURCE_DATE_EPOCH" ${control}`,
    'fi',
  ];
}

export const dpkgDeb: Packager = {
  name: 'dpkg-deb',
  formats: ['deb'],
  rendersSpec: false,
  command: (spec, role) => ['dpkg-deb', '--root-owner-group', `-Z${spec.compression}`, '--build', stagingRoot(role), `${OUTPUT_DIR}/${spec.fileName}`],
  controlFiles(spec) {
    const files: StagedFile[] = [{ path: 'DEBIAN/control', mode: 0o644, content: debControl(spec) }];
    const lifecycle = spec.lifecycle;
    if (lifecycle) {
      if (lifecycle.configFiles.length > 0) files.push({ path: 'DEBIAN/conffiles', mode: 0o644, content: debConffiles(lifecycle) });
      const scripts = phaseScripts(lifecycle, spec.format);
      for (const phase of PHASES) files.push({ path: `DEBIAN/${phase}`, mode: 0o755, content: scripts[phase] });
    } else {
      const postrm = restorePostrm(spec.format);
      if (postrm) files.push({ path: 'DEBIAN/postrm', mode: 0o755, content: postrm });
    }
    return files;
  },
  scriptedControl(spec, root) {
    const postrm = restorePostrm(spec.format);
    return [
      `printf '%s' ${shellQuote(debControl(spec))} > "$${root}/DEBIAN/control"`,
      ...(postrm ? [`printf '%s' ${shellQuote(postrm)} > "$${root}/DEBIAN/postrm"`, `chmod 0755 "$${root}/DEBIAN/postrm"`] : []),
      installedSizeCommand(`"$${root}"`),
    ];
  },
  floorCommand: (_spec, role) => debFloorCommand(role),
  machineFiles: () => [],
  // ndist's own shell (no user input), inserted raw by the templates.
  templateVariables: (_spec, _role, active) => ({ usesDpkgDeb: active, installedSizeCommand: installedSizeCommand('"$staging"') }),
};
