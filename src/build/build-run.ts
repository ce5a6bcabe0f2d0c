/**
 * One run of builds, up to `concurrency` at once, each in its own build machine on the engine:
 * its log, its progress and its stages, its outcome. A run is cancelled between stages by
 * --fail-fast or a signal; two builds of a run may not write one file.
 */
import path from 'node:path';
import pLimit from 'p-limit';
import { removeAllOnSignal, runAllCleanups } from '../cleanup.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import type { Machine } from '../machine/catalogue.ts';
import type { EnginePool, Placement } from './engine-pool.ts';
import type { BuildOptions, BuilderOptions, BuildResult } from '../options/types.ts';
import { BuildLogs, type BuildLog } from '../progress/log-file.ts';
import { PlainReporter, SilentReporter, type Reporter } from '../progress/reporter.ts';
import { scriptStage, type Stage } from '../progress/stages.ts';
import { TreeReporter } from '../progress/tree.ts';
import { runPipeline, type PipelineContext, type PipelineResult } from './pipeline.ts';
import type { BuildRecord } from './report.ts';

/** Lines of a failed build's log shown at the end of the run. */
const TAIL_LINES = 25;

/** Why the builds still running are stopped. */
class Cancelled extends Error {
  override name = 'Cancelled';
}

/** What a run does, decided before anything starts: the builds, their machines and the run's settings. */
export interface RunPlan {
  builds: BuildOptions[];
  targets: Map<BuildOptions, Machine>;
  concurrency: number;
  failFast: boolean;
  force: boolean;
  outDir: string;
  cacheDir: string;
  caBundle?: string;
  progress: 'tree' | 'plain' | 'silent';
}

/** Which stage a build is in, and the milliseconds it spent in each. */
class StageClock {
  current: Stage | undefined;
  readonly stages: Record<string, number> = {};
  private since = Date.now();

  constructor(private readonly entered: (stage: Stage) => void) {}

  enter(stage: Stage): void {
    this.stop();
    this.current = stage;
    this.since = Date.now();
    this.entered(stage);
  }

  /** Add the time since the current stage started to it. */
  stop(): void {
    if (this.current) this.stages[this.current] = (this.stages[this.current] ?? 0) + Date.now() - this.since;
  }
}

/**
 * The builds of one run, up to `concurrency` at once: each with its log, its progress and its
 * stages, stopped between stages when the run is cancelled (--fail-fast, Ctrl-C).
 */
export class BuildRun {
  private readonly reporter: Reporter;
  private readonly logs: BuildLogs;
  private readonly cancel = new AbortController();
  /** Builds between start and end, whose logs note an interrupt. */
  private readonly running = new Set<string>();
  /** Which build writes which file: two builds of one run must not overwrite each other. */
  private readonly artifactOwners = new Map<string, string>();

  constructor(
    private readonly plan: RunPlan,
    private readonly options: BuilderOptions,
    private readonly engines: EnginePool,
    private readonly signingKey: string | undefined,
  ) {
    this.reporter = plan.progress === 'tree' ? new TreeReporter() : plan.progress === 'plain' ? new PlainReporter() : new SilentReporter();
    this.logs = new BuildLogs(path.join(plan.outDir, 'logs'));
  }

  /** Every build's record, in the order added; undefined when a signal interrupted the run. */
  async runAll(): Promise<BuildRecord[] | undefined> {
    let interrupted = false;
    const stopOnSignal = removeAllOnSignal((signal) => {
      interrupted = true;
      this.cancel.abort(new Cancelled(`interrupted by ${signal}`));
      this.reporter.abort();
      for (const build of this.running) this.logs.get(build)?.write(`>> interrupted by ${signal}: removing the container and temporary files`);
      this.logs.closeAll();
    });
    const limit = pLimit(this.plan.concurrency);
    this.reporter.begin(this.plan.builds.map((build) => build.name));
    let records: BuildRecord[];
    try {
      records = await Promise.all(this.plan.builds.map((build) => limit(() => this.runOne(build))));
      await this.reporter.end();
    } finally {
      stopOnSignal();
      this.logs.closeAll();
    }
    return interrupted ? undefined : records;
  }

  /** The last lines of a build's log. */
  tail(build: string): string[] {
    return this.logs.get(build)?.tail(TAIL_LINES) ?? [];
  }

