/** `ndist cache ls|prune`, over caches.ts: tables for the terminal. */
import {
  currentImageTags, dependencyEntries, hostEntries, imageEntries, pruneCaches, volumeEntries, type CacheEntry, type PruneOptions,
} from '../cache/inventory.ts';
import { connectDocker } from '../machine/docker/client.ts';
import { loadMachines } from '../machine/catalogue.ts';
import { textTable } from '../progress/reporter.ts';
import { defaultCacheDir } from '../build/runtime.ts';

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

export async function listCaches(): Promise<string[]> {
  const cacheDir = defaultCacheDir();
  const docker = await connectDocker();
  const images = await imageEntries(docker, await currentImageTags(loadMachines(process.cwd()).values()));
  const volumes = await volumeEntries(docker);
  const image = images.find((entry) => entry.current)?.key;
  const dependencies = image && volumes.some((entry) => entry.kind === 'dependency cache') ? await dependencyEntries(docker, image) : [];
  return [`cache directory: ${cacheDir}`, ...table([...(await hostEntries(cacheDir)), ...images, ...volumes, ...dependencies])];
}

export async function pruneCommand(options: PruneOptions): Promise<string[]> {
  const removed = await pruneCaches(
    { docker: await connectDocker(), cacheDir: defaultCacheDir(), machines: loadMachines(process.cwd()).values(), log: (line) => console.error(`ndist: ${line}`) },
    options,
  );
  if (removed.length === 0) return ['nothing to remove'];
  const total = removed.reduce((sum, entry) => sum + (entry.size ?? 0), 0);
  return ['removed:', ...table(removed), `${removed.length} entries, ${formatSize(total)}`];
}
