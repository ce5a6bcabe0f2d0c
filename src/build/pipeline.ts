/**
 * One build, stage by stage: source → metadata → runtime → machine image → container with the
 * inputs streamed in → rendered script run → artifact streamed out. The container and temporary
 * files are removed whatever happens.
 */
import { execFile } from 'node:child_process';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeArtifact, type Artifact } from './artifact.ts';
import { registerCleanup } from '../cleanup.ts';
import { ndistLabels, proxyEnvironment } from '../machine/docker/client.ts';
import { machineImageTag } from '../machine/docker/image.ts';
import type { Engine, MachineContainer } from '../machine/engine.ts';
import { BuildError } from '../errors.ts';
import { packInputs, type InputEntry } from '../machine/inputs.ts';
import { PACKAGE_ROOT, type Machine } from '../machine/catalogue.ts';
import type { Stage } from '../progress/stages.ts';
import { resolvePackage, type PackageSpec } from '../package/metadata.ts';
import { DEPS_CACHE_DIR, NPM_CACHE_DIR, cacheMounts, cacheVolumes, dependencyCacheKey, type DependencyKey } from '../cache/dependency-cache.ts';
import {
  OUTPUT_DIR, RPM_DIR, RPM_FILE_LIST, RPM_FILE_LIST_SCRIPT, RPM_PAYLOAD, STAGING_DIR, fpmScriptFiles, installedSizeCommand, packageCommand, rpmFileListScript, rpmSpecPath, stagedFiles, type Packager,
} from '../package/packager.ts';
import { rpmScriptlets } from '../package/service.ts';
import {
  RUNTIME_RPM_FILE_LIST_SCRIPT, cachedRuntimePackage, provideRuntimePackage, runtimePackageKey, runtimePackageName, runtimePackageScript, runtimePackageSpec, runtimeSpecVariables,
} from '../package/runtime-package.ts';
import { fetchNodeRuntime, fetchNpmCli, type RuntimeArchive, type RuntimeSource } from './runtime.ts';
import { includeParts, renderScript, specValue } from '../machine/script.ts';
import { buildSecrets, gitAuthFailure } from './secrets.ts';
import { SOURCE_EXCLUDES, fetchSource } from './source.ts';
import type { BuildOptions } from '../options/types.ts';
import { buildInputsHash, findUpToDate, ndistCodeHash, sourceTreeHash } from '../cache/up-to-date.ts';

export const DEFAULT_NPM_VERSION = '10.9.9';
const CA_IN_CONTAINER = '/ndist/ca.crt';
const SCRIPT_IN_CONTAINER = '/ndist/build.sh';
const HEALTH_CHECK_IN_CONTAINER = '/ndist/health-check.mjs';
const LICENSES_IN_CONTAINER = '/ndist/licenses.mjs';
const NPMRC_IN_CONTAINER = '/ndist/npmrc';
const RUNTIME_PACKAGE_SCRIPT = '/ndist/runtime-package.sh';
/** These run inside the machine with the bundled Node, from ndist's compiled output. */
const HEALTH_CHECK_SCRIPT = path.join(PACKAGE_ROOT, 'lib', 'in-machine', 'health-check.js');
const LICENSES_SCRIPT = path.join(PACKAGE_ROOT, 'lib', 'in-machine', 'licenses.js');

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
  spec: PackageSpec;
  packager: Packager;
  image: { tag: string; id: string };
  runtime: RuntimeArchive;
  commit?: string;
  /** sha256 over every input of the build, recorded so an identical later build reuses the artifact. */
  inputs: string;
  /** The artifact of an earlier build with the same inputs, reused: no container was started. */
  reused?: boolean;
  /** runtime 'shared': the runtime package the app depends on, copied to outDir (reused: from the cache). */
  runtimePackage?: Artifact & { reused: boolean };
}

/**
 * npm configuration for the build machine with an auth line for the registry when NPM_TOKEN is
 * set. The line names the variable, not its value: npm expands it from the environment of the
 * build step, the only place the token is given, so it is in no file, log, report or image.
 */
export function npmUserConfig(registry: string, withToken: boolean): string {
  if (!withToken) return '';
  const url = new URL(registry);
  return `//${url.host}${url.pathname.replace(/\/?$/, '/')}:_authToken=\${NPM_TOKEN}\n`;
}