  private async runOne(build: BuildOptions): Promise<BuildRecord> {
    const started = Date.now();
    const log = this.logs.open(build.name);
    if (this.cancel.signal.aborted) {
      const error = this.cancel.signal.reason as Error;
      log.write(`>> not started: ${error.message}`);
      log.close();
      return { options: build, result: { name: build.name, ok: false, status: 'cancelled', error, durationMs: 0, log: log.file, stages: {} } };
    }
    this.running.add(build.name);
    this.reporter.started(build.name);
    const machine = this.plan.targets.get(build)!;
    const clock = new StageClock((stage) => {
      log.write(`>> stage ${stage}`);
      this.reporter.stage(build.name, stage);
    });
    let pipeline: PipelineResult | undefined;
    let failure: Error | undefined;
    let placement: Placement | undefined;
    const context = this.pipelineContext(build.name, machine, clock, log);
    try {
      pipeline = await this.engines.run(build.arch ?? machine.arch[0]!, context.log, (engine, where) => {
        placement = where;
        return runPipeline(build, { ...context, engine });
      });
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    clock.stop();
    this.running.delete(build.name);
    const result = this.outcome(build.name, pipeline, failure, { stage: clock.current, durationMs: Date.now() - started, log: log.file, stages: clock.stages, ...(placement ? { engine: placement } : {}) });
    logOutcome(log, result);
    log.close();
    this.reporter.finished(result);
    return { options: build, result, pipeline, target: { format: machine.format, ...(machine.os ? { os: machine.os } : {}) } };
  }

  /** The build's context but its engine, which the engine pool gives. */
  private pipelineContext(build: string, machine: Machine, clock: StageClock, log: BuildLog): Omit<PipelineContext, 'engine'> {
    return {
      machine,
      outDir: this.plan.outDir,
      cacheDir: this.plan.cacheDir,
      caBundle: this.plan.caBundle,
      runtimeSources: this.options.runtimeSources,
      force: this.plan.force,
      signingKey: this.signingKey,
      log: (text) => {
        // The build script announces its sections: `==> dependencies`, `==> package`…
        const announced = scriptStage(text);
        if (announced && announced !== clock.current) clock.enter(announced);
        log.write(text);
        this.options.log?.(build, text);
        this.reporter.line(build, text);
      },
      claimArtifact: (fileName) => {
        const owner = this.artifactOwners.get(fileName);
        if (owner && owner !== build) {
          throw new ConfigError(`build "${build}"`, `would write ${fileName}, as build "${owner}" does: give them different versions, iterations (e.g. '1deb12') or outDirs`);
        }
        this.artifactOwners.set(fileName, build);
      },
      stage: (stage) => {
        // Between stages, a cancelled build stops before starting anything new.
        this.cancel.signal.throwIfAborted();
        clock.enter(stage);
      },
    };
  }

  /** The build's result. A failure under --fail-fast stops the other builds. */
  private outcome(build: string, pipeline: PipelineResult | undefined, failure: Error | undefined, ended: Pick<BuildResult, 'stage' | 'durationMs' | 'log' | 'stages' | 'engine'>): BuildResult {
    if (pipeline) {
      const { artifact, sbom } = pipeline;
      const { stage: _stage, ...timing } = ended;
      return {
        name: build,
        ok: true,
        status: 'succeeded',
        artifact: artifact.path,
        size: artifact.size,
        sha256: artifact.sha256,
        ...(sbom ? { sbom: { path: sbom.path, sha256: sbom.sha256 } } : {}),
        ...(pipeline.runtimePackage ? { runtimePackage: { ...pipeline.runtimePackage } } : {}),
        ...(pipeline.reused ? { reused: true } : {}),
        ...(pipeline.largestDirectories ? { largestDirectories: pipeline.largestDirectories } : {}),
        ...timing,
      };
    }
    // Whatever it failed with, it was stopped: its container was removed under it.
    if (this.cancel.signal.aborted) return { name: build, ok: false, status: 'cancelled', error: this.cancel.signal.reason as Error, ...ended };
    if (this.plan.failFast) {
      this.cancel.abort(new Cancelled(`stopped by --fail-fast: build "${build}" failed`));
      // Stops the other builds at once: their containers and temporary files go.
      void runAllCleanups();
    }
    return { name: build, ok: false, status: 'failed', error: failure, ...ended };
  }
}

/** The log's last line: what became of the build. */
function logOutcome(log: BuildLog, result: BuildResult): void {
  if (result.status === 'succeeded') {
    log.write(`>> ${result.reused ? 'up to date, reused' : 'succeeded'}: ${result.artifact} (sha256 ${result.sha256})`);
    return;
  }
  log.write(`>> ${result.status === 'failed' ? 'FAILED' : 'cancelled'}${result.stage ? ` in stage ${result.stage}` : ''}: ${errorMessage(result.error)}`);
  const cause = (result.error as { cause?: unknown } | undefined)?.cause;
  if (cause) log.write(`>> cause: ${errorMessage(cause)}`);
}
