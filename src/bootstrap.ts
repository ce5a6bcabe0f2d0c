/**
 * `ndist bootstrap-image debian:<suite>`: create a base image with no image registry, for air-gapped
 * build farms (and this project's CI). debootstrap builds a minimal root file system from the
 * distro's package archive (its own default mirror unless one is given), which is imported into
 * the engine under the name the build machine's Dockerfile starts FROM.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { registerCleanup } from './cleanup.ts';
import { LABEL, connectDocker } from './docker/client.ts';
import { BuildError, ConfigError } from './errors.ts';

export interface BootstrapOptions {
  /** Package archive to install from. Default: debootstrap's own default for the distro. */
  mirror?: string;
  /** Architecture of the image. Default: the host's. Foreign ones need qemu-user-static and binfmt. */
  arch?: 'amd64' | 'arm64';
  log?: (line: string) => void;
}

const IMAGE_NAME = /^(debian):([a-z]+)$/;

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
  const match = IMAGE_NAME.exec(image);
  if (!match) throw new ConfigError('image', `"${image}" is not supported; use debian:<suite>, e.g. debian:bookworm`);
  const suite = match[2]!;
  const log = options.log ?? ((line: string) => process.stderr.write(`bootstrap | ${line}\n`));
  const docker = await connectDocker();
  const root = await mkdtemp(path.join(os.tmpdir(), 'ndist-rootfs-'));
  const removeRoot = registerCleanup(() => rm(root, { recursive: true, force: true }));
  try {
    const args = ['--variant=minbase', ...(options.arch ? [`--arch=${options.arch}`] : []), suite, root, ...(options.mirror ? [options.mirror] : [])];
    log(`debootstrap ${args.join(' ')}`);
    await run('debootstrap', args, log);
    // Package lists and downloaded .debs are stale in an image: builds run apt-get update.
    await run('sh', ['-c', 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb', 'sh', root], log);

    log(`importing ${root} as ${image}`);
    const tar = spawn('tar', ['--numeric-owner', '-C', root, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [repo, tag] = image.split(':') as [string, string];
    const response = (await docker.importImage(tar.stdout, {
      repo,
      tag,
      changes: [`LABEL ${LABEL}.bootstrap=${suite}`, 'CMD ["bash"]'],
      ...(options.arch ? { platform: `linux/${options.arch}` } : {}),
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
