/**
 * The build plan: everything one build will do in its machine, worked out on the host from its
 * options, its machine and its resolved inputs, with no engine and no network: the template
 * variables, the rendered script (and spec), the packager command, what is streamed in, the keys
 * of its caches and the files it writes. `ndist render`, `ndist shell` and the pipeline all use it;
 * templates are rendered here only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { DEPS_CACHE_DIR, MANAGER_CACHE_DIRS, NPM_CACHE_DIR, type DependencyKey } from '../cache/dependency-cache.ts';
import { berryRegistryInProject, managerCommands } from './install-commands.ts';
import type { PackageManagerSpec } from '../package/package-manager.ts';
import { PACKAGE_ROOT, type Machine } from '../machine/catalogue.ts';
import type { InputEntry } from '../machine/inputs.ts';
import { includeParts, renderScript, specValue } from '../machine/script.ts';
import type { Packager } from '../package/packager.ts';
import { packagerVariables } from '../package/packagers.ts';
import { runtimePackageKey, runtimePackageName, runtimePackageScript, runtimePackageSpec, runtimeSpecVariables } from '../package/runtime-package.ts';
import { rpmChangelog } from '../package/changelog.ts';
import { formatOf } from '../package/formats.ts';
import { OUTPUT_DIR, STAGING_DIR, checkStagedPaths, machineFile, manPageFiles, stagedFiles, stagedSymlinks } from '../package/staging.ts';
import type { PackageSpec } from '../package/spec.ts';
import type { BuildOptions } from '../options/types.ts';
import type { RuntimeArchive } from './runtime.ts';
import { SOURCE_EXCLUDES } from './source.ts';
import { floorArgs } from '../package/glibc-floor.ts';
import { npmWorkspaceCommands, pnpmWorkspaceCommands } from '../package/workspace.ts';

/** Where a build puts things in its machine. */
const SCRIPT_IN_MACHINE = '/ndist/build.sh';
const CA_IN_MACHINE = '/ndist/ca.crt';
const HEALTH_CHECK_IN_MACHINE = '/ndist/health-check.mjs';
const LICENSES_IN_MACHINE = '/ndist/licenses.mjs';
const STAGE_APP_IN_MACHINE = '/ndist/stage-app.mjs';
const WORKSPACE_DEPLOY_IN_MACHINE = '/ndist/workspace-deploy.mjs';
const WORKSPACE_PLAN_IN_MACHINE = '/ndist/workspace.json';
const WORKSPACE_MANIFEST_IN_MACHINE = '/ndist/workspace-package.json';
const SOURCE_IN_MACHINE = '/ndist/src';
/** A workspace build's self-contained app, made from the monorepo in SOURCE_IN_MACHINE. */
const WORKSPACE_APP_IN_MACHINE = '/ndist/ws';
const NPMRC_IN_MACHINE = '/ndist/npmrc';
const RUNTIME_PACKAGE_SCRIPT = '/ndist/runtime-package.sh';
const RUNTIME_IN_MACHINE = '/ndist/runtime';
const NPM_IN_MACHINE = '/ndist/npm';
/** The app's package manager when it is not npm: pnpm, Yarn classic or Yarn Berry. */
const MANAGER_IN_MACHINE = '/ndist/pm';
/** These run inside the machine with the bundled Node, from ndist's compiled output. */
const HEALTH_CHECK_SCRIPT = path.join(PACKAGE_ROOT, 'lib', 'in-machine', 'health-check.js');
const LICENSES_SCRIPT = path.join(PACKAGE_ROOT, 'lib', 'in-machine', 'licenses.js');
const STAGE_APP_SCRIPT = path.join(PACKAGE_ROOT, 'lib', 'in-machine', 'stage-app.js');
const WORKSPACE_DEPLOY_SCRIPT = path.join(PACKAGE_ROOT, 'lib', 'in-machine', 'workspace-deploy.js');
export const IN_MACHINE_PROGRAMS = [HEALTH_CHECK_SCRIPT, LICENSES_SCRIPT, STAGE_APP_SCRIPT, WORKSPACE_DEPLOY_SCRIPT];

