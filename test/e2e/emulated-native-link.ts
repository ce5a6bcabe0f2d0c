/**
 * Shared by the arm64 and armhf e2e tests, which have one shape: native-link (a one-file addon linked
 * against the distro's libsqlite3) built for an ARM architecture on debian-bookworm under QEMU on
 * this amd64 host, then installed and run in a clean container of the same architecture. The
 * fixture is native-link rather than hello-app: compiling better-sqlite3's bundled sqlite under
 * QEMU took ~10 minutes and proves nothing a one-file addon does not.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { Builder, directory } from '../../src/index.ts';
import type { BuilderOptions } from '../../src/index.ts';
import { cleanHost, docker, ndistContainers } from '../helpers/docker.ts';

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'native-link');

export interface EmulatedTarget {
  arch: 'arm64' | 'armhf';
  /** The node version built with: one the npm registry has a build of for this architecture. */
  node: string;
  /** Docker Hub's name of the architecture's Debian 12: the machine's base and the clean host. */
  baseImage: string;
  /** What `uname -m` says on the clean host, `process.arch` of the bundled node, and node's platform name. */
  uname: string;
  processArch: string;
  nodePlatform: string;
  /** The ELF header's e_machine of the compiled addon as `od -tx1` prints it, and what it means. */
  elfMachine: string;
  elfName: string;
}

/**
 * Registers, in the caller's describe: a temporary output directory, then a test that builds
 * native-link for `target` and one that installs and runs it. Returns a builder factory and the
 * build, for tests of the caller's own.
 */
export function emulatedNativeLink(target: EmulatedTarget) {
  let outDir: string;
  let deb: string | undefined;
  const lines: string[] = [];

  before(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), `ndist-${target.arch}-`));
  });
  after(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  /** A builder whose log lines are kept in `lines` (emptied first) and shown on stderr. */
  function builder(options: Pick<BuilderOptions, 'runtimeSources'> = {}): Builder {
    lines.length = 0;
    return new Builder({
      outDir,
      ...options,
      log: (build, line) => {
        lines.push(line);
        process.stderr.write(`${build} | ${line}\n`);
      },
    });
  }
  // No compression: the package format is proven elsewhere, and dpkg-deb's xz of the ~70 MB runtime
  // under QEMU took over 10 minutes on the loaded 2-core machine (gzip minutes too).
  const build = {
    name: `native-link :: bookworm ${target.arch}`, app: 'native-link', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', arch: target.arch,
    buildDeps: ['@sqlite-dev'], runtimeDeps: ['@sqlite'], compression: 'none' as const,
  };

  it(`builds native-link for ${target.arch} on debian-bookworm with node ${target.node}, warning that it is emulated`, async () => {
    const built = builder().addBuild({ ...build, node: target.node });
    // scripts/setup.sh makes no ARM base image: on a fresh machine the build creates it.
    const baseMissing = await docker.getImage(target.baseImage).inspect().then(() => false, () => true);
    const started = Date.now();
    const [result] = await built.build();
    process.stderr.write(`${target.arch} build took ${((Date.now() - started) / 1000).toFixed(0)} s (base image ${baseMissing ? 'created' : 'present'}; load average ${os.loadavg().map((load) => load.toFixed(1)).join(' ')})\n`);
    assert.ok(result!.artifact, String(result!.error));
    if (baseMissing) {
      const created = new RegExp(`base image ${target.baseImage.replace('/', '\\/')} is not on engine "[^"]+" and no registry gives it: creating it with debootstrap`);
      assert.ok(lines.some((line) => created.test(line)), 'the missing base image is created, and said so');
    }
    assert.equal(path.basename(result!.artifact!), `native-link_1.0.0-1_${target.arch}.deb`);
    deb = result!.artifact!;
    assert.ok(lines.some((line) => line.includes(`WARNING: ${target.arch} on an amd64 engine runs under QEMU emulation`)), 'the emulation warning is logged');
    assert.ok(lines.some((line) => line.includes(`runtime: node ${target.node} ${target.nodePlatform}`)), `the ${target.nodePlatform} runtime is bundled`);
    assert.deepEqual(await ndistContainers(), []);
  });

  it(`installs and runs on a clean ${target.arch} Debian 12, native addon included`, async (t) => {
    assert.ok(deb, 'the build step produced a package');
    const host = await cleanHost(target.baseImage, [deb]);
    t.after(() => host.remove());
    assert.equal((await host.sh('uname -m')).output.trim(), target.uname);
    // apt resolves the package's Depends (libsqlite3-0) from the distro, as on a real host.
    const install = await host.sh(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/${path.basename(deb)}`);
    assert.equal(install.code, 0, install.output);
    const run = await host.sh('native-link && /opt/native-link/node/bin/node -p process.arch');
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /^system sqlite 3\.\d+\.\d+, ms 2000$/m);
    assert.match(run.output, new RegExp(`^${target.processArch}$`, 'm'));
    const addon = await host.sh('od -An -tx1 -j18 -N2 /opt/native-link/app/build/Release/sqlite_version.node');
    assert.equal(addon.output.trim(), target.elfMachine, `the addon is ${target.elfName}`);
  });

  return { builder, build, lines };
}
