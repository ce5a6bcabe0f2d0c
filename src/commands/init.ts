/** `ndist init`: a package.ts for the project in a directory, from its package.json. */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { detectPackageManager, type PackageManagerSpec } from '../package/package-manager.ts';
import { ConfigError } from '../errors.ts';
import { INIT_NODE_VERSION, checkNodeInRange, enginesNodeRange, nodeInRange } from '../package/engines.ts';
import { declaredWorkspaces, isDeclaredWorkspace } from '../package/workspace.ts';

interface ProjectPackageJson {
  name?: string;
  version?: string;
  bin?: string | Record<string, string>;
  main?: string;
  engines?: unknown;
}

/** A Debian package name from an npm package name: `@scope/My_App` → `my-app`. */
export function appName(npmName: string): string {
  const base = npmName.replace(/^@[^/]+\//, '').toLowerCase().replace(/[^a-z0-9+.-]+/g, '-').replace(/^[^a-z0-9]+|-+$/g, '');
  return base.length >= 2 ? base : `${base || 'app'}-app`;
}

function entryOf(pkg: ProjectPackageJson, npmName: string): string | undefined {
  if (typeof pkg.bin === 'string') return pkg.bin;
  if (pkg.bin && typeof pkg.bin === 'object') {
    const names = Object.keys(pkg.bin);
    const name = names.includes(npmName) ? npmName : names.length === 1 ? names[0]! : undefined;
    return name ? pkg.bin[name] : undefined;
  }
  return pkg.main;
}

/** In a monorepo root: the workspace package.ts names, and the others it could name. */
export interface InitWorkspace {
  path: string;
  others: string[];
}

/**
 * The package manager as detected: package.json's packageManager pins it already; a lockfile's
 * manager other than npm is written pinned, so the build does not change with ndist's defaults; a
 * refusal (two lockfiles…) is written as a comment saying what to fix.
 */
function managerLines(manager: PackageManagerSpec | ConfigError | undefined): string[] {
  if (manager === undefined) return [];
  if (manager instanceof ConfigError) return [`  // packageManager: not detected: ${manager.message.split('\n')[0]}`];
  const name = manager.kind === 'berry' ? 'yarn' : manager.kind;
  if (manager.from === "package.json's packageManager") return [`  // packageManager: package.json's (${name}@${manager.version}, lockfile ${manager.lockfile})`];
  if (manager.kind === 'npm') return [`  // packageManager: npm (${manager.lockfile}); npm: '${manager.version}' pins its version`];
  return [`  packageManager: ${JSON.stringify(`${name}@${manager.version}`)}, // detected from ${manager.lockfile}`];
}

/** The text of the package.ts `ndist init` writes; `pkg` is the workspace's package.json when `workspace` is given. */
export function initPackageFile(pkg: ProjectPackageJson, node = INIT_NODE_VERSION, manager?: PackageManagerSpec | ConfigError, workspace?: InitWorkspace): string {
  if (!pkg.name) throw new ConfigError('package.json name', 'is missing; ndist init names the package after it');
  const app = appName(pkg.name);
  // ndist cannot list Node.js releases offline: the default must fit the app's range, else the user picks one.
  const range = enginesNodeRange(pkg.engines);
  if (range !== undefined && node === INIT_NODE_VERSION && !nodeInRange(node, range)) {
    throw new ConfigError('--node', `engines.node "${range}" of package.json does not include ${INIT_NODE_VERSION}, the version ndist init pins by default; run ndist init --node <an exact version in that range>`);
  }
  checkNodeInRange('--node', node, range);
  const entry = entryOf(pkg, pkg.name)?.replace(/^\.\//, '');
  const lines = [
    `// Written by \`ndist init\`. Build with \`npx ndist build\`; see what a build would run with \`npx ndist render "${app} :: bookworm"\`.`,
    `import { Builder, directory } from 'ndist';`,
    ``,
    `const builder = new Builder({ outDir: 'dist' });`,
    `builder.addBuild({`,
    `  name: ${JSON.stringify(`${app} :: bookworm`)},`,
    `  app: ${JSON.stringify(app)},`,
    `  // version: package.json's (${pkg.version ?? 'not set: set version here'})`,
    ...(pkg.version ? [] : [`  version: '0.0.0',`]),
    `  source: directory({ path: import.meta.dirname }),`,
    ...(workspace
      ? [
          `  // A monorepo: the workspace to package${workspace.others.length ? ` (the others: ${workspace.others.join(', ')})` : ''}; name, version and bin are its own.`,
          `  workspace: ${JSON.stringify(workspace.path)},`,
        ]
      : []),
    `  buildMachine: 'debian-bookworm',`,
    `  node: ${JSON.stringify(node)},`,
    ...managerLines(manager),
    ...(entry ? [`  entry: ${JSON.stringify(entry)},`] : [`  // entry: the script /usr/bin/${app} runs (package.json has no bin or main)`]),
    `  buildDeps: [],`,
    `  runtimeDeps: [],`,
    `});`,
    `await builder.build();`,
    ``,
  ];
  return lines.join('\n');
}

/** The directories (up to three levels down) the root's workspace globs declare, with a package.json, sorted. */
export function listWorkspaces(dir: string): string[] {
  const declared = declaredWorkspaces(dir);
  if (!declared) return [];
  const found: string[] = [];
  const walk = (relative: string, depth: number) => {
    for (const name of readdirSync(path.join(dir, relative)).sort()) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const child = relative ? `${relative}/${name}` : name;
      if (!statSync(path.join(dir, child)).isDirectory()) continue;
      if (existsSync(path.join(dir, child, 'package.json')) && isDeclaredWorkspace(child, declared.patterns)) found.push(child);
      if (depth < 3) walk(child, depth + 1);
    }
  };
  walk('', 1);
  return found;
}

/**
 * Write `dir/package.ts`; refuses when one exists. Returns its path and, in a monorepo root, the
 * workspace it chose: the first with a bin (else a main), which the user may change.
 */
export function init(dir: string, { node }: { node?: string } = {}): string {
  const target = path.join(dir, 'package.ts');
  if (existsSync(target)) throw new ConfigError('package.ts', `${target} already exists; not overwriting it`);
  const pkgFile = path.join(dir, 'package.json');
  if (!existsSync(pkgFile)) throw new ConfigError('package.json', `${dir} has no package.json; run ndist init in the app's directory`);
  if (node !== undefined && !/^\d+\.\d+\.\d+$/.test(node)) throw new ConfigError('--node', `must be an exact version like "${INIT_NODE_VERSION}", got "${node}"`);
  let manager: PackageManagerSpec | ConfigError;
  try {
    manager = detectPackageManager(dir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    manager = error;
  }
  const workspaces = listWorkspaces(dir);
  if (workspaces.length === 0) {
    writeFileSync(target, initPackageFile(JSON.parse(readFileSync(pkgFile, 'utf8')) as ProjectPackageJson, node, manager), { flag: 'wx' });
    return target;
  }
  const manifests = workspaces.map((workspace) => ({ path: workspace, pkg: JSON.parse(readFileSync(path.join(dir, workspace, 'package.json'), 'utf8')) as ProjectPackageJson }));
  const chosen = manifests.find(({ pkg }) => pkg.bin !== undefined) ?? manifests.find(({ pkg }) => pkg.main !== undefined);
  if (!chosen) {
    throw new ConfigError('workspace', `${dir} is a monorepo root, but none of its workspaces (${workspaces.join(', ')}) has a bin or main to run: give the one to package a bin, or write package.ts by hand with workspace: "<its directory>"`);
  }
  const others = workspaces.filter((workspace) => workspace !== chosen.path);
  writeFileSync(target, initPackageFile(chosen.pkg, node, manager, { path: chosen.path, others }), { flag: 'wx' });
  return target;
}
