/**
 * Publishing to a repository kept in a directory, which any web server, object store or CDN can
 * serve: `ndist publish`, `promote`, `rollback`, `repo ls`. Each operation takes the repository's
 * lock, changes the state (channels.ts), copies new packages into the pool, regenerates the
 * indexes it touched in a staging directory, swaps them in, then writes the state and drops pool
 * files no channel holds any more. A failure before the swap leaves the repository as it was.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { registerCleanup } from '../cleanup.ts';
import { processAlive } from '../util/host-lock.ts';
import { ConfigError, RepositoryError, errorMessage } from '../errors.ts';
import type { OsRelease } from '../machine/catalogue.ts';
import type { PackageFormat } from '../package/format.ts';
import { REPORT_FILE } from '../build/report.ts';
import { openSigner } from '../package/signing.ts';
import type { SigningOptions } from '../options/types.ts';
import { aptPoolPath, stageAptSuite } from './apt.ts';
import {
  STATE_FORMAT, emptyState, listChannels, packageId, parseChannelKey, promotePackages, publishPackages, referencedFiles, rollbackChannel,
  type Change, type ChannelListing, type PublishedPackage, type RepositoryState, type RolledBack,
} from './channels.ts';
import { ARMORED_KEY_FILE, KEYRING_FILE, downgradeCommand, installInstructions, repoFile, repoFileName } from './instructions.ts';
import { readPackageFile, type PackageFile } from './package-file.ts';
import { rpmPoolPath, stageYumChannel, yumChannels } from './yum.ts';
import { copyFileAtomic, writeFileAtomic } from '../util/atomic-write.ts';
import { VERIFY_FILE, passedReleases, readVerifyRecords } from '../verify/record.ts';

export const STATE_FILE = 'ndist-repo.json';
const LOCK_FILE = '.ndist-repo.lock';
const DEFAULT_KEEP = 5;
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface RepositoryOptions {
  /** The repository's directory; created on the first publish. */
  repo: string;
  /** The repository key (its secret part). Default: $NDIST_SIGNING_KEY, as for signed builds. */
  sign?: SigningOptions;
  /** Where the repository is served (https://…): recorded, and used for INSTALL.md and the .repo files. */
  url?: string;
  /** Names the key file, sources list and .repo section (first publish only). Default: ndist. */
  name?: string;
  /** At most this many versions of an app (per target release and arch) stay in a channel. Default: 5. */
  keep?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface PublishOptions extends RepositoryOptions {
  channel: string;
  /** Target release (bookworm, el9…). Default: from each build's machine in outDir's report; needed for loose files. */
  dist?: string;
}

export interface PromoteOptions extends RepositoryOptions {
  from: string;
  to: string;
  dist?: string;
  /** Promote bytes with no passing `ndist verify` record for their release; recorded in the repository. */
  unverified?: boolean;
}

export interface RollbackOptions extends RepositoryOptions {
  channel: string;
  dist?: string;
}

export interface OperationResult {
  changes: Change[];
  channels: ChannelListing[];
}

function checkName(field: string, value: string | undefined, example: string): void {
  if (value !== undefined && !NAME.test(value)) throw new ConfigError(field, `"${value}" is not a valid name: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. ${example})`);
}

function validate(options: RepositoryOptions & { channel?: string; from?: string; to?: string; dist?: string }): void {
  if (!options.repo) throw new ConfigError('repo', 'give the repository directory');
  for (const field of ['channel', 'from', 'to'] as const) checkName(field, options[field], 'stable');
  checkName('dist', options.dist, 'bookworm');
  checkName('name', options.name, 'acme');
  if (options.keep !== undefined && (!Number.isInteger(options.keep) || options.keep < 1 || options.keep > 1000)) {
    throw new ConfigError('keep', `${options.keep} is not a whole number from 1 to 1000 (versions of an app kept per channel)`);
  }
  if (options.url !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(options.url);
    } catch {
      url = undefined;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || /\s/.test(options.url) || url.username || url.password || url.search || url.hash) {
      throw new ConfigError('url', `"${options.url}" is not an http(s) URL without credentials, query or fragment (e.g. https://packages.example.com/acme)`);
    }
  }
}

/** The target release a build machine's packages are published under. */
export function distOf(format: PackageFormat, release: OsRelease): string {
  const major = release.versionId.split('.')[0]!;
  if (format === 'deb') return release.codename ?? `${release.id}${release.versionId}`;
  if (['rhel', 'centos', 'rocky', 'almalinux', 'ol'].includes(release.id) || release.like?.includes('rhel')) return `el${major}`;
  if (release.id === 'fedora') return `fc${major}`;
  if (release.id === 'amzn') return `amzn${major}`;
  return `${release.id}${major}`;
}

