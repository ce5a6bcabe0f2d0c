/**
 * Stage: get the app's source onto the host: a shallow clone of a git remote, a local repository at
 * a ref, or a plain directory used where it is.
 */
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { sessionId } from '../machine/docker/client.ts';
import { BuildError, errorMessage } from '../errors.ts';
import type { SourceSpec } from '../options/types.ts';
import { isExcluded, type ExcludeRule } from '../util/exclude.ts';

export interface FetchedSource {
  /** Directory holding the app, with package.json at its root. */
  dir: string;
  /** Commit built, when the source is git. */
  commit?: string;
  /** The source's time in seconds since the epoch: the commit's time, or a directory's newest file. */
  epoch: number;
  /** Removes what fetching created; the directory of a `directory()` source is left alone. */
  cleanup: () => Promise<void>;
}

export function git(options: { uri: string; branch?: string; tag?: string; commit?: string }): SourceSpec {
  return { type: 'git', ...options };
}

export function gitDirectory(options: { path: string; ref?: string }): SourceSpec {
  return { type: 'gitDirectory', ...options };
}

export function directory(options: { path: string }): SourceSpec {
  return { type: 'directory', ...options };
}

export function describeSource(spec: SourceSpec): string {
  switch (spec.type) {
    case 'git':
      return `git ${spec.uri} ${spec.commit ?? spec.tag ?? spec.branch ?? '(default branch)'}`;
    case 'gitDirectory':
      return `git repository ${spec.path} at ${spec.ref ?? 'HEAD'}`;
    case 'directory':
      return `directory ${spec.path}`;
  }
}

async function cloneRemote(spec: Extract<SourceSpec, { type: 'git' }>, dir: string): Promise<void> {
  const ref = spec.branch ?? spec.tag;
  if (!spec.commit) {
    // validateBuild() has refused a URI or ref that git could read as an option.
    await simpleGit().clone(spec.uri, dir, ['--depth', '1', '--single-branch', ...(ref ? ['--branch', ref] : [])]);
    return;
  }
  const repo = simpleGit(await initRepo(dir));
  await repo.addRemote('origin', spec.uri);
  try {
    await repo.fetch(['--depth', '1', 'origin', spec.commit]);
  } catch {
    // Servers that refuse fetching a commit by hash: fetch everything instead.
    await repo.fetch(['origin']);
  }
  await repo.checkout(['--detach', spec.commit]);
}

async function initRepo(dir: string): Promise<string> {
  await simpleGit().init([dir]);
  return dir;
}

async function checkoutLocal(spec: Extract<SourceSpec, { type: 'gitDirectory' }>, dir: string): Promise<void> {
  const commit = (await simpleGit(spec.path).revparse(['--verify', '--end-of-options', `${spec.ref ?? 'HEAD'}^{commit}`])).trim();
  await simpleGit().clone(path.resolve(spec.path), dir, ['--shared', '--no-checkout']);
  await simpleGit(dir).checkout(['--detach', commit]);
}

/**
 * The hidden ES-module copy of a package.ts the CLI runs beside it in a CommonJS project
 * (`.package.ndist-<pid>.mts`, see cli/main.ts): never part of a source.
 */
export const MODULE_COPY = /^\..+\.ndist-\d+\.mts$/;

/** Names never taken from a source tree: git's own data, installed dependencies, the CLI's module copy. */
export const SOURCE_EXCLUDES: readonly ExcludeRule[] = ['.git', 'node_modules', MODULE_COPY];

/** Modification time of the newest file in `dir`, in whole seconds. */
async function newestMtime(dir: string, exclude: readonly ExcludeRule[] = SOURCE_EXCLUDES): Promise<number> {
  let newest = 0;
  for (const name of await readdir(dir)) {
    if (isExcluded(name, exclude)) continue;
    const child = path.join(dir, name);
    const stat = await lstat(child);
    newest = Math.max(newest, stat.isDirectory() ? await newestMtime(child, []) : Math.floor(stat.mtimeMs / 1000));
  }
  return newest;
}

export async function fetchSource(spec: SourceSpec, log: (line: string) => void): Promise<FetchedSource> {
  if (spec.type === 'directory') {
    log(`source: directory ${path.resolve(spec.path)}`);
    const dir = path.resolve(spec.path);
    return { dir, epoch: await newestMtime(dir), cleanup: async () => {} };
  }
  // Named after the run (NDIST_SESSION), so a leftover can be traced to the run that made it.
  const dir = await mkdtemp(path.join(os.tmpdir(), `ndist-source-${sessionId().replace(/[^A-Za-z0-9_.-]/g, '_')}-`));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    if (spec.type === 'git') await cloneRemote(spec, dir);
    else await checkoutLocal(spec, dir);
    const [commit, epoch] = (await simpleGit(dir).raw(['log', '-1', '--format=%H %ct', 'HEAD'])).trim().split(' ');
    log(`source: ${describeSource(spec)} → commit ${commit}`);
    return { dir, commit, epoch: Number(epoch), cleanup };
  } catch (error) {
    await cleanup();
    throw new BuildError(`cannot get the source (${describeSource(spec)}): ${errorMessage(error).trim()}`, { stage: 'source', cause: error });
  }
}
