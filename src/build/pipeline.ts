/**
 * One build, stage by stage: source → metadata → runtime → machine image → container with the
 * inputs streamed in → rendered script run → artifact streamed out. What happens in the machine is
 * the build's plan (plan.ts); this module resolves the plan's inputs, asks the engine for the
 * image and container, and runs the plan. The container and temporary files are removed whatever
 * happens.
 */
import { existsSync } from 'node:fs';
import { writeArtifact, type Artifact } from './artifact.ts';
import { registerCleanup } from '../cleanup.ts';
import { ndistLabels, proxyEnvironment } from '../machine/docker/client.ts';
import { machineImageTag } from '../machine/docker/image.ts';
import type { Engine, MachineContainer } from '../machine/engine.ts';
import { BuildError } from '../errors.ts';
import { packInputs } from '../machine/inputs.ts';
import type { Machine } from '../machine/catalogue.ts';
import type { Stage } from '../progress/stages.ts';
import { checkLockfile } from '../package/lockfile.ts';
import { resolvePackage } from '../package/metadata.ts';
import { cacheMounts, cacheVolumes, dependencyCacheKey } from '../cache/dependency-cache.ts';
import { ensureRuntimeVolumes, runtimeMounts, runtimeVolumes } from '../cache/runtime-volume.ts';
import type { PackagerName } from '../package/packager.ts';
import { detectPackager } from '../package/packagers.ts';
import { provideRuntimePackage } from '../package/runtime-package.ts';
import { OUTPUT_DIR } from '../package/staging.ts';
import type { PackageSpec } from '../package/spec.ts';
import { IN_MACHINE_PROGRAMS, planBuild, runtimeArchives, upToDateParts, type BuildPlan, type RuntimePackagePlan } from './plan.ts';
import { ARCH_NAMES } from '../util/arch.ts';
import { resolveHostInputs, sourceDateEpoch } from './resolve.ts';
import { reuseEarlierBuild } from './reuse.ts';
import type { RuntimeArchive, RuntimeSource } from './runtime.ts';
import { buildSecrets, gitAuthFailure } from './secrets.ts';
import { ignoredBuildsAdvice, pnpmIgnoredBuilds } from './install-commands.ts';
import { SOURCE_EXCLUDES, fetchSource } from './source.ts';
import type { BuildOptions, PackageDirectory } from '../options/types.ts';
import { buildInputsHash, ndistCodeHash, sourceTreeHash } from '../cache/up-to-date.ts';

export interface PipelineContext {
  engine: Engine;
  machine: Machine;
  outDir: string;
  cacheDir: string;
  caBundle?: string;
  runtimeSources?: RuntimeSource[];
  log: (line: string) => void;
  /** Called as each stage starts; it may throw to stop the build (an abort). */
  stage?: (stage: Stage) => void;
  /** Claims the artifact's file name for this build; throws when another build of the run has it. */
  claimArtifact?: (fileName: string) => void;
  /** Rebuild even when an earlier build with the same inputs left its artifact (`--force`). */
  force?: boolean;
  /** Fingerprint of the key the run signs with: a signed artifact is reused only by runs signing with it. */
  signingKey?: string;
}

export interface PipelineResult {
  artifact: Artifact;
  /** CycloneDX SBOM of the bundled npm packages, from `npm sbom`; absent when the machine's script wrote none. */
  sbom?: Artifact;
  /** The package's largest directories, as the build script measured them (a project's own template may not). */
  largestDirectories?: PackageDirectory[];
  spec: PackageSpec;
  packager: PackagerName;
  image: { tag: string; id: string };
  runtime: RuntimeArchive;
  commit?: string;
  /** sha256 over every input of the build, recorded so an identical later build reuses the artifact. */
  inputs: string;
  /** The build's SOURCE_DATE_EPOCH: the date of files written beside the package (the .changes). */
  sourceDateEpoch: number;
  /** The artifact of an earlier build with the same inputs, reused: no container was started. */
  reused?: boolean;
  /** runtime 'shared': the runtime package the app depends on, copied to outDir (reused: from the cache). */
  runtimePackage?: Artifact & { reused: boolean };
}

/** The SBOM the machine's script wrote beside the package, if it wrote one (a project's own template may not). */
async function fetchSbom(container: MachineContainer, name: string, outDir: string, log: (line: string) => void): Promise<Artifact | undefined> {
  let archive;
  try {
    archive = await container.getArchive(`${OUTPUT_DIR}/${name}`);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    log(`sbom: none, the build script wrote no ${OUTPUT_DIR}/${name}`);
    return undefined;
  }
  const sbom = await writeArtifact(archive, outDir, name);
  log(`sbom: ${sbom.path}`);
  return sbom;
}

/** The architecture the container really runs, as uname reports it (through QEMU for a foreign one). */
async function checkContainerArch(container: MachineContainer, spec: PackageSpec, image: string): Promise<void> {
  const lines: string[] = [];
  await container.exec(['uname', '-m'], { onLine: (line) => lines.push(line) });
  const machine = lines.join('').trim();
  const expected = ARCH_NAMES[spec.arch].uname;
  if (!expected.includes(machine)) {
    throw new BuildError(`image ${image} runs ${machine || 'an unknown architecture'}, not ${spec.arch} (uname -m ${expected.join(' or ')}): its base image is for another architecture`, { stage: 'container' });
  }
}

