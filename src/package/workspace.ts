/**
 * Monorepos: the `workspace` option names the workspace to package. On the host, before any
 * container starts, this module checks it is a declared workspace of the source's root, and works
 * out from the root lockfile what the package holds: the workspace, its production dependencies and
 * the workspace packages it depends on (transitively), re-rooted so the workspace is the app's root
 * and every dependency is a real directory in its node_modules. For npm workspaces the machine
 * copies the layout worked out here (in-machine/workspace-deploy.ts); for pnpm workspaces `pnpm
 * deploy` lays it out. The other workspaces are never copied; Yarn workspaces are refused.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.ts';
import { globPattern, matchesAny } from '../in-machine/stage-app.ts';

/** A package of the root lockfile's `packages` map (lockfileVersion 2 or 3). */
export interface LockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  link?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  scripts?: Record<string, string>;
}

/** One directory of the deployed tree: `from` (a lockfile path under the root) copied to `to` (relative to the deployed app). */
export interface Placement {
  from: string;
  to: string;
  /** A workspace package: only what `npm pack` would publish of it is copied. */
  workspace: boolean;
  /** An optional dependency: absent in the machine (another OS or CPU) is not an error. */
  optional: boolean;
}

/** A workspace package the shipped workspace depends on. */
export interface WorkspaceDependency {
  /** Its directory relative to the root, e.g. packages/lib. */
  path: string;
  name: string;
  /** It has a `build` script, run (`npm run build --workspace <path>`) before the shipped workspace's build step. */
  build: boolean;
}

/** The package managers whose workspaces ndist ships: the root lockfile says which. */
export type WorkspaceManager = 'npm' | 'pnpm';

/** What a workspace build copies, settled on the host. */
export interface WorkspacePlan {
  manager: WorkspaceManager;
  /** The shipped workspace, relative to the source root, e.g. apps/api. */
  path: string;
  name: string;
  /** Workspace packages it depends on, dependencies before their dependents. */
  dependencies: WorkspaceDependency[];
  /** npm: the node_modules of the deployed app, each directory once, parents before children (pnpm deploy lays out its own: none). */
  placements: Placement[];
  /** pnpm: the workspace's package.json as pnpm publishes it (`workspace:` ranges made versions), which replaces the one pnpm deploy writes. */
  manifest?: string;
}

const WORKSPACE_EXAMPLE = 'e.g. workspace: "apps/api"';

function readJson(file: string, field: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(field, `${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The workspace globs the root declares: package.json `workspaces` (npm and Yarn; a list, or
 * `{ packages: [...] }`), else pnpm-workspace.yaml `packages`. Undefined when it declares none.
 */
export function declaredWorkspaces(rootDir: string): { patterns: string[]; file: string } | undefined {
  const pkgFile = path.join(rootDir, 'package.json');
  if (existsSync(pkgFile)) {
    const workspaces = readJson(pkgFile, 'package.json').workspaces as string[] | { packages?: string[] } | undefined;
    const patterns = Array.isArray(workspaces) ? workspaces : workspaces?.packages;
    if (Array.isArray(patterns)) return { patterns: patterns.filter((item) => typeof item === 'string'), file: 'package.json workspaces' };
  }
  const pnpmFile = path.join(rootDir, 'pnpm-workspace.yaml');
  if (existsSync(pnpmFile)) {
    let parsed: { packages?: unknown } | null;
    try {
      parsed = parseYaml(readFileSync(pnpmFile, 'utf8')) as { packages?: unknown } | null;
    } catch (error) {
      throw new ConfigError('pnpm-workspace.yaml', `is not valid YAML: ${(error as Error).message}`);
    }
    const patterns = parsed?.packages;
    if (Array.isArray(patterns)) return { patterns: patterns.filter((item): item is string => typeof item === 'string'), file: 'pnpm-workspace.yaml packages' };
  }
  return undefined;
}

/** Whether `dir` (relative, normalised) is matched by the globs, `!` globs excluding. */
export function isDeclaredWorkspace(dir: string, patterns: string[]): boolean {
  const glob = (pattern: string) => globPattern(pattern.replace(/^!/, '').replace(/^\.\//, ''));
  const included = patterns.filter((pattern) => !pattern.startsWith('!')).some((pattern) => glob(pattern).test(dir));
  return included && !patterns.filter((pattern) => pattern.startsWith('!')).some((pattern) => matchesAny(dir, [glob(pattern)]));
}

/** The option's text as a path relative to the root: no absolute path, no `..`, no trailing slash. */
export function normaliseWorkspace(value: string): string {
  const normalised = path.posix.normalize(value.replace(/^\.\//, '')).replace(/\/+$/, '');
  if (value.startsWith('/') || normalised === '.' || normalised === '' || normalised.split('/').includes('..') || value.includes('\\')) {
    throw new ConfigError('workspace', `"${value}" must be a directory relative to the source's root, inside it, ${WORKSPACE_EXAMPLE}`);
  }
  return normalised;
}

