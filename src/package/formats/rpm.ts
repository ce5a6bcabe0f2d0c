/** The .rpm format: RPM's architecture names and relation syntax, rpm's scriptlet argument. */
import type { Format } from '../format.ts';
import type { Hooks } from '../../options/types.ts';
import { ARCH_NAMES } from '../../util/arch.ts';

/**
 * A Debian relation (`name (>= 1.2) | other`) in RPM's syntax (`(name >= 1.2 or other)`): `<<`/`>>`
 * become `<`/`>`, alternatives a rich dependency (rpm >= 4.13).
 */
export function rpmRelation(relation: string): string {
  const alternatives = relation.split(' | ').map((alternative) =>
    alternative.replace(/^(\S+) \((<<|<=|=|>=|>>) (\S+)\)$/, (_, name: string, op: string, version: string) => `${name} ${op === '<<' ? '<' : op === '>>' ? '>' : op} ${version}`),
  );
  return alternatives.length > 1 ? `(${alternatives.join(' or ')})` : alternatives[0]!;
}

/** rpm passes the number of versions installed once the transaction is done: 1 (install), 2+ (upgrade), 0 (erase). */
const RPM_EVENTS: Record<keyof Hooks, string> = {
  preinst: 'if [ "$1" -ge 2 ]; then event=upgrade; else event=install; fi',
  postinst: 'if [ "$1" -ge 2 ] && [ ! -e "$enable_marker" ]; then event=upgrade; else event=install; fi',
  prerm: 'if [ "$1" -ge 1 ]; then event=upgrade; else event=remove; fi',
  postrm: 'if [ "$1" -ge 1 ]; then event=upgrade; else event=remove; fi',
};

export const rpm: Format = {
  name: 'rpm',
  arch: (arch) => ARCH_NAMES[arch].rpm,
  fileName: ({ name, version, iteration, arch }) => `${name}-${version}-${iteration}.${rpm.arch(arch)}.rpm`,
  relation: rpmRelation,
  unitDir: () => '/usr/lib/systemd/system',
  phaseEvent: (phase) => [RPM_EVENTS[phase]],
  changelogFiles: () => [],
  unsupported: {
    breaks: 'rpm has no Breaks; use conflicts (rpm Conflicts) instead',
    fields: 'an rpm spec takes no fields of its own; leave fields to the deb builds',
    changes: 'a .changes file describes a Debian upload; leave changes to the deb builds',
  },
  nativePackager: 'rpmbuild',
  defaultSpecTemplate: 'rpm.spec.hbs',
};