/** What a build has resolved before it is planned. */
export interface ResolvedInputs {
  sourceDir: string;
  /** Seconds since the epoch that every file time in the package is clamped to. */
  sourceDateEpoch: number;
  runtime: RuntimeArchive;
  npm: RuntimeArchive;
  /** The app's package manager; npm when unset (a plan made without a source). */
  manager?: PackageManagerSpec;
  /** Its CLI, unless it is npm. */
  managerCli?: RuntimeArchive;
  registry: string;
  /** The CA bundle's host path, when build machines get one. */
  caBundle?: string;
  /** Whether NPM_TOKEN is given to the build step, so npm's config names it. */
  npmToken: boolean;
  packager: Packager;
  /** The machine image's id, when the build has its machine: it keys the runtime package. */
  imageId?: string;
  /** The dependency cache key, or why there is none; unset (no cache) without a build (ndist render, ndist shell). */
  dependencyKey?: DependencyKey;
}

/** runtime 'shared': the runtime package, packaged in the app's machine after the app. */
export interface RuntimePackagePlan {
  spec: PackageSpec;
  /** Its cache key: everything that decides its bytes. */
  key: string;
  /** Streamed into the machine (after the app's build), then run. */
  inputs: InputEntry[];
  run: string[];
}

export interface BuildPlan {
  spec: PackageSpec;
  packager: Packager;
  sourceDateEpoch: number;
  /** Where the runtime archive is unpacked in the machine. */
  runtimeDir: string;
  /** Every variable the machine's templates get (the README lists them). */
  variables: Record<string, unknown>;
  /** The build script, rendered. */
  script: string;
  /** The spec rendered from the machine's spec template, for a packager that reads one (rpmbuild). */
  specText?: string;
  /** The packager command, one argument per element. */
  packageCommand: string[];
  /** Streamed into the machine as one archive at /, each file dated sourceDateEpoch. */
  inputs: InputEntry[];
  /** The runtime and npm archives, found extracted at `dir` in the machine (read-only volumes, populated once per engine). */
  archives: { archive: RuntimeArchive; dir: string }[];
  /** The command that runs the build in the machine. */
  run: string[];
  /** What the build writes to OUTPUT_DIR: the package, and the SBOM beside it (a project's own template may write none). */
  outputs: { artifact: string; sbom: string };
  dependencyKey?: DependencyKey;
  runtimePackage?: RuntimePackagePlan;
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

export function sbomFileName(spec: PackageSpec): string {
  return `${spec.fileName}.cdx.json`;
}

/**
 * What the licences and SBOM of a build depend on besides package.json (which the script adds, as
 * it is in the machine): the installed tree (the dependency cache key: lockfile, runtime, image…),
 * the licences program and its arguments (allowed licences, prefix, runtime) and the SBOM's name.
 * A warm build after a source change that leaves package.json alone reuses them.
 */
export function licencesCacheBase(depsKey: string, licensesArgs: string[], sbomName: string): string {
  const program = existsSync(LICENSES_SCRIPT) ? readFileSync(LICENSES_SCRIPT) : Buffer.from('missing');
  const hash = createHash('sha256');
  for (const part of [depsKey, JSON.stringify(licensesArgs), sbomName]) hash.update(part).update('\0');
  return hash.update(program).digest('hex');
}

/** Every variable a build machine's template can use (the README lists them). */
function templateVariables(options: BuildOptions, machine: Machine, spec: PackageSpec, inputs: ResolvedInputs): Record<string, unknown> {
  const { runtime, npm, packager, dependencyKey } = inputs;
  const buildStep = spec.buildStep;
  const workspace = spec.workspace;
  // Workspace packages with a build script are built too, which needs their devDependencies.
  const fullInstall = Boolean(buildStep?.commands.length) || Boolean(workspace?.dependencies.some((dependency) => dependency.build));
  const workspacePaths = { source: SOURCE_IN_MACHINE, program: WORKSPACE_DEPLOY_IN_MACHINE, plan: WORKSPACE_PLAN_IN_MACHINE, manifest: WORKSPACE_MANIFEST_IN_MACHINE, out: WORKSPACE_APP_IN_MACHINE };
  const workspaceCommands = !workspace
    ? undefined
    : workspace.manager === 'pnpm'
      ? pnpmWorkspaceCommands(workspace, fullInstall, workspacePaths, managerCommands('pnpm').installAll)
      : npmWorkspaceCommands(workspace, fullInstall, workspacePaths);
  const appDir = workspace ? WORKSPACE_APP_IN_MACHINE : SOURCE_IN_MACHINE;
  // With a build step the cache holds the full install (devDependencies too); prune derives the rest.
  const depsKey = dependencyKey?.key && (fullInstall ? `${dependencyKey.key}-full` : dependencyKey.key);
  const licensesArgs = [
    '--modules', `${appDir}/node_modules`,
    '--out', `${STAGING_DIR}${spec.prefix}/share/licenses`,
    // A shared runtime's licence is in its own package: the app's listing names that package.
    ...(spec.sharedRuntime ? ['--runtime-package', runtimePackageName(runtime.version)] : ['--runtime', `${RUNTIME_IN_MACHINE}/${runtime.root}`]),
    '--node-version', runtime.version,
    ...(options.allowedLicenses ?? []).flatMap((id) => ['--allow', id]),
  ];
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
    runtimeDir: `${RUNTIME_IN_MACHINE}/${runtime.root}`,
    npmCli: `${NPM_IN_MACHINE}/${npm.root}/bin/npm-cli.js`,
    npxCli: `${NPM_IN_MACHINE}/${npm.root}/bin/npx-cli.js`,
    npmRegistry: inputs.registry,
    npmUserConfig: NPMRC_IN_MACHINE,
    npmCacheDir: NPM_CACHE_DIR,
    ...managerVariables(inputs, `${NPM_IN_MACHINE}/${npm.root}`),
    depsCacheDir: DEPS_CACHE_DIR,
    depsKey: depsKey ?? '',
    depsCacheFile: depsKey ? `${DEPS_CACHE_DIR}/${depsKey}.tar` : '',
    depsCacheSkipped: dependencyKey ? (dependencyKey.key ? '' : dependencyKey.reason) : 'it is keyed only in a build (not by ndist render or ndist shell)',
    caBundle: inputs.caBundle !== undefined,
    sourceDateEpoch: inputs.sourceDateEpoch,
    licensesScript: LICENSES_IN_MACHINE,
    licensesArgs,
    licencesDir: `${STAGING_DIR}${spec.prefix}/share/licenses`,
    sbomFileName: sbomFileName(spec),
    licencesCacheBase: depsKey ? licencesCacheBase(depsKey, licensesArgs, sbomFileName(spec)) : '',
    buildCommands: buildStep?.commands ?? [],
    buildStepFrom: buildStep?.from ?? '',
    stageAppScript: STAGE_APP_IN_MACHINE,
    workspace: workspace?.path ?? '',
    workspaceInstall: workspaceCommands?.install ?? [],
    workspaceBuilds: workspaceCommands?.builds ?? [],
    workspaceDeploy: workspaceCommands?.deploy ?? [],
    depsCachePaths: ['node_modules', ...(workspace ? [workspace.path, ...workspace.dependencies.map((dependency) => dependency.path)].map((dir) => `${dir}/node_modules`) : [])],
    appDir,
    stageAppArgs: [
      '--source', appDir, '--packlist', '/ndist/packlist.json', '--out', '/ndist/staged-files',
      ...[...new Set(spec.commands.map((command) => command.entry))].flatMap((entry) => ['--always', entry]),
      ...(options.include ?? []).flatMap((glob) => ['--include', glob]),
      ...(options.exclude ?? []).flatMap((glob) => ['--exclude', glob]),
    ],
    healthCheck: options.healthCheck ?? 'error',
    healthCheckEnabled: (options.healthCheck ?? 'error') !== 'off',
    healthCheckScript: HEALTH_CHECK_IN_MACHINE,
    healthCheckArgs: ['--root', STAGING_DIR, '--mode', options.healthCheck ?? 'error', '--machine', options.buildMachine, ...spec.runtimeDeps.flatMap((dep) => ['--dep', dep]), ...floorArgs('app', spec.format)],
    buildFromSource: options.buildFromSource ?? true,
    stagingDir: STAGING_DIR,
    outputDir: OUTPUT_DIR,
    fileName: spec.fileName,
    ...packagerVariables(packager, spec, 'app'),
    provides: spec.provides,
    conflicts: spec.conflicts,
    replaces: spec.replaces,
    recommends: spec.recommends,
    suggests: spec.suggests,
    enhances: spec.enhances,
    preDepends: spec.preDepends,
    epoch: spec.epoch ?? '',
    // ndist's generated %changelog body, % already doubled (src/package/changelog.ts).
    rpmChangelog: spec.changelog ? rpmChangelog(spec, spec.changelog, inputs.sourceDateEpoch) : '',
    packageCommand: packager.command(spec, 'app', options.fpmArgs ?? []),
  };
}

