/**
 * A build's inputs resolved on the host before its plan is made: the Node runtime and npm CLI
 * (checksum-verified, from the cache), the npm registry, the CA bundle, SOURCE_DATE_EPOCH.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { PackageSpec } from '../package/spec.ts';
import type { BuildOptions } from '../options/types.ts';
import type { PackageManagerSpec } from '../package/package-manager.ts';
import { fetchNodeRuntime, fetchNpmCli, fetchPackageManager, type RuntimeArchive, type RuntimeSource } from './runtime.ts';

import { DEFAULT_NPM_VERSION } from '../package/package-manager.ts';

export { DEFAULT_NPM_VERSION };
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

/** The build option, else the SOURCE_DATE_EPOCH convention of the environment, else the source's own time. */
export function sourceDateEpoch(options: BuildOptions, sourceEpoch: number, env: NodeJS.ProcessEnv = process.env): number {
  if (options.sourceDateEpoch !== undefined) return options.sourceDateEpoch;
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv)) return Number(fromEnv);
  return sourceEpoch;
}

export interface HostInputs {
  runtime: RuntimeArchive;
  /** npm, in every machine (it stages the app and writes the SBOM whatever installs it). */
  npm: RuntimeArchive;
  /** The app's package manager, as detected on the host. */
  manager: PackageManagerSpec;
  /** Its CLI when it is not npm: pnpm, Yarn classic or Yarn Berry. */
  managerCli?: RuntimeArchive;
  registry: string;
  /** The CA bundle's host path, when build machines get one and it is there. */
  caBundle?: string;
}

/**
 * The runtime, npm, the app's package manager and the registry of a build, fetched at once:
 * verifying cached archives and starting npm take most of a no-op build's time.
 */
export async function resolveHostInputs(
  options: BuildOptions,
  spec: PackageSpec,
  sourceDir: string,
  manager: PackageManagerSpec,
  settings: { cacheDir: string; runtimeSources?: RuntimeSource[]; caBundle?: string; log: (line: string) => void },
): Promise<HostInputs> {
  const fetchOptions = { cacheDir: settings.cacheDir, sources: settings.runtimeSources, log: settings.log };
  settings.log(`package manager: ${manager.kind} ${manager.version} (from ${manager.from}), lockfile ${manager.lockfile}`);
  const [runtime, npm, managerCli, registry] = await Promise.all([
    fetchNodeRuntime(options.node, spec.nodeArch, fetchOptions),
    // npm as the manager: packageManager's version and hash; else the npm option's.
    manager.kind === 'npm' ? fetchPackageManager(manager, fetchOptions) : fetchNpmCli(options.npm ?? DEFAULT_NPM_VERSION, fetchOptions),
    manager.kind === 'npm' ? undefined : fetchPackageManager(manager, fetchOptions),
    npmRegistry(sourceDir),
  ]);
  const caBundle = settings.caBundle !== undefined && existsSync(settings.caBundle) ? settings.caBundle : undefined;
  return { runtime, npm, manager, ...(managerCli ? { managerCli } : {}), registry, ...(caBundle ? { caBundle } : {}) };
}