/**
 * The `workspace` option against the source: a directory inside it with a package.json that has a
 * name and a version, declared as a workspace by the root. Returns its normalised path and name.
 */
export function checkWorkspace(sourceDir: string, value: string): { path: string; name: string } {
  const dir = normaliseWorkspace(value);
  const declared = declaredWorkspaces(sourceDir);
  if (!declared) {
    throw new ConfigError('workspace', `"${dir}" is set, but the source's root declares no workspaces: add "workspaces": ["${dir.split('/')[0]}/*"] to its package.json (npm, Yarn) or list it under packages in pnpm-workspace.yaml (pnpm), or remove the option`);
  }
  const full = path.join(sourceDir, dir);
  if (!existsSync(full) || !statSync(full).isDirectory()) throw new ConfigError('workspace', `"${dir}" is not a directory of the source; ${declared.file} declares ${declared.patterns.join(', ')}`);
  const pkgFile = path.join(full, 'package.json');
  if (!existsSync(pkgFile)) throw new ConfigError('workspace', `"${dir}" has no package.json; a workspace is a directory with its own package.json`);
  const pkg = readJson(pkgFile, 'workspace');
  for (const field of ['name', 'version'] as const) {
    if (typeof pkg[field] !== 'string' || pkg[field] === '') throw new ConfigError('workspace', `${dir}/package.json has no ${field}; the package takes its ${field} from it (e.g. "${field}": "${field === 'name' ? 'api' : '1.0.0'}")`);
  }
  if (!isDeclaredWorkspace(dir, declared.patterns)) {
    throw new ConfigError('workspace', `"${dir}" is not a workspace of the source's root: ${declared.file} declares ${declared.patterns.join(', ')}; add "${dir}" there or name one of those`);
  }
  return { path: dir, name: pkg.name as string };
}

/** The real package a lockfile path holds: a link (a workspace in node_modules) is followed to its directory. */
function realPath(packages: Record<string, LockEntry>, key: string): string {
  const entry = packages[key]!;
  return entry.link && entry.resolved !== undefined ? entry.resolved : key;
}

