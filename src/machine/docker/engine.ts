/** The Engine builds run on, over dockerode: containers (container.ts), machine images (image.ts), emulation, cache volumes. */
import type Docker from 'dockerode';
import type { Arch } from '../../options/types.ts';
import type { Machine } from '../catalogue.ts';
import { checkEmulation } from '../emulation.ts';
import type { ContainerSpec, Engine, MachineContainer } from '../engine.ts';
import { LABEL, connectDocker } from './client.ts';
import { BuildContainer } from './container.ts';
import { ensureMachineImage } from './image.ts';

export class DockerEngine implements Engine {
  constructor(private readonly docker: Docker) {}

  /** Connect as the docker CLI would (DOCKER_HOST…) and check the engine answers. */
  static async connect(): Promise<DockerEngine> {
    return new DockerEngine(await connectDocker());
  }

  imageId(tag: string): Promise<string | undefined> {
    return this.docker.getImage(tag).inspect().then((info) => info.Id, () => undefined);
  }

  ensureMachineImage(machine: Machine, arch: Arch, log: (line: string) => void): Promise<{ tag: string; id: string }> {
    return ensureMachineImage(this.docker, machine, arch, log);
  }

  checkEmulation(arch: Arch, log: (line: string) => void): Promise<void> {
    return checkEmulation(this.docker, arch, log);
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
}
