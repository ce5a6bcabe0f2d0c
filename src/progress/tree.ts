/**
 * The live task tree shown on a terminal (listr2): one task per build with its stages as subtasks,
 * the elapsed time in the build's title and the latest line of output under the running stage.
 */
import { Listr, PRESET_TIMER, type ListrDefaultRenderer, type ListrSimpleRenderer, type ListrTaskWrapper } from 'listr2';
import type { BuildResult } from '../options/types.ts';
import { formatDuration, plainText, type Reporter } from './reporter.ts';
import { STAGES, STAGE_TITLES, type Stage } from './stages.ts';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting yet (a stage that never started): an unhandled rejection would crash.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

// The task wrapper of the default (terminal) renderer; only its title and output are used.
type Task = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

interface BuildState {
  started?: number;
  current?: Stage;
  lastLine?: string;
  /** Ends when the stage is over: resolved when a later one starts, rejected when the build fails in it. */
  stages: Map<Stage, Deferred>;
  tasks: Map<Stage, Task>;
  buildTask?: Task;
  /** Resolved when the build leaves the queue; rejected when it is cancelled before it starts. */
  gate: Deferred;
}

export class TreeReporter implements Reporter {
  private readonly builds = new Map<string, BuildState>();
  private listr: Listr<unknown, 'default', ListrSimpleRenderer> | undefined;
  private running: Promise<unknown> | undefined;
  private ticker: NodeJS.Timeout | undefined;

  begin(builds: string[]): void {
    for (const build of builds) this.builds.set(build, { stages: new Map(STAGES.map((stage) => [stage, deferred()])), tasks: new Map(), gate: deferred() });
    const listr = new Listr<unknown, 'default', ListrSimpleRenderer>(
      builds.map((build) => ({
        title: `${build} (queued)`,
        task: async (_ctx: unknown, task: Task) => {
          const state = this.builds.get(build)!;
          state.buildTask = task;
          await state.gate.promise;
          return task.newListr(
            STAGES.map((stage) => ({
              title: STAGE_TITLES[stage],
              task: async (_ctx: unknown, stageTask: Task) => {
                state.tasks.set(stage, stageTask);
                if (state.current === stage && state.lastLine) stageTask.output = state.lastLine;
                await state.stages.get(stage)!.promise;
              },
            })),
            { concurrent: false, exitOnError: true, rendererOptions: { collapseSubtasks: true } },
          );
        },
        rendererOptions: { outputBar: 1 },
      })),
      {
        concurrent: true,
        exitOnError: false,
        registerSignalListeners: false,
        renderer: 'default',
        rendererOptions: { collapseSubtasks: false, collapseErrors: false, showErrorMessage: true, timer: PRESET_TIMER },
      },
    );
    this.listr = listr;
    this.running = listr.run().catch(() => {});
    // The elapsed time of each running build, in its title.
    this.ticker = setInterval(() => {
      for (const [build, state] of this.builds) this.retitle(build, state);
    }, 1000);
    this.ticker.unref();
  }

  private retitle(build: string, state: BuildState): void {
    if (!state.buildTask || state.started === undefined) return;
    state.buildTask.title = `${build} [${formatDuration(Date.now() - state.started)}]${state.current ? ` ${state.current}` : ''}`;
  }

  started(build: string): void {
    const state = this.builds.get(build);
    if (!state) return;
    state.started = Date.now();
    state.gate.resolve();
    this.retitle(build, state);
  }

  stage(build: string, stage: Stage): void {
    const state = this.builds.get(build);
    if (!state) return;
    // Every stage before this one is over, including those the build did not go through.
    for (const earlier of STAGES.slice(0, STAGES.indexOf(stage))) state.stages.get(earlier)!.resolve();
    state.current = stage;
    state.lastLine = undefined;
    this.retitle(build, state);
  }

  line(build: string, line: string): void {
    const state = this.builds.get(build);
    if (!state || !line.trim()) return;
    state.lastLine = plainText(line);
    const task = state.current && state.tasks.get(state.current);
    if (task) task.output = state.lastLine;
  }

  finished(result: BuildResult): void {
    const state = this.builds.get(result.name);
    if (!state) return;
    if (state.buildTask) {
      const outcome = result.status === 'succeeded' ? `${result.artifact}` : result.status;
      state.buildTask.title = `${result.name}: ${outcome} (${formatDuration(result.durationMs)})`;
    }
    if (result.status === 'succeeded') {
      for (const stage of state.stages.values()) stage.resolve();
    } else {
      const failedIn = state.current ?? 'source';
      for (const stage of STAGES.slice(0, STAGES.indexOf(failedIn))) state.stages.get(stage)!.resolve();
      const error = new Error(result.status === 'cancelled' ? `cancelled: ${result.error?.message ?? ''}` : (result.error?.message ?? 'failed'));
      state.stages.get(failedIn)!.reject(error);
      // A build cancelled before it started: its stages are never shown.
      state.gate.reject(error);
    }
  }

  async end(): Promise<void> {
    clearInterval(this.ticker);
    await this.running;
  }

  abort(): void {
    clearInterval(this.ticker);
    // Fail what is still running, so the renderer draws its last frame and restores the cursor.
    for (const state of this.builds.values()) {
      state.gate.reject(new Error('interrupted'));
      for (const stage of state.stages.values()) stage.reject(new Error('interrupted'));
    }
  }
}
