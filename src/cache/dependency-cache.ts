/**
 * Caches a build machine uses, held in Docker volumes so they work with a remote DOCKER_HOST (a
 * bind mount would name a directory of the engine's host, not ours):
 * - npm's download cache, shared by every build on the engine (npm's cacache is safe for
 *   concurrent writers), and likewise pnpm's store, Yarn classic's cache and Yarn Berry's global
 *   cache, one volume each;
 * - installed production dependencies: `<key>.tar` of node_modules after `npm ci --omit=dev`,
 *   keyed by everything that decides what npm ci installs, so a source-only change skips npm ci.
 * Both are safe to delete at any time: a missing entry means a full `npm ci`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { VolumeMount } from '../machine/engine.ts';
import type { RuntimeArchive } from '../build/runtime.ts';
import type { PackageManagerSpec } from '../package/package-manager.ts';
import type { Arch } from '../options/types.ts';
import { declaredWorkspaces, isDeclaredWorkspace, pnpmImporters, pnpmLinkTarget, type WorkspacePlan } from '../package/workspace.ts';

/** Where the volumes are mounted in the build machine. */
export const NPM_CACHE_DIR = '/ndist/cache/npm';
export const DEPS_CACHE_DIR = '/ndist/cache/deps';
/** The other managers' download caches (pnpm's store, Yarn's caches), by manager. */
export const MANAGER_CACHE_DIRS = { pnpm: '/ndist/cache/pnpm', yarn: '/ndist/cache/yarn', berry: '/ndist/cache/berry' } as const;

export type CacheVolumes = {
  npm: string;
  deps: string;
  pnpm: string;
  yarn: string;
  berry: string;
};

/**
 * The volumes' names: `ndist-npm-cache` and `ndist-deps`, or with $NDIST_VOLUME_PREFIX instead of
 * `ndist` (tests and the benchmark use their own, so they neither disturb nor depend on the user's).
 */
export function cacheVolumes(env: NodeJS.ProcessEnv = process.env): CacheVolumes {
  const prefix = env.NDIST_VOLUME_PREFIX || 'ndist';
  return { npm: `${prefix}-npm-cache`, deps: `${prefix}-deps`, pnpm: `${prefix}-pnpm-store`, yarn: `${prefix}-yarn-cache`, berry: `${prefix}-yarn-berry-cache` };
}

/** Mounts of the volumes in a build container. */
export function cacheMounts(volumes: CacheVolumes): VolumeMount[] {
  return [
    { volume: volumes.npm, target: NPM_CACHE_DIR },
    { volume: volumes.deps, target: DEPS_CACHE_DIR },
    ...(['pnpm', 'yarn', 'berry'] as const).map((kind) => ({ volume: volumes[kind], target: MANAGER_CACHE_DIRS[kind] })),
  ];
}

/** The root package's scripts the build runs (npm rebuild); their effects cannot be restored from a cache. */
const ROOT_LIFECYCLE = ['preinstall', 'install', 'postinstall'];
/** The managers' project configuration files: registries, scopes, linkers, allowed build scripts. */
const MANAGER_CONFIG_FILES = ['.npmrc', '.pnpmrc', 'pnpm-workspace.yaml', '.yarnrc', '.yarnrc.yml'];
/** Fields of package.json npm ci checks against the lockfile, or that change what it installs. */
const DEPENDENCY_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'bundleDependencies', 'bundledDependencies', 'overrides', 'workspaces'];
/** What pnpm and Yarn read from package.json besides: overrides, allowed build scripts, resolutions. */
const OTHER_MANAGER_FIELDS = ['pnpm', 'resolutions', 'dependenciesMeta', 'packageManager'];

export interface DependencyInputs {
  /** The app's source directory on the host (package.json, the lockfile, .npmrc). */
  sourceDir: string;
  imageId: string;
  runtime: RuntimeArchive;
  npm: RuntimeArchive;
  /** The app's package manager (npm, its lockfile found here, when unset) and, unless it is npm, its CLI archive. */
  manager?: Pick<PackageManagerSpec, 'kind' | 'lockfile'>;
  managerCli?: RuntimeArchive;
  arch: Arch;
  buildDeps: string[];
  buildFromSource: boolean;
  registry: string;
  /** The `workspace` build's plan: which workspaces are installed, and what is copied. */
  workspace?: WorkspacePlan;
}

export type DependencyKey = { key: string; reason?: undefined } | { key?: undefined; reason: string };

/**
 * The dependency cache key: sha256 over the lockfile, package.json's dependency fields, the
 * project's manager configuration files, the machine image, runtime, npm and the app's package
 * manager (each version and checksum), arch, build deps,
 * buildFromSource and the registry. No key (and a full npm ci every time) when the app's own
 * install scripts, a binding.gyp at its root, workspaces or `file:` dependencies make the result
 * depend on more than these.
 */
