/**
 * End to end, the ARM architectures under QEMU on this amd64 host. arm64: an arm64 .deb of a fixture app (a native addon compiled for arm64, linked against
 * the distro's libsqlite3) is built on this amd64 host under QEMU emulation, then installed and run
 * in a clean arm64 Debian 12 container (arm64v8/debian:bookworm, also run through QEMU). The fixture
 * is native-link rather than hello-app: compiling better-sqlite3's bundled sqlite under QEMU took
 * ~10 minutes, most of CI's time, and proves nothing a one-file addon does not.
 * armhf is in test/e2e-slow/armhf.test.ts (`npm run test:e2e:armhf`), outside CI's time budget.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, directory } from '../../src/index.ts';
import { cleanHost, docker, ndistContainers } from '../helpers/docker.ts';

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'native-link');
const NODE_VERSION = '22.23.3';

describe('an arm64 .deb built under emulation', { timeout: 40 * 60_000 }, () => {
  let outDir: string;
  let deb: string | undefined;
  const lines: string[] = [];

  before(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'ndist-arm64-'));
  });
  after(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('builds native-link for arm64 on debian-bookworm, warning that it is emulated', async () => {
    const builder = new Builder({
      outDir,
      log: (build, line) => {
        lines.push(line);
        process.stderr.write(`${build} | ${line}\n`);
      },
    });
    builder.addBuild({
      name: 'native-link :: bookworm arm64', app: 'native-link', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', arch: 'arm64', node: NODE_VERSION,
      buildDeps: ['@sqlite-dev'], runtimeDeps: ['@sqlite'],
    });
    // scripts/setup.sh no longer makes the arm64 base image: on a fresh machine the build creates it.
    const baseMissing = await docker.getImage('arm64v8/debian:bookworm').inspect().then(() => false, () => true);
    const started = Date.now();
    const [result] = await builder.build();
    if (baseMissing) assert.ok(lines.some((line) => /base image arm64v8\/debian:bookworm is not on engine "[^"]+" and no registry gives it: creating it with debootstrap/.test(line)), 'the missing base image is created, and said so');
    process.stderr.write(`arm64 build took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    assert.equal(path.basename(result!.artifact!), 'native-link_1.0.0-1_arm64.deb');
    deb = result!.artifact!;
    assert.ok(lines.some((line) => /WARNING: arm64 on an amd64 engine runs under QEMU emulation/.test(line)), 'the emulation warning is logged');
    assert.ok(lines.some((line) => /runtime: node 22\.23\.3 linux-arm64/.test(line)), 'the arm64 runtime is bundled');
    assert.deepEqual(await ndistContainers(), []);
  });

  it('installs and runs on a clean arm64 Debian 12, native addon included', async (t) => {
    assert.ok(deb, 'the build step produced a package');
    const host = await cleanHost('arm64v8/debian:bookworm', [deb]);
    t.after(() => host.remove());
    assert.equal((await host.sh('uname -m')).output.trim(), 'aarch64');
    // apt resolves the package's Depends (libsqlite3-0) from the distro, as on a real host.
    const install = await host.sh(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/${path.basename(deb)}`);
    assert.equal(install.code, 0, install.output);
    const run = await host.sh('native-link && /opt/native-link/node/bin/node -p process.arch');
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /^system sqlite 3\.\d+\.\d+, ms 2000$/m);
    assert.match(run.output, /^arm64$/m);
    const addon = await host.sh('od -An -tx1 -j18 -N2 /opt/native-link/app/build/Release/sqlite_version.node');
    assert.match(addon.output.trim(), /^b7 00$/m, 'the addon is an aarch64 ELF (e_machine 0xb7)');
  });
});
