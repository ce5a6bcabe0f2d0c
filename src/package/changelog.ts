/**
 * The package's changelog, from the app's CHANGELOG.md (Keep a Changelog: `## [1.2.0] - 2024-05-01`,
 * or changesets: `## 1.2.0` with `### Minor Changes`), written as Debian's changelog.Debian.gz
 * (apt-listchanges, lintian) and as the rpm %changelog (`rpm -q --changelog`). Parsed on the host
 * when the package is settled; written when the build is planned, where undated entries (changesets
 * has no dates) get the build's SOURCE_DATE_EPOCH, so the bytes stay reproducible.
 */
import { gzipSync } from 'node:zlib';
import { ConfigError } from '../errors.ts';
import { toPackageVersion } from '../util/package-version.ts';

export interface ChangelogEntry {
  /** As the package manager sees it (semver pre-releases with `~`). */
  version: string;
  /** Seconds since 1970, when the heading has an ISO date. */
  date?: number;
  /** One line each, markdown links reduced to their text. */
  changes: string[];
}

const HEADING = /^##\s+\[?v?([0-9][0-9A-Za-z.+-]*)\]?(?:\s*[-–—]\s*(\d{4}-\d{2}-\d{2}))?\s*$/;
const UNRELEASED = /^##\s+\[?unreleased\]?/i;

/** Markdown inline syntax a changelog line does not need: links to their text, emphasis markers. */
function plain(text: string): string {
  return text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The releases of a CHANGELOG.md, newest first as written. `### Section` headings prefix their
 * items (`Fixed: …`); a changesets item's commit hash (`- abc1234: text`) is dropped; continuation
 * lines join their item; `[Unreleased]` and the reference links at the end are left out.
 */
export function parseChangelog(text: string, field: string): ChangelogEntry[] {
  const entries: ChangelogEntry[] = [];
  let current: ChangelogEntry | undefined;
  let section = '';
  let skipping = false;
  for (const line of text.split(/\r?\n/)) {
    if (UNRELEASED.test(line)) {
      current = undefined;
      skipping = true;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      skipping = false;
      section = '';
      const date = heading[2] ? Date.parse(`${heading[2]}T00:00:00Z`) / 1000 : undefined;
      current = { version: toPackageVersion(heading[1]!), ...(date !== undefined && !Number.isNaN(date) ? { date } : {}), changes: [] };
      entries.push(current);
      continue;
    }
    if (skipping || !current) continue;
    if (/^##\s/.test(line) || /^#\s/.test(line)) {
      current = undefined;
      continue;
    }
    const sub = /^###\s+(.+)$/.exec(line);
    if (sub) {
      section = plain(sub[1]!).replace(/ Changes$/, '');
      continue;
    }
    const item = /^\s{0,3}[-*+]\s+(.*)$/.exec(line);
    if (item) {
      const textOnly = plain(item[1]!.replace(/^[0-9a-f]{7,40}:\s*/, ''));
      if (textOnly) current.changes.push(section ? `${section}: ${textOnly}` : textOnly);
      continue;
    }
    if (/^\s+\S/.test(line) && current.changes.length > 0 && !/^\[[^\]]+\]:\s/.test(line.trim())) {
      current.changes[current.changes.length - 1] = `${current.changes.at(-1)} ${plain(line)}`;
    }
  }
  if (entries.length === 0) throw new ConfigError(field, 'has no release headings like "## [1.2.0] - 2024-05-01" (Keep a Changelog) or "## 1.2.0" (changesets)');
  return entries;
}

/** The entries to write: the package's version first (an entry of its own when the file has none), dates filled in and never rising. */
function datedEntries(entries: ChangelogEntry[], version: string, sourceDateEpoch: number): Required<ChangelogEntry>[] {
  const own = entries.some((entry) => entry.version === version) ? entries : [{ version, changes: [`Version ${version}.`] }, ...entries];
  const dated: Required<ChangelogEntry>[] = [];
  for (const entry of own) {
    const newer = dated.at(-1)?.date ?? sourceDateEpoch;
    // rpm refuses a %changelog not in descending order: an entry is never newer than the one above it.
    dated.push({ ...entry, date: Math.min(entry.date ?? newer, newer), changes: entry.changes.length > 0 ? entry.changes : ['No changes listed.'] });
  }
  return dated;
}

/** `text` folded into lines of at most `width` characters, the first after `first`, the others after `rest`. */
function wrap(text: string, first: string, rest: string, width = 80): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `${rest}${word}`;
    } else {
      line = empty ? `${line}${word}` : `${line} ${word}`;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export interface ChangelogPackage {
  app: string;
  version: string;
  iteration: string;
  epoch?: number;
  maintainer: string;
}

/** The version an entry is written with: the package's own in full, an older release with revision 1. */
function entryVersion(pkg: ChangelogPackage, version: string): string {
  return `${pkg.epoch !== undefined ? `${pkg.epoch}:` : ''}${version}-${version === pkg.version ? pkg.iteration : '1'}`;
}

/** Debian's changelog format (deb-changelog(5)): lines of at most 80 characters, RFC 5322 dates in UTC. */
export function debianChangelog(pkg: ChangelogPackage, entries: ChangelogEntry[], sourceDateEpoch: number, distribution = 'unstable'): string {
  return datedEntries(entries, pkg.version, sourceDateEpoch)
    .map((entry) => {
      const date = new Date(entry.date * 1000);
      const stamp = `${DAYS[date.getUTCDay()]}, ${String(date.getUTCDate()).padStart(2, '0')} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${date.toISOString().slice(11, 19)} +0000`;
      return [
        `${pkg.app} (${entryVersion(pkg, entry.version)}) ${distribution}; urgency=medium`,
        '',
        ...entry.changes.flatMap((change) => wrap(change, '  * ', '    ')),
        '',
        ` -- ${pkg.maintainer}  ${stamp}`,
        '',
      ].join('\n');
    })
    .join('\n');
}

/** changelog.Debian.gz as `gzip -9n` writes it: no name, no time. */
export function debianChangelogGz(pkg: ChangelogPackage, entries: ChangelogEntry[], sourceDateEpoch: number): Buffer {
  return gzipSync(debianChangelog(pkg, entries, sourceDateEpoch), { level: 9 });
}

/** The body of an rpm %changelog (`* Mon May 01 2024 Name <email> - 1.2.0-1`, then `- change` lines), `%` doubled. */
export function rpmChangelog(pkg: ChangelogPackage, entries: ChangelogEntry[], sourceDateEpoch: number): string {
  return datedEntries(entries, pkg.version, sourceDateEpoch)
    .map((entry) => {
      const date = new Date(entry.date * 1000);
      const stamp = `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, '0')} ${date.getUTCFullYear()}`;
      return [`* ${stamp} ${pkg.maintainer} - ${entryVersion(pkg, entry.version)}`, ...entry.changes.flatMap((change) => wrap(change, '- ', '  '))].join('\n');
    })
    .join('\n\n')
    .replaceAll('%', '%%');
}
