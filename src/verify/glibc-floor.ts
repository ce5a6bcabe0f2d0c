/**
 * Which releases a package fits, from the glibc its ELF files need (the health check prints that
 * floor in the build log: `health check: needs glibc >= 2.xx`): every catalogue release whose glibc
 * is at least the floor. A package built on bookworm whose newest symbol is GLIBC_2.28 installs on
 * bullseye, bookworm, trixie, jammy and noble alike.
 */
import type { Machine } from '../machine/catalogue.ts';
import { compareVersions } from '../in-machine/health-check.ts';
import { distOf } from '../repository/repository.ts';

/** glibc of each release the default catalogue builds for (their distributions' libc6/glibc packages). */
export const RELEASE_GLIBC: Record<string, string> = {
  bullseye: '2.31',
  bookworm: '2.36',
  trixie: '2.41',
  focal: '2.31',
  jammy: '2.35',
  noble: '2.39',
  el8: '2.28',
  el9: '2.34',
  el10: '2.39',
  amzn2023: '2.34',
  fc41: '2.40',
  fc42: '2.41',
};

/** The floor a build log states, if it states one. */
export function floorFromLog(lines: string[]): string | undefined {
  for (const line of lines) {
    const match = /health check: needs glibc >= ([0-9.]+)/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/** Releases of `format` in the catalogue whose glibc is at least `floor`, oldest glibc first; those of unknown glibc are left out. */
export function releasesFitting(floor: string, format: Machine['format'], machines: Iterable<Machine>): string[] {
  const releases = new Set<string>();
  for (const machine of machines) {
    if (machine.format !== format || !machine.os) continue;
    const release = distOf(format, machine.os);
    const glibc = RELEASE_GLIBC[release];
    if (glibc && compareVersions(glibc, floor) >= 0) releases.add(release);
  }
  return [...releases].sort((a, b) => compareVersions(RELEASE_GLIBC[a]!, RELEASE_GLIBC[b]!) || a.localeCompare(b));
}
