/**
 * What a host looks like before a package is installed and after it is purged (piuparts' check):
 * every path with its type, mode and owner, every user and group. Pure: the shell that takes a
 * snapshot in a container, its parser, and the comparison.
 */

/**
 * Trees left out: kernel and runtime file systems, and the package managers' and systemd's own
 * state, which installing anything changes (indexes, logs, caches, the dpkg database).
 */
export const SNAPSHOT_EXCLUDED = ['/proc', '/sys', '/dev', '/run', '/tmp', '/var/tmp', '/var/lib/apt', '/var/cache', '/var/log', '/var/lib/dpkg', '/var/lib/systemd', '/var/lib/dnf', '/var/lib/rpm', '/ndist-verify'];

/**
 * Single files that any user-adding or library-installing package changes as a side effect:
 * shadow-utils' backups and ld.so's cache. Their absence or presence proves nothing about the package.
 */
const SIDE_EFFECT_FILES = new Set(['/etc/passwd-', '/etc/group-', '/etc/shadow-', '/etc/gshadow-', '/etc/subuid-', '/etc/subgid-', '/etc/ld.so.cache']);

/** Prints `P <type> <mode> <owner> <group> <path>` per path, `U <user>` and `G <group>` lines. */
export const SNAPSHOT_COMMAND = [
  `find / -xdev \\( ${SNAPSHOT_EXCLUDED.map((dir) => `-path ${dir}`).join(' -o ')} \\) -prune -o -printf 'P %y %m %u %g %p\\n'`,
  "getent passwd | cut -d: -f1 | sed 's/^/U /'",
  "getent group | cut -d: -f1 | sed 's/^/G /'",
].join('; ');

export interface Snapshot {
  /** Path → `<type> <mode> <owner> <group>` (type as find's %y: f, d, l…). */
  paths: Map<string, string>;
  users: Set<string>;
  groups: Set<string>;
}

export function parseSnapshot(text: string): Snapshot {
  const snapshot: Snapshot = { paths: new Map(), users: new Set(), groups: new Set() };
  for (const line of text.split('\n')) {
    if (line.startsWith('P ')) {
      const match = /^P (\S+ \S+ \S+ \S+) (\/.*)$/.exec(line);
      if (match && !SIDE_EFFECT_FILES.has(match[2]!)) snapshot.paths.set(match[2]!, match[1]!);
    } else if (line.startsWith('U ')) snapshot.users.add(line.slice(2));
    else if (line.startsWith('G ')) snapshot.groups.add(line.slice(2));
  }
  return snapshot;
}

export interface SnapshotDiff {
  /** Paths, users and groups there after purge that were not before install. */
  left: string[];
  /** Paths, users and groups there before install that purge took away. */
  missing: string[];
  /** Paths whose type, mode or owner is not what it was: `path: before → after`. */
  changed: string[];
}

export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotDiff {
  const left: string[] = [];
  const missing: string[] = [];
  const changed: string[] = [];
  for (const [file, facts] of after.paths) {
    const earlier = before.paths.get(file);
    if (earlier === undefined) left.push(file);
    else if (earlier !== facts) changed.push(`${file}: ${earlier} → ${facts}`);
  }
  for (const file of before.paths.keys()) if (!after.paths.has(file)) missing.push(file);
  for (const user of after.users) if (!before.users.has(user)) left.push(`user ${user}`);
  for (const user of before.users) if (!after.users.has(user)) missing.push(`user ${user}`);
  for (const group of after.groups) if (!before.groups.has(group)) left.push(`group ${group}`);
  for (const group of before.groups) if (!after.groups.has(group)) missing.push(`group ${group}`);
  return { left: left.sort(), missing: missing.sort(), changed: changed.sort() };
}

/** The diff as lines for a failure message; empty when the host is as it was. */
export function describeDiff(diff: SnapshotDiff): string[] {
  return [
    ...diff.left.map((entry) => `left after purge: ${entry}`),
    ...diff.missing.map((entry) => `gone after purge (it was there before install): ${entry}`),
    ...diff.changed.map((entry) => `changed: ${entry}`),
  ];
}
