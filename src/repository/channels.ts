/**
 * The repository's state and its rules, with no file or tool in sight: which package versions were
 * ever published (a ledger: a published version is never rewritten with other bytes), and which of
 * them each channel holds. Publishing, promoting and rolling back are changes to this state; the
 * apt and yum indexes are regenerated from it (apt.ts, yum.ts).
 */
import { RepositoryError } from '../errors.ts';
import type { PackageFormat } from '../package/format.ts';
import { compareVersions, upstreamVersion } from './versions.ts';

export const STATE_FORMAT = 'ndist-repository/1';

export interface PublishedPackage {
  /** `<format>/<dist>/<name>_<version>_<arch>`: a version is published once per target release and arch. */
  id: string;
  format: PackageFormat;
  dist: string;
  name: string;
  version: string;
  arch: string;
  sha256: string;
  size: number;
  /** The file in the pool, relative to the repository root. */
  file: string;
  /** rpm: signed packages make the .repo file ask for gpgcheck. */
  signed: boolean;
  /** These bytes passed `ndist verify` for this dist (from the outDir's ndist-verify.json when published). */
  verified?: boolean;
  /** Channels it was promoted to without a passing verify (`promote --unverified`), recorded for `repo ls`. */
  unverifiedPromotions?: string[];
  /** The id of the ndist-node-* package it runs on (runtime 'shared'): promoted and kept with it. */
  runtime?: string;
  publishedAt: string;
}

export interface RepositoryState {
  format: typeof STATE_FORMAT;
  /** Names the key file, the sources.list entry and the .repo section. */
  name: string;
  /** Where the repository is served; needed only for the install instructions. */
  url?: string;
  /** Fingerprint of the key the indexes are signed with: every host trusts it, so it never changes silently. */
  key?: string;
  packages: Record<string, PublishedPackage>;
  /** `<format>/<dist>/<channel>` → ids of the package versions the channel holds. */
  channels: Record<string, string[]>;
}

export function emptyState(name: string): RepositoryState {
  return { format: STATE_FORMAT, name, packages: {}, channels: {} };
}

export function packageId(format: PackageFormat, dist: string, name: string, version: string, arch: string): string {
  return `${format}/${dist}/${name}_${version}_${arch}`;
}

export interface ChannelRef {
  format: PackageFormat;
  dist: string;
  channel: string;
}

export function channelKey({ format, dist, channel }: ChannelRef): string {
  return `${format}/${dist}/${channel}`;
}

export function parseChannelKey(key: string): ChannelRef {
  const [format, dist, channel] = key.split('/') as [PackageFormat, string, string];
  return { format, dist, channel };
}

const isRuntime = (pkg: PublishedPackage) => pkg.name.startsWith('ndist-node-');

/** What an operation did, for the user: one line per change. */
export type Change = string;

const label = (pkg: PublishedPackage) => `${pkg.name} ${pkg.version} (${pkg.arch})`;

/** Newest first, as the package manager orders them. */
function newestFirst(state: RepositoryState, ids: string[]): PublishedPackage[] {
  return ids.map((id) => state.packages[id]!).sort((a, b) => compareVersions(a.format, b.version, a.version));
}

/** Runtime packages the channel's apps run on. */
function usedRuntimes(state: RepositoryState, ids: string[]): Set<string> {
  return new Set(ids.map((id) => state.packages[id]!.runtime).filter((id): id is string => id !== undefined));
}

/**
 * Set a channel's content: apps beyond `keep` versions (per name and arch) leave it, and so do
 * runtime packages no app left in it runs on any more.
 */
function setChannel(state: RepositoryState, key: string, ids: string[], keep: number | undefined, changes: Change[]): void {
  const before = state.channels[key] ?? [];
  let next = [...new Set(ids)];
  if (keep !== undefined) {
    const groups = new Map<string, string[]>();
    for (const id of next) {
      const pkg = state.packages[id]!;
      if (isRuntime(pkg)) continue;
      const group = `${pkg.name}\0${pkg.arch}`;
      groups.set(group, [...(groups.get(group) ?? []), id]);
    }
    const dropped = new Set([...groups.values()].flatMap((group) => newestFirst(state, group).slice(keep).map((pkg) => pkg.id)));
    for (const id of dropped) changes.push(`${label(state.packages[id]!)} leaves ${key} (keep ${keep})`);
    next = next.filter((id) => !dropped.has(id));
  }
  const wasUsed = usedRuntimes(state, before);
  const used = usedRuntimes(state, next);
  next = next.filter((id) => used.has(id) || !wasUsed.has(id));
  for (const id of before) if (!next.includes(id) && isRuntime(state.packages[id]!)) changes.push(`${label(state.packages[id]!)} leaves ${key}: no app in it runs on it any more`);
  state.channels[key] = next;
}

