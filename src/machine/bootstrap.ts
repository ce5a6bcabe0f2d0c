/**
 * `ndist bootstrap-image debian:<suite>`: create a base image with no image registry, for air-gapped
 * build farms (and this project's CI). debootstrap builds a minimal root file system from the
 * distro's package archive (its own default mirror unless one is given), which is imported into
 * the engine under the name the build machine's Dockerfile starts FROM. An arm64 image gets its own
 * name (arm64v8/debian:<suite>, Docker Hub's convention): a local image store holds one
 * architecture per tag.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type Docker from 'dockerode';
import { registerCleanup } from '../cleanup.ts';
import { LABEL, connectDocker } from './docker/client.ts';
import { BuildError, ConfigError } from '../errors.ts';

export interface BootstrapOptions {
  /** Package archive to install from. Default: debootstrap's own default for the distro. */
  mirror?: string;
  /** Architecture of the image. Default: the host's. Foreign ones need qemu-user-static and binfmt. */
  arch?: 'amd64' | 'arm64';
  log?: (line: string) => void;
  /** The engine to create it in. Default: the one the docker CLI would use. The root file system is made on this host and streamed in over the Engine API, so a remote engine works too. */
  docker?: Docker;
}

/** `debian:<suite>`, or `<arch-namespace>/debian:<suite>` as Docker Hub names per-arch images (arm64v8/debian:bookworm). */
export const IMAGE_NAME = /^(?:(amd64|arm64v8)\/)?(debian):([a-z]+)$/;
const NAMESPACE_ARCH = { amd64: 'amd64', arm64v8: 'arm64' } as const;

/** The suite and architecture an image name asks for; `--arch` must agree with an arch namespace. */
export function parseBootstrapImage(image: string, arch?: 'amd64' | 'arm64'): { suite: string; arch?: 'amd64' | 'arm64' } {
  const match = IMAGE_NAME.exec(image);
  if (!match) {
    throw new ConfigError('image', `"${image}" is not supported; use debian:<suite> or arm64v8/debian:<suite>, e.g. debian:bookworm`);
  }
  const implied = match[1] ? NAMESPACE_ARCH[match[1] as keyof typeof NAMESPACE_ARCH] : undefined;
  if (implied && arch && implied !== arch) {
    throw new ConfigError('--arch', `is ${arch}, but ${image} names an ${implied} image`);
  }
  return { suite: match[3]!, arch: arch ?? implied };
}

/** Run a command, sending each line of its output to `log`. */
function run(command: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Create `image` (e.g. debian:bookworm) in the Docker engine. Returns the new image's id. */
export async function bootstrapImage(image: string, options: BootstrapOptions = {}): Promise<string> {
  const { suite, arch } = parseBootstrapImage(image, options.arch);
  const log = options.log ?? ((line: string) => process.stderr.write(`bootstrap | ${line}\n`));
  const docker = options.docker ?? (await connectDocker());
  const root = await mkdtemp(path.join(os.tmpdir(), 'ndist-rootfs-'));
  const removeRoot = registerCleanup(() => rm(root, { recursive: true, force: true }));
  try {
    // A foreign architecture's second stage runs its binaries through QEMU (binfmt_misc).
    const args = ['--variant=minbase', ...(arch ? [`--arch=${arch}`] : []), suite, root, ...(options.mirror ? [options.mirror] : [])];
    log(`debootstrap ${args.join(' ')}`);
    await run('debootstrap', args, log);
    // Package lists and downloaded .debs are stale in an image: builds run apt-get update.
    await run('sh', ['-c', 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb', 'sh', root], log);

    log(`importing ${root} as ${image}`);
    const tar = spawn('tar', ['--numeric-owner', '-C', root, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const colon = image.lastIndexOf(':');
    const [repo, tag] = [image.slice(0, colon), image.slice(colon + 1)];
    const response = (await docker.importImage(tar.stdout, {
      repo,
      tag,
      changes: [`LABEL ${LABEL}.bootstrap=${suite}`, 'CMD ["bash"]'],
      ...(arch ? { platform: `linux/${arch}` } : {}),
    } as object)) as NodeJS.ReadableStream;
    let error: string | undefined;
    response.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const event = JSON.parse(line) as { error?: string; status?: string };
        if (event.error) error = event.error;
      }
    });
    await finished(response);
    if (error) throw new BuildError(`importing ${image} failed: ${error}`);
    const { Id } = await docker.getImage(image).inspect();
    log(`created ${image} (${Id.slice(7, 19)})`);
    return Id;
  } finally {
    await removeRoot();
  }
}
