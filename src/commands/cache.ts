/**
 * `ndist cache ls|prune`, over caches.ts: tables for the terminal. Host caches once; machine images
 * and cache volumes per engine, each engine of the build file's `engines` (else the default engine)
 * named above its rows.
 */
import {
  currentImageTags, dependencyEntries, hostEntries, imageEntries, pruneCaches, pruneEngineCaches, volumeEntries, type CacheEntry, type PruneOptions,
} from '../cache/inventory.ts';
import { connectDocker } from '../machine/docker/client.ts';
import type { EngineConnection } from '../machine/docker/connection.ts';
import { loadMachines } from '../machine/catalogue.ts';
import { textTable } from '../progress/reporter.ts';
import { defaultCacheDir } from '../build/runtime.ts';
import { engineTargets } from '../build/engine-pool.ts';
import { errorMessage } from '../errors.ts';
import type { EngineOptions } from '../options/types.ts';

function formatSize(bytes: number | undefined): string {
  if (bytes === undefined || bytes < 0) return '?';
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.ceil(bytes / 1e3)} kB`;
}

function table(entries: CacheEntry[]): string[] {
  const rows = entries.map((entry) => [
    entry.kind,
    entry.key,
    formatSize(entry.size),
    entry.lastUsed ? entry.lastUsed.toISOString().slice(0, 16).replace('T', ' ') : '',
    entry.current === undefined ? '' : entry.current ? 'current' : 'stale',
  ]);
  return textTable(['CACHE', 'KEY', 'SIZE', 'LAST USED', ''], rows);
}

/** The engines whose caches are listed or pruned: those configured (several builders' merged by name), else the default one. */
function connections(engines: EngineOptions[] | undefined): EngineConnection[] {
  const byName = new Map((engines ?? []).map((engine) => [engine.name, engine]));
  return engineTargets(engines ? [...byName.values()] : undefined).map((target) => target.connection);
}

/** Each engine's section: its name and address, then its rows; one not answering says so and the others go on. */
async function perEngine(engines: EngineOptions[] | undefined, section: (connection: EngineConnection) => Promise<string[]>): Promise<string[]> {
  const lines: string[] = [];
  for (const connection of connections(engines)) {
    lines.push('', `engine ${connection.name} at ${connection.address}:`);
    try {
      lines.push(...(await section(connection)));
    } catch (error) {
      lines.push(`  not answering: ${errorMessage(error)}`);
    }
  }
  return lines;
}

export async function listCaches(engines?: EngineOptions[]): Promise<string[]> {
  const cacheDir = defaultCacheDir();
  const current = await currentImageTags(loadMachines(process.cwd()).values());
  const engineLines = await perEngine(engines, async (connection) => {
    const docker = await connectDocker(connection);
    const images = await imageEntries(docker, current);
    const volumes = await volumeEntries(docker);
    const image = images.find((entry) => entry.current)?.key;
    const dependencies = image && volumes.some((entry) => entry.kind === 'dependency cache') ? await dependencyEntries(docker, image) : [];
    return table([...images, ...volumes, ...dependencies]);
  });
  return [`cache directory: ${cacheDir}`, ...table(await hostEntries(cacheDir)), ...engineLines];
}

export async function pruneCommand(options: PruneOptions, engines?: EngineOptions[]): Promise<string[]> {
  const machines = [...loadMachines(process.cwd()).values()];
  const log = (line: string) => console.error(`ndist: ${line}`);
  const removed = await pruneCaches({ cacheDir: defaultCacheDir(), log }, options);
  let total = removed.reduce((sum, entry) => sum + (entry.size ?? 0), 0);
  let count = removed.length;
  const lines = removed.length > 0 ? ['removed from the cache directory:', ...table(removed)] : [];
  lines.push(...(await perEngine(engines, async (connection) => {
    const gone = await pruneEngineCaches({ docker: await connectDocker(connection), machines, log }, options);
    total += gone.reduce((sum, entry) => sum + (entry.size ?? 0), 0);
    count += gone.length;
    return gone.length > 0 ? ['removed:', ...table(gone)] : ['nothing to remove'];
  })));
  return [...lines, count === 0 ? 'nothing removed' : `${count} entries, ${formatSize(total)}`];
}
