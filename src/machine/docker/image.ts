/**
 * Stage: the build machine's image. An image built from a Dockerfile is tagged with a hash of the
 * Dockerfile's directory, the base image and the build arguments, and the architecture
 * (`ndist/debian-bookworm:3f2c1a9b0d4e-arm64`), so a changed Dockerfile is rebuilt and an unchanged
 * one never is. The Dockerfile starts `FROM ${BASE_IMAGE}`, given per architecture.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { BuildError } from '../../errors.ts';
import { packInputs } from '../inputs.ts';
import type { Machine } from '../catalogue.ts';
import type { Arch } from '../../options/types.ts';
import { LABEL, proxyEnvironment } from './client.ts';
import { IMAGE_NAME, bootstrapImage } from '../bootstrap.ts';
import { ARCH_NAMES } from '../../util/arch.ts';
import { withHostLock } from '../../util/host-lock.ts';

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
    for await (const chunk of createReadStream(path.join(dir, file))) hash.update(chunk as Buffer);
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

/** Build arguments of the machine's Dockerfile for `arch`: BASE_IMAGE and the entry's buildArgs. */
export function machineBuildArgs(machine: Machine, arch: Arch): Record<string, string> {
  const base = machine.baseImage?.[arch];
  return { ...machine.buildArgs, ...(base ? { BASE_IMAGE: base } : {}) };
}

export async function machineImageTag(machine: Machine, arch: Arch): Promise<string> {
  if (!machine.dockerfile) return machine.image;
  const hash = createHash('sha256').update(await contextHash(machine.dockerfile));
  const args = machineBuildArgs(machine, arch);
  for (const name of Object.keys(args).sort()) hash.update(`\0${name}=${args[name]}`);
  return `${machine.image}:${hash.digest('hex').slice(0, 12)}-${arch}`;
}

interface BuildEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
}

async function buildImage(docker: Docker, machine: Machine, arch: Arch, tag: string, log: (line: string) => void): Promise<void> {
  const context = packInputs([{ kind: 'tree', name: '.', hostPath: machine.dockerfile! }]);
  const base = machine.baseImage?.[arch];
  // A base image already on the engine is used as it is. Asking for a platform would make Docker
  // 20.10 refuse it when its metadata names another architecture (`docker import` always records
  // the host's) and try a pull; the build container checks the architecture it really runs.
  const pull = !base || !(await imageExists(docker, base));
  const stream = await docker.buildImage(context, {
    t: tag,
    labels: { [LABEL]: 'true', [`${LABEL}.machine`]: machine.id, [`${LABEL}.arch`]: arch },
    buildargs: { ...proxyEnvironment(), ...machineBuildArgs(machine, arch) },
    // Pulls the base image for this architecture where a registry is reachable.
    ...(pull ? { platform: ARCH_NAMES[arch].platform } : {}),
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
    if (base && !(await imageExists(docker, base))) {
      const bootstrappable = IMAGE_NAME.test(base);
      hint = `; its base image ${base} is not on this engine and could not be pulled${bootstrappable ? `: create it offline with \`ndist bootstrap-image ${base}\`` : ' (pull it where a registry is reachable, or docker load it)'}`;
    }
    throw new BuildError(`building the image of machine ${machine.id} failed: ${failure}${hint}`, { stage: 'image' });
  }
}

/** How long a pull of a missing base image may take before it is taken as unreachable. */
const PULL_TIMEOUT_MS = 120_000;

/** Pull `image` for `arch`; false when no registry gives it (every event checked: followProgress hides errors). */
async function pulled(docker: Docker, image: string, arch: Arch): Promise<boolean> {
  const attempt = (async () => {
    const stream = await docker.pull(image, { platform: ARCH_NAMES[arch].platform });
    return new Promise<boolean>((resolve) => {
      let failed = false;
      docker.modem.followProgress(stream, (error: Error | null) => resolve(!error && !failed), (event: BuildEvent) => {
        if (event.error || event.errorDetail) failed = true;
      });
    });
  })().catch(() => false);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PULL_TIMEOUT_MS)));
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Base images being looked for (and created when missing), by engine and name: concurrent builds create one once. */
const baseCreations = new Map<string, { done: Promise<void>; creating: boolean }>();

/**
 * Zero setup: a Debian base image missing on the engine is pulled when a registry has it, else
 * created there with debootstrap (run on this host, its root file system streamed to the engine
 * over the API). Other missing base images are left to the image build, which pulls them or fails
 * with a hint. The look-up is registered before its first await, so a second build asking for the
 * same image on the same engine always waits for the first rather than racing it.
 */
async function ensureBaseImage(docker: Docker, base: string, arch: Arch, log: (line: string) => void, engine: EngineRef): Promise<void> {
  if (!IMAGE_NAME.test(base)) return;
  const engineName = engine.name;
  const key = `${engineName}\0${base}`;
  const underway = baseCreations.get(key);
  if (underway) {
    await underway.done;
    if (underway.creating) log(`image: waited for base image ${base}, which another build made`);
    return;
  }
  const entry = { done: Promise.resolve(), creating: false };
  entry.done = (async () => {
    if (await imageExists(docker, base)) return;
    await withHostLock(key, async () => {
      if (await imageExists(docker, base)) return;
      entry.creating = true;
      if (await pulled(docker, base, arch)) {
        log(`image: pulled base image ${base}`);
        return;
      }
      const where = engine.local ? 'on this host' : 'its second stage in a helper container on the engine';
      log(`image: base image ${base} is not on engine "${engineName}" and no registry gives it: creating it with debootstrap, ${where} (a few minutes; \`ndist bootstrap-image ${base}\` does the same ahead of time)`);
      await bootstrapImage(base, { arch, docker, log: (line) => log(`image: bootstrap: ${line}`), secondStage: engine.local ? 'host' : 'engine' });
    }, { onWait: (pid) => log(`image: waiting for base image ${base}, which another ndist process (pid ${pid}) is making`) });
  })().finally(() => baseCreations.delete(key));
  baseCreations.set(key, entry);
  await entry.done;
}

