/**
 * `ndist render` and `ndist build --dry-run`: everything a build would do on the host (source,
 * metadata, runtime from the cache) and the script it would run, with no container started.
 */
import path from 'node:path';
import { registerCleanup } from '../cleanup.ts';
import { ConfigError } from '../errors.ts';
import { findMachine, loadMachines, type Machine } from '../machine/catalogue.ts';
import { checkLockfile } from '../package/lockfile.ts';
import { resolvePackage } from '../package/metadata.ts';
import type { Packager, PackagerName } from '../package/packager.ts';
import { nativePackager, packagerNamed } from '../package/packagers.ts';
import { planBuild, type BuildPlan } from '../build/plan.ts';
import { DEFAULT_NPM_VERSION, resolveCaBundle, resolveHostInputs, sourceDateEpoch, type HostInputs } from '../build/resolve.ts';
import type { CollectedBuilder } from '../options/run-settings.ts';
import { defaultCacheDir } from '../build/runtime.ts';
import { shellQuote } from '../machine/script.ts';
import { describeSource, fetchSource, type FetchedSource } from '../build/source.ts';
import type { BuildOptions, BuilderOptions } from '../options/types.ts';

/** A build's plan, made on the host with what it was made from. */
export interface RenderedBuild extends BuildPlan, HostInputs {
  options: BuildOptions;
  machine: Machine;
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

/**
 * Plan one build on the host: source and runtime are fetched, no container starts. The packager is
 * `packager`, else the one of the machine's format (a build detects fpm in the container).
 */
export async function renderBuild(build: BuildOptions, builder: BuilderOptions, { packager, log = () => {} }: { packager?: PackagerName; log?: (line: string) => void } = {}): Promise<RenderedBuild> {
  const machine = findMachine(loadMachines(builder.machinesDir ?? process.cwd()), build.buildMachine, `build "${build.name}": buildMachine`);
  const source = await fetchSource(build.source, log);
  const removeSource = registerCleanup(source.cleanup);
  try {
    return await renderFromSource(build, builder, machine, source, packager ? packagerNamed(packager) : nativePackager(machine), log);
  } finally {
    await removeSource();
  }
}

/** renderBuild with the source already fetched (by `ndist shell`, which streams it in). */
export async function renderFromSource(build: BuildOptions, builder: BuilderOptions, machine: Machine, source: FetchedSource, packager: Packager, log: (line: string) => void): Promise<RenderedBuild> {
  const spec = resolvePackage(build, machine, source.dir);
  const manager = checkLockfile(source.dir, build, spec.workspace?.path);
  const host = await resolveHostInputs(build, spec, source.dir, manager, { cacheDir: builder.cacheDir ?? defaultCacheDir(), runtimeSources: builder.runtimeSources, caBundle: resolveCaBundle(builder.caBundle), log });
  const plan = planBuild(build, machine, spec, { sourceDir: source.dir, sourceDateEpoch: sourceDateEpoch(build, source.epoch), ...host, npmToken: false, packager });
  return { ...plan, ...host, options: build, machine };
}

/** What `ndist build --dry-run` prints for one build: source and metadata resolved, nothing run. */
export async function describeBuild(build: BuildOptions, builder: BuilderOptions, log: (line: string) => void = () => {}): Promise<string[]> {
  const machine = findMachine(loadMachines(builder.machinesDir ?? process.cwd()), build.buildMachine, `build "${build.name}": buildMachine`);
  const source = await fetchSource(build.source, log);
  const removeSource = registerCleanup(source.cleanup);
  try {
    const spec = resolvePackage(build, machine, source.dir);
    const manager = checkLockfile(source.dir, build, spec.workspace?.path);
    const outDir = path.resolve(builder.outDir ?? 'dist');
    return [
      `${build.name}`,
      `  source:   ${describeSource(build.source)}${source.commit ? ` → commit ${source.commit}` : ''}`,
      `  machine:  ${machine.id} (${machine.image})`,
      `  package:  ${spec.app} ${spec.version}-${spec.iteration} ${spec.arch}, ${spec.compression} compression`,
      `  runtime:  node ${build.node} ${spec.nodeArch}, npm ${manager.kind === 'npm' ? manager.version : build.npm ?? DEFAULT_NPM_VERSION}`,
      `  manager:  ${manager.kind} ${manager.version} (from ${manager.from}), lockfile ${manager.lockfile}${manager.hash ? `, ${manager.hash.algorithm} pinned` : ''}`,
      ...(spec.workspace ? [`  workspace: ${spec.workspace.path} (${spec.workspace.name})${spec.workspace.dependencies.length ? `, with the workspace packages ${spec.workspace.dependencies.map((dependency) => dependency.path).join(', ')}` : ''}`] : []),
      `  entry:    ${spec.entry} → /usr/bin/${spec.app}`,
      ...spec.commands.slice(1).map((command) => `  command:  ${command.entry} → /usr/bin/${command.name}`),
      ...spec.manPages.map((page) => `  man page: ${page.source} → ${page.path}`),
      `  artifact: ${path.join(outDir, spec.fileName)}`,
    ];
  } finally {
    await removeSource();
  }
}

/** The shell command line of `argv`, each word quoted only when it needs to be. */
export function commandLine(argv: string[]): string {
  return argv.map(shellQuote).join(' ');
}
