/** Versions as Debian and RPM sort them; a module of its own so the package writers need nothing else of the options. */

/** semver `1.2.0-rc.1` sorts before `1.2.0`; in Debian and RPM that needs `1.2.0~rc.1`. */
export function toPackageVersion(version: string): string {
  // Dashes inside the pre-release (1.0.0-beta-2) would read as a Debian revision: make them dots.
  return version
    .replace(/^v/, '')
    .replace(/^(\d+\.\d+\.\d+)-([^+]*)/, (_, release: string, pre: string) => `${release}~${pre.replaceAll('-', '.')}`);
}
