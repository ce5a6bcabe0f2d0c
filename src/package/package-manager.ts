/**
 * Which package manager installs an app, worked out on the host before any container starts: the
 * `packageManager` build option, else package.json's `packageManager` field (corepack's format,
 * `pnpm@10.34.9+sha512.<hex>`), else the lockfile the source holds. The result is pinned: an
 * exact version, from the option or field, else a default per manager (never "latest").
 *
 * Refused here, each naming the files involved: two lockfiles of different managers, a lockfile
 * that disagrees with the named manager (Yarn classic's v1 yarn.lock vs Berry's, which has a
 * `__metadata:` block), no lockfile for the manager, and Yarn Plug'n'Play (ndist ships a
 * node_modules tree: `nodeLinker: node-modules` in .yarnrc.yml).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { ConfigError } from '../errors.ts';

/** Yarn 2+ ("Berry") is its own kind: another CLI package, lockfile, config file and commands. */
export type ManagerKind = 'npm' | 'pnpm' | 'yarn' | 'berry';

export interface PackageManagerSpec {
  kind: ManagerKind;
  version: string;
  /** corepack's `+<algorithm>.<hex>` of the manager's tarball, when the option or field gives one. */
  hash?: { algorithm: HashAlgorithm; hex: string };
  /** Where the manager and its version came from, for the log and `ndist render`. */
  from: string;
  /** The lockfile the install is frozen to, relative to the source. */
  lockfile: string;
}

export type HashAlgorithm = 'sha1' | 'sha224' | 'sha256' | 'sha512';

/** The registry package each manager's CLI is published as. */
export const MANAGER_PACKAGES: Record<ManagerKind, string> = { npm: 'npm', pnpm: 'pnpm', yarn: 'yarn', berry: '@yarnpkg/cli-dist' };

/**
 * The version used when only the lockfile names the manager: pinned here and in the README, so a
 * build never depends on what "latest" is today. npm's is the `npm` option's default.
 */
export const DEFAULT_VERSIONS: Record<Exclude<ManagerKind, 'npm'>, string> = { pnpm: '10.34.9', yarn: '1.22.22', berry: '4.18.1' };

/** The npm CLI in every build machine (the `npm` option's default); npm is always there, whatever installs the app. */
export const DEFAULT_NPM_VERSION = '10.9.9';
/** The first npm with `npm sbom`, which the licences and SBOM step runs with the build's npm. */
export const NPM_WITH_SBOM = '9.5.0';

/** pnpm-lock.yaml's lockfileVersion → the pnpm line that writes it. Newer pnpm reads older locks, not the reverse. */
const PNPM_FOR_LOCKFILE: Record<string, string> = { '9.0': '10.34.9', '6.0': '8.15.9', '5.4': '7.33.7' };

const LOCKFILES: { file: string; kind: 'npm' | 'pnpm' | 'yarn' }[] = [
  { file: 'npm-shrinkwrap.json', kind: 'npm' },
  { file: 'package-lock.json', kind: 'npm' },
  { file: 'pnpm-lock.yaml', kind: 'pnpm' },
  { file: 'yarn.lock', kind: 'yarn' },
];

const FIELD = /^(npm|pnpm|yarn)@(\d+\.\d+\.\d+)(?:\+(sha1|sha224|sha256|sha512)\.([0-9a-f]+))?$/;
const HEX_LENGTH: Record<HashAlgorithm, number> = { sha1: 40, sha224: 56, sha256: 64, sha512: 128 };

const managerName = (kind: ManagerKind) => (kind === 'berry' ? 'Yarn Berry (2+)' : kind === 'yarn' ? 'Yarn classic (1.x)' : kind);
const installHint: Record<ManagerKind, string> = {
  npm: 'run `npm install`',
  pnpm: 'run `pnpm install`',
  yarn: 'run `yarn install`',
  berry: 'run `yarn install`',
};

