/**
 * The app's package manager and lockfile, checked on the host before any container starts: the
 * build installs frozen to the lockfile (`npm ci`, `pnpm install --frozen-lockfile`, …), which
 * fails late and obscurely without one. npm's lockfile is also compared with package.json here;
 * pnpm's and Yarn's frozen installs refuse an out-of-date lockfile themselves.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { detectPackageManager, type PackageManagerSpec } from './package-manager.ts';

/** The dependency lists of package.json that the root entry of a v2/v3 lockfile repeats. */
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

const update = (lockfile: string) => `run \`npm install\` and commit ${lockfile}`;

type DependencyLists = Partial<Record<(typeof DEPENDENCY_FIELDS)[number], Record<string, string>>>;

function readJson(file: string, field: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(field, `is not valid JSON (${(error as Error).message}); ${update(field)}`);
  }
}

/** The first difference between package.json's dependency lists and the lockfile root's, or undefined. */
export function lockfileDifference(pkg: DependencyLists, root: DependencyLists): string | undefined {
  for (const field of DEPENDENCY_FIELDS) {
    const wanted = pkg[field] ?? {};
    const locked = root[field] ?? {};
    for (const [name, spec] of Object.entries(wanted)) {
      if (!(name in locked)) return `${field} "${name}" (${spec}) of package.json is not in it`;
      if (locked[name] !== spec) return `${field} "${name}" is ${spec} in package.json but ${locked[name]} in it`;
    }
    const extra = Object.keys(locked).find((name) => !(name in wanted));
    if (extra !== undefined) return `it has ${field} "${extra}", which package.json no longer lists`;
  }
  return undefined;
}

/**
 * The app's package manager, pinned (see package-manager.ts for what is refused). For npm, also
 * refuses a lockfile (v2 or v3, which record package.json's lists in their root entry) that lists
 * other dependencies than package.json; with a `workspace` (its path), that workspace's package.json
 * is held to its entry too.
 */
export function checkLockfile(sourceDir: string, options: { packageManager?: string; npm?: string } = {}, workspace?: string): PackageManagerSpec {
  const manager = detectPackageManager(sourceDir, options.packageManager, options.npm);
  if (manager.kind === 'npm') checkNpmLockfile(sourceDir, manager.lockfile, workspace);
  return manager;
}

function checkNpmLockfile(sourceDir: string, name: string, workspace: string | undefined): void {
  const lock = readJson(path.join(sourceDir, name), name) as { packages?: Record<string, DependencyLists> };
  const root = lock.packages?.[''];
  if (!root) return; // lockfileVersion 1 has no root entry to compare
  const pkg = readJson(path.join(sourceDir, 'package.json'), 'package.json') as DependencyLists;
  const difference = lockfileDifference(pkg, root);
  if (difference) throw new ConfigError(name, `is out of sync with package.json: ${difference}; ${update(name)}`);
  // A workspace's own lists are repeated in its entry of the root lockfile.
  if (workspace === undefined) return;
  const entry = lock.packages?.[workspace];
  if (!entry) throw new ConfigError(name, `has no entry for the workspace ${workspace}; run \`npm install\` at the root and commit ${name}`);
  const workspaceDifference = lockfileDifference(readJson(path.join(sourceDir, workspace, 'package.json'), `${workspace}/package.json`) as DependencyLists, entry);
  if (workspaceDifference) throw new ConfigError(name, `is out of sync with ${workspace}/package.json: ${workspaceDifference}; run \`npm install\` at the root and commit ${name}`);
}
