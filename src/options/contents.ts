/**
 * `contents` and its sugar: `configFiles` entries are contents of type 'config', `directories`
 * entries of type 'dir'. Everything after this reads one list, each entry with the option field it
 * came from, so an error names what the user wrote.
 */
import type { BuildOptions, ContentEntry } from './types.ts';

export interface NamedContentEntry {
  entry: ContentEntry;
  /** The option the entry was written as: `contents[2]`, `configFiles[0]`. */
  field: string;
  /** That option's name for the destination: `destination`, or `path` in the sugar. */
  destinationKey: 'destination' | 'path';
}

/** Every contents entry of the build: `contents`, then `configFiles`, then `directories`. */
export function contentEntries(options: Pick<BuildOptions, 'contents' | 'configFiles' | 'directories'>): NamedContentEntry[] {
  return [
    ...(options.contents ?? []).map((entry, index) => ({ entry, field: `contents[${index}]`, destinationKey: 'destination' as const })),
    ...(options.configFiles ?? []).map((file, index) => ({
      entry: { type: 'config' as const, source: file.source, destination: file.path, ...(file.mode ? { mode: file.mode } : {}) },
      field: `configFiles[${index}]`,
      destinationKey: 'path' as const,
    })),
    ...(options.directories ?? []).map((dir, index) => ({
      entry: { type: 'dir' as const, destination: dir.path, ...(dir.mode ? { mode: dir.mode } : {}), ...(dir.owner ? { owner: dir.owner } : {}), ...(dir.group ? { group: dir.group } : {}) },
      field: `directories[${index}]`,
      destinationKey: 'path' as const,
    })),
  ];
}
