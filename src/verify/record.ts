/**
 * `outDir/ndist-verify.json`: what `ndist verify` proved, keyed by the artifact's sha256 (the bytes
 * that were verified, whatever their file is called later), then by release. Pure but for reading
 * and writing the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { CycleResult } from './cycle.ts';

export const VERIFY_FILE = 'ndist-verify.json';

export interface VerifyRun extends CycleResult {
  /** The base image the host was made from. */
  image: string;
  at: string;
  ndist: string;
  durationMs: number;
}

export interface VerifyRecords {
  artifacts: Record<string, { file: string; build: string; releases: Record<string, VerifyRun> }>;
}

export function readVerifyRecords(file: string): VerifyRecords {
  if (!existsSync(file)) return { artifacts: {} };
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<VerifyRecords>;
  return { artifacts: parsed.artifacts ?? {} };
}

/** The records with this run added (a run of the same bytes on the same release replaces the earlier one). */
export function addRun(records: VerifyRecords, artifact: { sha256: string; file: string; build: string }, release: string, run: VerifyRun): VerifyRecords {
  const entry = records.artifacts[artifact.sha256] ?? { file: artifact.file, build: artifact.build, releases: {} };
  return { artifacts: { ...records.artifacts, [artifact.sha256]: { ...entry, file: artifact.file, build: artifact.build, releases: { ...entry.releases, [release]: run } } } };
}

/** The releases these bytes passed verify on. */
export function passedReleases(records: VerifyRecords, sha256: string): string[] {
  return Object.entries(records.artifacts[sha256]?.releases ?? {})
    .filter(([, run]) => run.ok)
    .map(([release]) => release);
}

export async function writeVerifyRecords(outDir: string, records: VerifyRecords): Promise<string> {
  const file = path.join(outDir, VERIFY_FILE);
  await writeFileAtomic(file, `${JSON.stringify(records, null, 2)}\n`);
  return file;
}
