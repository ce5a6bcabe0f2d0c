/**
 * The engines of a run, and which one runs each build: one that runs the build's architecture
 * natively when any does, else any (the build then runs under QEMU emulation); among those, the
 * one with the most free slots, each engine running at most its concurrency at once (p-limit per
 * engine). An engine that does not answer at the start is left out, named; one that stops
 * answering during a build fails that build, named, and gets no more builds.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { BuildError, errorMessage } from '../errors.ts';
import { defaultConnection, engineConnection, type EngineConnection } from '../machine/docker/connection.ts';
import type { Engine } from '../machine/engine.ts';
import type { Arch, EngineOptions } from '../options/types.ts';

/** An engine to connect: where it is, and what its configuration says of it (nothing for the default engine). */
export interface EngineTarget {
  connection: EngineConnection;
  options?: EngineOptions;
}

/** The engines to connect: those configured (their contexts read now, before any container), else the default one. */
export function engineTargets(engines: EngineOptions[] | undefined): EngineTarget[] {
  if (!engines) return [{ connection: defaultConnection() }];
  return engines.map((options, index) => ({ connection: engineConnection(options, `engines[${index}]`), options }));
}

/** The log line naming the engine a build of `arch` goes to, and whether it is emulated there. */
export function placementLine(member: Pick<PooledEngine, 'name' | 'address'>, arch: Arch, emulated: boolean): string {
  const why = emulated ? `${arch} emulated with QEMU: no engine that answers runs ${arch} natively` : `${arch} native`;
  return `engine: ${member.name} at ${member.address}, ${why}`;
}

export interface PooledEngine {
  name: string;
  address: string;
  engine: Engine;
  /** Architectures it runs natively. */
  native: readonly Arch[];
  /** Builds it runs at once. */
  slots: number;
  /** Builds routed to it and not finished: running, or waiting for one of its slots. */
  assigned: number;
  limit: LimitFunction;
  /** Why it was taken out of the run, once it stopped answering. */
  down?: string;
}

/** Which engine a build ran on. */
export interface Placement {
  name: string;
  emulated: boolean;
}

/** An engine that did not answer when the run started. */
export interface Unreachable {
  name: string;
  address: string;
  reason: string;
}

export class EnginePool {
  private constructor(
    readonly members: PooledEngine[],
    readonly unreachable: Unreachable[],
  ) {}

  /**
   * Connect every engine at once. Those that do not answer are left out (see `unreachable`); when
   * none answers, the run cannot start: rejects naming each. With one engine and no configured
   * `engines`, the engine's concurrency is the run's alone (`single`).
   */
  static async open(targets: EngineTarget[], connect: (connection: EngineConnection) => Promise<Engine>, single = false): Promise<EnginePool> {
    const outcomes = await Promise.all(
      targets.map(async ({ connection, options }) => {
        try {
          const engine = await connect(connection);
          const info = await engine.info();
          const native = options?.arch ?? (info.arch ? [info.arch] : []);
          const slots = options?.concurrency ?? (single ? Infinity : Math.max(1, info.cpus));
          return { member: { name: connection.name, address: connection.address, engine, native, slots, assigned: 0, limit: pLimit(slots) } satisfies PooledEngine };
        } catch (error) {
          if (single) throw error;
          return { unreachable: { name: connection.name, address: connection.address, reason: errorMessage(error) } };
        }
      }),
    );
    const members = outcomes.flatMap((outcome) => (outcome.member ? [outcome.member] : []));
    const unreachable = outcomes.flatMap((outcome) => (outcome.unreachable ? [outcome.unreachable] : []));
    if (members.length === 0) {
      throw new BuildError(`no engine answers: ${unreachable.map((engine) => `engine "${engine.name}" at ${engine.address} (${engine.reason})`).join('; ')}`, { stage: 'docker' });
    }
    return new EnginePool(members, unreachable);
  }

  /** Builds the engines run at once, together. */
  get slots(): number {
    return this.members.reduce((sum, member) => sum + member.slots, 0);
  }

  /**
   * The engine for a build of `arch`: among those still answering, the ones native for it, else
   * all of them (emulated); of those, the one with the most free slots (all busy: the shortest queue
   * for its slots), the first listed on a tie.
   */
  choose(arch: Arch): { member: PooledEngine; emulated: boolean } {
    const up = this.members.filter((member) => !member.down);
    if (up.length === 0) {
      throw new BuildError(`no engine is left to run it: ${this.members.map((member) => `engine "${member.name}" ${member.down}`).join('; ')}`, { stage: 'docker' });
    }
    const native = up.filter((member) => member.native.includes(arch));
    const candidates = native.length > 0 ? native : up;
    const free = (member: PooledEngine) => member.slots - member.assigned;
    // With a slot free somewhere: the most free slots. All busy: the shortest wait, its queue over its slots.
    const better = candidates.some((member) => free(member) > 0)
      ? (candidate: PooledEngine, best: PooledEngine) => free(candidate) > free(best)
      : (candidate: PooledEngine, best: PooledEngine) => (candidate.assigned + 1) / candidate.slots < (best.assigned + 1) / best.slots;
    const member = candidates.reduce((best, candidate) => (better(candidate, best) ? candidate : best));
    return { member, emulated: native.length === 0 };
  }

  /**
   * Run `task` on the engine chosen for `arch`, once one of its slots is free. `log` says which engine
   * it is and whether the build is emulated there. A task failing on an engine that then does not
   * answer fails naming the engine, which gets no more builds.
   */
  async run<T>(arch: Arch, log: (line: string) => void, task: (engine: Engine, placement: Placement) => Promise<T>): Promise<T> {
    const { member, emulated } = this.choose(arch);
    member.assigned++;
    let outcome: { value: T } | undefined;
    try {
      outcome = await member.limit(async () => {
        // Went down while this build waited for a slot: it goes elsewhere.
        if (member.down) return undefined;
        log(placementLine(member, arch, emulated));
        try {
          return { value: await task(member.engine, { name: member.name, emulated }) };
        } catch (error) {
          throw await this.blame(member, error);
        }
      });
    } finally {
      member.assigned--;
    }
    return outcome ? outcome.value : this.run(arch, log, task);
  }

  /** A build's error, naming the engine when the engine no longer answers (and taking the engine out of the run). */
  private async blame(member: PooledEngine, error: unknown): Promise<unknown> {
    if (!member.down) {
      try {
        await member.engine.info();
        return error;
      } catch (pingError) {
        member.down = `at ${member.address} stopped answering (${errorMessage(pingError)})`;
      }
    }
    const stage = (error as { details?: { stage?: string } }).details?.stage;
    return new BuildError(`engine "${member.name}" ${member.down}: ${errorMessage(error)}`, { ...(stage ? { stage } : {}), cause: error });
  }
}