/**
 * The template variables of the app's package manager: with npm, `managerCli` is empty and the
 * script runs npm ci as before; otherwise the manager's CLI (a read-only volume), its frozen
 * installs and its environment (cache, registry, CA, Berry's settings).
 */
function managerVariables(inputs: ResolvedInputs, npmDir: string): Record<string, unknown> {
  const { manager, managerCli } = inputs;
  const kind = managerCli && manager ? manager.kind : 'npm';
  const commands = kind === 'npm' ? undefined : managerCommands(kind);
  return {
    manager: kind,
    managerVersion: managerCli?.version ?? inputs.npm.version,
    managerFrom: manager?.from ?? 'the default',
    managerCommand: commands?.command ?? 'npm',
    managerCli: managerCli ? `${MANAGER_IN_MACHINE}/${managerCli.root}/${commands!.cli}` : '',
    managerInstallAll: commands?.installAll ?? [],
    managerInstallProduction: commands?.installProduction ?? [],
    managerIsPnpm: kind === 'pnpm',
    managerIsYarn: kind === 'yarn',
    managerIsBerry: kind === 'berry',
    managerCacheDir: kind === 'npm' ? NPM_CACHE_DIR : MANAGER_CACHE_DIRS[kind],
    // Berry reads no npm config: the host's registry unless the project's .yarnrc.yml names one.
    berryRegistry: kind === 'berry' && !berryRegistryInProject(inputs.sourceDir) ? inputs.registry : '',
    // node-gyp for Yarn, whose own lookup would download it: npm's, which honours npm_config_nodedir.
    nodeGypCli: `${npmDir}/node_modules/node-gyp/bin/node-gyp.js`,
  };
}

