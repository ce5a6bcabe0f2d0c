/**
 * The public entry point: a Builder collects builds, runs them (build-run.ts: in parallel, each in
 * its own build machine), then signs and checksums what they produced, and reports it.
 */
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sha256File, updateChecksums } from './checksums.ts';
import { DockerEngine } from '../machine/docker/engine.ts';
import type { EngineConnection } from '../machine/docker/connection.ts';
import { EnginePool, engineTargets } from './engine-pool.ts';
import type { Engine } from '../machine/engine.ts';
import { BuildsFailedError, ConfigError, errorMessage } from '../errors.ts';
import { findMachine, loadMachines } from '../machine/catalogue.ts';
import { BuildRun, type RunPlan } from './build-run.ts';
import { resolveCaBundle } from './resolve.ts';
import { chooseProgress } from '../progress/reporter.ts';
import { appendStepSummary, buildReport, markdownSummary, summaryTable, writeReport, type BuildRecord } from './report.ts';
import { runSettings, selectNames, type RunSettings } from '../options/run-settings.ts';
import { defaultCacheDir } from './runtime.ts';
import { openSigner, type Signer } from '../package/signing.ts';
import { writeDebChanges } from '../package/changes.ts';
import type { BuildOptions, BuilderOptions, BuildResult } from '../options/types.ts';
import { writeUpToDate } from '../cache/up-to-date.ts';
import { validateBuild, validateEngines } from '../options/validate.ts';
import { ndistVersion } from '../util/ndist-version.ts';

function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(field, `is ${value}; it must be a whole number of at least 1`);
  return value;
}

export class Builder {
  private readonly builds: BuildOptions[] = [];

  /**
   * `connectEngine` connects each container engine the builds run on (options.engines, else the
   * default engine): Docker, connected when a run starts. Unit tests give in-memory engines
   * instead; it is not an option of the public API.
   */
  constructor(
    private readonly options: BuilderOptions = {},
    private readonly connectEngine: (connection: EngineConnection) => Promise<Engine> = DockerEngine.connect,
  ) {
    validateEngines(options.engines);
  }

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
    const plan = this.plan(settings, selected);
    const targets = engineTargets(this.options.engines);
    const engines = await EnginePool.open(targets, this.connectEngine, this.options.engines === undefined);
    for (const engine of engines.unreachable) {
      this.note(plan, 'ndist', `WARNING: engine "${engine.name}" at ${engine.address} does not answer (${engine.reason}): its builds go to the other engines`);
    }
    // With engines configured, their slots bound the run unless a concurrency is given.
    if (this.options.engines && settings.concurrency === undefined && this.options.concurrency === undefined) plan.concurrency = engines.slots;
    const startedAt = new Date();
    // The key is checked before any container starts.
    const signer = this.options.sign ? await openSigner(this.options.sign === true ? {} : this.options.sign) : undefined;
    const run = new BuildRun(plan, this.options, engines, signer?.fingerprint);
    let records: BuildRecord[] | undefined;
    try {
      records = await run.runAll();
      // Interrupted: the signal handler exits once everything is removed; nothing more is written.
      if (!records) return new Promise<never>(() => {});
      await signAndChecksum(signer, records, plan.outDir, (build, text) => this.note(plan, build, text));
      // Recorded once signed: the record holds the files as they are left in outDir.
      await recordUpToDate(plan.cacheDir, records);
    } finally {
      await signer?.close();
    }

