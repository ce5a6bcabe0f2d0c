/**
 * The public entry point: a Builder collects builds and runs them in parallel (p-limit), each in its
 * own build machine, shows their progress, writes each build's log, and reports what each produced.
 */
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { sha256File, updateChecksums } from './checksums.ts';
import { runAllCleanups } from '../cleanup.ts';
import { connectDocker } from '../machine/docker/client.ts';
import { BuildsFailedError, ConfigError, errorMessage } from '../errors.ts';
import { findMachine, loadMachines, type Machine } from '../machine/catalogue.ts';
import { resolveCaBundle, runPipeline, type PipelineResult } from './pipeline.ts';
import { BuildLogs } from '../progress/log-file.ts';
import { PlainReporter, SilentReporter, chooseProgress, type Reporter } from '../progress/reporter.ts';
import { scriptStage, type Stage } from '../progress/stages.ts';
import { TreeReporter } from '../progress/tree.ts';
import { appendStepSummary, buildReport, markdownSummary, summaryTable, writeReport, type BuildRecord } from './report.ts';
import { runSettings, selectNames, type RunSettings } from '../options/run-settings.ts';
import { defaultCacheDir } from './runtime.ts';
import { openSigner, type Signer } from '../package/signing.ts';
import type { BuildOptions, BuilderOptions, BuildResult } from '../options/types.ts';
import { writeUpToDate } from '../cache/up-to-date.ts';
import { validateBuild } from '../options/validate.ts';
import { ndistVersion } from '../util/ndist-version.ts';

/** Lines of a failed build's log shown at the end of the run. */
const TAIL_LINES = 25;

/** Why the builds still running are stopped. */
class Cancelled extends Error {
  override name = 'Cancelled';
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(field, `is ${value}; it must be a whole number of at least 1`);
  return value;
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

