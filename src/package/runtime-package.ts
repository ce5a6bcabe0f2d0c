/**
 * Stage (runtime: 'shared'): the runtime package, one per exact Node version, target and arch,
 * e.g. ndist-node-22.23.3 installed under /opt/ndist/node/22.23.3. App packages built with a
 * shared runtime depend on it by exact version instead of carrying Node themselves.
 *
 * It is packaged in the app build's own container (same machine, packager and compression rules)
 * by a script of ndist's, with SOURCE_DATE_EPOCH taken from the runtime archive, so whichever app
 * triggers it the bytes are the same. Built packages are kept in <cacheDir>/runtime-packages/<key>/
 * and reused; within one run, builds needing the same one wait for a single build of it.
 */
import { NO_CONTENTS } from './contents.ts';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat, utimes } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Artifact } from '../build/artifact.ts';
import { sha256File } from '../build/checksums.ts';
import { registerCleanup } from '../cleanup.ts';
import type { Machine } from '../machine/catalogue.ts';
import { ndistVersion } from '../util/ndist-version.ts';
import { formatOf } from './formats.ts';
import type { Packager } from './packager.ts';
import { packagerVariables } from './packagers.ts';
import { OUTPUT_DIR, RUNTIME_STAGING_DIR } from './staging.ts';
import { NO_RELATIONS, type PackageSpec } from './spec.ts';
import type { RuntimeArchive } from '../build/runtime.ts';
import { shellQuote } from '../machine/script.ts';
import { copyFileAtomic } from '../util/atomic-write.ts';
import { floorArgs } from './glibc-floor.ts';

/** Under the cache directory: one directory per key holding the package file. */
export const RUNTIME_PACKAGES_DIR = 'runtime-packages';
/** Where every shared runtime is installed: one directory per exact version. */
export const SHARED_RUNTIME_ROOT = '/opt/ndist/node';
/** Package revision of runtime packages: bumped only if ndist changes what they contain. */
const RUNTIME_ITERATION = '1';

export const runtimePackageName = (nodeVersion: string) => `ndist-node-${nodeVersion}`;
export const sharedRuntimePrefix = (nodeVersion: string) => `${SHARED_RUNTIME_ROOT}/${nodeVersion}`;

/** The relation an app package built on `nodeVersion` has to its runtime, in Debian syntax. */
export function runtimeDependency(nodeVersion: string): string {
  return `${runtimePackageName(nodeVersion)} (= ${nodeVersion}-${RUNTIME_ITERATION})`;
}

/** The runtime package's own spec: the app's target, format and compression, Node's metadata. */
export function runtimePackageSpec(app: PackageSpec, runtime: RuntimeArchive): PackageSpec {
  const name = runtimePackageName(runtime.version);
  return {
    app: name,
    version: runtime.version,
    iteration: RUNTIME_ITERATION,
    arch: app.arch,
    nodeArch: app.nodeArch,
    rpmArch: app.rpmArch,
    maintainer: 'ndist <root@localhost>',
    description: `Node.js ${runtime.version} runtime shared by apps packaged with ndist`,
    license: 'MIT',
    homepage: undefined,
    entry: 'bin/node',
    commands: [],
    manPages: [],
    runtimeDeps: [],
    buildDeps: [],
    compression: app.compression,
    format: app.format,
    prefix: sharedRuntimePrefix(runtime.version),
    ...NO_RELATIONS,
    contents: NO_CONTENTS,
    fileName: formatOf(app.format).fileName({ name, version: runtime.version, iteration: RUNTIME_ITERATION, arch: app.arch }),
  };
}