/** Add versions to a channel (with the runtime packages they run on). */
function addToChannel(state: RepositoryState, key: string, ids: string[], keep: number, changes: Change[]): void {
  const current = state.channels[key] ?? [];
  const adding = [...new Set(ids.flatMap((id) => [state.packages[id]!.runtime, id]).filter((id): id is string => id !== undefined))];
  for (const id of adding) changes.push(current.includes(id) ? `${label(state.packages[id]!)} is already in ${key}` : `${label(state.packages[id]!)} → ${key}`);
  setChannel(state, key, [...current, ...adding], keep, changes);
}

/**
 * Record packages as published and add them to a channel. A version published before with the
 * same bytes is taken as it is; with other bytes the whole publish is refused: hosts that have
 * it installed, and mirrors, would hold two different packages under one version.
 */
export function publishPackages(state: RepositoryState, packages: PublishedPackage[], channel: string, keep: number): Change[] {
  const batch = new Map<string, PublishedPackage>();
  for (const pkg of packages) {
    const published = state.packages[pkg.id];
    if (published && published.sha256 !== pkg.sha256) {
      throw new RepositoryError(
        `${label(pkg)} for ${pkg.dist} is already published with other bytes (published sha256 ${published.sha256}, this file ${pkg.sha256}); a published version is never rewritten: give the new build a new version or iteration`,
      );
    }
    const twin = batch.get(pkg.id);
    if (twin && twin.sha256 !== pkg.sha256) throw new RepositoryError(`two files of this publish are ${label(pkg)} for ${pkg.dist}, with other bytes (sha256 ${twin.sha256} and ${pkg.sha256}): publish one`);
    batch.set(pkg.id, pkg);
  }
  const changes: Change[] = [];
  for (const pkg of packages) {
    const published = state.packages[pkg.id];
    if (!published) state.packages[pkg.id] = pkg;
    // The same bytes published again after `ndist verify` bring their passing record.
    else if (pkg.verified && !published.verified) {
      published.verified = true;
      changes.push(`${label(pkg)} for ${pkg.dist}: verified`);
    }
  }
  const byChannel = new Map<string, string[]>();
  for (const pkg of packages) {
    const key = channelKey({ format: pkg.format, dist: pkg.dist, channel });
    byChannel.set(key, [...(byChannel.get(key) ?? []), pkg.id]);
  }
  for (const [key, ids] of byChannel) addToChannel(state, key, ids, keep, changes);
  return changes;
}

/** The channels of a name, in every format and dist, or in one dist. */
function channelsNamed(state: RepositoryState, channel: string, dist?: string): string[] {
  return Object.keys(state.channels).filter((key) => {
    const ref = parseChannelKey(key);
    return ref.channel === channel && (dist === undefined || ref.dist === dist);
  });
}

function matchesVersion(pkg: PublishedPackage, version: string): boolean {
  return [version, version.replace(/-/g, '~')].some((wanted) => pkg.version === wanted || upstreamVersion(pkg.version) === wanted);
}

function holdings(state: RepositoryState, keys: string[], app: string): string {
  const versions = [...new Set(keys.flatMap((key) => state.channels[key]!.map((id) => state.packages[id]!)).filter((pkg) => pkg.name === app).map((pkg) => pkg.version))];
  return versions.length ? `it holds ${app} ${versions.join(', ')}` : `it holds no ${app}`;
}

/**
 * Only bytes `ndist verify` passed on their release go further: else the promote is refused (the
 * state is not written), or with --unverified it goes ahead and the package records it.
 */
function checkVerified(pkg: PublishedPackage, to: string, unverified: boolean, changes: Change[]): void {
  if (pkg.verified) return;
  if (!unverified) {
    throw new RepositoryError(
      `promote: ${label(pkg)} for ${pkg.dist} has no passing verify record: run \`ndist verify <outDir>\` on the build that made it, then \`ndist publish <outDir>\` to its channel again (the same bytes take the record); or promote with --unverified`,
    );
  }
  pkg.unverifiedPromotions = [...new Set([...(pkg.unverifiedPromotions ?? []), to])];
  changes.push(`${label(pkg)} for ${pkg.dist} promoted to ${to} unverified (--unverified)`);
}