  /**
   * Run every build (those `--only` selects, under the CLI). Resolves with the results when all
   * succeed; rejects with BuildsFailedError otherwise. Under `ndist list`, records the names and
   * builds nothing.
   */
  async build(): Promise<BuildResult[]> {
    if (this.builds.length === 0) throw new ConfigError('builds', 'none were added; call addBuild() first');
    const settings = runSettings();
    const names = selectNames(
      this.builds.map((build) => build.name),
      settings.only,
    );
    const selected = this.builds.filter((build) => names.includes(build.name));
    if (settings.mode === 'list') {
      settings.listed = [...(settings.listed ?? []), ...names];
      settings.collected = [...(settings.collected ?? []), { options: this.options, builds: selected }];
      return [];
    }
    const machines = loadMachines(this.options.machinesDir ?? process.cwd());
    // Every machine id is checked before any container starts.
    const targets = new Map<BuildOptions, Machine>(selected.map((build) => [build, findMachine(machines, build.buildMachine, `build "${build.name}": buildMachine`)]));
    const concurrency = positiveInteger(settings.concurrency ?? this.options.concurrency ?? os.availableParallelism(), settings.concurrency ? '--concurrency' : 'concurrency');
    const failFast = settings.failFast ?? this.options.failFast ?? false;
    const force = settings.force ?? this.options.force ?? false;
    const docker = await connectDocker();
    const outDir = path.resolve(this.options.outDir ?? 'dist');
    const cacheDir = this.options.cacheDir ?? defaultCacheDir();
    const caBundle = resolveCaBundle(this.options.caBundle);
    const progress = chooseProgress(progressWanted(this.options, settings));
    const reporter: Reporter = progress === 'tree' ? new TreeReporter() : progress === 'plain' ? new PlainReporter() : new SilentReporter();
    const logs = new BuildLogs(path.join(outDir, 'logs'));
    const startedAt = new Date();
    const limit = pLimit(concurrency);
    const cancel = new AbortController();
    const running = new Set<string>();
    /** Which build writes which file: two builds of one run must not overwrite each other. */
    const artifactOwners = new Map<string, string>();
    let interrupted = false;

    // The key is checked before any container starts.
    const signer = this.options.sign ? await openSigner(this.options.sign === true ? {} : this.options.sign) : undefined;
    const stopOnSignal = installSignalHandlers((signal) => {
      interrupted = true;
      cancel.abort(new Cancelled(`interrupted by ${signal}`));
      reporter.abort();
      for (const build of running) logs.get(build)?.write(`>> interrupted by ${signal}: removing the container and temporary files`);
      logs.closeAll();
    });

    const runOne = async (build: BuildOptions): Promise<BuildRecord> => {
      const started = Date.now();
      const log = logs.open(build.name);
      if (cancel.signal.aborted) {
        const error = cancel.signal.reason as Error;
        log.write(`>> not started: ${error.message}`);
        log.close();
        return { options: build, result: { name: build.name, ok: false, status: 'cancelled', error, durationMs: 0, log: log.file, stages: {} } };
      }
      running.add(build.name);
      reporter.started(build.name);
      const stages: Record<string, number> = {};
      let current: Stage | undefined;
      let stageStarted = started;
      const enter = (stage: Stage) => {
        const now = Date.now();
        if (current) stages[current] = (stages[current] ?? 0) + now - stageStarted;
        current = stage;
        stageStarted = now;
        log.write(`>> stage ${stage}`);
        reporter.stage(build.name, stage);
      };
      const line = (text: string) => {
        // The build script announces its sections: `==> dependencies`, `==> package`…
        const announced = scriptStage(text);
        if (announced && announced !== current) enter(announced);
        log.write(text);
        this.options.log?.(build.name, text);
        reporter.line(build.name, text);
      };
      let pipeline: PipelineResult | undefined;
      let failure: Error | undefined;
      try {
        pipeline = await runPipeline(build, {
          docker,
          machine: targets.get(build)!,
          outDir,
          cacheDir,
          caBundle,
          runtimeSources: this.options.runtimeSources,
          force,
          signingKey: signer?.fingerprint,
          log: line,
          claimArtifact: (fileName) => {
            const owner = artifactOwners.get(fileName);
            if (owner && owner !== build.name) {
              throw new ConfigError(`build "${build.name}"`, `would write ${fileName}, as build "${owner}" does: give them different versions, iterations (e.g. '1deb12') or outDirs`);
            }
            artifactOwners.set(fileName, build.name);
          },
          stage: (stage) => {
            // Between stages, a cancelled build stops before starting anything new.
            cancel.signal.throwIfAborted();
            enter(stage);
          },
        });
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      if (current) stages[current] = (stages[current] ?? 0) + Date.now() - stageStarted;
      running.delete(build.name);
      const durationMs = Date.now() - started;
      let result: BuildResult;
      if (pipeline && !failure) {
        const { artifact, sbom } = pipeline;
        result = {
          name: build.name,
          ok: true,
          status: 'succeeded',
          artifact: artifact.path,
          size: artifact.size,
          sha256: artifact.sha256,
          ...(sbom ? { sbom: { path: sbom.path, sha256: sbom.sha256 } } : {}),
          ...(pipeline.runtimePackage ? { runtimePackage: { ...pipeline.runtimePackage } } : {}),
          ...(pipeline.reused ? { reused: true } : {}),
          durationMs,
          log: log.file,
          stages,
        };
      } else if (cancel.signal.aborted) {
        // Whatever it failed with, it was stopped: its container was removed under it.
        result = { name: build.name, ok: false, status: 'cancelled', error: cancel.signal.reason as Error, stage: current, durationMs, log: log.file, stages };
      } else {
        result = { name: build.name, ok: false, status: 'failed', error: failure, stage: current, durationMs, log: log.file, stages };
        if (failFast) {
          cancel.abort(new Cancelled(`stopped by --fail-fast: build "${build.name}" failed`));
          // Stops the other builds at once: their containers and temporary files go.
          void runAllCleanups();
        }
      }
      if (result.status !== 'succeeded') {
        log.write(`>> ${result.status === 'failed' ? 'FAILED' : 'cancelled'}${current ? ` in stage ${current}` : ''}: ${errorMessage(result.error)}`);
        const cause = (result.error as { cause?: unknown } | undefined)?.cause;
        if (cause) log.write(`>> cause: ${errorMessage(cause)}`);
      } else {
        log.write(`>> ${result.reused ? 'up to date, reused' : 'succeeded'}: ${result.artifact} (sha256 ${result.sha256})`);
      }
      log.close();
      reporter.finished(result);
      const machine = targets.get(build)!;
      return { options: build, result, pipeline, target: { format: machine.format, ...(machine.os ? { os: machine.os } : {}) } };
    };

    reporter.begin(names);
    let records: BuildRecord[];
    try {
      records = await Promise.all(selected.map((build) => limit(() => runOne(build))));
      await reporter.end();
    } finally {
      stopOnSignal();
      logs.closeAll();
      if (interrupted) await signer?.close();
    }
    // Interrupted: the signal handler exits once everything is removed; nothing more is written.
    if (interrupted) return new Promise<never>(() => {});
    const results = records.map((record) => record.result);
    const note = (build: string, text: string) => {
      this.options.log?.(build, text);
      if (progress !== 'silent') process.stdout.write(`${text}\n`);
    };
    try {
      if (signer) await signArtifacts(signer, results, outDir, note);
      const artifacts = results.flatMap((result) => [
        ...(result.artifact && result.sha256 ? [{ path: result.artifact, sha256: result.sha256 }] : []),
        ...(result.sbom ? [result.sbom] : []),
        ...(result.runtimePackage ? [result.runtimePackage] : []),
      ]);
      if (artifacts.length > 0) {
        const checksums = await updateChecksums(outDir, artifacts);
        if (signer) note('ndist', `signed: ${await signer.signDetached(checksums)} with key ${signer.fingerprint}`);
      }
      // Recorded once signed: the record holds the files as they are left in outDir.
      for (const { result, pipeline } of records) {
        if (!result.ok || !pipeline || pipeline.reused) continue;
        await writeUpToDate(cacheDir, {
          inputs: pipeline.inputs,
          artifact: { path: pipeline.artifact.path, size: result.size!, sha256: result.sha256! },
          ...(pipeline.sbom ? { sbom: pipeline.sbom } : {}),
          packager: pipeline.packager,
          image: pipeline.image,
          ...(pipeline.commit ? { commit: pipeline.commit } : {}),
          builtAt: new Date().toISOString(),
        });
      }
    } finally {
      await signer?.close();
    }

    const report = buildReport(records, { outDir, startedAt, concurrency, failFast, only: settings.only, version: ndistVersion() });
    const reportFile = await writeReport(outDir, report);
    const tails = new Map(results.filter((result) => result.status === 'failed').map((result) => [result.name, logs.get(result.name)?.tail(TAIL_LINES) ?? []]));
    if (progress !== 'silent') {
      const out: string[] = ['', summaryTable(results, outDir), ''];
      for (const result of results.filter((r) => r.status === 'failed')) {
        out.push(`${result.name} failed in stage ${result.stage ?? '?'}: ${errorMessage(result.error)}`);
        out.push(`  last lines of its log (full log: ${result.log}):`);
        for (const tailLine of tails.get(result.name) ?? []) out.push(`  | ${tailLine}`);
        out.push('');
      }
      out.push(`report: ${reportFile}`);
      process.stdout.write(`${out.join('\n')}\n`);
    }
    if (process.env.GITHUB_STEP_SUMMARY) appendStepSummary(process.env.GITHUB_STEP_SUMMARY, markdownSummary(results, outDir, tails));
    if (results.some((result) => !result.ok)) throw new BuildsFailedError(results);
    return results;
  }
}

/**
 * The progress display asked for: the Builder's option (silent when it has a `log` callback), but
 * `--verbose` asks for plain lines, which carry every line of container output, even on a terminal.
 */
export function progressWanted(options: BuilderOptions, settings: RunSettings): NonNullable<BuilderOptions['progress']> {
  const requested = options.progress ?? (options.log ? 'silent' : 'auto');
  return settings.verbose && requested !== 'silent' ? 'plain' : requested;
}

/**
 * On Ctrl-C or SIGTERM: `stop` (stop the display, close the logs), then remove every container,
 * temporary directory and partial file still there, and exit 130 or 143. Nothing partial is
 * written: no report, no artifact. A second signal exits at once.
 */
function installSignalHandlers(stop: (signal: NodeJS.Signals) => void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (stopping) process.exit(code);
    stopping = true;
    try {
      stop(signal);
    } finally {
      process.stderr.write(`\nndist: ${signal} received, removing containers and temporary files… (again to exit at once)\n`);
      void runAllCleanups().finally(() => process.exit(code));
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Sign each package in place (debsigs / rpmsign), updating its recorded sha256 and size. */
async function signArtifacts(signer: Signer, results: BuildResult[], outDir: string, note: (build: string, line: string) => void): Promise<void> {
  // A reused artifact was signed by the run that built it, with the same key (part of its inputs).
  for (const result of results.filter((candidate) => candidate.ok && candidate.artifact && !candidate.reused)) {
    await signer.signPackage(result.artifact!);
    result.sha256 = await sha256File(result.artifact!);
    result.size = (await stat(result.artifact!)).size;
    note(result.name, `signed: ${path.relative(outDir, result.artifact!)} with key ${signer.fingerprint}`);
  }
  // Runtime packages are copied from the (unsigned) cache on every run, so each run signs its copy,
  // once however many builds share it.
  const runtimePackages = new Map<string, NonNullable<BuildResult['runtimePackage']>[]>();
  for (const result of results) {
    if (result.ok && result.runtimePackage) runtimePackages.set(result.runtimePackage.path, [...(runtimePackages.get(result.runtimePackage.path) ?? []), result.runtimePackage]);
  }
  for (const [file, shared] of runtimePackages) {
    await signer.signPackage(file);
    const signed = { sha256: await sha256File(file), size: (await stat(file)).size };
    for (const runtimePackage of shared) Object.assign(runtimePackage, signed);
    note('ndist', `signed: ${path.relative(outDir, file)} with key ${signer.fingerprint}`);
  }
}
