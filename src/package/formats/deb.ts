/** The .deb format: Debian's names, relations as written, dpkg's maintainer-script arguments. */
import { debianChangelogGz } from '../changelog.ts';
import type { Format } from '../format.ts';
import type { Hooks } from '../../options/types.ts';

/** How a deb phase's arguments map to an event; an unknown action is an error, as Debian policy asks. */
const DEB_EVENTS: Record<keyof Hooks, string[]> = {
  // preinst install <old-version> is a reinstall after remove (config files kept): still an install.
  preinst: ['install) event=install ;;', 'upgrade) event=upgrade ;;', 'abort-upgrade) event=abort-upgrade ;;'],
  postinst: [
    'configure) if [ -z "${2:-}" ] || [ -e "$enable_marker" ]; then event=install; else event=upgrade; fi ;;',
    'abort-remove|abort-deconfigure) event=abort-remove ;;',
    'abort-upgrade) event=abort-upgrade ;;',
    'triggered) exit 0 ;;',
  ],
  prerm: ['remove|deconfigure) event=remove ;;', 'upgrade|failed-upgrade) event=upgrade ;;'],
  postrm: [
    'remove) event=remove ;;',
    'purge) event=purge ;;',
    'upgrade|failed-upgrade|disappear) event=upgrade ;;',
    'abort-install) event=abort-install ;;',
    'abort-upgrade) event=abort-upgrade ;;',
  ],
};

export const deb: Format = {
  name: 'deb',
  arch: (arch) => arch,
  fileName: ({ name, version, iteration, arch }) => `${name}_${version}-${iteration}_${arch}.deb`,
  relation: (relation) => relation,
  // /lib/systemd/system for Debian before 13 and Ubuntu before 24.04 (lintian asks), else /usr/lib.
  unitDir(os) {
    const major = Number.parseFloat(os?.versionId ?? '0');
    const merged = (os?.id === 'debian' && major >= 13) || (os?.id === 'ubuntu' && major >= 24.04);
    return merged ? '/usr/lib/systemd/system' : '/lib/systemd/system';
  },
  phaseEvent: (phase) => ['case "$1" in', ...DEB_EVENTS[phase].map((line) => `  ${line}`), `  *) echo "${phase} called with unknown argument '$1'" >&2; exit 1 ;;`, 'esac'],
  changelogFiles: (spec, sourceDateEpoch) =>
    spec.changelog ? [{ path: `usr/share/doc/${spec.app}/changelog.Debian.gz`, mode: 0o644, content: debianChangelogGz(spec, spec.changelog, sourceDateEpoch) }] : [],
  unsupported: {},
  // dpkg removed /opt with the last package listing it; the system had it (base-files makes it).
  postrmRestore: ['[ -d /opt ] || mkdir -m 0755 /opt'],
  nativePackager: 'dpkg-deb',
};
