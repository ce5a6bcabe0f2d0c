/**
 * The yum/dnf side of a repository: one repository per target release and channel,
 * `rpm/<dist>/<channel>/` with the channel's packages and its repodata, written by createrepo_c
 * (the indexer Fedora and RHEL build their own repositories with). repomd.xml gets a detached
 * armored signature, repomd.xml.asc, which dnf checks with repo_gpgcheck=1.
 */
import { copyFile, link, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Signer } from '../package/signing.ts';
import { parseChannelKey, type RepositoryState } from './channels.ts';
import { hostTool } from './package-file.ts';

/** The pool path of an .rpm, relative to the repository root. */
export function rpmPoolPath(dist: string, name: string, fileName: string): string {
  return `rpm/pool/${dist}/${name}/${fileName}`;
}

/** The rpm channels of a target release. */
export function yumChannels(state: RepositoryState, dist: string): string[] {
  return Object.keys(state.channels).filter((key) => key.startsWith(`rpm/${dist}/`)).map((key) => parseChannelKey(key).channel).sort();
}

/**
 * Write the repository of one channel into `stagingDir`: its packages (hard links to the pool,
 * copies across file systems) under Packages/, and signed repodata. Returns `stagingDir`.
 */
export async function stageYumChannel(state: RepositoryState, root: string, dist: string, channel: string, stagingDir: string, signer: Signer): Promise<string> {
  const packagesDir = path.join(stagingDir, 'Packages');
  await mkdir(packagesDir, { recursive: true });
  for (const id of state.channels[`rpm/${dist}/${channel}`] ?? []) {
    const pool = path.join(root, state.packages[id]!.file);
    const target = path.join(packagesDir, path.basename(pool));
    await link(pool, target).catch(() => copyFile(pool, target));
  }
  await hostTool('createrepo_c', ['--quiet', '--no-database', stagingDir], `indexing rpm repository ${dist}/${channel}`);
  await signer.signDetached(path.join(stagingDir, 'repodata', 'repomd.xml'));
  return stagingDir;
}