const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** The CA bundle build machines get: the option's, else the host's when it has one; none for `false`. */
export function resolveCaBundle(option: string | false | undefined): string | undefined {
  if (option === false) return undefined;
  return option ?? (existsSync(HOST_CA_BUNDLE) ? HOST_CA_BUNDLE : undefined);
}

/** The registry npm uses on the host for this project, so the build machine uses the same. */
export async function npmRegistry(cwd: string): Promise<string> {
  const { stdout } = await promisify(execFile)('npm', ['config', 'get', 'registry'], { cwd });
  return stdout.trim();
}

export interface ScriptInputs {
  options: BuildOptions;
  machine: Machine;
  spec: PackageSpec;
  packager: Packager;
  runtime: RuntimeArchive;
  npm: RuntimeArchive;
  registry: string;
  caBundle: boolean;
  /** Seconds since the epoch that every file time in the package is clamped to. */
  sourceDateEpoch: number;
  /** The dependency cache key, or why there is none; unset (no cache) when rendering without a machine. */
  dependencyKey?: DependencyKey;
}

/** Every variable a build machine's template can use (the README lists them). */
export function scriptVariables({ options, machine, spec, packager, runtime, npm, registry, caBundle, sourceDateEpoch, dependencyKey }: ScriptInputs): Record<string, unknown> {
  const depsKey = dependencyKey?.key;
  return {
    name: options.name,
    app: spec.app,
    version: spec.version,
    iteration: spec.iteration,
    arch: spec.arch,
    nodeArch: spec.nodeArch,
    rpmArch: spec.rpmArch,
    format: spec.format,
    os: machine.os ?? {},
    packages: machine.packages,
    prefix: spec.prefix,
    sharedRuntime: spec.sharedRuntime ?? '',
    runtimePackage: spec.sharedRuntime ? runtimePackageName(runtime.version) : '',
    entry: spec.entry,
    maintainer: spec.maintainer,
    description: spec.description,
    license: spec.license ?? '',
    homepage: spec.homepage ?? '',
    buildMachine: options.buildMachine,
    buildDeps: spec.buildDeps,
    runtimeDeps: spec.runtimeDeps,
    fpmArgs: options.fpmArgs ?? [],
    node: runtime.version,
    npm: npm.version,
    runtimeDir: `/ndist/runtime/${runtime.root}`,
    npmCli: `/ndist/npm/${npm.root}/bin/npm-cli.js`,
    npmRegistry: registry,
    npmUserConfig: NPMRC_IN_CONTAINER,
    npmCacheDir: NPM_CACHE_DIR,
    depsCacheDir: DEPS_CACHE_DIR,
    depsKey: depsKey ?? '',
    depsCacheFile: depsKey ? `${DEPS_CACHE_DIR}/${depsKey}.tar` : '',
    depsCacheSkipped: dependencyKey ? (dependencyKey.key ? '' : dependencyKey.reason) : 'it is keyed only in a build (not by ndist render or ndist shell)',
    caBundle,
    sourceDateEpoch,
    licensesScript: LICENSES_IN_CONTAINER,
    licensesArgs: [
      '--modules', '/ndist/src/node_modules',
      '--out', `${STAGING_DIR}${spec.prefix}/share/licenses`,
      // A shared runtime's licence is in its own package: the app's listing names that package.
      ...(spec.sharedRuntime ? ['--runtime-package', runtimePackageName(runtime.version)] : ['--runtime', `/ndist/runtime/${runtime.root}`]),
      '--node-version', runtime.version,
      ...(options.allowedLicenses ?? []).flatMap((id) => ['--allow', id]),
    ],
    sbomFileName: sbomFileName(spec),
    healthCheck: options.healthCheck ?? 'error',
    healthCheckEnabled: (options.healthCheck ?? 'error') !== 'off',
    healthCheckScript: HEALTH_CHECK_IN_CONTAINER,
    healthCheckArgs: ['--root', STAGING_DIR, '--mode', options.healthCheck ?? 'error', '--machine', options.buildMachine, ...spec.runtimeDeps.flatMap((dep) => ['--dep', dep])],
    buildFromSource: options.buildFromSource ?? true,
    stagingDir: STAGING_DIR,
    outputDir: OUTPUT_DIR,
    fileName: spec.fileName,
    packager,
    usesDpkgDeb: packager === 'dpkg-deb',
    // ndist's own shell (no user input), hence inserted raw.
    installedSizeCommand: installedSizeCommand('"$staging"'),
    usesRpmbuild: packager === 'rpmbuild',
    specFile: rpmSpecPath(spec),
    fileList: RPM_FILE_LIST,
    fileListScript: RPM_FILE_LIST_SCRIPT,
    payload: RPM_PAYLOAD[spec.compression],
    provides: spec.provides,
    conflicts: spec.conflicts,
    replaces: spec.replaces,
    rpmScriptlets: rpmScriptlets(spec.lifecycle),
    packageCommand: packageCommand(spec, packager, options.fpmArgs ?? []),
  };
}