/** Node's lookup of `name` from the package at `from`: its node_modules, then each parent's, up to the root. */
function lookup<T>(has: (key: string) => T | undefined, from: string, name: string): T | undefined {
  const parts = from === '' ? [] : from.split('/');
  for (let depth = parts.length; depth >= 0; depth--) {
    const dir = parts.slice(0, depth);
    if (dir[dir.length - 1] === 'node_modules') continue;
    const found = has([...dir, 'node_modules', name].join('/'));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The production dependencies of one package: its dependencies, optional ones and peers, each with whether it may be missing. */
function productionEdges(entry: LockEntry): { name: string; optional: boolean }[] {
  const edges = new Map<string, boolean>();
  for (const name of Object.keys(entry.dependencies ?? {})) edges.set(name, false);
  for (const name of Object.keys(entry.optionalDependencies ?? {})) edges.set(name, true);
  for (const name of Object.keys(entry.peerDependencies ?? {})) if (!edges.has(name)) edges.set(name, true);
  return [...edges].map(([name, optional]) => ({ name, optional }));
}

/** Whether a lockfile path is a workspace package (a directory of the root), not an installed one. */
const isWorkspacePath = (key: string) => key !== '' && !key.split('/').includes('node_modules');

/**
 * What ships for `workspace`, from the root lockfile's `packages` map (lockfileVersion 2 or 3):
 * the production closure (dependencies, optional dependencies, peers; never devDependencies), the
 * workspace packages in it, and where each package goes once the workspace is the app's root.
 *
 * The layout keeps every package resolving the same instance it resolves in the monorepo: a
 * dependency goes to the top node_modules when no other instance has that name there, else it is
 * nested under the package that needs it. Each package's dependencies are placed before any of
 * its nested packages is visited, so a nested placement never changes what was resolved before.
 */
export function workspaceClosure(lock: { packages?: Record<string, LockEntry> }, workspace: string, lockfileName = 'package-lock.json'): Omit<WorkspacePlan, 'name' | 'manager' | 'manifest'> {
  const packages = lock.packages;
  if (!packages || !packages[workspace]) {
    throw new ConfigError(lockfileName, `has no entry for the workspace "${workspace}" (lockfileVersion 2 or 3 lists each workspace): run \`npm install\` at the root and commit ${lockfileName}`);
  }
  // Each package's dependencies as lockfile paths, the production closure as it is visited.
  const edges = new Map<string, { name: string; target: string; optional: boolean }[]>();
  const optionalOnly = new Map<string, boolean>();
  const visit = [workspace];
  optionalOnly.set(workspace, false);
  while (visit.length > 0) {
    const key = visit.shift()!;
    const list: { name: string; target: string; optional: boolean }[] = [];
    for (const edge of productionEdges(packages[key]!)) {
      const found = lookup((candidate) => (packages[candidate] ? candidate : undefined), key, edge.name);
      if (found === undefined) {
        if (edge.optional) continue;
        throw new ConfigError(lockfileName, `has no package "${edge.name}" that ${key} depends on: run \`npm install\` at the root and commit ${lockfileName}`);
      }
      const target = realPath(packages, found);
      if (!packages[target]) throw new ConfigError(lockfileName, `links "${found}" to "${target}", which it does not list: run \`npm install\` at the root and commit ${lockfileName}`);
      const optional = edge.optional || (optionalOnly.get(key) ?? false) || packages[target]!.optional === true;
      list.push({ name: edge.name, target, optional });
      if (!optionalOnly.has(target)) {
        optionalOnly.set(target, optional);
        visit.push(target);
      } else if (!optional) optionalOnly.set(target, false);
    }
    edges.set(key, list);
  }

  // Re-rooted: the workspace at '', each package placed where its dependents find it.
  const placed = new Map<string, string>([['', workspace]]);
  const placements: Placement[] = [];
  const queue: string[] = [''];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const { name, target } of edges.get(placed.get(at)!)!) {
      const found = lookup((candidate) => placed.get(candidate), at, name);
      if (found === target) continue;
      const to = found === undefined ? `node_modules/${name}` : `${at === '' ? '' : `${at}/`}node_modules/${name}`;
      if (placed.has(to) || to.split('/node_modules/').length > 64) {
        throw new ConfigError(lockfileName, `cannot be laid out for the workspace "${workspace}": ${to} would hold two packages`);
      }
      placed.set(to, target);
      placements.push({ from: target, to, workspace: isWorkspacePath(target), optional: optionalOnly.get(target) ?? false });
      queue.push(to);
    }
  }
  placements.sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));

  // The workspace packages it depends on, each after the ones it depends on.
  const dependencies: WorkspaceDependency[] = [];
  const done = new Set<string>([workspace]);
  const order = (key: string, seen: Set<string>) => {
    if (done.has(key) || seen.has(key)) return;
    seen.add(key);
    for (const edge of edges.get(key) ?? []) if (isWorkspacePath(edge.target)) order(edge.target, seen);
    done.add(key);
    const entry = packages[key]!;
    dependencies.push({ path: key, name: entry.name ?? path.posix.basename(key), build: false });
  };
  for (const edge of edges.get(workspace)!) if (isWorkspacePath(edge.target)) order(edge.target, new Set());
  const reachable = new Set(placements.map((placement) => placement.from));
  return { path: workspace, dependencies: dependencies.filter((dependency) => reachable.has(dependency.path)), placements };
}