export function dependencyCacheKey(inputs: DependencyInputs): DependencyKey {
  const { kind, lockfile: name } = inputs.manager ?? { kind: 'npm', lockfile: ['npm-shrinkwrap.json', 'package-lock.json'].find((file) => existsSync(path.join(inputs.sourceDir, file))) };
  const lockfile = name === undefined ? undefined : path.join(inputs.sourceDir, name);
  if (!lockfile || !existsSync(lockfile)) return { reason: `the app has no ${name ?? 'package-lock.json or npm-shrinkwrap.json'}` };
  const readPackage = (dir: string) => JSON.parse(readFileSync(path.join(inputs.sourceDir, dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const pkg = readPackage('');
  const { workspace } = inputs;
  // The root, and with a workspace each workspace that is installed: their scripts and addons run on the source.
  const installed = workspace ? ['', workspace.path, ...workspace.dependencies.map((dependency) => dependency.path)] : [''];
  const packages = installed.map((dir) => ({ dir, pkg: dir === '' ? pkg : readPackage(dir) }));
  for (const { dir, pkg: manifest } of packages) {
    const scripts = (manifest.scripts ?? {}) as Record<string, unknown>;
    const lifecycle = ROOT_LIFECYCLE.filter((name) => name in scripts);
    const what = dir === '' ? "the app's package.json" : `${dir}/package.json`;
    if (lifecycle.length > 0) return { reason: `${what} has ${lifecycle.join(', ')} script(s), which npm ci runs on its source` };
    if (existsSync(path.join(inputs.sourceDir, dir, 'binding.gyp'))) return { reason: `${dir === '' ? 'the app' : dir} has a binding.gyp, which npm ci compiles from its source` };
  }
  if (pkg.workspaces && !workspace) return { reason: 'the app has workspaces, which npm ci links from its source' };
  const lockText = readFileSync(lockfile, 'utf8');
  // A workspace build links the workspaces it installs, which the key covers; other links and file: dependencies are installed from the source.
  // pnpm's `link:../x`, Yarn's `x@file:../x`, `@portal:`: a protocol, not a YAML key like `read-yaml-file: 1.1.0`.
  const local = kind === 'pnpm' && workspace
    ? /(?:^|[\s"'@])(?:file|portal):(?=\S)/m.test(lockText) || pnpmLinksOutsideWorkspaces(inputs.sourceDir)
    : kind !== 'npm' ? /(?:^|[\s"'@])(?:link|file|portal):(?=\S)/m.test(lockText) : (workspace ? linksOutsideWorkspaces(lockText) : /"link":\s*true/.test(lockText)) || /"resolved":\s*"file:/.test(lockText);
  if (local) return { reason: 'the lockfile has file: or linked dependencies, installed from the source' };

  const hash = createHash('sha256');
  const part = (name: string, value: string | Buffer) => hash.update(`${name}\0`).update(value).update('\0');
  part('lockfile', `${path.basename(lockfile)}\0`);
  part('lock', lockText);
  const fields = kind === 'npm' ? DEPENDENCY_FIELDS : [...DEPENDENCY_FIELDS, ...OTHER_MANAGER_FIELDS];
  part('package.json', JSON.stringify(fields.map((field) => [field, pkg[field] ?? null])));
  for (const name of MANAGER_CONFIG_FILES) {
    const file = path.join(inputs.sourceDir, name);
    // .npmrc's part keeps its old name and form, so npm builds keep their keys.
    if (name === '.npmrc') part('npmrc', existsSync(file) ? readFileSync(file) : '');
    else if (existsSync(file)) part(name, readFileSync(file));
  }
  part('image', inputs.imageId);
  part('node', `${inputs.runtime.version} ${inputs.runtime.checksum}`);
  part('npm', `${inputs.npm.version} ${inputs.npm.checksum}`);
  if (inputs.managerCli) part('manager', `${kind} ${inputs.managerCli.version} ${inputs.managerCli.checksum}`);
  part('arch', inputs.arch);
  part('buildDeps', JSON.stringify([...inputs.buildDeps].sort()));
  part('buildFromSource', String(inputs.buildFromSource));
  part('registry', inputs.registry);
  if (workspace) {
    part('workspace', JSON.stringify({ path: workspace.path, dependencies: workspace.dependencies }));
    for (const { dir, pkg: manifest } of packages.slice(1)) part(`package.json ${dir}`, JSON.stringify(DEPENDENCY_FIELDS.map((field) => [field, manifest[field] ?? null])));
  }
  return { key: hash.digest('hex') };
}

/** Whether pnpm-lock.yaml links (`link:`) a directory that is not one of the workspaces the root declares. */
function pnpmLinksOutsideWorkspaces(sourceDir: string): boolean {
  const patterns = declaredWorkspaces(sourceDir)?.patterns ?? [];
  return Object.entries(pnpmImporters(sourceDir)).some(([importer, entry]) =>
    Object.values({ ...entry.dependencies, ...entry.devDependencies, ...entry.optionalDependencies }).some((dependency) => {
      const target = pnpmLinkTarget(importer, dependency.version);
      return target !== undefined && !isDeclaredWorkspace(target, patterns);
    }),
  );
}

/** Whether the lockfile links a directory that is not one of the workspaces its root entry declares (a `file:` dependency). */
function linksOutsideWorkspaces(lockText: string): boolean {
  const packages = (JSON.parse(lockText) as { packages?: Record<string, { link?: boolean; resolved?: string; workspaces?: string[] | { packages?: string[] } }> }).packages ?? {};
  const declared = packages['']?.workspaces;
  const patterns = Array.isArray(declared) ? declared : (declared?.packages ?? []);
  return Object.values(packages).some((entry) => entry.link && (entry.resolved === undefined || !isDeclaredWorkspace(entry.resolved, patterns)));
}
