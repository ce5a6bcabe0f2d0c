/** Test helpers that talk to the Docker engine: clean target hosts, and leak checks by label. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import Docker from 'dockerode';
import tar from 'tar-stream';
import { cacheVolumes } from '../../src/cache/dependency-cache.ts';
import { BuildContainer } from '../../src/machine/docker/container.ts';

export const docker = new Docker();
export const TEST_LABEL = 'io.ndist.test';

/**
 * Every process these tests start labels its containers with this session (NDIST_SESSION), so the
 * leak checks see this test run's containers only, not those of a build running beside it.
 */
export const TEST_SESSION = `test-${process.pid}`;
process.env.NDIST_SESSION = TEST_SESSION;

/**
 * The npm and dependency cache volumes of this test run's builds: their own, so the tests neither
 * use nor disturb the user's caches; removed when the test file ends.
 */
process.env.NDIST_VOLUME_PREFIX = `ndist-${TEST_SESSION}`;
export const TEST_VOLUMES = Object.values(cacheVolumes());
after(async () => {
  // And the runtime volumes (<prefix>-runtime-<key>) its builds populated.
  const { Volumes } = await docker.listVolumes({ filters: { name: [`${process.env.NDIST_VOLUME_PREFIX}-runtime-`] } });
  const runtime = (Volumes ?? []).map(({ Name }) => Name).filter((name) => name.startsWith(`${process.env.NDIST_VOLUME_PREFIX}-runtime-`));
  for (const volume of [...TEST_VOLUMES, ...runtime]) await docker.getVolume(volume).remove({ force: true }).catch(() => undefined);
});

/** Containers (running or not) this test run's builds created: there must be none after a build. */
export async function ndistContainers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`io.ndist.session=${TEST_SESSION}`] } });
}

/** The containers `ndist verify` started in this test run (labelled io.ndist.verify): none after a verify. */
export async function verifyContainers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: ['io.ndist.verify=true', `io.ndist.session=${TEST_SESSION}`] } });
}

export interface CleanHost {
  /** Run a shell command; returns exit code and the output, stdout and stderr together. */
  sh(command: string): Promise<{ code: number; output: string }>;
  remove(): Promise<void>;
}

/** A fresh container of a plain base image (no Node, no compiler) with `files` copied to /tmp. */
export async function cleanHost(image: string, files: string[]): Promise<CleanHost> {
  // Its own session label, not io.ndist.session: ndistContainers() lists a run's build containers only.
  const host = await BuildContainer.start(docker, image, { labels: { [TEST_LABEL]: 'true', 'io.ndist.test.session': TEST_SESSION }, env: {} });
  try {
    const pack = tar.pack();
    for (const file of files) pack.entry({ name: path.basename(file), mode: 0o644 }, readFileSync(file));
    pack.finalize();
    await host.putArchive(pack as never, '/tmp');
  } catch (error) {
    await host.remove();
    throw error;
  }
  return {
    async sh(command) {
      const lines: string[] = [];
      const code = await host.exec(['sh', '-c', command], { onLine: (line) => lines.push(line) });
      return { code, output: lines.join('\n') };
    },
    remove: () => host.remove(),
  };
}