/**
 * The plan of a workspace build: the option checked against the source, then the root lockfile
 * says the manager: npm's package-lock.json (the closure worked out here), or pnpm's
 * pnpm-lock.yaml (pnpm deploy lays the app out). Yarn workspaces are refused by name.
 */
export function planWorkspace(sourceDir: string, value: string): WorkspacePlan {
  const { path: dir, name } = checkWorkspace(sourceDir, value);
  const lockfileName = ['npm-shrinkwrap.json', 'package-lock.json'].find((file) => existsSync(path.join(sourceDir, file)));
  if (!lockfileName && existsSync(path.join(sourceDir, 'pnpm-lock.yaml'))) return planPnpmWorkspace(sourceDir, dir, name);
  if (!lockfileName && existsSync(path.join(sourceDir, 'yarn.lock'))) {
    throw new ConfigError('workspace', `is built for npm workspaces (a root package-lock.json) and pnpm workspaces (pnpm-workspace.yaml and pnpm-lock.yaml), not Yarn's; this monorepo has yarn.lock: package ${dir} from its own directory with its own lockfile, or move the monorepo to npm or pnpm workspaces`);
  }
  if (!lockfileName) {
    throw new ConfigError('package-lock.json', `is missing from the source's root: run \`npm install\` (npm workspaces) or \`pnpm install\` (pnpm workspaces) at the root of the monorepo (not in ${dir}) and commit its lockfile`);
  }
  const lock = readJson(path.join(sourceDir, lockfileName), lockfileName) as { packages?: Record<string, LockEntry> };
  const closure = workspaceClosure(lock, dir, lockfileName);
  const dependencies = closure.dependencies.map((dependency) => {
    const pkg = readJson(path.join(sourceDir, dependency.path, 'package.json'), 'workspace');
    const scripts = (pkg.scripts ?? {}) as Record<string, unknown>;
    return { ...dependency, name: typeof pkg.name === 'string' ? pkg.name : dependency.name, build: typeof scripts.build === 'string' };
  });
  return { manager: 'npm', ...closure, name, dependencies };
}

/** An importer of pnpm-lock.yaml (lockfileVersion 6 and 9): each dependency's specifier and resolved version (`link:../x` for a workspace package). */
interface PnpmImporter {
  dependencies?: Record<string, { specifier?: string; version?: string }>;
  optionalDependencies?: Record<string, { specifier?: string; version?: string }>;
  devDependencies?: Record<string, { specifier?: string; version?: string }>;
}

const PNPM_UPDATE = 'run `pnpm install` at the root of the monorepo and commit pnpm-lock.yaml';

/** The importers of the root pnpm-lock.yaml, keyed by workspace directory ('.' the root). */
export function pnpmImporters(sourceDir: string): Record<string, PnpmImporter> {
  let lock: { importers?: Record<string, PnpmImporter> } | null;
  try {
    lock = parseYaml(readFileSync(path.join(sourceDir, 'pnpm-lock.yaml'), 'utf8')) as typeof lock;
  } catch (error) {
    throw new ConfigError('pnpm-lock.yaml', `is not valid YAML (${(error as Error).message}); ${PNPM_UPDATE}`);
  }
  return lock?.importers ?? {};
}