export function sbomFileName(spec: PackageSpec): string {
  return `${spec.fileName}.cdx.json`;
}

/** The SBOM the machine's script wrote beside the package, if it wrote one (a project's own template may not). */
async function fetchSbom(container: MachineContainer, spec: PackageSpec, outDir: string, log: (line: string) => void): Promise<Artifact | undefined> {
  const name = sbomFileName(spec);
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

/** The build option, else the SOURCE_DATE_EPOCH convention of the environment, else the source's own time. */
export function sourceDateEpoch(options: BuildOptions, sourceEpoch: number, env: NodeJS.ProcessEnv = process.env): number {
  if (options.sourceDateEpoch !== undefined) return options.sourceDateEpoch;
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv)) return Number(fromEnv);
  return sourceEpoch;
}

/** fpm where the machine has it; else dpkg-deb for .deb, rpmbuild for .rpm. */
export async function detectPackager(container: MachineContainer, machine: Machine): Promise<Packager> {
  if ((await container.exec(['sh', '-c', 'command -v fpm'])) === 0) return 'fpm';
  if (machine.format === 'deb') return 'dpkg-deb';
  if ((await container.exec(['sh', '-c', 'command -v rpmbuild'])) === 0) return 'rpmbuild';
  throw new BuildError(
    `machine ${machine.id} makes .rpm packages but has neither fpm nor rpmbuild: install rpm-build (dnf/yum) or rpm (Debian, Ubuntu) in its Dockerfile`,
    { stage: 'package' },
  );
}

/** The architecture the container really runs, as uname reports it (through QEMU for a foreign one). */
async function checkContainerArch(container: MachineContainer, spec: PackageSpec, image: string): Promise<void> {
  const lines: string[] = [];
  await container.exec(['uname', '-m'], { onLine: (line) => lines.push(line) });
  const machine = lines.join('').trim();
  if (machine !== spec.rpmArch) {
    throw new BuildError(`image ${image} runs ${machine || 'an unknown architecture'}, not ${spec.arch} (${spec.rpmArch}): its base image is for another architecture`, { stage: 'container' });
  }
}

export interface MachineInputsOptions {
  /** The rendered build script, and for rpmbuild the rendered spec. */
  script: string;
  specText?: string;
  spec: PackageSpec;
  packager: Packager;
  sourceDir: string;
  /** The CA bundle's host path, when build machines get one. */
  caBundle?: string;
  registry: string;
  /** Whether NPM_TOKEN is given to the build step, so npm's config names it. */
  npmToken: boolean;
}

/**
 * Everything a build streams into its machine but the runtime and npm archives: the script, the
 * source, the files ndist stages, the scripts run inside, npm's config. `ndist shell` streams the
 * same, so `bash /ndist/build.sh` there runs the build.
 */
