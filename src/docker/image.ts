/**
 * Stage: the build machine's image. An image built from a Dockerfile is tagged with a hash of the
 * Dockerfile's directory, so a changed Dockerfile is rebuilt and an unchanged one never is.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { BuildError } from '../errors.ts';
import { packInputs } from '../inputs.ts';
import type { Machine } from '../machines.ts';
import { LABEL, proxyEnvironment } from './client.ts';

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of (await readdir(path.join(dir, prefix), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const relative = path.posix.join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(dir, relative)));
    else files.push(relative);
  }
  return files;
}

/** sha256 over the names and contents of every file in the build context. */
export async function contextHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await listFiles(dir)) {
    hash.update(`${file}\0`);
    hash.update(await readFile(path.join(dir, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

export async function imageExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch {
    return false;
  }
}

export async function machineImageTag(machine: Machine): Promise<string> {
  return machine.dockerfile ? `${machine.image}:${(await contextHash(machine.dockerfile)).slice(0, 12)}` : machine.image;
}

interface BuildEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
}

async function buildImage(docker: Docker, machine: Machine, tag: string, log: (line: string) => void): Promise<void> {
  const context = packInputs([{ kind: 'tree', name: '.', hostPath: machine.dockerfile! }]);
  const stream = await docker.buildImage(context, {
    t: tag,
    labels: { [LABEL]: 'true', [`${LABEL}.machine`]: machine.id },
    buildargs: proxyEnvironment(),
    rm: true,
    forcerm: true,
  });
  // followProgress reports success even when an event carries an error: check every event.
  const failure = await new Promise<string | undefined>((resolve, reject) => {
    let error: string | undefined;
    docker.modem.followProgress(
      stream,
      (streamError: Error | null) => (streamError ? reject(streamError) : resolve(error)),
      (event: BuildEvent) => {
        if (event.error || event.errorDetail) error ??= event.errorDetail?.message ?? event.error;
        for (const line of event.stream?.split(/\r?\n|\r/) ?? []) if (line.trim()) log(`image: ${line.trimEnd()}`);
      },
    );
  });
  if (failure) {
    let hint = '';
    if (machine.baseImage && !(await imageExists(docker, machine.baseImage))) {
      hint = `; its base image ${machine.baseImage} is not on this engine and could not be pulled: create it offline with \`ndist bootstrap-image ${machine.baseImage}\``;
    }
    throw new BuildError(`building the image of machine ${machine.id} failed: ${failure}${hint}`, { stage: 'image' });
  }
}

/** Builds under way, so that concurrent builds on one machine build its image once. */
const imageBuilds = new Map<string, Promise<void>>();

/** The image of `machine`, built from its Dockerfile when missing. Returns the tag and image id. */
export async function ensureMachineImage(docker: Docker, machine: Machine, log: (line: string) => void): Promise<{ tag: string; id: string }> {
  const tag = await machineImageTag(machine);
  const underway = imageBuilds.get(tag);
  if (underway) {
    log(`image: waiting for ${tag}, which another build is making`);
    await underway;
  } else if (!(await imageExists(docker, tag))) {
    if (!machine.dockerfile) {
      throw new BuildError(`image ${tag} of machine ${machine.id} is not on this engine; pull or build it first`, { stage: 'image' });
    }
    log(`image: building ${tag} from ${machine.dockerfile}`);
    const build = buildImage(docker, machine, tag, log).finally(() => imageBuilds.delete(tag));
    imageBuilds.set(tag, build);
    await build;
  }
  const { Id } = await docker.getImage(tag).inspect();
  log(`image: ${tag} (${Id.slice(7, 19)})`);
  return { tag, id: Id };
}