/** The machine's spec template rendered with `variables`, for a packager that reads a spec. */
function renderSpec(machine: Machine, packager: Packager, variables: Record<string, unknown>): string | undefined {
  if (!packager.rendersSpec) return undefined;
  const template = machine.specTemplate;
  if (!template) throw new ConfigError(`machine ${machine.id}`, `has no specTemplate, which ${packager.name} reads`);
  return renderScript(readFileSync(template, 'utf8'), variables, template, specValue);
}

/**
 * Everything a build streams into its machine but the runtime and npm archives: the script, the
 * source, the files ndist stages, the scripts run inside, npm's config, the packager's own files.
 * `ndist shell` streams the same, so `bash /ndist/build.sh` there runs the build.
 */
function machineInputs(spec: PackageSpec, inputs: ResolvedInputs, script: string, specText: string | undefined): InputEntry[] {
  const { packager } = inputs;
  return [
    { kind: 'directory', name: 'ndist' },
    machineFile(SCRIPT_IN_MACHINE, script, 0o755),
    { kind: 'tree', name: 'ndist/src', hostPath: inputs.sourceDir, exclude: SOURCE_EXCLUDES },
    ...packageTree(spec, packager, spec.workspace ? path.join(inputs.sourceDir, spec.workspace.path) : inputs.sourceDir, inputs.sourceDateEpoch),
    ...(inputs.caBundle ? [{ kind: 'file', name: CA_IN_MACHINE.slice(1), hostPath: inputs.caBundle, mode: 0o644 } as InputEntry] : []),
    { kind: 'file', name: HEALTH_CHECK_IN_MACHINE.slice(1), hostPath: HEALTH_CHECK_SCRIPT, mode: 0o644 },
    { kind: 'file', name: LICENSES_IN_MACHINE.slice(1), hostPath: LICENSES_SCRIPT, mode: 0o644 },
    { kind: 'file', name: STAGE_APP_IN_MACHINE.slice(1), hostPath: STAGE_APP_SCRIPT, mode: 0o644 },
    ...(spec.workspace
      ? [
          { kind: 'file', name: WORKSPACE_DEPLOY_IN_MACHINE.slice(1), hostPath: WORKSPACE_DEPLOY_SCRIPT, mode: 0o644 } as InputEntry,
          machineFile(WORKSPACE_PLAN_IN_MACHINE, `${JSON.stringify({ path: spec.workspace.path, placements: spec.workspace.placements }, null, 1)}\n`, 0o644),
          ...(spec.workspace.manifest === undefined ? [] : [machineFile(WORKSPACE_MANIFEST_IN_MACHINE, spec.workspace.manifest, 0o644)]),
        ]
      : []),
    machineFile(NPMRC_IN_MACHINE, npmUserConfig(inputs.registry, inputs.npmToken), 0o600),
    ...packager.machineFiles(spec, 'app', specText),
  ];
}

