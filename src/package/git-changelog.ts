/**
 * The package's changelog from git: one release per version tag (`v1.2.0`, `1.2.0`, or
 * `<package name>@1.2.0` as changesets tags a monorepo), holding the subjects of the commits since
 * the tag before it, newest first, dated by the tagged commit. Commits after the newest tag make
 * the entry of the package's own version. Read on the host from the source's repository (a
 * `directory` source's too: only the commits touching its directory count), deepening a shallow
 * clone first; the entries are written by changelog.ts like a CHANGELOG.md's.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { toPackageVersion } from '../util/package-version.ts';
import type { ChangelogEntry } from './changelog.ts';

/** A release tag: an optional `v` or `<name>@`, then a version starting with a digit and a dot. */
function tagVersion(tag: string, packageName: string | undefined): string | undefined {
  const prefixes = ['v', '', ...(packageName ? [`${packageName}@`] : [])];
  for (const prefix of prefixes) {
    if (!tag.startsWith(prefix)) continue;
    const version = tag.slice(prefix.length);
    if (/^[0-9]+\.[0-9][0-9A-Za-z.+~-]*$/.test(version)) return toPackageVersion(version);
  }
  return undefined;
}

/** Options of the git commands: no pager, no user config changing the log's format, no colour. */
function git(dir: string, args: string[]): string {
  return execFileSync('git', ['-c', 'log.showSignature=false', '-c', 'color.ui=false', ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The subjects of the commits in `range` that touch the app's directory, merges left out, newest first. */
function subjects(dir: string, range: string): string[] {
  return git(dir, ['log', '--no-merges', '--format=%s', range, '--', '.'])
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/**
 * The releases of the git history of `dir` at HEAD, newest first. `field` names the option in
 * errors: a directory outside git, or a history without a version tag, is a ConfigError.
 */
export function gitChangelog(dir: string, packageName: string | undefined, version: string, field: string): ChangelogEntry[] {
  let inside: boolean;
  try {
    inside = git(dir, ['rev-parse', '--is-inside-work-tree']).trim() === 'true';
  } catch {
    inside = false;
  }
  if (!inside) throw new ConfigError(field, `asks for the git log, but the source ${dir} is not in a git repository; give a CHANGELOG.md instead`);
  if (git(dir, ['rev-parse', '--is-shallow-repository']).trim() === 'true') {
    // A remote source is cloned with depth 1: the history between tags is fetched only now.
    try {
      git(dir, ['fetch', '--quiet', '--unshallow', '--tags', 'origin']);
    } catch (error) {
      throw new ConfigError(field, `asks for the git log, but the history of the shallow clone could not be fetched: ${String((error as { stderr?: unknown }).stderr ?? error).trim().split('\n').at(-1)}`);
    }
  }
  // Version tags on HEAD's history (for-each-ref: no tag name reaches a command line), newest tagged commit first.
  const tags = git(dir, ['for-each-ref', '--merged=HEAD', '--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)', 'refs/tags'])
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      const [name, object, peeled] = line.split('\0') as [string, string, string];
      const tagged = tagVersion(name, packageName);
      if (tagged === undefined) return [];
      const commit = peeled || object;
      return [{ name, commit, version: tagged, date: Number(git(dir, ['log', '-1', '--format=%ct', commit]).trim()) }];
    })
    .sort((a, b) => b.date - a.date || b.name.localeCompare(a.name));
  if (tags.length === 0) throw new ConfigError(field, 'asks for the git log, but no tag on the source\'s history names a version (v1.2.0, 1.2.0 or <name>@1.2.0); tag a release, or give a CHANGELOG.md');
  // One entry per version (a version tagged twice: its newest tag).
  const releases = tags.filter((tag, index) => tags.findIndex((other) => other.version === tag.version) === index);
  const entries: ChangelogEntry[] = [];
  const head = git(dir, ['rev-parse', 'HEAD']).trim();
  const unreleased = releases[0]!.commit === head ? [] : subjects(dir, `${releases[0]!.commit}..HEAD`);
  releases.forEach((tag, index) => {
    const previous = releases[index + 1];
    entries.push({ version: tag.version, date: tag.date, changes: subjects(dir, previous ? `${previous.commit}..${tag.commit}` : tag.commit) });
  });
  if (unreleased.length === 0) return entries;
  // Commits after the newest tag belong to the version being packaged: its own entry, or (the
  // version is not bumped yet) the newest release's.
  if (entries[0]!.version === version) return [{ ...entries[0]!, changes: [...unreleased, ...entries[0]!.changes] }, ...entries.slice(1)];
  return [{ version, changes: unreleased }, ...entries];
}

/** Whether the app source has the CHANGELOG.md `from: 'auto'` reads. */
export function hasChangelogFile(sourceDir: string): boolean {
  return existsSync(path.join(sourceDir, 'CHANGELOG.md'));
}
