/**
 * Stage: settle what the package is (name, version, maintainer, entry point…) from the build's
 * options, falling back to the app's package.json, which is read on the host after the source stage.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { resolvePackageName, type Machine } from '../machine/catalogue.ts';
import { formatOf } from './formats.ts';
import { parseChangelog, type ChangelogEntry } from './changelog.ts';
import { gitChangelog, hasChangelogFile } from './git-changelog.ts';
import { resolveContents } from './contents.ts';
import { resolveLifecycle } from './service.ts';
import { runtimeDependency, sharedRuntimePrefix } from './runtime-package.ts';
import { checkNodeInRange, enginesNodeRange } from './engines.ts';
import { detectPackageManager } from './package-manager.ts';
import type { BuildStep, Command, ManPage, PackageSpec } from './spec.ts';
import type { BuildOptions } from '../options/types.ts';
import { ARCH_NAMES } from '../util/arch.ts';
import { globPattern, matchesAny } from '../in-machine/stage-app.ts';
import { checkEntry, checkHomepage, checkPackageVersion, requireText } from '../options/validate.ts';
import { planWorkspace } from './workspace.ts';

interface PackageJson {
  name?: string;
  version?: string;
  description?: string;
  license?: string;
  homepage?: string;
  author?: string | { name?: string; email?: string };
  bin?: string | Record<string, string>;
  main?: string;
  man?: string | string[];
  engines?: unknown;
  scripts?: Record<string, unknown>;
}

function readPackageJson(sourceDir: string): PackageJson {
  const file = path.join(sourceDir, 'package.json');
  if (!existsSync(file)) throw new ConfigError('source', `has no package.json at its root (${file})`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch (error) {
    throw new ConfigError('source', `package.json is not valid JSON: ${(error as Error).message}`);
  }
}

function maintainerFrom(author: PackageJson['author']): string | undefined {
  if (!author) return undefined;
  if (typeof author === 'string') {
    // "Name <email> (url)" → "Name <email>"
    const match = /^([^<(]+?)\s*(<[^>]+>)?\s*(\(.*\))?$/.exec(author.trim());
    return match?.[2] ? `${match[1]} ${match[2]}` : undefined;
  }
  return author.name && author.email ? `${author.name} <${author.email}>` : undefined;
}

function entryFrom(pkg: PackageJson, app: string): string | undefined {
  if (typeof pkg.bin === 'string') return pkg.bin;
  if (pkg.bin && typeof pkg.bin === 'object') {
    const names = Object.keys(pkg.bin);
    const name = names.includes(app) ? app : pkg.name && names.includes(pkg.name) ? pkg.name : names.length === 1 ? names[0] : undefined;
    if (name) return pkg.bin[name];
  }
  return pkg.main ?? (pkg.bin ? undefined : 'index.js');
}

/**
 * The manager whose `run build` is the default build step. A source the manager checks refuse
 * (two lockfiles…) gets npm here: checkLockfile refuses it right after, with the reason.
 */
function buildRunner(sourceDir: string, options: BuildOptions): 'npm' | 'pnpm' | 'yarn' {
  try {
    const { kind } = detectPackageManager(sourceDir, options.packageManager, options.npm);
    return kind === 'berry' ? 'yarn' : kind;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return 'npm';
  }
}

/**
 * The build step: the `build` option; else `npm run build` (`pnpm`/`yarn run build` for their apps) when package.json has a build script
 * and a command's script is not in the source (`build: []` turns that off). A published tarball
 * keeps its build script but ships the built files, not what the script needs (its config,
 * sources): with every script present, no build step, and the log says why.
 */
export function resolveBuildStep(build: string[] | undefined, scripts: PackageJson['scripts'], missing: string[], runner: 'npm' | 'pnpm' | 'yarn' = 'npm'): BuildStep | undefined {
  if (build !== undefined) return build.length > 0 ? { commands: build, from: 'the build option' } : undefined;
  if (!scripts || typeof scripts.build !== 'string') return undefined;
  if (missing.length > 0) {
    return { commands: [`${runner} run build`], from: `package.json has a build script and ${missing[0]} is not in the source (build: [] turns this off)` };
  }
  return { commands: [], from: `package.json has a build script, but every command's script is in the source already (build: ['${runner} run build'] runs it)` };
}

