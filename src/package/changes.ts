/**
 * `<app>_<version>-<iteration>_<arch>.changes` beside a .deb: Debian's description of an upload
 * (deb-changes(5), Format 1.8), binary-only, as dpkg-genchanges -b writes it, for the tools that
 * take one (dput, reprepro include, debsign). Its Changes field is the package's newest changelog
 * entry; its checksums are of the .deb as it is left in outDir (signed first when signing is on);
 * with signing on, the file itself is clearsigned, as debsign would.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { debianChangelog } from './changelog.ts';
import type { Signer } from './signing.ts';
import type { PackageSpec } from './spec.ts';

/** The distribution of the upload (the Distribution field and the changelog's), unless the build gives one. */
export const DEFAULT_DISTRIBUTION = 'unstable';

/** The file name of a .deb's .changes: the .deb's, ending in .changes. */
export function changesFileName(debFileName: string): string {
  return debFileName.replace(/\.deb$/, '.changes');
}

/** The text of the .changes of `deb` (its bytes), for a package of `spec`. */
export function debChanges(spec: PackageSpec, deb: { name: string; content: Buffer }, sourceDateEpoch: number, distribution = DEFAULT_DISTRIBUTION): string {
  const version = `${spec.epoch !== undefined ? `${spec.epoch}:` : ''}${spec.version}-${spec.iteration}`;
  // The newest entry of the package's changelog, as changelog.Debian.gz has it (one saying so when there is none).
  const changelog = debianChangelog(spec, spec.changelog ?? [], sourceDateEpoch, distribution);
  const entry = changelog.slice(0, changelog.indexOf('\n -- '));
  const date = /^ -- .*? {2}(.+)$/m.exec(changelog)![1]!;
  const digest = (algorithm: string) => createHash(algorithm).update(deb.content).digest('hex');
  const size = deb.content.length;
  const field = (name: string, lines: string[]) => [`${name}:`, ...lines.map((line) => ` ${line}`)];
  return [
    'Format: 1.8',
    `Date: ${date}`,
    `Source: ${spec.app}`,
    `Binary: ${spec.app}`,
    `Architecture: ${spec.arch}`,
    `Version: ${version}`,
    `Distribution: ${distribution}`,
    'Urgency: medium',
    `Maintainer: ${spec.maintainer}`,
    `Changed-By: ${spec.maintainer}`,
    ...field('Description', [`${spec.app} - ${spec.description}`]),
    ...field('Changes', entry.trimEnd().split('\n').map((line) => (line.trim() === '' ? '.' : line))),
    ...field('Checksums-Sha1', [`${digest('sha1')} ${size} ${deb.name}`]),
    ...field('Checksums-Sha256', [`${digest('sha256')} ${size} ${deb.name}`]),
    // Section and priority as the control file has them (dpkg-deb.ts).
    ...field('Files', [`${digest('md5')} ${size} misc optional ${deb.name}`]),
    '',
  ].join('\n');
}

/** Write the .changes beside `debPath`, clearsigned with `signer` when given; returns its path. */
export async function writeDebChanges(spec: PackageSpec, debPath: string, sourceDateEpoch: number, signer: Signer | undefined, distribution?: string): Promise<string> {
  const file = path.join(path.dirname(debPath), changesFileName(path.basename(debPath)));
  const text = debChanges(spec, { name: path.basename(debPath), content: await readFile(debPath) }, sourceDateEpoch, distribution);
  const unsigned = `${file}.unsigned`;
  await writeFile(unsigned, text);
  if (signer) {
    await signer.clearSign(unsigned, `${file}.tmp`);
    await rename(`${file}.tmp`, file);
    await rm(unsigned);
  } else {
    await rename(unsigned, file);
  }
  return file;
}
