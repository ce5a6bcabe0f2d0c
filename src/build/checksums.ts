/**
 * `outDir/SHA256SUMS`, in the format `sha256sum -c` reads: one line per artifact. A run updates
 * the lines of the artifacts it wrote and keeps those of other artifacts still present, so shards
 * of one release writing to one directory end with one complete file.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';

export const CHECKSUMS_FILE = 'SHA256SUMS';
const LINE = /^([0-9a-f]{64}) [ *](.+)$/;

/** sha256 of a file, read as a stream. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function updateChecksums(outDir: string, artifacts: { path: string; sha256: string }[]): Promise<string> {
  const file = path.join(outDir, CHECKSUMS_FILE);
  const sums = new Map<string, string>();
  if (existsSync(file)) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      const match = LINE.exec(line);
      if (match && existsSync(path.join(outDir, match[2]!))) sums.set(match[2]!, match[1]!);
    }
  }
  for (const artifact of artifacts) sums.set(path.basename(artifact.path), artifact.sha256);
  const text = [...sums.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, sha256]) => `${sha256}  ${name}\n`)
    .join('');
  await writeFileAtomic(file, text);
  return file;
}