/** package.json's bins by command name: a string bin is named after the package, without its scope, as npm names it. */
function binsOf(pkg: PackageJson): Record<string, string> {
  return typeof pkg.bin === 'string' ? (pkg.name ? { [pkg.name.replace(/^@[^/]+\//, '')]: pkg.bin } : {}) : (pkg.bin ?? {});
}

/** A file ndist reads from the source on the host (a man page), held to the rules of an entry. */
function sourceFile(field: string, value: unknown, sourceDir: string): string {
  const file = checkEntry(field, value);
  if (!existsSync(path.join(sourceDir, file))) throw new ConfigError(field, `"${file}" does not exist in the source`);
  return file;
}

/**
 * A command's script: in the source, or, with a build step, made by it (the staging step checks it
 * exists after the build). Never one the exclude option leaves out.
 */
function commandScript(field: string, script: string, sourceDir: string, buildStep: BuildStep | undefined, exclude: string[]): string {
  const excluded = exclude.find((glob) => matchesAny(script, [globPattern(glob)]));
  if (excluded !== undefined) throw new ConfigError(field, `"${script}" is a command's script, which exclude "${excluded}" would leave out of the package`);
  if (buildStep?.commands.length || existsSync(path.join(sourceDir, script))) return script;
  const built = BUILD_OUTPUT_DIRS.has(script.split('/')[0]!)
    ? `; ${script.split('/')[0]}/ looks like a build step's output: add a "build" script to package.json or set the build option (e.g. build: ["npm run build"]), or commit the built file`
    : '';
  throw new ConfigError(field, `"${script}" does not exist in the source and no build step would make it${built}`);
}

/** Directories a build step typically writes: an entry there is most likely not committed. */
const BUILD_OUTPUT_DIRS = new Set(['dist', 'build', 'lib', 'out']);

/** A command name that is a plain file name in /usr/bin. */
const COMMAND_NAME = /^[A-Za-z0-9_@+][A-Za-z0-9._@+-]*$/;

/** /usr/bin/<app> running entry, then a wrapper for every other package.json bin. */
function commandsFrom(pkg: PackageJson, app: string, entry: string, scriptOf: (field: string, value: unknown) => string): Command[] {
  const bins = binsOf(pkg);
  const commands: Command[] = [{ name: app, entry }];
  for (const [name, script] of Object.entries(bins)) {
    const field = `package.json bin "${name}"`;
    if (!COMMAND_NAME.test(name) || name.length > 200) {
      throw new ConfigError(field, `"${name}" is not a safe command name; use letters, digits and . _ @ + - (not starting with . or -)`);
    }
    const checked = scriptOf(field, script);
    if (name === app) continue; // /usr/bin/<app> runs entry, which the entry option may set
    commands.push({ name, entry: checked });
  }
  return commands;
}

/** package.json `man`: each page gzipped into /usr/share/man/man<section>/, the section from its name (foo.1, foo.1.gz). */
function manPagesFrom(pkg: PackageJson, sourceDir: string): ManPage[] {
  const sources = pkg.man === undefined ? [] : typeof pkg.man === 'string' ? [pkg.man] : pkg.man;
  if (!Array.isArray(sources)) throw new ConfigError('package.json man', 'must be a path or a list of paths to man pages');
  const pages: ManPage[] = [];
  sources.forEach((value, index) => {
    const field = `package.json man[${index}]`;
    const source = sourceFile(field, value, sourceDir);
    const page = /^([A-Za-z0-9_@+][A-Za-z0-9._@+-]*\.([1-8])[A-Za-z0-9]*)(\.gz)?$/.exec(path.posix.basename(source));
    if (!page) throw new ConfigError(field, `"${source}" is not a man page name like "my-app.1" (sections 1 to 8, optionally .gz)`);
    const target = `/usr/share/man/man${page[2]}/${page[1]}.gz`;
    if (pages.some((other) => other.path === target)) throw new ConfigError(field, `"${source}" installs ${target}, as another page does`);
    pages.push({ source, path: target });
  });
  return pages;
}

/** The releases of the `changelog` option: a file of the source, or the git log between version tags. */
function readChangelog(option: NonNullable<BuildOptions['changelog']>, sourceDir: string, packageName: string | undefined, version: string): ChangelogEntry[] {
  const file = typeof option === 'string' ? option : option.from === 'auto' && hasChangelogFile(sourceDir) ? 'CHANGELOG.md' : undefined;
  if (file) return parseChangelog(readFileSync(path.join(sourceDir, sourceFile('changelog', file, sourceDir)), 'utf8'), 'changelog');
  return gitChangelog(sourceDir, packageName, version, 'changelog');
}

/**
 * The package of a build. With `workspace`, the app is that workspace of the monorepo at
 * `rootDir`: its package.json, and every path of the options (entry, contents, hooks…), are its own.
 */
export function resolvePackage(options: BuildOptions, machine: Machine, rootDir: string): PackageSpec {
  const workspace = options.workspace === undefined ? undefined : planWorkspace(rootDir, options.workspace);
  const sourceDir = workspace ? path.join(rootDir, workspace.path) : rootDir;
  const pkg = readPackageJson(sourceDir);
  const rawVersion = options.version ?? pkg.version;
  if (!rawVersion) throw new ConfigError('version', 'is not set and package.json has no version; set version: "1.0.0"');
  const version = checkPackageVersion(options.version ? 'version' : 'package.json version', rawVersion);
  const entryValue = options.entry ?? entryFrom(pkg, options.app);
  if (!entryValue) {
    const names = Object.keys(pkg.bin ?? {});
    throw new ConfigError(
      'entry',
      names.length > 0
        ? `package.json "bin" has several entries (${names.join(', ')}); set entry to the one /usr/bin/${options.app} runs`
        : `package.json has neither "bin" entries nor "main"; set entry to the script /usr/bin/${options.app} runs`,
    );
  }
  const missing = [entryValue, ...Object.values(binsOf(pkg))].filter((script) => typeof script === 'string' && !existsSync(path.join(sourceDir, script)));
  const buildStep = resolveBuildStep(options.build, pkg.scripts, missing, buildRunner(sourceDir, options));
  const scriptOf = (field: string, value: unknown) => commandScript(field, checkEntry(field, value), sourceDir, buildStep, options.exclude ?? []);
  const entry = commandScript('entry', checkEntry(options.entry ? 'entry' : 'package.json bin/main', entryValue), sourceDir, buildStep, options.exclude ?? []);
  checkNodeInRange('node', options.node, enginesNodeRange(pkg.engines));
  const arch = options.arch ?? machine.arch[0]!;
  if (!machine.arch.includes(arch)) {
    throw new ConfigError('arch', `machine ${machine.id} builds ${machine.arch.join(', ')}, not ${arch}`);
  }
  const iteration = options.iteration ?? '1';
  // Values from package.json end up in control fields and command lines: one line each, like the options.
  const fromPackageJson = (field: string, value: string | undefined) => (value === undefined ? undefined : requireText(`package.json ${field}`, value, { max: 500 }));
  const format = formatOf(machine.format);
  const relations = (list: string[] | undefined) => (list ?? []).map((relation) => format.relation(relation));
  const description = (options.description ?? pkg.description ?? options.app).split('\n')[0]!.trim() || options.app;
  const shared = options.runtime === 'shared';
  for (const [field, why] of Object.entries(format.unsupported)) {
    const value = options[field as keyof typeof format.unsupported];
    if (value !== undefined && value !== false && (typeof value !== 'object' || Object.keys(value).length > 0)) throw new ConfigError(field, `cannot be written in a .${format.name} package (machine ${machine.id}): ${why}`);
  }
  const contents = resolveContents(options, sourceDir);
  const userDeps = (options.runtimeDeps ?? []).map((dep, index) => dep.split(' | ').map((alternative) => resolvePackageName(machine, alternative, `runtimeDeps[${index}]`)).join(' | '));
  // What Node's own binary needs on this architecture (armhf: libatomic), unless the build lists it.
  const nodeNeeds = ARCH_NAMES[arch].nodeNeeds[machine.format].filter((need) => !userDeps.some((dep) => dep.split(/[ (|]/)[0] === need));
  const lifecycle = resolveLifecycle(options, machine, contents, sourceDir, description, `${version}-${iteration}`);
  return {
    app: options.app,
    version,
    iteration,
    arch,
    nodeArch: ARCH_NAMES[arch].node,
    maintainer: options.maintainer ?? fromPackageJson('author', maintainerFrom(pkg.author)) ?? `${options.app} maintainers <root@localhost>`,
    description,
    license: options.license ?? fromPackageJson('license', pkg.license),
    homepage: options.homepage ?? (pkg.homepage === undefined ? undefined : checkHomepage('package.json homepage', pkg.homepage)),
    entry,
    commands: commandsFrom(pkg, options.app, entry, scriptOf),
    manPages: manPagesFrom(pkg, sourceDir),
    rpmArch: ARCH_NAMES[arch].rpm,
    runtimeDeps: [...userDeps, ...nodeNeeds, ...(shared ? [runtimeDependency(options.node)] : [])].map((dep) => format.relation(dep)),
    buildDeps: (options.buildDeps ?? []).map((dep, index) => resolvePackageName(machine, dep, `buildDeps[${index}]`)),
    compression: options.compression ?? machine.compression,
    format: machine.format,
    prefix: `/opt/${options.app}`,
    provides: relations(options.provides),
    conflicts: relations(options.conflicts),
    replaces: relations(options.replaces),
    recommends: relations(options.recommends),
    suggests: relations(options.suggests),
    enhances: relations(options.enhances),
    preDepends: relations(options.preDepends),
    breaks: relations(options.breaks),
    ...(options.epoch !== undefined ? { epoch: options.epoch } : {}),
    fields: options.fields ?? {},
    contents,
    ...(options.changelog !== undefined ? { changelog: readChangelog(options.changelog, sourceDir, pkg.name, version) } : {}),
    ...(shared ? { sharedRuntime: sharedRuntimePrefix(options.node) } : {}),
    ...(buildStep ? { buildStep } : {}),
    ...(workspace ? { workspace } : {}),
    ...(lifecycle ? { lifecycle } : {}),
    fileName: format.fileName({ name: options.app, version, iteration, arch }),
  };
}