/** A line of the build script's `package directory: <bytes> <path>`, or undefined. */
export function packageDirectory(line: string): PackageDirectory | undefined {
  const match = /^package directory: (\d+) (\/.+)$/.exec(line);
  return match ? { path: match[2]!, size: Number(match[1]) } : undefined;
}

/**
 * Runs the plan's build script; its licence, health-check and git-credential problems become the
 * build's error. Returns the package's largest directories the script printed.
 */
async function runBuildScript(container: MachineContainer, plan: BuildPlan, build: string, secrets: Record<string, string>, log: (line: string) => void): Promise<PackageDirectory[]> {
  const problems = { health: [] as string[], licence: [] as string[], staging: [] as string[], gitAuth: undefined as string | undefined, ignoredBuilds: undefined as string[] | undefined };
  const directories: PackageDirectory[] = [];
  const onLine = (line: string) => {
    const directory = packageDirectory(line);
    if (directory) directories.push(directory);
    if (line.startsWith('staging error: ')) problems.staging.push(line.slice('staging error: '.length));
    problems.gitAuth ??= gitAuthFailure(line);
    problems.ignoredBuilds ??= pnpmIgnoredBuilds(line);
    if (line.startsWith('health check error: ')) problems.health.push(line.slice('health check error: '.length));
    if (line.startsWith('licence error: ')) problems.licence.push(line.slice('licence error: '.length));
    log(line);
  };
  const code = await container.exec(plan.run, { onLine, env: secrets });
  if (problems.licence.length > 0) {
    throw new BuildError(`bundled packages are under licences allowedLicenses does not list:\n  ${problems.licence.join('\n  ')}`, { build, stage: 'licences' });
  }
  if (problems.staging.length > 0) {
    throw new BuildError(`the build step did not make every command's script:\n  ${problems.staging.join('\n  ')}`, { build, stage: 'script' });
  }
  if (problems.health.length > 0) {
    throw new BuildError(`the health check failed (set healthCheck: 'warn' to package anyway):\n  ${problems.health.join('\n  ')}`, { build, stage: 'health check' });
  }
  if (code !== 0 && problems.gitAuth) {
    const hint = secrets.NDIST_GIT_TOKEN
      ? 'NDIST_GIT_TOKEN did not open it (check the token, NDIST_GIT_USERNAME, and NDIST_GIT_URL, which ssh URLs need)'
      : 'set NDIST_GIT_TOKEN to a token for it, and NDIST_GIT_URL to its host (ssh URLs are then fetched over it)';
    throw new BuildError(`the build script failed with exit code ${code}: git could not fetch the git dependency ${problems.gitAuth}: ${hint}`, { build, stage: 'script' });
  }
  if (code !== 0 && problems.ignoredBuilds) {
    throw new BuildError(`the build script failed with exit code ${code}: ${ignoredBuildsAdvice(problems.ignoredBuilds)}`, { build, stage: 'script' });
  }
  if (code !== 0) throw new BuildError(`the build script failed with exit code ${code}`, { build, stage: 'script' });
  return directories;
}

/** Packages the shared runtime in the app's container, after the app, into `dir`. */
async function buildRuntimePackage(container: MachineContainer, plan: RuntimePackagePlan, epoch: number, build: string, dir: string, log: (line: string) => void): Promise<Artifact> {
  log(`runtime package: building ${plan.spec.fileName} (key ${plan.key})`);
  await container.putArchive(packInputs(plan.inputs, new Date(epoch * 1000)), '/');
  const problems: string[] = [];
  const code = await container.exec(plan.run, {
    onLine: (line) => {
      if (line.startsWith('health check error: ')) problems.push(line.slice('health check error: '.length));
      log(line);
    },
  });
  if (problems.length > 0) throw new BuildError(`the runtime package's health check failed:\n  ${problems.join('\n  ')}`, { build, stage: 'health check' });
  if (code !== 0) throw new BuildError(`packaging the runtime package failed with exit code ${code}`, { build, stage: 'package' });
  return writeArtifact(await container.getArchive(`${OUTPUT_DIR}/${plan.spec.fileName}`), dir, plan.spec.fileName);
}

