/**
 * Files written so that a reader sees the old file or the new one, never half of one: written under
 * a partial name beside the target (same filesystem, so the rename is atomic), then renamed.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A hidden name beside `file`, unique to this write, for a file still being written. */
export function partialPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.partial`);
}

async function intoPlace(file: string, fill: (partial: string) => Promise<void>): Promise<void> {
  const partial = partialPath(file);
  try {
    await fill(partial);
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

export function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  return intoPlace(file, (partial) => writeFile(partial, content));
}

export function copyFileAtomic(source: string, target: string): Promise<void> {
  return intoPlace(target, (partial) => copyFile(source, partial));
}
