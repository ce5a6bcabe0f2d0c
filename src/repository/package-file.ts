/**
 * What a repository needs to know of a package file, read from the package itself with the
 * format's own tool (dpkg-deb, rpm) rather than trusted from its file name.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { sha256File } from '../build/checksums.ts';
import { ConfigError, RepositoryError, errorMessage } from '../errors.ts';
import type { PackageFormat } from '../package/format.ts';

const run = promisify(execFile);

export interface PackageFile {
  path: string;
  format: PackageFormat;
  name: string;
  /** The full version: `1.1.0-1deb12` (deb), `1.1.0-1` (rpm), with `epoch:` when there is one. */
  version: string;
  /** deb: amd64, arm64, armhf; rpm: x86_64, aarch64, armv7hl, noarch. */
  arch: string;
  /** Names of the packages it depends on (versions left out). */
  depends: string[];
  /** rpm: whether the package carries a signature (the .repo file's gpgcheck follows it). */
  signed: boolean;
  sha256: string;
  size: number;
}

/** The Debian package of each host tool, for the message when one is missing. */
const HOST_TOOLS: Record<string, string> = {
  'dpkg-deb': 'dpkg',
  rpm: 'rpm',
  'apt-ftparchive': 'apt-utils',
  createrepo_c: 'createrepo-c',
  gpg: 'gnupg',
};

/** Run a host tool; a missing one is named with the Debian package that has it. */
export async function hostTool(command: string, args: string[], what: string, options: { cwd?: string } = {}): Promise<string> {
  try {
    return (await run(command, args, { cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      throw new RepositoryError(`${what} needs ${command}, which is not installed (Debian/Ubuntu: apt-get install ${HOST_TOOLS[command] ?? command}; or run scripts/setup.sh)`);
    }
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new RepositoryError(`${what}: ${command} failed: ${stderr.split('\n').slice(-3).join(' ') || errorMessage(error)}`);
  }
}

/** Dependency names of a Depends field or an rpm requires list, without versions and alternatives' syntax. */
function dependencyNames(list: string[]): string[] {
  return [...new Set(list.flatMap((entry) => entry.split('|')).map((entry) => entry.trim().split(/[\s(]/)[0]!).filter((name) => name && !name.includes('/') && !name.startsWith('rpmlib(')))];
}

export async function readPackageFile(file: string): Promise<PackageFile> {
  const format = file.endsWith('.deb') ? 'deb' : file.endsWith('.rpm') ? 'rpm' : undefined;
  if (!format) throw new ConfigError('publish', `${file} is neither a .deb nor an .rpm`);
  const info = await stat(file).catch(() => {
    throw new ConfigError('publish', `${file} does not exist`);
  });
  const what = `reading ${path.basename(file)}`;
  if (format === 'deb') {
    const fields = await hostTool('dpkg-deb', ['--showformat=${Package}\\n${Version}\\n${Architecture}\\n${Depends}\\n', '--show', file], what);
    const [name = '', version = '', arch = '', depends = ''] = fields.split('\n');
    return { path: file, format, name, version, arch, depends: dependencyNames(depends.split(',')), signed: false, sha256: await sha256File(file), size: info.size };
  }
  const fields = await hostTool('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{NAME}\\n%{EPOCH}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n%{RSAHEADER:pgpsig}\\n', file], what);
  const [name = '', epoch = '', version = '', release = '', arch = '', signature = ''] = fields.split('\n');
  const requires = await hostTool('rpm', ['-qp', '--nosignature', '--nodigest', '--requires', file], what);
  return {
    path: file,
    format,
    name,
    version: `${epoch && epoch !== '(none)' ? `${epoch}:` : ''}${version}-${release}`,
    arch,
    depends: dependencyNames(requires.split('\n')),
    signed: signature !== '' && signature !== '(none)',
    sha256: await sha256File(file),
    size: info.size,
  };
}
