/**
 * No-op builds: every successful build leaves a record of the hash of its inputs and of the files
 * it wrote. When a later build of the same artifact has the same inputs and the files are still
 * there with the recorded sha256, the artifact is reused and no container starts.
 *
 * Records live in <cacheDir>/builds/<sha256 of the artifact's path>.json: deleting them only
 * means the next build is a full one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256File } from '../build/checksums.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { fileIdentity, sameIdentity, settled, type FileIdentity } from './file-identity.ts';
import { isExcluded, type ExcludeRule } from '../util/exclude.ts';
import type { PackageDirectory } from '../options/types.ts';

/** One file a build wrote, as recorded. */
export interface RecordedFile {
  path: string;
  size: number;
  sha256: string;
  /** Its identity when recorded: while unchanged, a no-op does not re-hash the file. */
  identity?: FileIdentity;
}

export interface UpToDateRecord {
  /** sha256 over every input of the build (see buildInputsHash). */
  inputs: string;
  artifact: RecordedFile;
  sbom?: RecordedFile;
  largestDirectories?: PackageDirectory[];
  packager: string;
  image: { tag: string; id: string };
  commit?: string;
  builtAt: string;
}

/**
 * sha256 over a directory tree as a build streams it into the machine: every name (sorted), type,
 * executable bit and content (read as a stream) or link target; `exclude` applies at the root.
 */
export async function sourceTreeHash(dir: string, exclude: readonly ExcludeRule[] = []): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (current: string, relative: string, rules: readonly ExcludeRule[]): Promise<void> => {
    for (const name of (await readdir(current)).sort()) {
      if (isExcluded(name, rules)) continue;
      const file = path.join(current, name);
      const entry = `${relative}${name}`;
      const stat = await lstat(file);
      if (stat.isDirectory()) {
        hash.update(`d ${entry}\0`);
        await walk(file, `${entry}/`, []);
      } else if (stat.isSymbolicLink()) {
        hash.update(`l ${entry}\0${await readlink(file)}\0`);
      } else if (stat.isFile()) {
        hash.update(`f ${entry} ${stat.mode & 0o111 ? 'x' : '-'} ${stat.size}\0`);
        for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
        hash.update('\0');
      }
    }
  };
  await walk(dir, '', exclude);
  return hash.digest('hex');
}

/** The directory of ndist's code as it runs: src/ under tsx, lib/ once built or installed. */
const CODE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let codeHash: Promise<string> | undefined;

/** A hash of ndist's own code, once per process: a build made by other code is not up to date. */
export function ndistCodeHash(): Promise<string> {
  codeHash ??= sourceTreeHash(CODE_DIR, []);
  return codeHash;
}

/** sha256 over named parts, each a string or the content of a file (read as a stream). */
export async function buildInputsHash(parts: Record<string, string | { file: string }>): Promise<string> {
  const hash = createHash('sha256');
  for (const name of Object.keys(parts).sort()) {
    const value = parts[name]!;
    hash.update(`${name}\0`);
    if (typeof value === 'string') hash.update(value);
    else if (existsSync(value.file)) for await (const chunk of createReadStream(value.file)) hash.update(chunk as Buffer);
    else hash.update('(missing)');
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** The record of the build that writes `artifactPath`. */
export function recordFile(cacheDir: string, artifactPath: string): string {
  return path.join(cacheDir, 'builds', `${createHash('sha256').update(path.resolve(artifactPath)).digest('hex').slice(0, 32)}.json`);
}

async function verifies(file: RecordedFile): Promise<boolean> {
  try {
    const stat = await lstat(file.path);
    if (!stat.isFile() || stat.size !== file.size) return false;
    return sameIdentity(file.identity, await fileIdentity(file.path)) || (await sha256File(file.path)) === file.sha256;
  } catch {
    return false;
  }
}

/**
 * The record of an earlier build of `artifactPath` with these `inputs` whose artifact (and SBOM)
 * are still there and match their sha256; else why not.
 */
export async function findUpToDate(cacheDir: string, artifactPath: string, inputs: string): Promise<{ record: UpToDateRecord } | { reason: string }> {
  let record: UpToDateRecord;
  try {
    record = JSON.parse(await readFile(recordFile(cacheDir, artifactPath), 'utf8')) as UpToDateRecord;
  } catch {
    return { reason: 'no earlier build of this artifact is recorded' };
  }
  if (record.inputs !== inputs) return { reason: 'its inputs changed since the last build' };
  if (!(await verifies(record.artifact))) return { reason: `${path.basename(record.artifact.path)} is missing or changed since it was built` };
  if (record.sbom && !(await verifies(record.sbom))) return { reason: `${path.basename(record.sbom.path)} is missing or changed since it was built` };
  return { record };
}

/**
 * Write the record atomically: a concurrent reader sees the old one or the new one. Each file is
 * recorded with its identity now, which its sha256 (computed as the build wrote or signed it) is
 * taken to belong to, once its last change has settled (file-identity.ts).
 */
export async function writeUpToDate(cacheDir: string, record: UpToDateRecord): Promise<void> {
  const file = recordFile(cacheDir, record.artifact.path);
  const withIdentity = async (recorded: RecordedFile): Promise<RecordedFile> => {
    const identity = await fileIdentity(recorded.path).catch(() => undefined);
    return identity && settled(identity) && identity.size === String(recorded.size) ? { ...recorded, identity } : recorded;
  };
  const complete = { ...record, artifact: await withIdentity(record.artifact), ...(record.sbom ? { sbom: await withIdentity(record.sbom) } : {}) };
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(complete, null, 2)}\n`);
}
