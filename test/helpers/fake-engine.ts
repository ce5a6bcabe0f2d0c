/**
 * An in-memory Engine for unit tests of the Builder: no Docker, no network. Its containers answer
 * the commands the pipeline runs (uname, the packager probes, the build script) and, once the build
 * script succeeded, hand out a package for any file asked for under /ndist/out/ but the SBOM.
 * Like Docker's, a container is registered with src/cleanup.ts, so --fail-fast removes it, and a
 * command running in it then fails.
 */
import { PassThrough, type Readable } from 'node:stream';
import tar from 'tar-stream';
import { registerCleanup } from '../../src/cleanup.ts';
import type { RuntimeVolume } from '../../src/cache/runtime-volume.ts';
import type { Machine } from '../../src/machine/catalogue.ts';
import { LABEL } from '../../src/machine/docker/client.ts';
import { machineImageTag } from '../../src/machine/docker/image.ts';
import type { ContainerSpec, Engine, EngineInfo, ExecOptions, MachineContainer } from '../../src/machine/engine.ts';
import type { Arch } from '../../src/options/types.ts';

/** What `bash /ndist/build.sh` does in a container: its exit code. */
export type FakeScript = (container: FakeContainer, options: ExecOptions) => Promise<number>;

/** The default build script: announces its sections, as the real templates do, and succeeds. */
export const succeeds: FakeScript = async (_container, { onLine }) => {
  onLine?.('==> dependencies');
  onLine?.('==> package');
  return 0;
};

export class FakeEngine implements Engine {
  /** Every container started, in order. */
  readonly containers: FakeContainer[] = [];
  readonly volumes: Readonly<Record<string, string>>[] = [];
  /** Containers started and not yet removed, now and at most. */
  live = 0;
  maxLive = 0;
  /** Set to make the engine stop answering: info() and new containers fail. */
  down = false;
  private readonly images = new Map<string, string>();

  constructor(
    readonly script: FakeScript = succeeds,
    readonly described: { arch?: Arch; cpus?: number } = {},
  ) {}

  async info(): Promise<EngineInfo> {
    if (this.down) throw new Error('connect ECONNREFUSED (fake engine down)');
    return { arch: this.described.arch ?? 'amd64', cpus: this.described.cpus ?? 2 };
  }

  async imageId(tag: string): Promise<string | undefined> {
    return this.images.get(tag);
  }

  async ensureMachineImage(machine: Machine, arch: Arch, log: (line: string) => void): Promise<{ tag: string; id: string }> {
    const tag = await machineImageTag(machine, arch);
    const id = `sha256:fake-${tag}`;
    this.images.set(tag, id);
    log(`image: ${tag} (fake)`);
    return { tag, id };
  }

  async checkEmulation(): Promise<void> {}

  async ensureCacheVolumes(volumes: Readonly<Record<string, string>>): Promise<void> {
    this.volumes.push(volumes);
  }

  /** Runtime volumes populated, by name. */
  readonly populated: string[] = [];

  async populateRuntimeVolume(volume: RuntimeVolume): Promise<void> {
    this.populated.push(volume.volume);
  }

  async startContainer(spec: ContainerSpec): Promise<MachineContainer> {
    if (this.down) throw new Error('connect ECONNREFUSED (fake engine down)');
    const container = new FakeContainer(this, spec, `fake${String(this.containers.length).padStart(60, '0')}`);
    this.containers.push(container);
    this.maxLive = Math.max(this.maxLive, ++this.live);
    return container;
  }

  /** Resolves when `ready` holds, checked every few milliseconds; rejects after `ms`. */
  async until(ready: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`fake engine: waited ${ms} ms in vain`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

export class FakeContainer implements MachineContainer {
  /** Paths archives were put at, in order. */
  readonly puts: string[] = [];
  removed = false;
  /** Resolves when the container is removed. */
  readonly gone: Promise<void>;
  private built = false;
  private markGone!: () => void;
  private readonly removeOnce: () => Promise<void>;

  constructor(
    private readonly engine: FakeEngine,
    readonly spec: ContainerSpec,
    readonly id: string,
  ) {
    this.gone = new Promise((resolve) => (this.markGone = resolve));
    this.removeOnce = registerCleanup(async () => this.removeNow());
  }

  /** The build the container is for, from its label. */
  get build(): string {
    return this.spec.labels[`${LABEL}.build`] ?? '';
  }

  async exec(command: string[], options: ExecOptions = {}): Promise<number> {
    this.alive();
    const line = command.join(' ');
    if (line === 'uname -m') {
      options.onLine?.('x86_64');
      return 0;
    }
    if (line === 'sh -c command -v fpm') return 1;
    // The runtime volumes' check: the fake's are complete.
    if (line.startsWith('sh -c [ "$(cat ') && line.includes('.ndist-complete')) return 0;
    if (line === 'bash /ndist/build.sh') {
      const code = await Promise.race([this.engine.script(this, options), this.gone.then(() => Promise.reject(new Error(`container ${this.id} was removed`)))]);
      this.built = code === 0;
      return code;
    }
    throw new Error(`fake engine: no answer to ${line}`);
  }

  async putArchive(archive: Readable, path: string): Promise<void> {
    this.alive();
    for await (const _chunk of archive);
    this.puts.push(path);
  }

  async getArchive(path: string): Promise<Readable> {
    this.alive();
    const name = path.slice('/ndist/out/'.length);
    if (!this.built || !path.startsWith('/ndist/out/') || name.endsWith('.cdx.json')) {
      throw Object.assign(new Error(`Could not find the file ${path} in container ${this.id}`), { statusCode: 404 });
    }
    const pack = tar.pack();
    pack.entry({ name }, packageBytes(this.build, name));
    pack.finalize();
    return pack.pipe(new PassThrough());
  }

  async remove(): Promise<void> {
    await this.removeOnce();
  }

  private removeNow(): void {
    this.removed = true;
    this.engine.live--;
    this.markGone();
  }

  private alive(): void {
    if (this.removed) throw new Error(`container ${this.id} was removed`);
  }
}

/** The bytes of the package a fake container hands out. */
export function packageBytes(build: string, fileName: string): Buffer {
  return Buffer.from(`fake package ${fileName} built by ${build}\n`);
}