/** Where a `link:` version of the importer at `from` leads, relative to the root; undefined for a registry version. */
export function pnpmLinkTarget(from: string, version: string | undefined): string | undefined {
  if (!version?.startsWith('link:')) return undefined;
  return path.posix.normalize(path.posix.join(from === '.' ? '' : from, version.slice('link:'.length))) || '.';
}

/**
 * A pnpm workspace: the workspace packages it depends on in production (dependencies and optional
 * ones, followed through `link:` versions of pnpm-lock.yaml's importers, dependencies first), and
 * its package.json as pnpm publishes it.
 */
function planPnpmWorkspace(sourceDir: string, dir: string, name: string): WorkspacePlan {
  const importers = pnpmImporters(sourceDir);
  if (!importers[dir]) throw new ConfigError('pnpm-lock.yaml', `has no importer for the workspace "${dir}": ${PNPM_UPDATE}`);
  const declared = declaredWorkspaces(sourceDir)!;
  const dependencies: WorkspaceDependency[] = [];
  const done = new Set<string>([dir]);
  const visit = (importer: string, seen: Set<string>) => {
    const entry = importers[importer];
    if (!entry) throw new ConfigError('pnpm-lock.yaml', `has no importer for the workspace package "${importer}": ${PNPM_UPDATE}`);
    for (const [dependency, resolved] of Object.entries({ ...entry.dependencies, ...entry.optionalDependencies })) {
      const target = pnpmLinkTarget(importer, resolved.version);
      if (target === undefined || done.has(target) || seen.has(target)) continue;
      if (!isDeclaredWorkspace(target, declared.patterns)) {
        throw new ConfigError('pnpm-lock.yaml', `links "${dependency}" of ${importer} to ${target}, which is not a workspace (${declared.file} declares ${declared.patterns.join(', ')}); a workspace build ships workspace packages and registry packages only`);
      }
      seen.add(target);
      visit(target, seen);
      done.add(target);
      const pkg = readJson(path.join(sourceDir, target, 'package.json'), 'workspace');
      const scripts = (pkg.scripts ?? {}) as Record<string, unknown>;
      dependencies.push({ path: target, name: typeof pkg.name === 'string' ? pkg.name : dependency, build: typeof scripts.build === 'string' });
    }
  };
  visit(dir, new Set());
  return { manager: 'pnpm', path: dir, name, dependencies, placements: [], manifest: publishedManifest(sourceDir, dir, importers[dir]!) };
}

/**
 * The workspace's package.json as `pnpm publish` writes it: each `workspace:` range of its
 * dependency lists made the linked workspace package's version (`workspace:*` its version,
 * `workspace:^` and `workspace:~` that version with the prefix, any other range as it is).
 */
export function publishedManifest(sourceDir: string, dir: string, importer: PnpmImporter): string {
  const pkg = readJson(path.join(sourceDir, dir, 'package.json'), 'workspace');
  const locked = { ...importer.devDependencies, ...importer.optionalDependencies, ...importer.dependencies };
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies', 'devDependencies']) {
    const list = pkg[field] as Record<string, string> | undefined;
    if (!list) continue;
    for (const [dependency, spec] of Object.entries(list)) {
      if (typeof spec !== 'string' || !spec.startsWith('workspace:')) continue;
      const range = spec.slice('workspace:'.length);
      if (range !== '*' && range !== '^' && range !== '~') {
        list[dependency] = range;
        continue;
      }
      const target = pnpmLinkTarget(dir, locked[dependency]?.version);
      if (target === undefined) throw new ConfigError('pnpm-lock.yaml', `does not link "${dependency}" (${spec} in ${dir}/package.json) to a workspace: ${PNPM_UPDATE}`);
      const version = readJson(path.join(sourceDir, target, 'package.json'), 'workspace').version;
      if (typeof version !== 'string') throw new ConfigError('workspace', `${target}/package.json has no version, which ${dir}/package.json's "${dependency}": "${spec}" publishes as`);
      list[dependency] = range === '*' ? version : `${range}${version}`;
    }
  }
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/**
 * A workspace build's commands, each one command line run at the monorepo's root, one function per
 * package manager: npm's has ndist's deploy program copy the plan's placements, pnpm's runs
 * `pnpm deploy`.
 */