    const results = records.map((record) => record.result);
    const report = buildReport(records, { outDir: plan.outDir, startedAt, concurrency: plan.concurrency, failFast: plan.failFast, only: settings.only, version: ndistVersion() });
    const reportFile = await writeReport(plan.outDir, report);
    const tails = new Map(results.filter((result) => result.status === 'failed').map((result) => [result.name, run.tail(result.name)]));
    if (plan.progress !== 'silent') printSummary(results, plan.outDir, tails, reportFile);
    if (process.env.GITHUB_STEP_SUMMARY) appendStepSummary(process.env.GITHUB_STEP_SUMMARY, markdownSummary(results, plan.outDir, tails));
    if (results.some((result) => !result.ok)) throw new BuildsFailedError(results);
    return results;
  }

  /** The run's plan. Every machine id and the concurrency are checked here, before any container starts. */
  private plan(settings: RunSettings, builds: BuildOptions[]): RunPlan {
    const machines = loadMachines(this.options.machinesDir ?? process.cwd());
    return {
      builds,
      targets: new Map(builds.map((build) => [build, findMachine(machines, build.buildMachine, `build "${build.name}": buildMachine`)])),
      concurrency: positiveInteger(settings.concurrency ?? this.options.concurrency ?? os.availableParallelism(), settings.concurrency ? '--concurrency' : 'concurrency'),
      failFast: settings.failFast ?? this.options.failFast ?? false,
      force: settings.force ?? this.options.force ?? false,
      outDir: path.resolve(this.options.outDir ?? 'dist'),
      cacheDir: this.options.cacheDir ?? defaultCacheDir(),
      caBundle: resolveCaBundle(this.options.caBundle),
      progress: chooseProgress(progressWanted(this.options, settings)),
    };
  }

  /** A line of the run's own (not a build's): to the `log` callback, and to stdout unless silent. */
  private note(plan: RunPlan, build: string, text: string): void {
    this.options.log?.(build, text);
    if (plan.progress !== 'silent') process.stdout.write(`${text}\n`);
  }
}

/** Sign the packages when signing, then update SHA256SUMS with every file the run wrote, and sign it too. */
async function signAndChecksum(signer: Signer | undefined, records: BuildRecord[], outDir: string, note: (build: string, text: string) => void): Promise<void> {
  const results = records.map((record) => record.result);
  if (signer) await signArtifacts(signer, results, outDir, note);
  // After signing: the .changes lists the .deb's final bytes.
  for (const { options, result, pipeline } of records) {
    if (!options.changes || !result.ok || !pipeline || pipeline.spec.format !== 'deb') continue;
    const distribution = typeof options.changes === 'object' ? options.changes.distribution : undefined;
    const file = await writeDebChanges(pipeline.spec, result.artifact!, pipeline.sourceDateEpoch, signer, distribution);
    result.changes = { path: file, sha256: await sha256File(file) };
    note(result.name, `changes: ${path.relative(outDir, file)}${signer ? ` (clearsigned with key ${signer.fingerprint})` : ''}`);
  }
  const artifacts = results.flatMap((result) => [
    ...(result.artifact && result.sha256 ? [{ path: result.artifact, sha256: result.sha256 }] : []),
    ...(result.sbom ? [result.sbom] : []),
    ...(result.changes ? [result.changes] : []),
    ...(result.runtimePackage ? [result.runtimePackage] : []),
  ]);
  if (artifacts.length === 0) return;
  const checksums = await updateChecksums(outDir, artifacts);
  if (signer) note('ndist', `signed: ${await signer.signDetached(checksums)} with key ${signer.fingerprint}`);
}

/** Record each artifact built (not reused) with its inputs, so an identical later build reuses it. */
async function recordUpToDate(cacheDir: string, records: BuildRecord[]): Promise<void> {
  for (const { result, pipeline } of records) {
    if (!result.ok || !pipeline || pipeline.reused) continue;
    await writeUpToDate(cacheDir, {
      inputs: pipeline.inputs,
      artifact: { path: pipeline.artifact.path, size: result.size!, sha256: result.sha256! },
      ...(pipeline.sbom ? { sbom: pipeline.sbom } : {}),
      ...(pipeline.largestDirectories ? { largestDirectories: pipeline.largestDirectories } : {}),
      packager: pipeline.packager,
      image: pipeline.image,
      ...(pipeline.commit ? { commit: pipeline.commit } : {}),
      builtAt: new Date().toISOString(),
    });
  }
}

/** The table of results, each failure with the last lines of its log, and where the report is. */
function printSummary(results: BuildResult[], outDir: string, tails: Map<string, string[]>, reportFile: string): void {
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

/**
 * The progress display asked for: the Builder's option (silent when it has a `log` callback), but
 * `--verbose` asks for plain lines, which carry every line of container output, even on a terminal.
 */
export function progressWanted(options: BuilderOptions, settings: RunSettings): NonNullable<BuilderOptions['progress']> {
  const requested = options.progress ?? (options.log ? 'silent' : 'auto');
  return settings.verbose && requested !== 'silent' ? 'plain' : requested;
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
