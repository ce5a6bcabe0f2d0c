/**
 * The clean host `ndist verify` installs a package on: a container of the release's plain base
 * image (no Node, no compiler), labelled like every container ndist makes, removed on success,
 * failure and Ctrl-C. A service package gets systemd as PID 1, in the base image plus systemd.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { registerCleanup } from '../cleanup.ts';
import { BuildError, errorMessage } from '../errors.ts';
import { LABEL, ndistLabels, proxyEnvironment } from '../machine/docker/client.ts';
import { imageExists } from '../machine/docker/image.ts';
import { withHostLock } from '../util/host-lock.ts';

/** Where the packages are copied in the host. */
export const HOST_PACKAGE_DIR = '/ndist-verify';

export interface CommandResult {
  code: number;
  /** stdout and stderr, interleaved as written. */
  output: string;
}

/**
 * How systemd runs as PID 1 in a container: its cgroup hierarchy, a tmpfs /run, CAP_SYS_ADMIN and
 * no seccomp/AppArmor profile so units get their own mount namespaces (as test/helpers/test-hosts.ts).
 */
const SYSTEMD_HOST_CONFIG: Docker.HostConfig = {
  CapAdd: ['SYS_ADMIN'],
  SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
  Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:ro'],
  Tmpfs: { '/run': '', '/run/lock': '' },
};

/**
 * The base image plus `packages` (systemd for a service's host, lintian for the lint step). Tagged
 * by a hash of its Dockerfile, so a changed recipe is a new image; labelled, kept like machine images.
 */
export async function derivedImage(docker: Docker, baseImage: string, packages: string[], log: (line: string) => void): Promise<string> {
  const dockerfile = `FROM ${baseImage}\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages.join(' ')} >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*\n`;
  const tag = `ndist/verify-${packages[0]}:${createHash('sha256').update(dockerfile).digest('hex').slice(0, 12)}`;
  if (await imageExists(docker, tag)) return tag;
  // Another process on this host building it (two verify runs at once): wait, then find it.
  await withHostLock(tag, async () => {
    if (await imageExists(docker, tag)) return;
    log(`building ${tag}: ${baseImage} with ${packages.join(', ')}`);
    const pack = tar.pack();
    pack.entry({ name: 'Dockerfile' }, dockerfile);
    pack.finalize();
    const stream = await docker.buildImage(pack as never, { t: tag, labels: { [LABEL]: 'true', [`${LABEL}.verify`]: 'true' }, buildargs: proxyEnvironment() });
    await new Promise<void>((resolve, reject) => {
      // followProgress reports success even when an event carries an error: check every event.
      let failure: string | undefined;
      docker.modem.followProgress(
        stream,
        (error) => (error || failure ? reject(new BuildError(`cannot build ${tag}: ${failure ?? errorMessage(error)}`, { stage: 'verify' })) : resolve()),
        (event: { error?: string; errorDetail?: { message?: string } }) => {
          if (event.error) failure = event.errorDetail?.message ?? event.error;
        },
      );
    });
  }, { onWait: (pid) => log(`waiting for ${tag}, which another ndist process (pid ${pid}) is building`) });
  return tag;
}

export class VerifyHost {
  private constructor(
    private readonly container: Docker.Container,
    readonly remove: () => Promise<void>,
  ) {}

  static async start(docker: Docker, image: string, options: { build: string; systemd: boolean }): Promise<VerifyHost> {
    const container = await docker.createContainer({
      Image: image,
      Entrypoint: options.systemd ? ['/lib/systemd/systemd'] : ['sleep'],
      Cmd: options.systemd ? [] : ['infinity'],
      Labels: { ...ndistLabels(options.build), [`${LABEL}.verify`]: 'true' },
      Env: [...Object.entries(proxyEnvironment()).map(([name, value]) => `${name}=${value}`), ...(options.systemd ? ['container=docker'] : [])],
      ...(options.systemd ? { HostConfig: SYSTEMD_HOST_CONFIG, StopSignal: 'SIGRTMIN+3' } : {}),
    });
    const remove = registerCleanup(() => container.remove({ force: true, v: true }).catch(() => undefined));
    try {
      await container.start();
    } catch (error) {
      await remove();
      throw new BuildError(`cannot start a verify host from ${image}: ${errorMessage(error)}`, { build: options.build, stage: 'verify', cause: error });
    }
    const host = new VerifyHost(container, remove);
    if (options.systemd) await host.waitForSystemd().catch(async (error: unknown) => {
      await remove();
      throw error;
    });
    return host;
  }

  /** Run `command` with sh; returns the exit code and the output. */
  async sh(command: string): Promise<CommandResult> {
    const exec = await this.container.exec({ Cmd: ['sh', '-c', command], AttachStdout: true, AttachStderr: true, Env: ['DEBIAN_FRONTEND=noninteractive'] });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    this.container.modem.demuxStream(stream, sink, sink);
    await new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    const { ExitCode } = await exec.inspect();
    return { code: ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8').replace(/\n$/, '') };
  }

  /** Copy host files into HOST_PACKAGE_DIR. */
  async copyIn(files: string[]): Promise<void> {
    const pack = tar.pack();
    pack.entry({ name: HOST_PACKAGE_DIR.slice(1), type: 'directory', mode: 0o755 });
    for (const file of files) pack.entry({ name: `${HOST_PACKAGE_DIR.slice(1)}/${path.basename(file)}`, mode: 0o644 }, readFileSync(file));
    pack.finalize();
    await this.container.putArchive(pack as never, { path: '/' });
  }

  private async waitForSystemd(): Promise<void> {
    for (let attempt = 0; attempt < 60; attempt++) {
      const state = (await this.sh('systemctl is-system-running 2>/dev/null')).output.trim();
      if (state === 'running' || state === 'degraded') return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const status = await this.sh('systemctl is-system-running; systemctl --failed --no-pager');
    throw new BuildError(`systemd did not come up in the verify host:\n${status.output}`, { stage: 'verify' });
  }
}