/** Parses `name@x.y.z[+algo.hex]` as corepack writes it; `field` names where it came from in errors. */
export function parseManagerField(value: string, field: string): { name: 'npm' | 'pnpm' | 'yarn'; version: string; hash?: PackageManagerSpec['hash'] } {
  const match = FIELD.exec(value);
  if (!match) {
    throw new ConfigError(field, `"${value}" is not a pinned package manager; give name@x.y.z with name npm, pnpm or yarn, optionally +sha512.<hex> as corepack writes it (e.g. "pnpm@10.34.9")`);
  }
  const [, name, version, algorithm, hex] = match as unknown as [string, 'npm' | 'pnpm' | 'yarn', string, HashAlgorithm | undefined, string | undefined];
  if (algorithm && hex!.length !== HEX_LENGTH[algorithm]) {
    throw new ConfigError(field, `"${value}": a ${algorithm} hash is ${HEX_LENGTH[algorithm]} hex digits, not ${hex!.length}`);
  }
  return { name, version, ...(algorithm ? { hash: { algorithm, hex: hex! } } : {}) };
}

/** Yarn classic's v1 lockfile or Berry's (which has a `__metadata:` block with its version). */
function yarnLockKind(text: string): { kind: 'yarn' | 'berry'; metadataVersion?: number } {
  const metadata = /^__metadata:\s*\n\s+version:\s*(\d+)/m.exec(text);
  return metadata ? { kind: 'berry', metadataVersion: Number(metadata[1]) } : { kind: 'yarn' };
}

function read(sourceDir: string, file: string): string {
  return readFileSync(path.join(sourceDir, file), 'utf8');
}