/** The files and symlinks ndist adds to the package's staging tree, each path once. */
function packageTree(spec: PackageSpec, packager: Packager, sourceDir: string, sourceDateEpoch: number): InputEntry[] {
  const files = [...stagedFiles(spec, packager), ...manPageFiles(spec, sourceDir), ...formatOf(spec.format).changelogFiles(spec, sourceDateEpoch)];
  checkStagedPaths(files, spec.contents.symlinks);
  return [...files.map((file) => machineFile(`${STAGING_DIR}/${file.path}`, file.content, file.mode)), ...stagedSymlinks(spec)];
}

/** The runtime package of a shared-runtime build: its spec, key, script and (for rpmbuild) spec. */
function planRuntimePackage(options: BuildOptions, machine: Machine, app: PackageSpec, inputs: ResolvedInputs & { imageId: string }, appVariables: Record<string, unknown>): RuntimePackagePlan {
  const { runtime, packager, imageId } = inputs;
  const spec = runtimePackageSpec(app, runtime);
  const mode = options.healthCheck ?? 'error';
  const healthCheck = mode === 'off' ? undefined : { script: HEALTH_CHECK_IN_MACHINE, machine: options.buildMachine, mode };
  const script = runtimePackageScript(spec, packager, `${RUNTIME_IN_MACHINE}/${runtime.root}`, healthCheck);
  // The machine's spec template, describing the runtime package instead of the app.
  const specText = renderSpec(machine, packager, runtimeSpecVariables(appVariables, spec, packager));
  return {
    spec,
    key: runtimePackageKey({ spec, runtime, machine, imageId, packager }),
    inputs: [machineFile(RUNTIME_PACKAGE_SCRIPT, script, 0o755), ...packager.machineFiles(spec, 'runtime', specText)],
    run: ['bash', RUNTIME_PACKAGE_SCRIPT],
  };
}