/** The cache key: everything that decides the runtime package's bytes. */
export function runtimePackageKey(parts: { spec: PackageSpec; runtime: RuntimeArchive; machine: Machine; imageId: string; packager: Packager }): string {
  const { spec, runtime, machine, imageId, packager } = parts;
  // This module's own text too: a change to the packaging script below is a new key; and for
  // a packager reading a spec (rpmbuild) the spec template the package is described with.
  const script = createHash('sha256').update(readFileSync(new URL(import.meta.url))).update(packager.rendersSpec && machine.specTemplate ? readFileSync(machine.specTemplate) : '').digest('hex');
  return createHash('sha256')
    .update(JSON.stringify([runtime.version, runtime.checksum, runtime.root, machine.id, imageId, spec.arch, spec.format, spec.compression, packager.name, ndistVersion(), script]))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Variables for the machine's spec template that make it describe the runtime package: the app's
 * (so every name a template may use is defined) with the package's own metadata, staging root and
 * packager variables (rpmbuild's %files list), and no relations or scriptlets.
 */
export function runtimeSpecVariables(appVariables: Record<string, unknown>, spec: PackageSpec, packager: Packager): Record<string, unknown> {
  return {
    ...appVariables,
    app: spec.app,
    version: spec.version,
    iteration: spec.iteration,
    description: spec.description,
    license: spec.license,
    homepage: '',
    maintainer: spec.maintainer,
    runtimeDeps: [],
    ...NO_RELATIONS,
    epoch: '',
    rpmChangelog: '',
    ...packagerVariables(packager, spec, 'runtime'),
    stagingDir: RUNTIME_STAGING_DIR,
  };
}

/**
 * The script that stages and packages the runtime in the build machine, where the runtime archive
 * is unpacked at `runtimeDir`. The epoch is Node's LICENSE file time in the archive: fixed per runtime.
 * It prints no `==> ` stage markers: it runs after the app's package, within the artifact stage.
 */
export function runtimePackageScript(spec: PackageSpec, packager: Packager, runtimeDir: string, healthCheck: { script: string; machine: string; mode: 'error' | 'warn' } | undefined): string {
  const lines = [
    '#!/bin/bash',
    `# Generated by ndist: packages ${spec.app} from the runtime archive.`,
    'set -euo pipefail',
    `runtime=${shellQuote(runtimeDir)}`,
    `root=${shellQuote(RUNTIME_STAGING_DIR)}`,
    `prefix=${shellQuote(spec.prefix)}`,
    'export SOURCE_DATE_EPOCH="$(stat -c %Y "$runtime/LICENSE")"',
    'echo "runtime package: staging $prefix"',
    'rm -rf "$root" && mkdir -p "$root$prefix/bin" "$root/DEBIAN" ' + shellQuote(OUTPUT_DIR),
    'install -m 0755 "$runtime/bin/node" "$root$prefix/bin/node"',
    // Symbols of the official node binary are not needed to run it (about 17 MB).
    'if command -v strip >/dev/null; then strip --strip-unneeded "$root$prefix/bin/node"; fi',
    'install -m 0644 "$runtime/LICENSE" "$root$prefix/LICENSE"',
    `mkdir -p "$root/usr/share/doc/${spec.app}" && cp "$runtime/LICENSE" "$root/usr/share/doc/${spec.app}/copyright"`,
    ...packager.scriptedControl(spec, 'root'),
    'find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +',
  ];
  if (healthCheck) {
    lines.push(
      'echo "runtime package: health check"',
      `"$root$prefix/bin/node" ${shellQuote(healthCheck.script)} --root "$root" --mode ${healthCheck.mode} --machine ${shellQuote(healthCheck.machine)} ${floorArgs('runtime', spec.format).map(shellQuote).join(' ')}`,
      // The glibc floor the health check found, as the runtime package's dependencies.
      ...packager.floorCommand(spec, 'runtime'),
    );
  }
  lines.push(`echo "runtime package: "${shellQuote(packager.name)}`, packager.command(spec, 'runtime', []).map(shellQuote).join(' '), '');
  return lines.join('\n');
}

/** Builds the runtime package into a directory and returns the file; given by the pipeline. */
export type RuntimePackageBuilder = (dir: string) => Promise<Artifact>;

const inFlight = new Map<string, Promise<string>>();

/** The cached runtime package for `key`, if it is there. */
export function cachedRuntimePackage(cacheDir: string, key: string, fileName: string): string | undefined {
  const cached = path.join(cacheDir, RUNTIME_PACKAGES_DIR, key, fileName);
  return existsSync(cached) ? cached : undefined;
}

/**
 * The cached runtime package for `key`, built once with `build` when it is missing (builds of one
 * run asking for the same key share that one build), then copied to `outDir`.
 */
export async function provideRuntimePackage(
  cacheDir: string,
  key: string,
  fileName: string,
  outDir: string,
  build: RuntimePackageBuilder,
  log: (line: string) => void,
): Promise<Artifact & { reused: boolean }> {
  const entryDir = path.join(cacheDir, RUNTIME_PACKAGES_DIR, key);
  const cached = path.join(entryDir, fileName);
  let reused = true;
  if (!existsSync(cached)) {
    let pending = inFlight.get(key);
    if (pending) log(`runtime package: ${fileName} is being built by another build of this run; waiting for it`);
    else {
      reused = false;
      pending = buildIntoCache(entryDir, fileName, build).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    await pending;
  } else {
    // Its time is its last use, which `ndist cache prune --older-than` goes by.
    const now = new Date();
    await utimes(cached, now, now).catch(() => undefined);
  }
  await mkdir(outDir, { recursive: true });
  const target = path.join(outDir, fileName);
  // Builds of one run sharing an outDir copy the same bytes at once: each under its own name.
  await copyFileAtomic(cached, target);
  const artifact = { path: target, size: (await stat(target)).size, sha256: await sha256File(target) };
  log(`runtime package: ${reused ? 'reused from the cache' : 'built'}: ${target} (${(artifact.size / 1e6).toFixed(1)} MB, sha256 ${artifact.sha256})`);
  return { ...artifact, reused };
}

async function buildIntoCache(entryDir: string, fileName: string, build: RuntimePackageBuilder): Promise<string> {
  await mkdir(path.dirname(entryDir), { recursive: true });
  const tmp = await mkdtemp(path.join(path.dirname(entryDir), '.tmp-'));
  const removeTmp = registerCleanup(() => rm(tmp, { recursive: true, force: true }));
  try {
    await build(tmp);
    try {
      await rename(tmp, entryDir);
    } catch (error) {
      // Another process cached the same key first: its bytes are the same.
      if (!existsSync(path.join(entryDir, fileName))) throw error;
    }
    return path.join(entryDir, fileName);
  } finally {
    await removeTmp();
  }
}
