/**
 * Stage: the build's `contents` (with its sugar `configFiles` and `directories`, see
 * options/contents.ts) resolved against the fetched source: files read on the host with their
 * mode and owner, symlinks, the directories and ghost files the maintainer scripts create.
 * The options were checked before (validate.ts): destinations here are safe.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { contentEntries } from '../options/contents.ts';
import type { BuildOptions } from '../options/types.ts';

/** A file the package ships, copied from the source. */
export interface InstalledFile {
  path: string;
  mode: number;
  content: string | Buffer;
  owner: string;
  group: string;
  /** A conffile / %config(noreplace): an admin's edits are kept on upgrade. */
  config: boolean;
}

export interface Symlink {
  path: string;
  target: string;
}

/** A directory created on install (and a ghost file: created empty if absent), removed on purge. */
export interface OwnedPath {
  path: string;
  owner: string;
  group: string;
  /** Octal, as install(1) takes it. */
  mode: string;
}

export interface Contents {
  files: InstalledFile[];
  symlinks: Symlink[];
  directories: OwnedPath[];
  ghosts: OwnedPath[];
}

export const NO_CONTENTS: Contents = { files: [], symlinks: [], directories: [], ghosts: [] };

export function readSourceFile(sourceDir: string, relative: string, field: string): Buffer {
  const file = path.join(sourceDir, relative);
  if (!existsSync(file) || !statSync(file).isFile()) throw new ConfigError(field, `"${relative}" is not a file in the source`);
  return readFileSync(file);
}

/** True when a file is not root's: its owner is set by the maintainer scripts (and rpm's %attr). */
export function ownedByAccount(file: { owner: string; group: string }): boolean {
  return file.owner !== 'root' || file.group !== 'root';
}

/**
 * The entries resolved. Files default to root and 0644; directories and ghost files to the build's
 * `user` (the service's state, logs) and 0750 / 0640; a group defaults to the owner's own group.
 */
export function resolveContents(options: BuildOptions, sourceDir: string): Contents {
  const contents: Contents = { files: [], symlinks: [], directories: [], ghosts: [] };
  const account = options.user ? { user: options.user, group: options.group ?? options.user } : undefined;
  const ownership = (owner: string | undefined, group: string | undefined, fallback: string) => {
    const user = owner ?? fallback;
    return { owner: user, group: group ?? (user === account?.user ? account.group : user) };
  };
  for (const { entry, field } of contentEntries(options)) {
    switch (entry.type) {
      case 'file':
      case 'config':
        contents.files.push({
          path: entry.destination,
          mode: Number.parseInt(entry.mode ?? '0644', 8),
          content: readSourceFile(sourceDir, entry.source, `${field}.source`),
          ...ownership(entry.owner, entry.group, 'root'),
          config: entry.type === 'config',
        });
        break;
      case 'symlink':
        contents.symlinks.push({ path: entry.destination, target: entry.target });
        break;
      case 'dir':
        contents.directories.push({ path: entry.destination, mode: entry.mode ?? '0750', ...ownership(entry.owner, entry.group, account?.user ?? 'root') });
        break;
      case 'ghost':
        contents.ghosts.push({ path: entry.destination, mode: entry.mode ?? '0640', ...ownership(entry.owner, entry.group, account?.user ?? 'root') });
        break;
    }
  }
  return contents;
}

/** Whether the contents need maintainer scripts: a config file, a directory, a ghost, or a file someone else than root owns. */
export function contentsNeedScripts(contents: Contents): boolean {
  return contents.directories.length > 0 || contents.ghosts.length > 0 || contents.files.some((file) => file.config || ownedByAccount(file));
}
