/**
 * The verified Node runtime and npm CLI, each kept extracted in a Docker volume of its own, keyed by
 * the archive's checksum: populated once per engine, then mounted read-only into every build
 * container instead of streaming (and decompressing) ~60 MB into each one. A volume through the
 * Engine API, not a bind mount, so a remote DOCKER_HOST works.
 *
 * Integrity: the archive is checksum-verified on the host before it is streamed in; the volume's
 * name is derived from that checksum; a volume counts only once its marker file holds the checksum,
 * and the marker is written (under its own name, then renamed) after the extracted tree is in place,
 * under a lock, so a population cut short is never used. Builds mount it read-only, so no build step
 * (an `npm install -g`, a `strip` in place) can change what the next build gets.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { BuildError } from '../errors.ts';
import type { Engine, MachineContainer, VolumeMount } from '../machine/engine.ts';
import type { RuntimeArchive } from '../build/runtime.ts';
import { shellQuote } from '../machine/script.ts';

/** Written last, holding the archive's checksum: the volume is complete only when it is there. */
export const RUNTIME_VOLUME_MARKER = '.ndist-complete';

export interface RuntimeVolume {
  volume: string;
  /** Where builds mount it (read-only): the plan's runtime or npm directory. */
  target: string;
  archive: Pick<RuntimeArchive, 'file' | 'root' | 'checksum'>;
}

/**
 * `<prefix>-runtime-<first 32 hex of sha256(checksum)>` ($NDIST_VOLUME_PREFIX, default `ndist`): a
 * different archive is a different volume, never an overwrite.
 */
export function runtimeVolumeName(checksum: string, env: NodeJS.ProcessEnv = process.env): string {
  return `${runtimeVolumePrefix(env)}${createHash('sha256').update(checksum).digest('hex').slice(0, 32)}`;
}

/** What every runtime volume's name starts with, for `ndist cache ls|prune`. */
export function runtimeVolumePrefix(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.NDIST_VOLUME_PREFIX || 'ndist'}-runtime-`;
}

/** The volumes of a build's runtime and npm archives, mounted where the plan expects the archives. */
export function runtimeVolumes(archives: { archive: RuntimeVolume['archive']; dir: string }[], env: NodeJS.ProcessEnv = process.env): RuntimeVolume[] {
  return archives.map(({ archive, dir }) => ({ volume: runtimeVolumeName(archive.checksum, env), target: dir, archive }));
}

export function runtimeMounts(volumes: RuntimeVolume[]): VolumeMount[] {
  return volumes.map(({ volume, target }) => ({ volume, target, readOnly: true }));
}

/** A shell command, run in the build container, that prints the targets whose volume is not complete. */
export function incompleteVolumesCommand(volumes: RuntimeVolume[]): string {
  return volumes
    .map(({ target, archive }) => `[ "$(cat ${shellQuote(`${target}/${RUNTIME_VOLUME_MARKER}`)} 2>/dev/null)" = ${shellQuote(archive.checksum)} ] || echo ${shellQuote(target)}`)
    .join('; ');
}

/**
 * Run in the populating container (volume read-write at `mount`) after the archive was extracted
 * into `mount/partial`: under a lock (concurrent builds may populate the same volume), keep what a
 * complete population left, else move the extracted root into place and then write the marker.
 */
export function completeVolumeCommand(mount: string, partial: string, archive: RuntimeVolume['archive']): string {
  const q = shellQuote;
  const marker = `${mount}/${RUNTIME_VOLUME_MARKER}`;
  const root = `${mount}/${archive.root}`;
  return [
    'set -e',
    `exec 9>${q(`${mount}/.lock`)}`,
    'flock 9',
    `if [ "$(cat ${q(marker)} 2>/dev/null)" != ${q(archive.checksum)} ]; then`,
    // A tree without the marker is from a population cut short: never trusted, replaced.
    `  rm -rf ${q(root)} ${q(marker)}`,
    `  mv ${q(`${mount}/${partial}/${archive.root}`)} ${q(root)}`,
    `  printf %s ${q(archive.checksum)} > ${q(`${marker}.tmp`)}`,
    `  mv ${q(`${marker}.tmp`)} ${q(marker)}`,
    'fi',
    `rm -rf ${q(`${mount}/${partial}`)}`,
  ].join('\n');
}

/**
 * Make sure the volumes mounted in `container` are complete: asks the container which are not (one
 * exec), and populates those through the engine. The first build on an engine pays the extraction
 * once; every later one only the check.
 */
export async function ensureRuntimeVolumes(
  engine: Pick<Engine, 'populateRuntimeVolume'>,
  container: Pick<MachineContainer, 'exec'>,
  volumes: RuntimeVolume[],
  image: string,
  labels: Record<string, string>,
  log: (line: string) => void,
): Promise<void> {
  const incomplete: string[] = [];
  const code = await container.exec(['sh', '-c', incompleteVolumesCommand(volumes)], { onLine: (line) => incomplete.push(line.trim()) });
  if (code !== 0) throw new BuildError(`cannot check the runtime volumes in the build container (exit code ${code})`, { stage: 'dependencies' });
  for (const volume of volumes.filter(({ target }) => incomplete.includes(target))) {
    log(`runtime volume: populating ${volume.volume} from ${path.basename(volume.archive.file)} (once per engine)`);
    await engine.populateRuntimeVolume(volume, image, labels);
  }
  log(`runtime volumes: ${volumes.map(({ volume }) => volume).join(', ')} (read-only)`);
}
