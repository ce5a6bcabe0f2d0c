/**
 * A build machine's container: created with ndist's labels, fed through the Engine API's archive
 * endpoint (no bind mounts), commands run with `exec`, removed on success and on failure.
 */
import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type Docker from 'dockerode';
import { registerCleanup } from '../cleanup.ts';
import { BuildError, errorMessage } from '../errors.ts';

export interface ExecOptions {
  env?: Record<string, string>;
  /** Each line of output, stdout and stderr alike, as it comes. */
  onLine?: (line: string) => void;
}

/** Call `onLine` for each complete line written to the returned stream. */
function lineSplitter(onLine: (line: string) => void): PassThrough {
  const stream = new PassThrough();
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split(/\r?\n|\r/);
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (rest) onLine(rest);
  });
  return stream;
}

export class BuildContainer {
  private constructor(
    private readonly container: Docker.Container,
    readonly remove: () => Promise<void>,
  ) {}

  get id(): string {
    return this.container.id;
  }

  static async start(docker: Docker, image: string, options: { labels: Record<string, string>; env: Record<string, string>; platform?: string }): Promise<BuildContainer> {
    const container = await docker.createContainer({
      Image: image,
      // Kept alive so that the steps can run one by one with exec.
      Entrypoint: ['sleep'],
      Cmd: ['infinity'],
      Labels: options.labels,
      Env: Object.entries(options.env).map(([name, value]) => `${name}=${value}`),
      WorkingDir: '/',
      ...(options.platform ? { platform: options.platform } : {}),
    });
    const remove = registerCleanup(() => container.remove({ force: true, v: true }).catch(() => undefined));
    try {
      await container.start();
    } catch (error) {
      await remove();
      throw new BuildError(`cannot start a container from ${image}: ${errorMessage(error)}`, { stage: 'container', cause: error });
    }
    return new BuildContainer(container, remove);
  }

  /** Extract a tar stream (plain, gzip or xz) at `path` inside the container. */
  async putArchive(archive: Readable, path: string): Promise<void> {
    // A failing source stream does not end the upload by itself: give up on the first error.
    const sourceFailed = new Promise<never>((_, reject) => archive.once('error', reject));
    await Promise.race([this.container.putArchive(archive, { path }), sourceFailed]);
  }

  /** A tar stream of `path` inside the container. */
  async getArchive(path: string): Promise<Readable> {
    return (await this.container.getArchive({ path })) as unknown as Readable;
  }

  /** Run `command`, stream its output line by line, and return its exit code. */
  async exec(command: string[], options: ExecOptions = {}): Promise<number> {
    const exec = await this.container.exec({
      Cmd: command,
      AttachStdout: true,
      AttachStderr: true,
      Env: Object.entries(options.env ?? {}).map(([name, value]) => `${name}=${value}`),
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const onLine = options.onLine ?? (() => {});
    const stdout = lineSplitter(onLine);
    const stderr = lineSplitter(onLine);
    this.container.modem.demuxStream(stream, stdout, stderr);
    // Wait for all output before reading the exit code: output can arrive after the process ended.
    await finished(stream);
    stdout.end();
    stderr.end();
    await Promise.all([finished(stdout), finished(stderr)]);
    const { ExitCode } = await exec.inspect();
    return ExitCode ?? -1;
  }
}