interface ReportedBuild {
  name: string;
  status: string;
  machine?: { format?: PackageFormat; os?: OsRelease };
  artifact?: { file: string; sha256: string };
  runtimePackage?: { file: string; sha256: string };
}

interface Candidate {
  file: PackageFile;
  dist: string;
  /** The outDir's ndist-verify.json says these bytes passed on this dist. */
  verified: boolean;
}

/** The packages an outDir's report lists (each build's artifact and runtime package), or loose package files. */
async function resolveInputs(inputs: string[], dist: string | undefined): Promise<Candidate[]> {
  if (inputs.length === 0) throw new ConfigError('publish', 'give an outDir of a build (with ndist-report.json) or .deb/.rpm files');
  const candidates: Candidate[] = [];
  for (const input of inputs) {
    const reportFile = path.join(input, REPORT_FILE);
    if (!existsSync(reportFile)) {
      if (!input.endsWith('.deb') && !input.endsWith('.rpm')) throw new ConfigError('publish', `${input} is neither a build's outDir (no ${REPORT_FILE} in it) nor a .deb or .rpm file`);
      if (!dist) throw new ConfigError('dist', `${input} is a package file outside a build's outDir: give the target release it was built for with --dist (e.g. bookworm, el9)`);
      candidates.push({ file: await readPackageFile(input), dist, verified: false });
      continue;
    }
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as { builds?: ReportedBuild[] };
    const verifyRecords = readVerifyRecords(path.join(input, VERIFY_FILE));
    const builds = (report.builds ?? []).filter((build) => build.status === 'succeeded' && build.artifact);
    if (builds.length === 0) throw new ConfigError('publish', `${reportFile} lists no successful build`);
    for (const build of builds) {
      const { format, os: release } = build.machine ?? {};
      const target = dist ?? (format && release ? distOf(format, release) : undefined);
      if (!target) throw new ConfigError('dist', `${reportFile} does not say which release build "${build.name}" targets (made by an older ndist): give --dist`);
      for (const { file, sha256 } of [build.artifact!, ...(build.runtimePackage ? [build.runtimePackage] : [])]) {
        const packageFile = await readPackageFile(path.join(input, file));
        if (packageFile.sha256 !== sha256) throw new RepositoryError(`${path.join(input, file)} changed since build "${build.name}" made it (sha256 ${packageFile.sha256}, the report says ${sha256}): rebuild it`);
        // A runtime package is verified with the app that runs on it.
        const verified = passedReleases(verifyRecords, build.artifact!.sha256).includes(target);
        if (!candidates.some((candidate) => candidate.file.sha256 === sha256 && candidate.dist === target)) candidates.push({ file: packageFile, dist: target, verified });
      }
    }
  }
  return candidates;
}

/** Published records of the candidates, each app linked to the ndist-node-* package it depends on. */
function toPublished(state: RepositoryState, candidates: Candidate[]): PublishedPackage[] {
  const now = new Date().toISOString();
  const records = candidates.map(({ file, dist, verified }): PublishedPackage => ({
    id: packageId(file.format, dist, file.name, file.version, file.arch),
    format: file.format,
    dist,
    name: file.name,
    version: file.version,
    arch: file.arch,
    sha256: file.sha256,
    size: file.size,
    file: file.format === 'deb' ? path.posix.join('apt', aptPoolPath(dist, file.name, path.basename(file.path))) : rpmPoolPath(dist, file.name, path.basename(file.path)),
    signed: file.signed,
    publishedAt: now,
    ...(verified ? { verified } : {}),
  }));
  for (const [index, record] of records.entries()) {
    const runtimeName = candidates[index]!.file.depends.find((name) => name.startsWith('ndist-node-'));
    if (!runtimeName) continue;
    const runtime = [...records, ...Object.values(state.packages)].find((pkg) => pkg.name === runtimeName && pkg.format === record.format && pkg.dist === record.dist && pkg.arch === record.arch);
    if (!runtime) throw new RepositoryError(`${record.name} ${record.version} runs on ${runtimeName}, which is not published for ${record.dist}: publish the build's outDir (it holds the runtime package), or the runtime package with it`);
    record.runtime = runtime.id;
  }
  return records;
}

