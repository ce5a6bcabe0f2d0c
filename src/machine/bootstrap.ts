/**
 * `ndist bootstrap-image debian:<suite>`: create a base image with no image registry, for air-gapped
 * build farms (and this project's CI). debootstrap builds a minimal root file system from the
 * distro's package archive (its own default mirror unless one is given), which is imported into
 * the engine under the name the build machine's Dockerfile starts FROM. An arm64 or armhf image gets
 * its own name (arm64v8/debian:<suite>, arm32v7/debian:<suite>: Docker Hub's convention): a local
 * image store holds one architecture per tag.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type Docker from 'dockerode';
import { registerCleanup } from '../cleanup.ts';
import { LABEL, connectDocker, ndistLabels, sessionId } from './docker/client.ts';
import { BuildContainer } from './docker/container.ts';
import { BuildError, ConfigError } from '../errors.ts';
import type { Arch } from '../options/types.ts';
import { ARCH_NAMES, ARCHES } from '../util/arch.ts';

export interface BootstrapOptions {
  /** Package archive to install from. Default: debootstrap's own default for the distro. */
  mirror?: string;
  /** Architecture of the image. Default: the host's. Foreign ones need qemu-user-static and binfmt. */
  arch?: Arch;
  log?: (line: string) => void;
  /** The engine to create it in. Default: the one the docker CLI would use. The root file system is made on this host and streamed in over the Engine API, so a remote engine works too. */
  docker?: Docker;
  /**
   * Where debootstrap's second stage (running the new system's own binaries) runs: 'host'
   * (default; a foreign architecture through this host's QEMU), or 'engine': a helper container on
   * the engine, natively there (a remote arm64 engine needs no QEMU here).
   */
  secondStage?: 'host' | 'engine';
}

const NAMESPACE_ARCH = Object.fromEntries(ARCHES.map((arch) => [ARCH_NAMES[arch].hubNamespace, arch])) as Record<string, Arch>;
/** `debian:<suite>`, or `<arch-namespace>/debian:<suite>` as Docker Hub names per-arch images (arm64v8/debian:bookworm, arm32v7/debian:bookworm). */
export const IMAGE_NAME = new RegExp(`^(?:(${Object.keys(NAMESPACE_ARCH).join('|')})/)?(debian):([a-z]+)$`);

/** The suite and architecture an image name asks for; `--arch` must agree with an arch namespace. */
export function parseBootstrapImage(image: string, arch?: Arch): { suite: string; arch?: Arch } {
  const match = IMAGE_NAME.exec(image);
  if (!match) {
    throw new ConfigError('image', `"${image}" is not supported; use debian:<suite>, arm64v8/debian:<suite> or arm32v7/debian:<suite>, e.g. debian:bookworm`);
  }
  const implied = match[1] ? NAMESPACE_ARCH[match[1]] : undefined;
  if (implied && arch && implied !== arch) {
    throw new ConfigError('--arch', `is ${arch}, but ${image} names an ${implied} image`);
  }
  return { suite: match[3]!, arch: arch ?? implied };
}

/** Run a command, sending each line of its output to `log`. */
function run(command: string, args: string[], log: (line: string) => void, env?: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let tail: string[] = [];
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        log(line);
        tail = [...tail.slice(-19), line];
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) =>
      reject(new BuildError(`cannot run ${command}: ${error.message}${command === 'debootstrap' ? ' (install it: apt-get install debootstrap)' : ''}`)),
    );
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new BuildError(`${command} failed with exit code ${code}:\n${tail.join('\n')}`)),
    );
  });
}

/**
 * As in Docker Hub's Debian images: dpkg does not fsync each file it writes (a container's file
 * system is thrown away, not recovered after a crash), and apt fetches no translated package
 * descriptions. Written before the second stage, whose dpkg reads it.
 */
const IMAGE_CONFIG = [
  'mkdir -p "$1"/etc/dpkg/dpkg.cfg.d "$1"/etc/apt/apt.conf.d',
  `echo force-unsafe-io > "$1"/etc/dpkg/dpkg.cfg.d/docker-apt-speedup`,
  `echo 'Acquire::Languages "none";' > "$1"/etc/apt/apt.conf.d/docker-no-languages`,
].join(' && ');
/**
 * The same for the second stage run whole on this host (debootstrap without --foreign), which
 * starts before the file above can be written: dpkg's environment, with its default forces kept.
 */
const SECOND_STAGE_DPKG_FORCE = 'security-mac,downgrade,unsafe-io';

/** Package lists and downloaded .debs are stale in an image: builds run apt-get update. */
const CLEAN_APT = 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb';

