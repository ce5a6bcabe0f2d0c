/**
 * Stage: stream the built package out of the container and write it to outDir atomically: it is
 * written under a temporary name and renamed only once complete, so outDir never holds half a file.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { registerCleanup } from '../cleanup.ts';
import { BuildError } from '../errors.ts';
import { partialPath } from '../util/atomic-write.ts';

export interface Artifact {
  path: string;
  size: number;
  sha256: string;
}

/**
 * Read the tar stream Docker returns for one file and write that file as `outDir/fileName`.
 */
export async function writeArtifact(archive: Readable, outDir: string, fileName: string): Promise<Artifact> {
  await mkdir(outDir, { recursive: true });
  const target = path.join(outDir, fileName);
  const partial = partialPath(target);
  const extract = tar.extract();
  let artifact: Artifact | undefined;
  // An interrupt exits before the `finally` below runs: the partial file is removed with the containers.
  const removePartial = registerCleanup(() => rm(partial, { force: true }));
  try {
    const done = (async () => {
      for await (const entry of extract) {
        if (entry.header.type !== 'file' || path.basename(entry.header.name) !== fileName || artifact) {
          entry.resume();
          continue;
        }
        const hash = createHash('sha256');
        let size = 0;
        const counter = new PassThrough();
        counter.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          size += chunk.length;
        });
        await pipeline(entry, counter, createWriteStream(partial));
        artifact = { path: target, size, sha256: hash.digest('hex') };
      }
    })();
    await Promise.all([pipeline(archive, extract), done]);
    if (!artifact) throw new BuildError(`the build machine did not produce ${fileName}`, { stage: 'artifact' });
    await rename(partial, target);
    return artifact;
  } finally {
    await removePartial();
  }
}
