/**
 * A build machine's container: created with ndist's labels, fed through the Engine API's archive
 * endpoint (no bind mounts), commands run with `exec`, removed on success and on failure.
 */
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type Docker from 'dockerode';
import { registerCleanup } from '../../cleanup.ts';
import { BuildError, errorMessage } from '../../errors.ts';
import type { ContainerSpec, ExecOptions, MachineContainer } from '../engine.ts';

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

export interface AttachedIo {
  /** Input of the command; none: it reads end of file. */
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  tty: boolean;
  env?: Record<string, string>;
  workingDir?: string;
}

export class BuildContainer implements MachineContainer {
  private constructor(
    private readonly container: Docker.Container,
    readonly remove: () => Promise<void>,
  ) {}

  get id(): string {
    return this.container.id;
  }

  static async start(docker: Docker, image: string, options: Omit<ContainerSpec, 'image'>): Promise<BuildContainer> {
    const container = await docker.createContainer({
      Image: image,
      // Kept alive so that the steps can run one by one with exec.
      Entrypoint: ['sleep'],
      Cmd: ['infinity'],
      Labels: options.labels,
      Env: Object.entries(options.env).map(([name, value]) => `${name}=${value}`),
      WorkingDir: '/',
      ...(options.mounts ? { HostConfig: { Mounts: options.mounts.map(({ volume, target, readOnly }) => ({ Type: 'volume' as const, Source: volume, Target: target, ReadOnly: readOnly === true })) } } : {}),
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

  /**
   * Run `command` attached to `io` (a terminal when `tty`: raw input, resized with it) and return
   * its exit code. For `ndist shell`.
   */
  async execAttached(command: string[], io: AttachedIo): Promise<number> {
    const exec = await this.container.exec({
      Cmd: command,
      AttachStdin: io.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: io.tty,
      Env: Object.entries(io.env ?? {}).map(([name, value]) => `${name}=${value}`),
      WorkingDir: io.workingDir,
    });
    const stream = await exec.start({ hijack: true, stdin: io.stdin !== undefined, Tty: io.tty });
    if (io.tty) stream.pipe(io.stdout, { end: false });
    else this.container.modem.demuxStream(stream, io.stdout, io.stderr);
    const terminal = io.stdin as NodeJS.ReadStream | undefined;
    const resize = () => {
      if (terminal?.isTTY && 'columns' in io.stdout) {
        const out = io.stdout as NodeJS.WriteStream;
        void exec.resize({ h: out.rows, w: out.columns }).catch(() => undefined);
      }
    };
    if (io.tty && terminal?.isTTY) {
      terminal.setRawMode(true);
      process.stdout.on('resize', resize);
    }
    io.stdin?.pipe(stream);
    try {
      await new Promise<void>((resolve) => {
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', () => resolve());
        setTimeout(resize, 50);
      });
    } finally {
      io.stdin?.unpipe(stream);
      if (io.tty && terminal?.isTTY) {
        terminal.setRawMode(false);
        process.stdout.off('resize', resize);
      }
      terminal?.pause();
    }
    const { ExitCode } = await exec.inspect();
    return ExitCode ?? -1;
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
