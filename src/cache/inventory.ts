/**
 * `ndist cache ls|prune`: what each of ndist's caches holds, and removing it. Every cache is keyed
 * by content and safe to delete at any time; a deleted entry is made again when next needed.
 * - runtimes: <cacheDir>/runtimes/<kind>-<version>-<arch>/ (Node runtimes, npm CLIs);
 * - builds: <cacheDir>/builds/*.json, the records of no-op builds;
 * - runtime packages: <cacheDir>/runtime-packages/<key>/ (runtime: 'shared', see runtime-package.ts);
 * - images: machine images ndist built (label io.ndist.machine), tagged by a hash of their context;
 * - the npm download cache and the dependency cache, Docker volumes (see dependency-cache.ts).
 */
import { existsSync } from 'node:fs';
import { lstat, readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { runtimeVolumePrefix } from './runtime-volume.ts';
import { DEPS_CACHE_DIR, cacheMounts, cacheVolumes, type CacheVolumes } from './dependency-cache.ts';
import { LABEL, ndistLabels } from '../machine/docker/client.ts';
import { BuildContainer } from '../machine/docker/container.ts';
import { machineImageTag } from '../machine/docker/image.ts';
import type { Machine } from '../machine/catalogue.ts';
import { RUNTIME_PACKAGES_DIR } from '../package/runtime-package.ts';
import { CacheError } from '../errors.ts';

export type CacheKind = 'runtime' | 'runtime package' | 'build record' | 'image' | 'npm cache' | 'pnpm store' | 'yarn cache' | 'yarn berry cache' | 'dependency cache' | 'runtime volume' | 'dependencies' | 'licences and SBOM';

export interface CacheEntry {
  kind: CacheKind;
  /** What identifies the entry: directory name, image tag, volume name, dependency key. */
  key: string;
  /** Bytes, when known. */
  size?: number;
  /** Last use where ndist records it (runtimes, records, dependencies), else creation. */
  lastUsed?: Date;
  /** Images: whether a machine of the catalogue builds this tag today; build records: whether their artifact is still there. */
  current?: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** The directories under cacheDir of the host's caches. */
const HOST_DIRS: Partial<Record<CacheKind, string>> = { runtime: 'runtimes', 'runtime package': RUNTIME_PACKAGES_DIR, 'build record': 'builds' };

async function treeSize(target: string): Promise<number> {
  const info = await lstat(target);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(target)) total += await treeSize(path.join(target, name));
  return total;
}

async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** Runtimes, runtime packages and build records under `cacheDir`. */
export async function hostEntries(cacheDir: string): Promise<CacheEntry[]> {
  const entries: CacheEntry[] = [];
  const runtimes = path.join(cacheDir, 'runtimes');
  for (const name of (await listDir(runtimes)).sort()) {
    const dir = path.join(runtimes, name);
    // A runtime entry's meta.json is touched each time a build uses (and re-verifies) it.
    const used = await stat(path.join(dir, 'meta.json')).catch(() => stat(dir));
    entries.push({ kind: 'runtime', key: name, size: await treeSize(dir), lastUsed: used.mtime });
  }
  const runtimePackages = path.join(cacheDir, RUNTIME_PACKAGES_DIR);
  for (const name of (await listDir(runtimePackages)).sort()) {
    if (name.startsWith('.')) continue;
    const dir = path.join(runtimePackages, name);
    // The package file's time is its last use: it is touched each time a build reuses it.
    const files = await listDir(dir);
    const used = files.length > 0 ? await stat(path.join(dir, files[0]!)) : await stat(dir);
    entries.push({ kind: 'runtime package', key: name, size: await treeSize(dir), lastUsed: used.mtime });
  }
  const builds = path.join(cacheDir, 'builds');
  for (const name of (await listDir(builds)).sort()) {
    const file = path.join(builds, name);
    const info = await stat(file);
    // A record whose artifact is gone can never be reused.
    const artifact = await readFile(file, 'utf8').then((text) => (JSON.parse(text) as { artifact?: { path?: string } }).artifact?.path, () => undefined);
    entries.push({ kind: 'build record', key: name, size: info.size, lastUsed: info.mtime, current: artifact !== undefined && existsSync(artifact) });
  }
  return entries;
}

/** The tags the machines build today, for every architecture they support. */
export async function currentImageTags(machines: Iterable<Machine>): Promise<Set<string>> {
  const tags = new Set<string>();
  for (const machine of machines) {
    if (!machine.dockerfile) continue;
    for (const arch of machine.arch) tags.add(await machineImageTag(machine, arch));
  }
  return tags;
}

/** Machine images ndist built, whether current or left by an older Dockerfile. */
export async function imageEntries(docker: Docker, current: Set<string>): Promise<CacheEntry[]> {
  const images = await docker.listImages({ filters: { label: [`${LABEL}.machine`] } });
  return images.flatMap((image) =>
    (image.RepoTags ?? ['<none>']).map((tag): CacheEntry => ({ kind: 'image', key: tag, size: image.Size, lastUsed: new Date(image.Created * 1000), current: current.has(tag) })),
  );
}

/** Sizes of the cache volumes (missing ones are left out) as the engine reports them. */
export async function volumeEntries(docker: Docker, volumes: CacheVolumes = cacheVolumes()): Promise<CacheEntry[]> {
  const df = (await docker.df()) as { Volumes?: { Name: string; UsageData?: { Size: number } }[] };
  const sizes = new Map((df.Volumes ?? []).map((volume) => [volume.Name, volume.UsageData?.Size]));
  const entries: CacheEntry[] = [];
  if (sizes.has(volumes.npm)) entries.push({ kind: 'npm cache', key: volumes.npm, size: sizes.get(volumes.npm) });
  if (sizes.has(volumes.deps)) entries.push({ kind: 'dependency cache', key: volumes.deps, size: sizes.get(volumes.deps) });
  // The other managers' download caches, once a build has created them.
  for (const [kind, volume] of [['pnpm store', volumes.pnpm], ['yarn cache', volumes.yarn], ['yarn berry cache', volumes.berry]] as const) {
    if (sizes.has(volume)) entries.push({ kind, key: volume, size: sizes.get(volume) });
  }
  // The runtime volumes (see runtime-volume.ts), one per runtime or npm archive.
  for (const [name, size] of sizes) if (name.startsWith(runtimeVolumePrefix())) entries.push({ kind: 'runtime volume', key: name, size });
  return entries;
}

/**
 * Run `command` in a short-lived container with the cache volumes mounted: the only way to reach
 * a volume's files on a remote engine. Any image of ndist's machines will do.
 */
async function inVolumes(docker: Docker, image: string, volumes: CacheVolumes, command: string): Promise<string[]> {
  const container = await BuildContainer.start(docker, image, { labels: ndistLabels('cache'), env: {}, mounts: cacheMounts(volumes) });
  try {
    const lines: string[] = [];
    const code = await container.exec(['sh', '-c', command], { onLine: (line) => lines.push(line) });
    if (code !== 0) throw new CacheError(`\`${command}\` failed in a container of ${image} (exit code ${code}): ${lines.join('\n')}`);
    return lines;
  } finally {
    await container.remove();
  }
}

/** The dependency cache's entries, read in a container (needs an image of one of ndist's machines). */
export async function dependencyEntries(docker: Docker, image: string, volumes: CacheVolumes = cacheVolumes()): Promise<CacheEntry[]> {
  const lines = await inVolumes(docker, image, volumes, `find ${DEPS_CACHE_DIR} -maxdepth 1 -type f -name '*.tar' -printf '%f %s %T@\\n'`);
  return lines
    .filter((line) => line.trim())
    .map((line): CacheEntry => {
      const [name, size, time] = line.trim().split(' ');
      // licences-<hash>.tar: the licences and SBOM of a dependency tree (see the build script).
      const kind = name!.startsWith('licences-') ? 'licences and SBOM' : 'dependencies';
      return { kind, key: name!.replace(/\.tar$/, ''), size: Number(size), lastUsed: new Date(Number(time) * 1000) };
    });
}

export interface PruneOptions {
  /** Everything: runtimes, records, every machine image ndist built, both volumes. */
  all?: boolean;
  /** Entries not used for this many days; images no machine builds today, and records of artifacts that are gone, go whatever their age. */
  olderThanDays: number;
  now?: Date;
}

/** Whether `entry` goes under `options` (volumes as a whole go only with `all`). */
export function shouldPrune(entry: CacheEntry, options: PruneOptions): boolean {
  if (options.all) return true;
  if (entry.kind === 'image') return entry.current === false;
  if (entry.kind === 'build record' && entry.current === false) return true;
  if (entry.kind === 'npm cache' || entry.kind === 'pnpm store' || entry.kind === 'yarn cache' || entry.kind === 'yarn berry cache' || entry.kind === 'dependency cache' || entry.kind === 'runtime volume') return false;
  const age = (options.now ?? new Date()).getTime() - (entry.lastUsed?.getTime() ?? 0);
  return age > options.olderThanDays * DAY_MS;
}

export interface PruneContext {
  cacheDir: string;
  log: (line: string) => void;
}

/** Remove what `options` selects from the host's cache directory; returns the entries removed. */
export async function pruneCaches(context: PruneContext, options: PruneOptions): Promise<CacheEntry[]> {
  const { cacheDir } = context;
  const removed: CacheEntry[] = [];
  for (const entry of await hostEntries(cacheDir)) {
    if (!shouldPrune(entry, options)) continue;
    await rm(path.join(cacheDir, HOST_DIRS[entry.kind]!, entry.key), { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}

export interface EnginePruneContext {
  docker: Docker;
  machines: Iterable<Machine>;
  volumes?: CacheVolumes;
  log: (line: string) => void;
}

/** Remove what `options` selects from one engine: machine images, and the cache volumes or their stale entries; returns the entries removed. */
export async function pruneEngineCaches(context: EnginePruneContext, options: PruneOptions): Promise<CacheEntry[]> {
  const { docker, log } = context;
  const volumes = context.volumes ?? cacheVolumes();
  const removed: CacheEntry[] = [];
  const images = await imageEntries(docker, await currentImageTags(context.machines));
  for (const entry of images.filter((image) => shouldPrune(image, options) && image.key !== '<none>')) {
    try {
      await docker.getImage(entry.key).remove();
      removed.push(entry);
    } catch (error) {
      log(`image ${entry.key} kept: ${(error as Error).message}`);
    }
  }
  if (options.all) {
    for (const entry of await volumeEntries(docker, volumes)) {
      try {
        await docker.getVolume(entry.key).remove();
        removed.push(entry);
      } catch (error) {
        log(`volume ${entry.key} kept (a build may be using it): ${(error as Error).message}`);
      }
    }
    return removed;
  }
  const image = images.find((candidate) => candidate.current)?.key;
  if (image && (await volumeEntries(docker, volumes)).some((entry) => entry.kind === 'dependency cache')) {
    removed.push(...(await pruneDependencies(docker, image, volumes, options)));
  }
  return removed;
}

/** Remove the dependency cache entries `options` selects, in a container of `image`; returns them. */
export async function pruneDependencies(docker: Docker, image: string, volumes: CacheVolumes, options: PruneOptions): Promise<CacheEntry[]> {
  const stale = (await dependencyEntries(docker, image, volumes)).filter((entry) => shouldPrune(entry, options));
  // Keys are hex; partial files are what an interrupted build left.
  const files = stale.map((entry) => `${entry.key}.tar`).join(' ');
  await inVolumes(docker, image, volumes, `cd ${DEPS_CACHE_DIR} && rm -f ${files} && find . -maxdepth 1 -name '.*.partial' -mmin +60 -delete`);
  return stale;
}
