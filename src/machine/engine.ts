/**
 * What a build needs from a container engine, and nothing more: the pipeline runs on this
 * interface. `docker/engine.ts` implements it over dockerode; unit tests of the Builder use an
 * in-memory fake.
 */
import type { Readable } from 'node:stream';
import type { Arch } from '../options/types.ts';
import type { Machine } from './catalogue.ts';
import type { RuntimeVolume } from '../cache/runtime-volume.ts';

export interface ExecOptions {
  env?: Record<string, string>;
  /** Each line of output, stdout and stderr alike, as it comes. */
  onLine?: (line: string) => void;
}

/** A named volume mounted at `target` in a container. */
export interface VolumeMount {
  volume: string;
  target: string;
  /** Mounted read-only: what the build may read but never change (the runtime volumes). */
  readOnly?: boolean;
}

export interface ContainerSpec {
  image: string;
  /** Marks the container as ndist's, so a leftover can be found by label. */
  labels: Record<string, string>;
  env: Record<string, string>;
  mounts?: VolumeMount[];
}

/** A build machine's running container. It is fed and read through archives: no bind mounts. */
export interface MachineContainer {
  readonly id: string;
  /** Run `command`, stream its output line by line, and return its exit code. */
  exec(command: string[], options?: ExecOptions): Promise<number>;
  /** Extract a tar stream (plain, gzip or xz) at `path` inside the container. */
  putArchive(archive: Readable, path: string): Promise<void>;
  /** A tar stream of `path` inside the container; rejects with `statusCode` 404 when there is no such path. */
  getArchive(path: string): Promise<Readable>;
  /** Remove the container; a second call does nothing. */
  remove(): Promise<void>;
}

/** What an engine says of itself. */
export interface EngineInfo {
  /** The architecture it runs natively; undefined when it is one ndist does not build for. */
  arch: Arch | undefined;
  cpus: number;
}

export interface Engine {
  /** Its architecture and CPUs; rejects when the engine does not answer. */
  info(): Promise<EngineInfo>;
  /** The id of the image tagged `tag`, or undefined when the engine has none. */
  imageId(tag: string): Promise<string | undefined>;
  /** The machine's image for `arch`, built when missing. */
  ensureMachineImage(machine: Machine, arch: Arch, log: (line: string) => void): Promise<{ tag: string; id: string }>;
  /** Fail early when the engine cannot run `arch`; warn when it runs it emulated. */
  checkEmulation(arch: Arch, log: (line: string) => void): Promise<void>;
  /** Create the cache volumes that are missing: volume names by the cache they hold (e.g. npm, deps). */
  ensureCacheVolumes(volumes: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Start a container that stays up until removed. It is registered with src/cleanup.ts, so an
   * interrupt or --fail-fast removes it, and a command running in it then fails.
   */
  startContainer(spec: ContainerSpec): Promise<MachineContainer>;
  /**
   * Extract `volume.archive` into its volume (created when missing, labelled) in a short-lived
   * container from `image`, and mark it complete. Safe to run concurrently for the same volume.
   */
  populateRuntimeVolume(volume: RuntimeVolume, image: string, labels: Record<string, string>): Promise<void>;
}