/** Berry's nodeLinker from the project's .yarnrc.yml; unset means Plug'n'Play. */
export function berryNodeLinker(sourceDir: string): string {
  const rc = path.join(sourceDir, '.yarnrc.yml');
  if (!existsSync(rc)) return 'pnp';
  const match = /^nodeLinker:\s*["']?([\w-]+)["']?\s*(?:#.*)?$/m.exec(readFileSync(rc, 'utf8'));
  return match ? match[1]! : 'pnp';
}

/**
 * The app's package manager, pinned. `option` is the `packageManager` build option; `npmOption`
 * the `npm` option, which pins npm when npm is the manager.
 */
export function detectPackageManager(sourceDir: string, option?: string, npmOption?: string): PackageManagerSpec {
  const present = LOCKFILES.filter(({ file }) => existsSync(path.join(sourceDir, file)));
  const kinds = [...new Set(present.map(({ kind }) => kind))];
  if (kinds.length > 1) {
    const [first, second] = kinds.map((kind) => present.find((lock) => lock.kind === kind)!.file);
    throw new ConfigError(second!, `and ${first} are both in the source: one package manager installs the app; delete the lockfile of the one it does not use (or set packageManager to say which)`);
  }
  const lock = present[0];

  let pkg: { packageManager?: unknown };
  try {
    pkg = JSON.parse(read(sourceDir, 'package.json')) as typeof pkg;
  } catch (error) {
    throw new ConfigError('package.json', `is not valid JSON (${(error as Error).message})`);
  }
  const named = option !== undefined
    ? { ...parseManagerField(option, 'packageManager'), from: 'the packageManager option', field: 'the packageManager option' }
    : typeof pkg.packageManager === 'string'
      ? { ...parseManagerField(pkg.packageManager, 'package.json packageManager'), from: "package.json's packageManager", field: `package.json's packageManager "${pkg.packageManager}"` }
      : pkg.packageManager === undefined
        ? undefined
        : (() => { throw new ConfigError('package.json packageManager', 'must be a string like "pnpm@10.34.9"'); })();

  // Yarn's major decides classic or Berry; with no version named, the lockfile's form does.
  const yarnLock = lock?.kind === 'yarn' ? yarnLockKind(read(sourceDir, lock.file)) : undefined;
  const kind: ManagerKind | undefined = named
    ? named.name === 'yarn' ? (Number(named.version.split('.')[0]) >= 2 ? 'berry' : 'yarn') : named.name
    : lock?.kind === 'yarn' ? yarnLock!.kind : lock?.kind;

  if (named && lock && kind !== (lock.kind === 'yarn' ? yarnLock!.kind : lock.kind)) {
    const lockIs = lock.kind === 'yarn' ? `a ${managerName(yarnLock!.kind)} lockfile` : `${lock.kind}'s lockfile`;
    throw new ConfigError(lock.file, `is ${lockIs}, but ${named.field} names ${managerName(kind!)}: ${installHint[kind!]} to write its lockfile and delete ${lock.file}, or name the manager that wrote it`);
  }
  const expected = kind === 'pnpm' ? 'pnpm-lock.yaml' : kind === 'yarn' || kind === 'berry' ? 'yarn.lock' : 'package-lock.json';
  if (!lock) {
    const by = named ? ` (${named.field} names ${managerName(kind!)})` : '';
    throw new ConfigError(expected, `is missing from the source${by}: ${installHint[kind ?? 'npm']} to create ${expected}, then commit it`);
  }
  if (kind === 'berry' && berryNodeLinker(sourceDir) === 'pnp') {
    throw new ConfigError('.yarnrc.yml', "sets no nodeLinker, so Yarn uses Plug'n'Play, which ndist does not package (it ships a node_modules tree): add `nodeLinker: node-modules` to .yarnrc.yml, run `yarn install` and commit yarn.lock");
  }

  if (named && kind === 'npm' && semver.lt(named.version, NPM_WITH_SBOM)) {
    // A project's own pin of an older npm (typescript 5.9 names npm 8.19.4) installs with ndist's npm,
    // which reads the same lockfiles; an explicit option asking for one is a mistake to fix.
    if (option !== undefined) throw new ConfigError('packageManager', `names npm ${named.version}, which has no \`npm sbom\` (the SBOM step runs it): name npm ${NPM_WITH_SBOM} or later, e.g. "npm@${DEFAULT_NPM_VERSION}"`);
    const version = npmOption ?? DEFAULT_NPM_VERSION;
    return { kind, version, from: `${npmOption ? 'the npm option' : 'the default'}: ${named.field} names npm ${named.version}, older than the ${NPM_WITH_SBOM} the SBOM step needs`, lockfile: lock.file };
  }
  if (named) {
    const spec: PackageManagerSpec = { kind: kind!, version: named.version, from: named.from, lockfile: lock.file, ...(named.hash ? { hash: named.hash } : {}) };
    // The `npm` option pins npm's version; a packageManager naming another npm is a contradiction.
    if (kind === 'npm' && npmOption !== undefined && npmOption !== named.version) {
      throw new ConfigError('npm', `is ${npmOption}, but ${named.field} names npm ${named.version}: remove one of them`);
    }
    return spec;
  }
  if (kind === 'npm') return { kind, version: npmOption ?? DEFAULT_NPM_VERSION, from: npmOption ? 'the npm option' : 'the default', lockfile: lock.file };
  if (kind === 'pnpm') {
    const lockfileVersion = /^lockfileVersion:\s*['"]?([\d.]+)['"]?/m.exec(read(sourceDir, lock.file))?.[1];
    const version = lockfileVersion !== undefined ? PNPM_FOR_LOCKFILE[lockfileVersion] : undefined;
    if (!version) {
      throw new ConfigError('pnpm-lock.yaml', `has lockfileVersion ${lockfileVersion ?? '(none)'}, which ndist has no default pnpm for: set package.json's packageManager (e.g. "pnpm@${DEFAULT_VERSIONS.pnpm}") or the packageManager option`);
    }
    return { kind, version, from: `the default for pnpm-lock.yaml lockfileVersion ${lockfileVersion}`, lockfile: lock.file };
  }
  if (kind === 'berry' && yarnLock?.metadataVersion !== undefined && yarnLock.metadataVersion < 8) {
    throw new ConfigError('yarn.lock', `has __metadata version ${yarnLock.metadataVersion} (Yarn 2 or 3), which ndist has no default Yarn for: set package.json's packageManager to the Yarn that wrote it (e.g. "yarn@3.8.7")`);
  }
  return { kind: kind!, version: DEFAULT_VERSIONS[kind as 'yarn' | 'berry'], from: `the default for ${managerName(kind!)} (${lock.file} names no version)`, lockfile: lock.file };
}