/** Import the root file system in `root` into the engine as `image`, with Dockerfile-style `changes`. */
function importRoot(docker: Docker, root: string, image: string, changes: string[], arch: Arch | undefined): Promise<string> {
  const tar = spawn('tar', ['--numeric-owner', '-C', root, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return importTar(docker, tar.stdout, image, changes, arch);
}

/** Import a tar stream of a root file system into the engine as `image`. */
async function importTar(docker: Docker, tar: NodeJS.ReadableStream, image: string, changes: string[], arch: Arch | undefined): Promise<string> {
  const colon = image.lastIndexOf(':');
  const [repo, tag] = [image.slice(0, colon), image.slice(colon + 1)];
  const response = (await docker.importImage(tar, { repo, tag, changes, ...(arch ? { platform: ARCH_NAMES[arch].platform } : {}) } as object)) as NodeJS.ReadableStream;
  let error: string | undefined;
  response.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      const event = JSON.parse(line) as { error?: string; status?: string };
      if (event.error) error = event.error;
    }
  });
  await finished(response);
  if (error) throw new BuildError(`importing ${image} failed: ${error}`);
  return (await docker.getImage(image).inspect()).Id;
}

/**
 * The second stage in a helper container on the engine: the first stage's tree (downloaded and
 * unpacked on this host, nothing of it run) is imported as a temporary image, a container of it
 * runs `debootstrap --second-stage` where the engine is (natively on an arm64 engine), and its file
 * system is exported and imported as `image` (not committed: the image would keep the helper's
 * labels and entrypoint). The container and the temporary image are removed whatever happens.
 */
async function secondStageOnEngine(docker: Docker, root: string, image: string, suite: string, arch: Arch | undefined, log: (line: string) => void): Promise<string> {
  const stage1 = `ndist-bootstrap-stage1:${sessionId().replace(/[^A-Za-z0-9_.-]/g, '-')}-${suite}-${arch ?? 'host'}`;
  log(`importing the first stage as ${stage1}`);
  await importRoot(docker, root, stage1, [`LABEL ${LABEL}=true`], arch);
  const removeStage1 = registerCleanup(() => docker.getImage(stage1).remove({ force: true }).catch(() => undefined));
  try {
    const helper = await BuildContainer.start(docker, stage1, { labels: ndistLabels(`bootstrap ${image}`), env: {} });
    try {
      log('running the second stage in a helper container on the engine');
      const code = await helper.exec(['sh', '-c', `/debootstrap/debootstrap --second-stage && ${CLEAN_APT}`, 'sh', '/'], { onLine: log });
      if (code !== 0) throw new BuildError(`debootstrap --second-stage failed with exit code ${code} in a helper container on the engine`);
      log(`importing the result as ${image}`);
      const exported = (await docker.getContainer(helper.id).export()) as unknown as NodeJS.ReadableStream;
      return await importTar(docker, exported, image, [`LABEL ${LABEL}.bootstrap=${suite}`, 'CMD ["bash"]'], arch);
    } finally {
      await helper.remove();
    }
  } finally {
    await removeStage1();
  }
}

/**
 * Create `image` (e.g. debian:bookworm) in the Docker engine. Returns the new image's id. By default
 * debootstrap runs whole on this host (a foreign architecture's second stage through QEMU);
 * `secondStage: 'engine'` runs its second stage in a helper container on the engine instead.
 */
export async function bootstrapImage(image: string, options: BootstrapOptions = {}): Promise<string> {
  const { suite, arch } = parseBootstrapImage(image, options.arch);
  const log = options.log ?? ((line: string) => process.stderr.write(`bootstrap | ${line}\n`));
  const docker = options.docker ?? (await connectDocker());
  const onEngine = options.secondStage === 'engine';
  const root = await mkdtemp(path.join(os.tmpdir(), 'ndist-rootfs-'));
  const removeRoot = registerCleanup(() => rm(root, { recursive: true, force: true }));
  try {
    const args = ['--variant=minbase', ...(onEngine ? ['--foreign'] : []), ...(arch ? [`--arch=${arch}`] : []), suite, root, ...(options.mirror ? [options.mirror] : [])];
    log(`debootstrap ${args.join(' ')}`);
    await run('debootstrap', args, log, onEngine ? undefined : { ...process.env, DPKG_FORCE: SECOND_STAGE_DPKG_FORCE });
    await run('sh', ['-c', IMAGE_CONFIG, 'sh', root], log);
    let id: string;
    if (onEngine) {
      id = await secondStageOnEngine(docker, root, image, suite, arch, log);
    } else {
      await run('sh', ['-c', CLEAN_APT, 'sh', root], log);
      log(`importing ${root} as ${image}`);
      id = await importRoot(docker, root, image, [`LABEL ${LABEL}.bootstrap=${suite}`, 'CMD ["bash"]'], arch);
    }
    log(`created ${image} (${id.slice(7, 19)})`);
    return id;
  } finally {
    await removeRoot();
  }
}
