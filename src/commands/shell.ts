/**
 * `ndist shell <build>`: the build's machine with everything a build streams in (source at
 * /ndist/src, runtime, npm, the rendered script at /ndist/build.sh), and a shell (or a command)
 * attached to the terminal, on the engine the build would be routed to (see engine-pool.ts). The
 * container is removed when it exits, and when ndist is interrupted, killed or hung up.
 */
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { registerCleanup, removeAllOnSignal } from '../cleanup.ts';
import { connectDocker, ndistLabels, proxyEnvironment } from '../machine/docker/client.ts';
import { DockerEngine } from '../machine/docker/engine.ts';
import { EnginePool, engineTargets, placementLine } from '../build/engine-pool.ts';
import { BuildContainer } from '../machine/docker/container.ts';
import { ensureMachineImage } from '../machine/docker/image.ts';
import { packInputs } from '../machine/inputs.ts';
import { findMachine, loadMachines } from '../machine/catalogue.ts';
import { detectPackager } from '../package/packagers.ts';
import { renderFromSource } from './render.ts';
import { fetchSource } from '../build/source.ts';
import type { BuildOptions, BuilderOptions } from '../options/types.ts';

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ShellIo {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Attach a terminal: when stdin is one and no command is given. */
  tty: boolean;
  /** Progress notes (source, runtime, image, container). */
  log: (line: string) => void;
}

/** Open the shell (`command` empty) or run `command` in the build's machine; returns its exit code. */
export async function openShell(build: BuildOptions, builder: BuilderOptions, command: string[], io: ShellIo): Promise<number> {
  const machine = findMachine(loadMachines(builder.machinesDir ?? process.cwd()), build.buildMachine, `build "${build.name}": buildMachine`);
  // Killed or hung up (a closed terminal): the container and the source copy go too. Ctrl-C in an
  // attached terminal reaches the shell in the container, not this process.
  const stopOnSignal = removeAllOnSignal();
  const source = await fetchSource(build.source, io.log).catch((error: unknown) => {
    stopOnSignal();
    throw error;
  });
  const removeSource = registerCleanup(source.cleanup);
  let container: BuildContainer | undefined;
  try {
    const arch = build.arch ?? machine.arch[0]!;
    const targets = engineTargets(builder.engines);
    const pool = await EnginePool.open(targets, DockerEngine.connect, builder.engines === undefined);
    for (const engine of pool.unreachable) io.log(`WARNING: engine "${engine.name}" at ${engine.address} does not answer (${engine.reason})`);
    const { member, emulated } = pool.choose(arch);
    const { connection } = targets.find((target) => target.connection.name === member.name)!;
    io.log(placementLine(member, arch, emulated));
    const docker = await connectDocker(connection);
    const image = await ensureMachineImage(docker, machine, arch, io.log, connection);
    const started = await BuildContainer.start(docker, image.tag, { labels: ndistLabels(build.name), env: proxyEnvironment() });
    container = started;
    const packager = await detectPackager(machine, async (shellCommand) => (await started.exec(['sh', '-c', shellCommand])) === 0);
    const rendered = await renderFromSource(build, builder, machine, source, packager, io.log);
    await started.putArchive(packInputs(rendered.inputs), '/');
    // Streamed in, not mounted from the runtime volumes: a shell may change its runtime freely.
    for (const { archive, dir } of rendered.archives) {
      await started.exec(['mkdir', '-p', dir]);
      await started.putArchive(createReadStream(archive.file), dir);
    }
    io.log(`container ${container.id.slice(0, 12)} from ${image.tag}: source in /ndist/src, node ${rendered.runtime.version} in ${rendered.runtimeDir} (on PATH), build script /ndist/build.sh; removed on exit`);
    return await container.execAttached(command.length > 0 ? command : ['bash'], {
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: io.stderr,
      tty: io.tty,
      workingDir: '/ndist/src',
      env: { PATH: `${rendered.runtimeDir}/bin:${SYSTEM_PATH}`, npm_config_registry: rendered.registry, npm_config_userconfig: '/ndist/npmrc', ...(io.tty ? { TERM: process.env.TERM ?? 'xterm' } : {}) },
    });
  } finally {
    await container?.remove();
    await removeSource();
    stopOnSignal();
  }
}