/** The engine an image is for: its name, and whether it runs on this host. */
export interface EngineRef {
  name: string;
  local: boolean;
}

/** Machine images being looked for (and built when missing), by engine and tag: concurrent builds on one machine build its image once per engine. */
const imageBuilds = new Map<string, { done: Promise<void>; building: boolean }>();

/**
 * The image of `machine` on `engine`, built from its Dockerfile when missing. Returns the tag and
 * image id. The look-up is registered before its first await: two builds needing the same missing
 * image on one engine build it once, the second waiting for the first.
 */
export async function ensureMachineImage(docker: Docker, machine: Machine, arch: Arch, log: (line: string) => void, engine: EngineRef = { name: 'default', local: true }): Promise<{ tag: string; id: string }> {
  const tag = await machineImageTag(machine, arch);
  const key = `${engine.name}\0${tag}`;
  let entry = imageBuilds.get(key);
  const joined = entry !== undefined;
  if (!entry) {
    const made = { done: Promise.resolve(), building: false };
    made.done = (async () => {
      if (await imageExists(docker, tag)) return;
      if (!machine.dockerfile) {
        throw new BuildError(`image ${tag} of machine ${machine.id} is not on this engine; pull or build it first`, { stage: 'image' });
      }
      const dockerfile = machine.dockerfile;
      // Another process on this host making the same image: wait for it, then find the image.
      await withHostLock(key, async () => {
        if (await imageExists(docker, tag)) return;
        made.building = true;
        const base = machine.baseImage?.[arch];
        if (base) await ensureBaseImage(docker, base, arch, log, engine);
        log(`image: building ${tag} from ${dockerfile}`);
        await buildImage(docker, machine, arch, tag, log);
      }, { onWait: (pid) => log(`image: waiting for ${tag}, which another ndist process (pid ${pid}) is building`) });
    })().finally(() => imageBuilds.delete(key));
    imageBuilds.set(key, made);
    entry = made;
  }
  await entry.done;
  if (joined && entry.building) log(`image: waited for ${tag}, which another build made`);
  const { Id } = await docker.getImage(tag).inspect();
  log(`image: ${tag} (${Id.slice(7, 19)})`);
  return { tag, id: Id };
}
