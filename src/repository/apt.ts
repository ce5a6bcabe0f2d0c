/**
 * The apt side of a repository: one suite per target release (`dists/bookworm`), one component
 * per channel (`stable`, `testing`), the layout Docker's own apt repository uses, so a host
 * subscribes with `deb [signed-by=…] <url>/apt bookworm stable`.
 *
 * The indexes are written by apt-ftparchive, Debian's own archive indexer (in apt-utils, released
 * with apt): `generate` reads the channel's file list and writes Packages(.gz, .xz), `release`
 * writes Release with every index's hashes. It keeps no state of its own, so the repository's
 * state stays in ndist-repo.json and the pool. gpg signs Release into InRelease and Release.gpg.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Signer } from '../package/signing.ts';
import { parseChannelKey, type RepositoryState } from './channels.ts';
import { hostTool } from './package-file.ts';

/** The pool path of a .deb, relative to the apt root: `pool/<dist>/<first letter>/<name>/<file>`. */
export function aptPoolPath(dist: string, name: string, fileName: string): string {
  const prefix = name.startsWith('lib') ? name.slice(0, 4) : name[0]!;
  return `pool/${dist}/${prefix}/${name}/${fileName}`;
}

/** The suite's channels and architectures: every channel ever made stays (possibly empty), so hosts subscribed to it keep working. */
function suiteContents(state: RepositoryState, dist: string) {
  const channels = Object.keys(state.channels).filter((key) => key.startsWith(`deb/${dist}/`)).map((key) => parseChannelKey(key).channel).sort();
  const published = Object.values(state.packages).filter((pkg) => pkg.format === 'deb' && pkg.dist === dist);
  const archs = [...new Set(published.map((pkg) => pkg.arch).filter((arch) => arch !== 'all'))].sort();
  return { channels, archs: archs.length ? archs : ['amd64'] };
}

/**
 * Write the suite `dists/<dist>` into `stagingDir` (a directory under aptRoot, so the file names
 * in Packages are relative to aptRoot), signed. Returns the staged suite's directory.
 */
export async function stageAptSuite(state: RepositoryState, dist: string, aptRoot: string, stagingDir: string, signer: Signer): Promise<string> {
  const { channels, archs } = suiteContents(state, dist);
  const relativeStaging = path.relative(aptRoot, stagingDir);
  const suite = path.join(stagingDir, 'dists', dist);
  const lists = path.join(stagingDir, 'lists');
  await mkdir(lists, { recursive: true });
  for (const channel of channels) {
    const held = state.channels[`deb/${dist}/${channel}`]!.map((id) => state.packages[id]!);
    for (const arch of archs) {
      await mkdir(path.join(suite, channel, `binary-${arch}`), { recursive: true });
      const files = held.filter((pkg) => pkg.arch === arch || pkg.arch === 'all').map((pkg) => path.relative('apt', pkg.file));
      await writeFile(path.join(lists, `${channel}_${arch}`), files.map((file) => `${file}\n`).join(''));
    }
  }
  // Names here are validated ([a-z0-9._-]) and the paths are relative to aptRoot: nothing to quote.
  const config = [
    // CacheDir: apt-ftparchive keeps a cache of package fields keyed by file name, by default in `/`,
    // where another repository's files of the same name would be taken for these. One per run.
    `Dir { ArchiveDir "."; CacheDir "${relativeStaging}"; };`,
    'Default { Packages::Compress ". gzip xz"; };',
    `Tree "${relativeStaging}/dists/${dist}" { Sections "${channels.join(' ')}"; Architectures "${archs.join(' ')}"; FileList "${relativeStaging}/lists/$(SECTION)_$(ARCH)"; Contents " "; };`,
  ].join('\n');
  const configFile = path.join(stagingDir, 'apt-ftparchive.conf');
  await writeFile(configFile, `${config}\n`);
  await hostTool('apt-ftparchive', ['-q=2', 'generate', configFile], `indexing apt suite ${dist}`, { cwd: aptRoot });
  const release = await hostTool(
    'apt-ftparchive',
    [
      '-o', `APT::FTPArchive::Release::Origin=${state.name}`,
      '-o', `APT::FTPArchive::Release::Label=${state.name}`,
      '-o', `APT::FTPArchive::Release::Suite=${dist}`,
      '-o', `APT::FTPArchive::Release::Codename=${dist}`,
      '-o', `APT::FTPArchive::Release::Components=${channels.join(' ')}`,
      '-o', `APT::FTPArchive::Release::Architectures=${archs.join(' ')}`,
      '-o', `APT::FTPArchive::Release::Description=${state.name} packages for ${dist}, one component per channel`,
      'release', suite,
    ],
    `writing the Release file of ${dist}`,
  );
  await writeFile(path.join(suite, 'Release'), release);
  await signer.clearSign(path.join(suite, 'Release'), path.join(suite, 'InRelease'));
  await signer.signDetached(path.join(suite, 'Release'), path.join(suite, 'Release.gpg'));
  return suite;
}
