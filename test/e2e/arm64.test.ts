/**
 * End to end: an arm64 .deb of the fixture app (native addon compiled for arm64) is built on this
 * amd64 host under QEMU emulation, then installed and run in a clean arm64 Debian 12 container
 * (arm64v8/debian:bookworm, also run through QEMU).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, directory } from '../../src/index.ts';
import { cleanHost, ndistContainers } from '../helpers/docker.ts';

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'hello-app');
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

  it('builds hello-app for arm64 on debian-bookworm, warning that it is emulated', async () => {
    const builder = new Builder({
      outDir,
      log: (build, line) => {
        lines.push(line);
        process.stderr.write(`${build} | ${line}\n`);
      },
    });
    builder.addBuild({ name: 'hello-app :: bookworm arm64', app: 'hello-app', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', arch: 'arm64', node: NODE_VERSION });
    const started = Date.now();
    const [result] = await builder.build();
    process.stderr.write(`arm64 build took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    assert.equal(path.basename(result!.artifact!), 'hello-app_1.0.0-1_arm64.deb');
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
    const install = await host.sh(`dpkg -i /tmp/${path.basename(deb)}`);
    assert.equal(install.code, 0, install.output);
    const run = await host.sh('hello-app arm');
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /^hello-app 1\.0\.0 on node v22\.23\.3 \(arm64\)$/m);
    assert.match(run.output, /^sqlite 3\.\d+\.\d+: hello from sqlite$/m);
    const addon = await host.sh('find /opt/hello-app/app/node_modules/better-sqlite3/build -name "*.node" -exec od -An -tx1 -j18 -N2 {} \\;');
    assert.match(addon.output.trim(), /^b7 00$/m, 'the addon is an aarch64 ELF (e_machine 0xb7)');
  });
});
