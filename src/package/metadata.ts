/**
 * Stage: settle what the package is (name, version, maintainer, entry point…) from the build's
 * options, falling back to the app's package.json, which is read on the host after the source stage.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { resolvePackageName, type Machine } from '../machine/catalogue.ts';
import { formatOf } from './formats.ts';
import { resolveLifecycle } from './service.ts';
import { runtimeDependency, sharedRuntimePrefix } from './runtime-package.ts';
import type { PackageSpec } from './spec.ts';
import type { BuildOptions } from '../options/types.ts';
import { checkEntry, checkHomepage, checkPackageVersion, requireText } from '../options/validate.ts';

interface PackageJson {
  name?: string;
  version?: string;
  description?: string;
  license?: string;
  homepage?: string;
  author?: string | { name?: string; email?: string };
  bin?: string | Record<string, string>;
  main?: string;
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

export function resolvePackage(options: BuildOptions, machine: Machine, sourceDir: string): PackageSpec {
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
  const entry = checkEntry(options.entry ? 'entry' : 'package.json bin/main', entryValue);
  if (!existsSync(path.join(sourceDir, entry))) throw new ConfigError('entry', `"${entry}" does not exist in the source`);
  const arch = options.arch ?? machine.arch[0]!;
  if (!machine.arch.includes(arch)) {
    throw new ConfigError('arch', `machine ${machine.id} builds ${machine.arch.join(', ')}, not ${arch}`);
  }
  const iteration = options.iteration ?? '1';
  const rpmArch = arch === 'amd64' ? 'x86_64' : 'aarch64';
  // Values from package.json end up in control fields and command lines: one line each, like the options.
  const fromPackageJson = (field: string, value: string | undefined) => (value === undefined ? undefined : requireText(`package.json ${field}`, value, { max: 500 }));
  const format = formatOf(machine.format);
  const relations = (list: string[] | undefined) => (list ?? []).map((relation) => format.relation(relation));
  const description = (options.description ?? pkg.description ?? options.app).split('\n')[0]!.trim() || options.app;
  const shared = options.runtime === 'shared';
  const lifecycle = resolveLifecycle(options, machine, sourceDir, description, `${version}-${iteration}`);
  return {
    app: options.app,
    version,
    iteration,
    arch,
    nodeArch: arch === 'amd64' ? 'x64' : 'arm64',
    maintainer: options.maintainer ?? fromPackageJson('author', maintainerFrom(pkg.author)) ?? `${options.app} maintainers <root@localhost>`,
    description,
    license: options.license ?? fromPackageJson('license', pkg.license),
    homepage: options.homepage ?? (pkg.homepage === undefined ? undefined : checkHomepage('package.json homepage', pkg.homepage)),
    entry,
    rpmArch,
    runtimeDeps: [...(options.runtimeDeps ?? []).map((dep, index) => dep.split(' | ').map((alternative) => resolvePackageName(machine, alternative, `runtimeDeps[${index}]`)).join(' | ')), ...(shared ? [runtimeDependency(options.node)] : [])]
      .map((dep) => format.relation(dep)),
    buildDeps: (options.buildDeps ?? []).map((dep, index) => resolvePackageName(machine, dep, `buildDeps[${index}]`)),
    compression: options.compression ?? machine.compression,
    format: machine.format,
    prefix: `/opt/${options.app}`,
    provides: relations(options.provides),
    conflicts: relations(options.conflicts),
    replaces: relations(options.replaces),
    ...(shared ? { sharedRuntime: sharedRuntimePrefix(options.node) } : {}),
    ...(lifecycle ? { lifecycle } : {}),
    fileName: format.fileName({ name: options.app, version, iteration, arch }),
  };
}
