/**
 * Stage: stream the build's inputs into the container as one tar archive, read file by file from
 * disk (never whole in memory) through the Engine API, so a remote DOCKER_HOST works.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, stat as statFollowing } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { isExcluded, type ExcludeRule } from '../util/exclude.ts';

export type InputEntry =
  /** A file whose content ndist generated. */
  | { kind: 'content'; name: string; content: string | Buffer; mode?: number }
  /** An empty directory. */
  | { kind: 'directory'; name: string }
  /** A symbolic link to `target`. */
  | { kind: 'symlink'; name: string; target: string }
  /** A host file, copied as it is. */
  | { kind: 'file'; name: string; hostPath: string; mode?: number }
  /** A host directory tree, minus the names in `exclude` (a name, or a pattern names match) at its root. */
  | { kind: 'tree'; name: string; hostPath: string; exclude?: readonly ExcludeRule[] };

interface Header {
  name: string;
  mode: number;
  uid: 0;
  gid: 0;
  mtime: Date;
}

function header(name: string, mode: number, mtime = new Date(0)): Header {
  return { name, mode, uid: 0, gid: 0, mtime };
}

async function addFile(pack: tar.Pack, name: string, hostPath: string, mode?: number): Promise<void> {
  // Follows a symlink (a CA bundle often is one): the header must give the size of what is streamed.
  const stat = await statFollowing(hostPath);
  const entry = pack.entry({ ...header(name, mode ?? stat.mode & 0o7777, stat.mtime), size: stat.size });
  await pipeline(createReadStream(hostPath), entry);
}

async function addTree(pack: tar.Pack, name: string, hostPath: string, exclude: readonly ExcludeRule[]): Promise<void> {
  pack.entry({ ...header(name, 0o755, (await lstat(hostPath)).mtime), type: 'directory' });
  // Sorted, so the archive (and what is built from it) does not depend on directory order.
  const children = (await readdir(hostPath)).sort();
  for (const child of children) {
    if (isExcluded(child, exclude)) continue;
    const childPath = path.join(hostPath, child);
    const childName = `${name}/${child}`;
    const stat = await lstat(childPath);
    if (stat.isDirectory()) await addTree(pack, childName, childPath, []);
    else if (stat.isSymbolicLink()) pack.entry({ ...header(childName, 0o777, stat.mtime), type: 'symlink', linkname: await readlink(childPath) });
    else if (stat.isFile()) await addFile(pack, childName, childPath);
  }
}

/**
 * A tar stream of `entries`, produced as it is read. Errors reading the host surface on the stream.
 * Generated files and directories get `mtime` (host files and trees keep their own): a build passes its
 * SOURCE_DATE_EPOCH, so files ndist adds to a package are neither newer nor far older than the rest.
 */
export function packInputs(entries: InputEntry[], mtime = new Date(0)): Readable {
  const pack = tar.pack();
  (async () => {
    for (const entry of entries) {
      switch (entry.kind) {
        case 'content':
          pack.entry(header(entry.name, entry.mode ?? 0o644, mtime), entry.content);
          break;
        case 'directory':
          pack.entry({ ...header(entry.name, 0o755, mtime), type: 'directory' });
          break;
        case 'symlink':
          pack.entry({ ...header(entry.name, 0o777, mtime), type: 'symlink', linkname: entry.target });
          break;
        case 'file':
          await addFile(pack, entry.name, entry.hostPath, entry.mode);
          break;
        case 'tree':
          await addTree(pack, entry.name, entry.hostPath, entry.exclude ?? []);
          break;
      }
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  // tar-stream's pack is a streamx Readable, which pipes like a Node one.
  return pack as unknown as Readable;
}