export async function runPipeline(options: BuildOptions, context: PipelineContext): Promise<PipelineResult> {
  const { engine, machine, log } = context;
  const stage = context.stage ?? (() => {});
  stage('source');
  const source = await fetchSource(options.source, log);
  const removeSource = registerCleanup(source.cleanup);
  let container: MachineContainer | undefined;
  try {
    const spec = resolvePackage(options, machine, source.dir);
    const manager = checkLockfile(source.dir, options, spec.workspace?.path);
    context.claimArtifact?.(spec.fileName);
    log(`package: ${spec.fileName}`);
    stage('runtime');
    const host = await resolveHostInputs(options, spec, source.dir, manager, { cacheDir: context.cacheDir, runtimeSources: context.runtimeSources, caBundle: context.caBundle, log });
    // Secrets go to the build step's environment only, never into a file, label or container config.
    const secrets = buildSecrets();
    for (const program of IN_MACHINE_PROGRAMS) {
      if (!existsSync(program)) throw new BuildError(`${program} is missing: run \`npm run build\` in the ndist checkout`);
    }
    const resolved = { sourceDir: source.dir, sourceDateEpoch: sourceDateEpoch(options, source.epoch), ...host, npmToken: secrets.NPM_TOKEN !== undefined };
    const imageTag = await machineImageTag(machine, spec.arch);
    const imageId = (await engine.imageId(imageTag)) ?? 'missing';
    const fingerprints = { code: await ndistCodeHash(), source: source.commit ?? (await sourceTreeHash(source.dir, SOURCE_EXCLUDES)), signingKey: context.signingKey };
    const parts = upToDateParts(options, machine, spec, resolved, fingerprints);
    const inputsWith = (id: string) => buildInputsHash({ ...parts, image: `${imageTag} ${id}` });
    const inputsHash = await inputsWith(imageId);
    const reused = await reuseEarlierBuild({ ...context, stage, spec, runtime: host.runtime, imageId, inputs: inputsHash });
    if (reused) {
      const { record, runtimePackage } = reused;
      return {
        artifact: record.artifact, sbom: record.sbom, ...(record.largestDirectories ? { largestDirectories: record.largestDirectories } : {}), spec, packager: record.packager as PackagerName, image: { tag: imageTag, id: imageId }, runtime: host.runtime, commit: source.commit, inputs: inputsHash, sourceDateEpoch: resolved.sourceDateEpoch, reused: true,
        ...(runtimePackage ? { runtimePackage } : {}),
      };
    }

    stage('image');
    await engine.checkEmulation(spec.arch, log);
    const image = await engine.ensureMachineImage(machine, spec.arch, log);
    stage('dependencies');
    const volumes = cacheVolumes();
    await engine.ensureCacheVolumes(volumes);
    const dependencyKey = dependencyCacheKey({
      sourceDir: source.dir, imageId: image.id, runtime: host.runtime, npm: host.npm, manager, ...(host.managerCli ? { managerCli: host.managerCli } : {}), arch: spec.arch, buildDeps: spec.buildDeps, buildFromSource: options.buildFromSource ?? true, registry: host.registry,
      ...(spec.workspace ? { workspace: spec.workspace } : {}),
    });
    log(dependencyKey.key ? `dependency cache: key ${dependencyKey.key}` : `dependency cache: not used, ${dependencyKey.reason}`);
    const runtime = runtimeVolumes(runtimeArchives(host.runtime, host.npm, host.managerCli));
    const started = await engine.startContainer({ image: image.tag, labels: ndistLabels(options.name), env: proxyEnvironment(), mounts: [...cacheMounts(volumes), ...runtimeMounts(runtime)] });
    container = started;
    log(`container: ${started.id.slice(0, 12)} from ${image.tag}`);
    await checkContainerArch(started, spec, image.tag);
    const packager = await detectPackager(machine, async (command) => (await started.exec(['sh', '-c', command])) === 0);
    const plan = planBuild(options, machine, spec, { ...resolved, packager, imageId: image.id, dependencyKey });
    await ensureRuntimeVolumes(engine, started, runtime, image.tag, ndistLabels(options.name), log);
    log('inputs: streaming the source and the build files into the container');
    await started.putArchive(packInputs(plan.inputs, new Date(plan.sourceDateEpoch * 1000)), '/');

    log(`script: running ${machine.script} (packager: ${packager.name})`);
    const largestDirectories = await runBuildScript(started, plan, options.name, secrets, log);
    stage('artifact');
    const artifact = await writeArtifact(await started.getArchive(`${OUTPUT_DIR}/${plan.outputs.artifact}`), context.outDir, plan.outputs.artifact);
    log(`artifact: ${artifact.path} (${(artifact.size / 1e6).toFixed(1)} MB, sha256 ${artifact.sha256})`);
    const sbom = await fetchSbom(started, plan.outputs.sbom, context.outDir, log);
    const runtimePlan = plan.runtimePackage;
    const runtimePackage = runtimePlan
      ? await provideRuntimePackage(context.cacheDir, runtimePlan.key, runtimePlan.spec.fileName, context.outDir, (dir) => buildRuntimePackage(started, runtimePlan, plan.sourceDateEpoch, options.name, dir, log), log)
      : undefined;
    const builtInputs = image.id === imageId ? inputsHash : await inputsWith(image.id);
    return { artifact, sbom, ...(largestDirectories.length > 0 ? { largestDirectories } : {}), spec, packager: packager.name, image, runtime: host.runtime, commit: source.commit, inputs: builtInputs, sourceDateEpoch: resolved.sourceDateEpoch, ...(runtimePackage ? { runtimePackage } : {}) };
  } finally {
    await container?.remove();
    await removeSource();
  }
}