/** Add `app` at `version` from one channel to another, in each dist (or one) where the first holds it. */
export function promotePackages(state: RepositoryState, app: string, version: string, from: string, to: string, keep: number, dist?: string, checks: { unverified?: boolean } = {}): Change[] {
  if (from === to) throw new RepositoryError(`promote: --from and --to are both ${from}`);
  const sources = channelsNamed(state, from, dist);
  if (sources.length === 0) throw new RepositoryError(`promote: there is no channel ${from}${dist ? ` for ${dist}` : ''} (see ndist repo ls)`);
  const changes: Change[] = [];
  let found = false;
  for (const key of sources) {
    const ids = state.channels[key]!.filter((id) => state.packages[id]!.name === app && matchesVersion(state.packages[id]!, version));
    if (ids.length === 0) continue;
    found = true;
    const ref = parseChannelKey(key);
    for (const id of ids) checkVerified(state.packages[id]!, to, checks.unverified === true, changes);
    addToChannel(state, channelKey({ ...ref, channel: to }), ids, keep, changes);
  }
  if (!found) throw new RepositoryError(`promote: ${from} holds no ${app} ${version}; ${holdings(state, sources, app)}`);
  return changes;
}

export interface RolledBack {
  channel: string;
  format: PackageFormat;
  dist: string;
  arch: string;
  removed: string;
  current: string;
}

/**
 * Take the newest version of `app` out of a channel, in each dist and arch (or one dist), so the
 * one before it is what hosts get. Refused, changing nothing, where no older version is left.
 */
export function rollbackChannel(state: RepositoryState, app: string, channel: string, dist?: string): { changes: Change[]; rolledBack: RolledBack[] } {
  const keys = channelsNamed(state, channel, dist).filter((key) => state.channels[key]!.some((id) => state.packages[id]!.name === app));
  if (keys.length === 0) throw new RepositoryError(`rollback: channel ${channel}${dist ? ` for ${dist}` : ''} holds no ${app} (see ndist repo ls)`);
  const plan: { key: string; removed: PublishedPackage; current: PublishedPackage }[] = [];
  for (const key of keys) {
    const archs = new Map<string, string[]>();
    for (const id of state.channels[key]!) {
      const pkg = state.packages[id]!;
      if (pkg.name === app) archs.set(pkg.arch, [...(archs.get(pkg.arch) ?? []), id]);
    }
    for (const [arch, ids] of archs) {
      const [newest, previous] = newestFirst(state, ids);
      if (!previous) throw new RepositoryError(`rollback: ${key} holds only ${app} ${newest!.version} (${arch}); there is no earlier version to go back to`);
      plan.push({ key, removed: newest!, current: previous });
    }
  }
  const changes: Change[] = [];
  for (const key of keys) {
    const removed = new Set(plan.filter((step) => step.key === key).map((step) => step.removed.id));
    for (const id of removed) changes.push(`${label(state.packages[id]!)} leaves ${key} (rolled back)`);
    setChannel(state, key, state.channels[key]!.filter((id) => !removed.has(id)), undefined, changes);
  }
  const rolledBack = plan.map(({ key, removed, current }) => ({ channel: key, format: current.format, dist: current.dist, arch: current.arch, removed: removed.version, current: current.version }));
  return { changes, rolledBack };
}

export interface ChannelListing {
  channel: string;
  packages: (PublishedPackage & { current: boolean })[];
}

/** What each channel holds, newest first; `current` marks what a host installing from it gets. */
export function listChannels(state: RepositoryState): ChannelListing[] {
  return Object.keys(state.channels)
    .sort()
    .map((key) => {
      const packages = newestFirst(state, state.channels[key]!).sort((a, b) => a.name.localeCompare(b.name) || a.arch.localeCompare(b.arch));
      const seen = new Set<string>();
      return {
        channel: key,
        packages: packages.map((pkg) => {
          const group = `${pkg.name}\0${pkg.arch}`;
          const current = !seen.has(group);
          seen.add(group);
          return { ...pkg, current };
        }),
      };
    });
}

/** Pool files some channel still holds; the others can go. */
export function referencedFiles(state: RepositoryState): Set<string> {
  return new Set(Object.values(state.channels).flatMap((ids) => ids.map((id) => state.packages[id]!.file)));
}