/** An exclusive lock on the repository: one process changes it at a time. A lock whose process is gone is taken over. */
async function lock(repo: string): Promise<() => Promise<void>> {
  const file = path.join(repo, LOCK_FILE);
  const owner = `${os.hostname()} ${process.pid}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, owner, { flag: 'wx' });
      return registerCleanup(() => rm(file, { force: true }));
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const [host, pid] = (await readFile(file, 'utf8').catch(() => '')).trim().split(' ');
      const stale = host === os.hostname() && pid !== undefined && !processAlive(Number(pid));
      if (!stale || attempt > 0) throw new RepositoryError(`${repo} is being changed by another ndist (${host ?? '?'}, pid ${pid ?? '?'}); if it is gone, remove ${file}`);
      await rm(file, { force: true });
    }
  }
}

async function readState(repo: string, name: string | undefined): Promise<RepositoryState> {
  const file = path.join(repo, STATE_FILE);
  if (!existsSync(file)) return emptyState(name ?? 'ndist');
  let state: RepositoryState;
  try {
    state = JSON.parse(await readFile(file, 'utf8')) as RepositoryState;
  } catch (error) {
    throw new RepositoryError(`cannot read ${file}: ${errorMessage(error)}`);
  }
  if (state.format !== STATE_FORMAT) throw new RepositoryError(`${file} is not an ndist repository state (${STATE_FORMAT}); was it made by a newer ndist?`);
  if (name !== undefined && name !== state.name) throw new ConfigError('name', `the repository is named ${state.name}; its name cannot change (hosts have it in their key and sources file names)`);
  return state;
}

/** Put a staged directory in the place of `target`, then drop the old one. */
async function swapIn(staged: string, target: string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const old = `${target}.old-${process.pid}`;
  if (existsSync(target)) await rename(target, old);
  await rename(staged, target);
  await rm(old, { recursive: true, force: true });
}

/** Remove pool files no channel holds (and their emptied directories). */
async function dropUnheldFiles(repo: string, state: RepositoryState, log: (line: string) => void): Promise<void> {
  const held = referencedFiles(state);
  for (const pool of ['apt/pool', 'rpm/pool']) {
    const root = path.join(repo, pool);
    if (!existsSync(root)) continue;
    for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const relative = path.relative(repo, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
      if (held.has(relative)) continue;
      await rm(path.join(repo, relative));
      log(`removed ${relative}: no channel holds it`);
      for (let dir = path.dirname(path.join(repo, relative)); dir !== root && dir.startsWith(root); dir = path.dirname(dir)) {
        if ((await readdir(dir)).length > 0) break;
        await rmdir(dir);
      }
    }
  }
}

/**
 * Run one change to the repository under its lock: `change` edits the state and says which
 * (format, dist) it touched; the indexes of those are rebuilt and swapped in, then the state saved.
 */
async function changeRepository<T>(
  options: RepositoryOptions,
  change: (state: RepositoryState) => { touched: string[]; result: T; sources?: Map<string, string> },
): Promise<{ state: RepositoryState; result: T }> {
  const log = options.log ?? (() => {});
  const repo = path.resolve(options.repo);
  await mkdir(repo, { recursive: true });
  const unlock = await lock(repo);
  const staging = { apt: path.join(repo, 'apt', `.ndist-staging-${process.pid}`), rpm: path.join(repo, 'rpm', `.ndist-staging-${process.pid}`) };
  const removeStaging = registerCleanup(async () => {
    await rm(staging.apt, { recursive: true, force: true });
    await rm(staging.rpm, { recursive: true, force: true });
  });
  try {
    const state = await readState(repo, options.name);
    const signer = await openSigner(options.sign ?? {});
    try {
      if (state.key && state.key !== signer.fingerprint) {
        throw new RepositoryError(`the repository is signed with key ${state.key}, and this key is ${signer.fingerprint}: hosts trust only the first; use that key (changing it is not supported yet)`);
      }
      state.key = signer.fingerprint;
      if (options.url !== undefined) state.url = options.url;
      const contents = () => JSON.stringify([state.packages, state.channels]);
      const before = contents();
      const { touched, result, sources } = change(state);
      // Nothing published, promoted or rolled back: the indexes stay byte for byte (a sync uploads nothing).
      const reindex = contents() === before ? [] : [...new Set(touched)].sort();
      if (reindex.length === 0) log('no channel changed: the indexes stay as they are');
      // New packages into the pool first: the indexes written next point at them.
      for (const [file, source] of sources ?? []) {
        const target = path.join(repo, file);
        if (existsSync(target)) continue;
        await mkdir(path.dirname(target), { recursive: true });
        await copyFileAtomic(source, target);
      }
      const swaps: [string, string][] = [];
      for (const key of reindex) {
        const [format, dist] = key.split('/') as [PackageFormat, string];
        if (format === 'deb') {
          log(`indexing apt suite ${dist}`);
          const staged = await stageAptSuite(state, dist, path.join(repo, 'apt'), path.join(staging.apt, dist), signer);
          swaps.push([staged, path.join(repo, 'apt', 'dists', dist)]);
        } else {
          for (const channel of yumChannels(state, dist)) {
            log(`indexing rpm repository ${dist}/${channel}`);
            const staged = await stageYumChannel(state, repo, dist, channel, path.join(staging.rpm, dist, channel), signer);
            swaps.push([staged, path.join(repo, 'rpm', dist, channel)]);
          }
        }
      }
      for (const [staged, target] of swaps) await swapIn(staged, target);
      await writeFileAtomic(path.join(repo, KEYRING_FILE), await signer.exportPublicKey(false));
      await writeFileAtomic(path.join(repo, ARMORED_KEY_FILE), await signer.exportPublicKey(true));
      if (state.url) {
        await writeFileAtomic(path.join(repo, 'INSTALL.md'), installInstructions(state, state.url));
        for (const key of Object.keys(state.channels).map(parseChannelKey).filter((ref) => ref.format === 'rpm')) {
          await writeFileAtomic(path.join(repo, 'rpm', key.dist, repoFileName(state, key.channel)), repoFile(state, state.url, key.dist, key.channel));
        }
      }
      await writeFileAtomic(path.join(repo, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
      await dropUnheldFiles(repo, state, log);
      return { state, result };
    } finally {
      await signer.close();
    }
  } finally {
    await removeStaging();
    await unlock();
  }
}

const formatDist = (pkg: { format: PackageFormat; dist: string }) => `${pkg.format}/${pkg.dist}`;

/** Publish an outDir's packages (or package files) to a channel. */
export async function publish(inputs: string[], options: PublishOptions): Promise<OperationResult> {
  validate(options);
  const candidates = await resolveInputs(inputs, options.dist);
  const { state, result } = await changeRepository(options, (state) => {
    const records = toPublished(state, candidates);
    const changes = publishPackages(state, records, options.channel, options.keep ?? DEFAULT_KEEP);
    const sources = new Map(records.map((record, index) => [record.file, candidates[index]!.file.path]));
    return { touched: records.map(formatDist), result: changes, sources };
  });
  return { changes: result, channels: listChannels(state) };
}

/** Add an app's version from one channel to another (testing → stable). */
export async function promote(app: string, version: string, options: PromoteOptions): Promise<OperationResult> {
  validate(options);
  const { state, result } = await changeRepository(options, (state) => {
    const changes = promotePackages(state, app, version, options.from, options.to, options.keep ?? DEFAULT_KEEP, options.dist, { unverified: options.unverified });
    const touched = Object.keys(state.channels).map(parseChannelKey).filter((ref) => ref.channel === options.to && (!options.dist || ref.dist === options.dist)).map(formatDist);
    return { touched, result: changes };
  });
  return { changes: result, channels: listChannels(state) };
}

export interface RollbackResult extends OperationResult {
  rolledBack: (RolledBack & { downgrade: string })[];
}

/** Take the newest version of an app out of a channel; hosts go back with the command printed per target. */
export async function rollback(app: string, options: RollbackOptions): Promise<RollbackResult> {
  validate(options);
  const { state, result } = await changeRepository(options, (state) => {
    const outcome = rollbackChannel(state, app, options.channel, options.dist);
    return { touched: outcome.rolledBack.map(formatDist), result: outcome };
  });
  const rolledBack = result.rolledBack.map((step) => ({ ...step, downgrade: downgradeCommand(step.format, app, step.current) }));
  return { changes: result.changes, rolledBack, channels: listChannels(state) };
}

/** What each channel holds. */
export async function listRepository(repo: string): Promise<{ state: RepositoryState; channels: ChannelListing[] }> {
  const file = path.join(path.resolve(repo), STATE_FILE);
  if (!existsSync(file)) throw new ConfigError('repo', `${repo} is not an ndist repository (no ${STATE_FILE}); ndist publish makes one`);
  const state = await readState(repo, undefined);
  return { state, channels: listChannels(state) };
}

/** The install instructions for a repository served at `url` (default: the URL it was published with). */
export async function repositoryInstructions(repo: string, url?: string): Promise<string> {
  validate({ repo, url });
  const { state } = await listRepository(repo);
  const served = url ?? state.url;
  if (!served) throw new ConfigError('url', 'the repository has no URL yet: give the one it is served at (e.g. https://packages.example.com/acme)');
  return installInstructions(state, served);
}