/**
 * The runtime and npm archives and where the build finds them extracted: the read-only runtime
 * volumes are mounted there (see cache/runtime-volume.ts), so the container must exist after this is known.
 */
export function runtimeArchives(runtime: RuntimeArchive, npm: RuntimeArchive, managerCli?: RuntimeArchive): { archive: RuntimeArchive; dir: string }[] {
  return [{ archive: runtime, dir: RUNTIME_IN_MACHINE }, { archive: npm, dir: NPM_IN_MACHINE }, ...(managerCli ? [{ archive: managerCli, dir: MANAGER_IN_MACHINE }] : [])];
}

/** The plan of one build: pure but for reading the machine's templates. */
export function planBuild(options: BuildOptions, machine: Machine, spec: PackageSpec, inputs: ResolvedInputs): BuildPlan {
  const { packager } = inputs;
  if (!packager.formats.includes(spec.format)) throw new ConfigError('packager', `${packager.name} does not write .${spec.format} packages (machine ${machine.id})`);
  const variables = templateVariables(options, machine, spec, inputs);
  const script = renderScript(readFileSync(machine.script, 'utf8'), variables, machine.script);
  const specText = renderSpec(machine, packager, variables);
  const { imageId } = inputs;
  return {
    spec,
    packager,
    sourceDateEpoch: inputs.sourceDateEpoch,
    runtimeDir: variables.runtimeDir as string,
    variables,
    script,
    ...(specText === undefined ? {} : { specText }),
    packageCommand: variables.packageCommand as string[],
    inputs: machineInputs(spec, inputs, script, specText),
    archives: runtimeArchives(inputs.runtime, inputs.npm, inputs.managerCli),
    run: ['bash', SCRIPT_IN_MACHINE],
    outputs: { artifact: spec.fileName, sbom: sbomFileName(spec) },
    ...(inputs.dependencyKey ? { dependencyKey: inputs.dependencyKey } : {}),
    ...(spec.sharedRuntime && imageId !== undefined ? { runtimePackage: planRuntimePackage(options, machine, spec, { ...inputs, imageId }, variables) } : {}),
  };
}

/**
 * The parts of the no-op key: every input of the build but the machine image's id, which is added
 * once the image exists (a first build that creates the image must be up to date on the next run),
 * and the packager, found only in the machine. `code` is the hash of ndist's code, `source` the
 * source's commit or tree hash.
 */
export function upToDateParts(
  options: BuildOptions,
  machine: Machine,
  spec: PackageSpec,
  inputs: Pick<ResolvedInputs, 'sourceDateEpoch' | 'runtime' | 'npm' | 'registry' | 'managerCli'>,
  fingerprints: { code: string; source: string; signingKey?: string },
): Record<string, string | { file: string }> {
  const { runtime, npm } = inputs;
  return {
    ndist: { file: path.join(PACKAGE_ROOT, 'package.json') },
    ndistCode: fingerprints.code,
    options: JSON.stringify(options),
    spec: JSON.stringify(spec),
    source: fingerprints.source,
    sourceDateEpoch: String(inputs.sourceDateEpoch),
    runtime: `${runtime.version} ${runtime.checksum} ${runtime.root}`,
    npm: `${npm.version} ${npm.checksum} ${npm.root}`,
    ...(inputs.managerCli ? { manager: `${inputs.managerCli.kind} ${inputs.managerCli.version} ${inputs.managerCli.checksum}` } : {}),
    registry: inputs.registry,
    // The template as rendered: with the shared parts it includes.
    script: includeParts(readFileSync(machine.script, 'utf8'), machine.script),
    specTemplate: machine.specTemplate ? { file: machine.specTemplate } : '',
    healthCheck: { file: HEALTH_CHECK_SCRIPT },
    licenses: { file: LICENSES_SCRIPT },
    stageApp: { file: STAGE_APP_SCRIPT },
    workspaceDeploy: { file: WORKSPACE_DEPLOY_SCRIPT },
    signingKey: fingerprints.signingKey ?? '',
  };
}
