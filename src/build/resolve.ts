/**
 * A build's inputs resolved on the host before its plan is made: the Node runtime and npm CLI
 * (checksum-verified, from the cache), the npm registry, the CA bundle, SOURCE_DATE_EPOCH.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { PackageSpec } from '../package/spec.ts';
import type { BuildOptions } from '../options/types.ts';
import { fetchNodeRuntime, fetchNpmCli, type RuntimeArchive, type RuntimeSource } from './runtime.ts';

export const DEFAULT_NPM_VERSION = '10.9.9';
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
  npm: RuntimeArchive;
  registry: string;
  /** The CA bundle's host path, when build machines get one and it is there. */
  caBundle?: string;
}

/** The runtime, npm and registry of a build, fetched at once: verifying cached archives and starting npm take most of a no-op build's time. */
export async function resolveHostInputs(
  options: BuildOptions,
  spec: PackageSpec,
  sourceDir: string,
  settings: { cacheDir: string; runtimeSources?: RuntimeSource[]; caBundle?: string; log: (line: string) => void },
): Promise<HostInputs> {
  const fetchOptions = { cacheDir: settings.cacheDir, sources: settings.runtimeSources, log: settings.log };
  const [runtime, npm, registry] = await Promise.all([
    fetchNodeRuntime(options.node, spec.nodeArch, fetchOptions),
    fetchNpmCli(options.npm ?? DEFAULT_NPM_VERSION, fetchOptions),
    npmRegistry(sourceDir),
  ]);
  const caBundle = settings.caBundle !== undefined && existsSync(settings.caBundle) ? settings.caBundle : undefined;
  return { runtime, npm, registry, ...(caBundle ? { caBundle } : {}) };
}