export interface WorkspaceCommands {
  /** The install: the shipped workspace and what it depends on, nothing of the other workspaces. */
  install: string[];
  /** The workspace packages' own builds, dependencies first, before the shipped workspace's build step. */
  builds: string[][];
  /** What writes the self-contained app to `out`, in order: the workspace's files and its production node_modules as real directories. */
  deploy: string[][];
}

/** Where a workspace build's programs and plan are in the machine, and where the deployed app goes. */
export interface WorkspaceDeployPaths {
  /** The monorepo's root. */
  source: string;
  /** in-machine/workspace-deploy.ts, and the placements it reads (written from the plan). */
  program: string;
  plan: string;
  /** pnpm: the plan's manifest, the deployed app's package.json. */
  manifest: string;
  out: string;
}

/**
 * npm's: `npm ci --workspace` for the shipped workspace (with a build step also the workspace
 * packages it depends on, for their devDependencies, and the root, where monorepos keep their build
 * tools), `npm run build --workspace` for each workspace package that has a build script, and
 * ndist's deploy program copying the plan's placements (npm has no deploy command of its own).
 */
export function npmWorkspaceCommands(plan: WorkspacePlan, full: boolean, paths: WorkspaceDeployPaths): WorkspaceCommands {
  const workspaces = [plan.path, ...(full ? plan.dependencies.map((dependency) => dependency.path) : [])].flatMap((dir) => ['--workspace', dir]);
  return {
    install: ['npm', 'ci', ...(full ? [] : ['--omit=dev']), '--ignore-scripts', ...workspaces, ...(full ? ['--include-workspace-root'] : [])],
    builds: plan.dependencies.filter((dependency) => dependency.build).map((dependency) => ['npm', 'run', 'build', '--workspace', dependency.path]),
    deploy: [['node', paths.program, '--source', paths.source, '--plan', paths.plan, '--out', paths.out]],
  };
}

/**
 * pnpm's: the frozen install of the shipped workspace and the workspace packages it depends on
 * (`--filter ./apps/api...`; with a build step their devDependencies and the root's too), `pnpm
 * run build` in each workspace package that has a build script, then `pnpm deploy --prod`: a fresh
 * production install of the workspace into `out` from the same lockfile (left unchanged) and the
 * warm store. pnpm 10 deploys only with injected workspace packages: each is copied as it would be
 * published (its built files), and with the hoisted linker every package is a real directory, none
 * a link into the monorepo. Its package.json (where pnpm writes `file:` paths of the build machine)
 * is replaced by the plan's published manifest, and its copy of the lockfile removed.
 */
export function pnpmWorkspaceCommands(plan: WorkspacePlan, full: boolean, paths: WorkspaceDeployPaths, pnpmInstall: string[]): WorkspaceCommands {
  // `pnpmInstall` is pnpm's frozen install (build/install-commands.ts): deploy shares its settings (store, linker, strict builds).
  const settings = pnpmInstall.slice(2);
  return {
    install: [...pnpmInstall, ...(full ? [] : ['--prod']), '--filter', `./${plan.path}...`, ...(full ? ['--filter', '.'] : [])],
    builds: plan.dependencies.filter((dependency) => dependency.build).map((dependency) => ['pnpm', '--dir', dependency.path, 'run', 'build']),
    deploy: [
      ['pnpm', 'deploy', '--filter', `./${plan.path}`, '--prod', ...settings, '--config.inject-workspace-packages=true', paths.out],
      ['cp', paths.manifest, `${paths.out}/package.json`],
      ['rm', '-f', `${paths.out}/pnpm-lock.yaml`],
    ],
  };
}