export function machineInputs({ script, specText, spec, packager, sourceDir, caBundle, registry, npmToken }: MachineInputsOptions): InputEntry[] {
  const content = (name: string, text: string | Buffer, mode: number): InputEntry => ({ kind: 'content', name: name.replace(/^\//, ''), content: text, mode });
  return [
    { kind: 'directory', name: 'ndist' },
    { kind: 'directory', name: 'ndist/runtime' },
    { kind: 'directory', name: 'ndist/npm' },
    content(SCRIPT_IN_CONTAINER, script, 0o755),
    { kind: 'tree', name: 'ndist/src', hostPath: sourceDir, exclude: SOURCE_EXCLUDES },
    ...stagedFiles(spec, packager).map((file) => content(`${STAGING_DIR}/${file.path}`, file.content, file.mode)),
    ...(packager === 'fpm' ? fpmScriptFiles(spec).map((file) => content(file.path, file.content, file.mode)) : []),
    ...(caBundle ? [{ kind: 'file', name: CA_IN_CONTAINER.slice(1), hostPath: caBundle, mode: 0o644 } as InputEntry] : []),
    { kind: 'file', name: HEALTH_CHECK_IN_CONTAINER.slice(1), hostPath: HEALTH_CHECK_SCRIPT, mode: 0o644 },
    { kind: 'file', name: LICENSES_IN_CONTAINER.slice(1), hostPath: LICENSES_SCRIPT, mode: 0o644 },
    content(NPMRC_IN_CONTAINER, npmUserConfig(registry, npmToken), 0o600),
    ...(specText === undefined
      ? []
      : [{ kind: 'directory', name: RPM_DIR.slice(1) } as InputEntry, content(rpmSpecPath(spec), specText, 0o644), content(RPM_FILE_LIST_SCRIPT, rpmFileListScript(spec), 0o755)]),
  ];
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
    context.claimArtifact?.(spec.fileName);
    log(`package: ${spec.fileName}`);
    stage('runtime');
    const fetchOptions = { cacheDir: context.cacheDir, sources: context.runtimeSources, log };
    // At once: verifying cached archives and starting npm take most of a no-op build's time.
    const [runtime, npm, registry] = await Promise.all([
      fetchNodeRuntime(options.node, spec.nodeArch, fetchOptions),
      fetchNpmCli(options.npm ?? DEFAULT_NPM_VERSION, fetchOptions),
      npmRegistry(source.dir),
    ]);
    // Secrets go to the build step's environment only, never into a file, label or container config.
    const secrets = buildSecrets();

    for (const script of [HEALTH_CHECK_SCRIPT, LICENSES_SCRIPT]) {
      if (!existsSync(script)) throw new BuildError(`${script} is missing: run \`npm run build\` in the ndist checkout`);
    }
    const epoch = sourceDateEpoch(options, source.epoch);
    const imageTag = await machineImageTag(machine, spec.arch);
    const imageId = (await engine.imageId(imageTag)) ?? 'missing';
    // Every input of the build but the machine image's id, which the record is written with once
    // the image exists: a first build that creates the image must be up to date on the next run.
    const inputParts = {
      ndist: { file: path.join(PACKAGE_ROOT, 'package.json') },
      ndistCode: await ndistCodeHash(),
      options: JSON.stringify(options),
      spec: JSON.stringify(spec),
      source: source.commit ?? (await sourceTreeHash(source.dir, SOURCE_EXCLUDES)),
      sourceDateEpoch: String(epoch),
      runtime: `${runtime.version} ${runtime.checksum} ${runtime.root}`,
      npm: `${npm.version} ${npm.checksum} ${npm.root}`,
      registry,
      // The template as rendered: with the shared parts it includes.
      script: includeParts(readFileSync(machine.script, 'utf8'), machine.script),
      specTemplate: machine.specTemplate ? { file: machine.specTemplate } : '',
      healthCheck: { file: HEALTH_CHECK_SCRIPT },
      licenses: { file: LICENSES_SCRIPT },
      signingKey: context.signingKey ?? '',
    };
    const inputsWith = (id: string) => buildInputsHash({ ...inputParts, image: `${imageTag} ${id}` });
    const inputsHash = await inputsWith(imageId);
    const artifactPath = path.join(context.outDir, spec.fileName);
    if (context.force) log('up to date: not checked, --force rebuilds');
    else if (imageId !== 'missing') {
      const found = await findUpToDate(context.cacheDir, artifactPath, inputsHash);
      if (!('record' in found)) log(`up to date: no, ${found.reason}`);
      else {
        const { record } = found;
        // A shared-runtime app is up to date only while its runtime package is still cached.
        const runtimeSpec = spec.sharedRuntime ? runtimePackageSpec(spec, runtime) : undefined;
        const runtimeKey = runtimeSpec ? runtimePackageKey({ spec: runtimeSpec, runtime, machine, imageId, packager: record.packager as Packager }) : undefined;
        if (runtimeSpec && runtimeKey && !cachedRuntimePackage(context.cacheDir, runtimeKey, runtimeSpec.fileName)) {
          log(`up to date: no, the runtime package ${runtimeSpec.fileName} is not in the cache`);
        } else {
          stage('artifact');
          const runtimePackage = runtimeSpec && runtimeKey
            ? await provideRuntimePackage(context.cacheDir, runtimeKey, runtimeSpec.fileName, context.outDir, () => Promise.reject(new BuildError('the runtime package left the cache while this build used it (ndist cache prune?): run the build again', { stage: 'artifact' })), log)
            : undefined;
          log(`up to date: reusing ${artifactPath} (sha256 ${record.artifact.sha256}), built ${record.builtAt} from the same inputs; --force rebuilds`);
          return {
            artifact: record.artifact, sbom: record.sbom, spec, packager: record.packager as Packager, image: { tag: imageTag, id: imageId }, runtime, commit: source.commit, inputs: inputsHash, reused: true,
            ...(runtimePackage ? { runtimePackage } : {}),
          };
        }
      }
    }
    stage('image');
    await engine.checkEmulation(spec.arch, log);
    const image = await engine.ensureMachineImage(machine, spec.arch, log);
    stage('dependencies');
    const volumes = cacheVolumes();
    await engine.ensureCacheVolumes(volumes);
    const dependencyKey = dependencyCacheKey({
      sourceDir: source.dir, imageId: image.id, runtime, npm, arch: spec.arch, buildDeps: spec.buildDeps, buildFromSource: options.buildFromSource ?? true, registry,
    });
    log(dependencyKey.key ? `dependency cache: key ${dependencyKey.key}` : `dependency cache: not used, ${dependencyKey.reason}`);
    container = await engine.startContainer({ image: image.tag, labels: ndistLabels(options.name), env: proxyEnvironment(), mounts: cacheMounts(volumes) });
    log(`container: ${container.id.slice(0, 12)} from ${image.tag}`);
    await checkContainerArch(container, spec, image.tag);
    const packager = await detectPackager(container, machine);
    const caBundle = context.caBundle !== undefined && existsSync(context.caBundle);
    const variables = scriptVariables({ options, machine, spec, packager, runtime, npm, registry, caBundle, sourceDateEpoch: epoch, dependencyKey });
    const script = renderScript(readFileSync(machine.script, 'utf8'), variables, machine.script);
    const specText = packager === 'rpmbuild' ? renderScript(readFileSync(machine.specTemplate!, 'utf8'), variables, machine.specTemplate!, specValue) : undefined;
    const inputs = machineInputs({
      script, specText, spec, packager, sourceDir: source.dir, caBundle: caBundle ? context.caBundle : undefined, registry, npmToken: secrets.NPM_TOKEN !== undefined,
    });
    log('inputs: streaming source, runtime and npm into the container');
    await container.putArchive(packInputs(inputs, new Date(epoch * 1000)), '/');
    // Docker unpacks the archives as they are (gzip or xz): nothing is extracted on the host.
    await container.putArchive(createReadStream(runtime.file), '/ndist/runtime');
    await container.putArchive(createReadStream(npm.file), '/ndist/npm');

    log(`script: running ${machine.script} (packager: ${packager})`);
    const problems = { health: [] as string[], licence: [] as string[], gitAuth: undefined as string | undefined };
    const onLine = (line: string) => {
      problems.gitAuth ??= gitAuthFailure(line);
      if (line.startsWith('health check error: ')) problems.health.push(line.slice('health check error: '.length));
      if (line.startsWith('licence error: ')) problems.licence.push(line.slice('licence error: '.length));
      log(line);
    };
    const code = await container.exec(['bash', SCRIPT_IN_CONTAINER], { onLine, env: secrets });
    if (problems.licence.length > 0) {
      throw new BuildError(`bundled packages are under licences allowedLicenses does not list:\n  ${problems.licence.join('\n  ')}`, { build: options.name, stage: 'licences' });
    }
    if (problems.health.length > 0) {
      throw new BuildError(`the health check failed (set healthCheck: 'warn' to package anyway):\n  ${problems.health.join('\n  ')}`, { build: options.name, stage: 'health check' });
    }
    if (code !== 0 && problems.gitAuth) {
      const hint = secrets.NDIST_GIT_TOKEN
        ? 'NDIST_GIT_TOKEN did not open it (check the token, NDIST_GIT_USERNAME, and NDIST_GIT_URL, which ssh URLs need)'
        : 'set NDIST_GIT_TOKEN to a token for it, and NDIST_GIT_URL to its host (ssh URLs are then fetched over it)';
      throw new BuildError(`the build script failed with exit code ${code}: git could not fetch the git dependency ${problems.gitAuth}: ${hint}`, { build: options.name, stage: 'script' });
    }
    if (code !== 0) throw new BuildError(`the build script failed with exit code ${code}`, { build: options.name, stage: 'script' });

    stage('artifact');
    const artifact = await writeArtifact(await container.getArchive(`${OUTPUT_DIR}/${spec.fileName}`), context.outDir, spec.fileName);
    log(`artifact: ${artifact.path} (${(artifact.size / 1e6).toFixed(1)} MB, sha256 ${artifact.sha256})`);
    const sbom = await fetchSbom(container, spec, context.outDir, log);
    let runtimePackage: PipelineResult['runtimePackage'];
    if (spec.sharedRuntime) {
      const runtimeSpec = runtimePackageSpec(spec, runtime);
      const key = runtimePackageKey({ spec: runtimeSpec, runtime, machine, imageId: image.id, packager });
      const built = container;
      const mode = options.healthCheck ?? 'error';
      const healthCheck = mode === 'off' ? undefined : { script: HEALTH_CHECK_IN_CONTAINER, machine: options.buildMachine, mode };
      runtimePackage = await provideRuntimePackage(context.cacheDir, key, runtimeSpec.fileName, context.outDir, async (dir) => {
        log(`runtime package: building ${runtimeSpec.fileName} (key ${key})`);
        const script = runtimePackageScript(runtimeSpec, packager, `/ndist/runtime/${runtime.root}`, healthCheck);
        const runtimeInputs: InputEntry[] = [{ kind: 'content', name: RUNTIME_PACKAGE_SCRIPT.slice(1), content: script, mode: 0o755 }];
        if (packager === 'rpmbuild') {
          // The machine's spec template, describing the runtime package instead of the app.
          const runtimeSpecText = renderScript(readFileSync(machine.specTemplate!, 'utf8'), runtimeSpecVariables(variables, runtimeSpec), machine.specTemplate!, specValue);
          runtimeInputs.push(
            { kind: 'content', name: rpmSpecPath(runtimeSpec).slice(1), content: runtimeSpecText, mode: 0o644 },
            { kind: 'content', name: RUNTIME_RPM_FILE_LIST_SCRIPT.slice(1), content: rpmFileListScript(runtimeSpec), mode: 0o755 },
          );
        }
        await built.putArchive(packInputs(runtimeInputs, new Date(epoch * 1000)), '/');
        const problems: string[] = [];
        const runtimeCode = await built.exec(['bash', RUNTIME_PACKAGE_SCRIPT], {
          onLine: (line) => {
            if (line.startsWith('health check error: ')) problems.push(line.slice('health check error: '.length));
            log(line);
          },
        });
        if (problems.length > 0) throw new BuildError(`the runtime package's health check failed:\n  ${problems.join('\n  ')}`, { build: options.name, stage: 'health check' });
        if (runtimeCode !== 0) throw new BuildError(`packaging the runtime package failed with exit code ${runtimeCode}`, { build: options.name, stage: 'package' });
        return writeArtifact(await built.getArchive(`${OUTPUT_DIR}/${runtimeSpec.fileName}`), dir, runtimeSpec.fileName);
      }, log);
    }
    const builtInputs = image.id === imageId ? inputsHash : await inputsWith(image.id);
    return { artifact, sbom, spec, packager, image, runtime, commit: source.commit, inputs: builtInputs, ...(runtimePackage ? { runtimePackage } : {}) };
  } finally {
    await container?.remove();
    await removeSource();
  }
}
