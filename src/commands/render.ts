/**
 * `ndist render` and `ndist build --dry-run`: everything a build would do on the host (source,
 * metadata, runtime from the cache) and the script it would run, with no container started.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { registerCleanup } from '../cleanup.ts';
import { ConfigError } from '../errors.ts';
import { findMachine, loadMachines, type Machine } from '../machine/catalogue.ts';
import { resolvePackage, type PackageSpec } from '../package/metadata.ts';
import type { Packager } from '../package/packager.ts';
import { DEFAULT_NPM_VERSION, npmRegistry, resolveCaBundle, scriptVariables, sourceDateEpoch } from '../build/pipeline.ts';
import type { CollectedBuilder } from '../options/run-settings.ts';
import { defaultCacheDir, fetchNodeRuntime, fetchNpmCli, type RuntimeArchive } from '../build/runtime.ts';
import { renderScript, specValue } from '../machine/script.ts';
import { describeSource, fetchSource, type FetchedSource } from '../build/source.ts';
import type { BuildOptions, BuilderOptions } from '../options/types.ts';

export interface RenderedBuild {
  options: BuildOptions;
  machine: Machine;
  spec: PackageSpec;
  packager: Packager;
  runtime: RuntimeArchive;
  npm: RuntimeArchive;
  /** The npm registry the build machine uses (the host's, for the project). */
  registry: string;
  /** Where the runtime is unpacked in the build machine, e.g. /ndist/runtime/package. */
  runtimeDir: string;
  /** The packager command, one argument per element. */
  packageCommand: string[];
  /** The build script, fully rendered. */
  script: string;
  /** The rpm spec, rendered, when the packager is rpmbuild. */
  specText?: string;
  /** The CA bundle's host path, when build machines get one. */
  caBundle?: string;
}

/**
 * The packager a build runs, guessed without starting its machine: the distro's own (dpkg-deb or
 * rpmbuild). A build detects fpm in the container; `--packager` overrides the guess.
 */
export function guessPackager(machine: Machine): Packager {
  // The default Dockerfiles install fpm only when built with FPM_VERSION, so the distro's own tool
  // is the likely one; a real build looks for fpm in the container.
  return machine.format === 'rpm' ? 'rpmbuild' : 'dpkg-deb';
}

/** The build named exactly `name` among those collected, with its Builder's options. */
export function pickBuild(collected: CollectedBuilder[], name: string): { build: BuildOptions; builder: BuilderOptions } {
  for (const entry of collected) {
    const build = entry.builds.find((candidate) => candidate.name === name);
    if (build) return { build, builder: entry.options };
  }
  const names = collected.flatMap((entry) => entry.builds.map((build) => `"${build.name}"`));
  throw new ConfigError('build', `no build is named "${name}"; builds: ${names.join(', ')}`);
}

/** Render one build's script on the host: source and runtime are fetched, no container starts. */
export async function renderBuild(build: BuildOptions, builder: BuilderOptions, { packager, log = () => {} }: { packager?: Packager; log?: (line: string) => void } = {}): Promise<RenderedBuild> {
  const machine = findMachine(loadMachines(builder.machinesDir ?? process.cwd()), build.buildMachine, `build "${build.name}": buildMachine`);
  const source = await fetchSource(build.source, log);
  const removeSource = registerCleanup(source.cleanup);
  try {
    return await renderFromSource(build, builder, machine, source, packager ?? guessPackager(machine), log);
  } finally {
    await removeSource();
  }
}

/** renderBuild with the source already fetched (by `ndist shell`, which streams it in). */
export async function renderFromSource(build: BuildOptions, builder: BuilderOptions, machine: Machine, source: FetchedSource, packager: Packager, log: (line: string) => void): Promise<RenderedBuild> {
  const spec = resolvePackage(build, machine, source.dir);
  const fetchOptions = { cacheDir: builder.cacheDir ?? defaultCacheDir(), sources: builder.runtimeSources, log };
  const runtime = await fetchNodeRuntime(build.node, spec.nodeArch, fetchOptions);
  const npm = await fetchNpmCli(build.npm ?? DEFAULT_NPM_VERSION, fetchOptions);
  const registry = await npmRegistry(source.dir);
  const caFile = resolveCaBundle(builder.caBundle);
  const caBundle = caFile !== undefined && existsSync(caFile);
  const variables = scriptVariables({ options: build, machine, spec, packager, runtime, npm, registry, caBundle, sourceDateEpoch: sourceDateEpoch(build, source.epoch) });
  const script = renderScript(readFileSync(machine.script, 'utf8'), variables, machine.script);
  const specText = packager === 'rpmbuild' ? renderScript(readFileSync(machine.specTemplate!, 'utf8'), variables, machine.specTemplate!, specValue) : undefined;
  return {
    options: build, machine, spec, packager, runtime, npm, registry, runtimeDir: variables.runtimeDir as string, packageCommand: variables.packageCommand as string[], script, specText,
    caBundle: caBundle ? caFile : undefined,
  };
}

/** What `ndist build --dry-run` prints for one build: source and metadata resolved, nothing run. */
export async function describeBuild(build: BuildOptions, builder: BuilderOptions, log: (line: string) => void = () => {}): Promise<string[]> {
  const machine = findMachine(loadMachines(builder.machinesDir ?? process.cwd()), build.buildMachine, `build "${build.name}": buildMachine`);
  const source = await fetchSource(build.source, log);
  const removeSource = registerCleanup(source.cleanup);
  try {
    const spec = resolvePackage(build, machine, source.dir);
    const outDir = path.resolve(builder.outDir ?? 'dist');
    return [
      `${build.name}`,
      `  source:   ${describeSource(build.source)}${source.commit ? ` → commit ${source.commit}` : ''}`,
      `  machine:  ${machine.id} (${machine.image})`,
      `  package:  ${spec.app} ${spec.version}-${spec.iteration} ${spec.arch}, ${spec.compression} compression`,
      `  runtime:  node ${build.node} ${spec.nodeArch}, npm ${build.npm ?? DEFAULT_NPM_VERSION}`,
      `  entry:    ${spec.entry} → /usr/bin/${spec.app}`,
      `  artifact: ${path.join(outDir, spec.fileName)}`,
    ];
  } finally {
    await removeSource();
  }
}

/** The shell command line of `argv`, each word quoted only when it needs to be. */
export function commandLine(argv: string[]): string {
  return argv.map((word) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}
