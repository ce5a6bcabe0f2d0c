/** The Engine builds run on, over dockerode: containers (container.ts), machine images (image.ts), emulation, cache volumes. */
import type Docker from 'dockerode';
import type { Arch } from '../../options/types.ts';
import type { Machine } from '../catalogue.ts';
import { checkEmulation } from '../emulation.ts';
import { archOfEngine } from '../../util/arch.ts';
import type { ContainerSpec, Engine, EngineInfo, MachineContainer } from '../engine.ts';
import { LABEL, connectDocker, pingDocker } from './client.ts';
import { defaultConnection, type EngineConnection } from './connection.ts';
import { BuildContainer } from './container.ts';
import { ensureMachineImage } from './image.ts';
import { createReadStream } from 'node:fs';
import { completeVolumeCommand, type RuntimeVolume } from '../../cache/runtime-volume.ts';
import { BuildError } from '../../errors.ts';
import { shellQuote } from '../script.ts';

export class DockerEngine implements Engine {
  constructor(
    private readonly docker: Docker,
    private readonly connection: EngineConnection = defaultConnection(),
  ) {}

  /** Connect (by default as the docker CLI would: DOCKER_HOST, DOCKER_CONTEXT…) and check the engine answers. */
  static async connect(connection: EngineConnection = defaultConnection()): Promise<DockerEngine> {
    return new DockerEngine(await connectDocker(connection), connection);
  }

  async info(): Promise<EngineInfo> {
    await pingDocker(this.docker);
    const info = (await this.docker.info()) as { Architecture?: string; NCPU?: number };
    return { arch: archOfEngine(info.Architecture ?? ''), cpus: info.NCPU ?? 1 };
  }

  imageId(tag: string): Promise<string | undefined> {
    return this.docker.getImage(tag).inspect().then((info) => info.Id, () => undefined);
  }

  ensureMachineImage(machine: Machine, arch: Arch, log: (line: string) => void): Promise<{ tag: string; id: string }> {
    return ensureMachineImage(this.docker, machine, arch, log, this.connection);
  }

  checkEmulation(arch: Arch, log: (line: string) => void): Promise<void> {
    return checkEmulation(this.docker, arch, log, this.connection.local);
  }

  /** Create the volumes when missing, labelled io.ndist so `ndist cache` finds them. */
  async ensureCacheVolumes(volumes: Readonly<Record<string, string>>): Promise<void> {
    for (const [kind, name] of Object.entries(volumes)) {
      try {
        await this.docker.getVolume(name).inspect();
      } catch {
        // Creating an existing volume is not an error, so two builds racing here both succeed.
        await this.docker.createVolume({ Name: name, Labels: { [LABEL]: 'true', [`${LABEL}.cache`]: kind } });
      }
    }
  }

  startContainer({ image, ...options }: ContainerSpec): Promise<MachineContainer> {
    return BuildContainer.start(this.docker, image, options);
  }

  async populateRuntimeVolume(volume: RuntimeVolume, image: string, labels: Record<string, string>): Promise<void> {
    await this.docker.createVolume({ Name: volume.volume, Labels: { [LABEL]: 'true', [`${LABEL}.cache`]: 'runtime', [`${LABEL}.checksum`]: volume.archive.checksum } });
    const mount = '/ndist/volume';
    const container = await BuildContainer.start(this.docker, image, { labels, env: {}, mounts: [{ volume: volume.volume, target: mount }] });
    try {
      // Extracted under a name of this container's, then moved into place under a lock.
      const partial = `.partial-${container.id.slice(0, 12)}`;
      const output: string[] = [];
      const sh = async (command: string) => {
        const code = await container.exec(['sh', '-c', command], { onLine: (line) => output.push(line) });
        if (code !== 0) throw new BuildError(`populating runtime volume ${volume.volume} failed (exit code ${code}): ${output.slice(-5).join(' | ')}`, { stage: 'dependencies' });
      };
      await sh(`mkdir -p ${shellQuote(`${mount}/${partial}`)}`);
      await container.putArchive(createReadStream(volume.archive.file), `${mount}/${partial}`);
      await sh(completeVolumeCommand(mount, partial, volume.archive));
    } finally {
      await container.remove();
    }
  }
}
