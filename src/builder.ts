/**
 * The public entry point: a Builder collects builds and runs them in parallel (p-limit), each in its
 * own build machine, and reports what each produced.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { sha256File, updateChecksums } from './checksums.ts';
import { runAllCleanups } from './cleanup.ts';
import { connectDocker } from './docker/client.ts';
import { ConfigError, errorMessage } from './errors.ts';
import { findMachine, loadMachines, type Machine } from './machines.ts';
import { runPipeline } from './pipeline.ts';
import { defaultCacheDir } from './runtime.ts';
import { openSigner, type Signer } from './signing.ts';
import type { BuildOptions, BuilderOptions, BuildResult } from './types.ts';
import { validateBuild } from './validate.ts';

const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Raised by build() when at least one build failed; `results` holds every build's outcome. */
export class BuildsFailedError extends Error {
  override name = 'BuildsFailedError';
  constructor(readonly results: BuildResult[]) {
    const failed = results.filter((result) => !result.ok);
    super(`${failed.length} of ${results.length} builds failed: ${failed.map((result) => `${result.name} (${errorMessage(result.error)})`).join('; ')}`);
  }
}

function defaultLog(build: string, line: string): void {
  process.stdout.write(`${build} | ${line}\n`);
}

export class Builder {
  private readonly builds: BuildOptions[] = [];

  constructor(private readonly options: BuilderOptions = {}) {}

  /** Add a build. Its options are checked now, so a mistake is reported before anything runs. */
  addBuild(build: BuildOptions): this {
    validateBuild(build);
    if (this.builds.some((existing) => existing.name === build.name)) {
      throw new ConfigError('name', `"${build.name}" is used by another build; build names must be unique`);
    }
    this.builds.push(build);
    return this;
  }

  /** The builds added so far, in order. */
  list(): readonly BuildOptions[] {
    return this.builds;
  }

  /** Run every build. Resolves with the results when all succeed; rejects with BuildsFailedError otherwise. */
  async build(): Promise<BuildResult[]> {
    if (this.builds.length === 0) throw new ConfigError('builds', 'none were added; call addBuild() first');
    const machines = loadMachines(this.options.machinesDir ?? process.cwd());
    // Every machine id is checked before any container starts.
    const targets = new Map<BuildOptions, Machine>(this.builds.map((build) => [build, findMachine(machines, build.buildMachine, `build "${build.name}": buildMachine`)]));
    const docker = await connectDocker();
    const outDir = path.resolve(this.options.outDir ?? 'dist');
    const cacheDir = this.options.cacheDir ?? defaultCacheDir();
    const caBundle = this.options.caBundle === false ? undefined : (this.options.caBundle ?? (existsSync(HOST_CA_BUNDLE) ? HOST_CA_BUNDLE : undefined));
    const log = this.options.log ?? defaultLog;
    const limit = pLimit(this.options.concurrency ?? os.availableParallelism());

    // The key is checked before any container starts.
    const signer = this.options.sign ? await openSigner(this.options.sign === true ? {} : this.options.sign) : undefined;
    const stopOnSignal = installSignalHandlers();
    try {
      const results = await Promise.all(
        this.builds.map((build) =>
          limit(async (): Promise<BuildResult> => {
            const started = Date.now();
            const buildLog = (line: string) => log(build.name, line);
            try {
              const { artifact, sbom } = await runPipeline(build, {
                docker,
                machine: targets.get(build)!,
                outDir,
                cacheDir,
                caBundle,
                runtimeSources: this.options.runtimeSources,
                log: buildLog,
              });
              return {
                name: build.name,
                ok: true,
                artifact: artifact.path,
                size: artifact.size,
                sha256: artifact.sha256,
                sbom: { path: sbom.path, sha256: sbom.sha256 },
                durationMs: Date.now() - started,
              };
            } catch (error) {
              buildLog(`FAILED: ${errorMessage(error)}`);
              return { name: build.name, ok: false, error: error instanceof Error ? error : new Error(String(error)), durationMs: Date.now() - started };
            }
          }),
        ),
      );
      if (signer) await this.signArtifacts(signer, results, outDir, log);
      const artifacts = results.flatMap((result) => [
        ...(result.artifact && result.sha256 ? [{ path: result.artifact, sha256: result.sha256 }] : []),
        ...(result.sbom ? [result.sbom] : []),
      ]);
      if (artifacts.length > 0) {
        const checksums = await updateChecksums(outDir, artifacts);
        if (signer) log('ndist', `signed: ${await signer.signDetached(checksums)} with key ${signer.fingerprint}`);
      }
      if (results.some((result) => !result.ok)) throw new BuildsFailedError(results);
      return results;
    } finally {
      stopOnSignal();
      await signer?.close();
    }
  }

  /** Sign each package in place (debsigs / rpmsign), updating its recorded sha256 and size. */
  private async signArtifacts(signer: Signer, results: BuildResult[], outDir: string, log: (build: string, line: string) => void): Promise<void> {
    for (const result of results.filter((candidate) => candidate.ok && candidate.artifact)) {
      await signer.signPackage(result.artifact!);
      result.sha256 = await sha256File(result.artifact!);
      result.size = (await stat(result.artifact!)).size;
      log(result.name, `signed: ${path.relative(outDir, result.artifact!)} with key ${signer.fingerprint}`);
    }
  }
}

/**
 * On Ctrl-C or SIGTERM, remove every container and temporary directory still there, then exit
 * 130 or 143. A second signal exits at once.
 */
function installSignalHandlers(): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (stopping) process.exit(code);
    stopping = true;
    process.stderr.write(`\nndist: ${signal} received, removing containers and temporary files…\n`);
    void runAllCleanups().finally(() => process.exit(code));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
