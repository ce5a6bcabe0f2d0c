/**
 * End to end, runtime: 'shared' with the quick tiny-app fixture (payload not compressed): the
 * runtime package ndist-node-<version> is built once and reused from the cache; two apps built on
 * it install together on a clean Debian host and share it; an app rebuilt on another Node version
 * brings its own runtime package beside the first, and dpkg keeps each runtime while an app needs it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256File } from '../../src/build/checksums.ts';
import { Builder, directory } from '../../src/index.ts';
import { defaultCacheDir } from '../../src/build/runtime.ts';
import type { BuildOptions, BuildResult } from '../../src/options/types.ts';
import { cleanHost, ndistContainers } from '../helpers/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'tiny-app');
const NODE = '22.23.3';
/** Another published 22.x, fetched and verified the same way. */
const OTHER_NODE = '22.22.2';
const RUNTIME_DEB = `ndist-node-${NODE}_${NODE}-1_amd64.deb`;
const OTHER_RUNTIME_DEB = `ndist-node-${OTHER_NODE}_${OTHER_NODE}-1_amd64.deb`;

/** A copy of tiny-app named `name` at `version`. */
async function appCopy(dir: string, name: string, version: string): Promise<string> {
  await cp(FIXTURE, dir, { recursive: true });
  const file = path.join(dir, 'package.json');
  const pkg = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, JSON.stringify({ ...pkg, name, version, bin: { [name]: 'bin/tiny.js' } }, null, 2));
  return dir;
}

describe('shared runtime packages', { timeout: 15 * 60_000 }, () => {
  let work: string;
  let cacheDir: string;
  const lines: string[] = [];

  async function build(outDir: string, builds: Omit<BuildOptions, 'buildMachine' | 'compression' | 'runtime'>[], buildMachine = 'debian-bookworm'): Promise<BuildResult[]> {
    const builder = new Builder({ outDir, cacheDir, log: (_build, line) => lines.push(line) });
    for (const options of builds) builder.addBuild({ ...options, buildMachine, compression: 'none', runtime: 'shared' });
    return builder.build();
  }

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-shared-'));
    // A cache of this test's own, so the runtime package is built here; the verified Node archives
    // are copied from the usual cache when it has them (they are re-verified on use).
    cacheDir = path.join(work, 'cache');
    const runtimes = path.join(defaultCacheDir(), 'runtimes');
    if (existsSync(runtimes)) await cp(runtimes, path.join(cacheDir, 'runtimes'), { recursive: true });
    await appCopy(path.join(work, 'app-a'), 'app-a', '1.0.0');
    await appCopy(path.join(work, 'app-b'), 'app-b', '1.0.0');
    await appCopy(path.join(work, 'app-b-next'), 'app-b', '1.1.0');
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const out1 = () => path.join(work, 'out1');
  const out2 = () => path.join(work, 'out2');
  const out3 = () => path.join(work, 'out3');

  it('builds the runtime package with the first app, reuses it for the second, lists it in SHA256SUMS and the report', async () => {
    const [a] = await build(out1(), [{ name: 'a', app: 'app-a', source: directory({ path: path.join(work, 'app-a') }), node: NODE }]);
    assert.ok(a?.ok, String(a?.error));
    assert.equal(a.runtimePackage?.reused, false);
    assert.equal(path.basename(a.runtimePackage.path), RUNTIME_DEB);

    // A second run: app B is new, app A is up to date; both get the cached runtime package.
    const results = await build(out2(), [
      { name: 'a', app: 'app-a', source: directory({ path: path.join(work, 'app-a') }), node: NODE },
      { name: 'b', app: 'app-b', source: directory({ path: path.join(work, 'app-b') }), node: NODE },
    ]);
    for (const result of results) {
      assert.ok(result.ok, String(result.error));
      assert.equal(result.runtimePackage?.reused, true, `${result.name} reuses the cached runtime package`);
      assert.equal(result.runtimePackage.sha256, a.runtimePackage.sha256, 'the same bytes whichever app asked for it');
    }
    assert.equal(lines.filter((line) => line.startsWith('runtime package: building')).length, 1, 'built once');
    assert.ok(lines.some((line) => line.startsWith('runtime package: reused from the cache')));

    const appDeb = path.join(out2(), 'app-b_1.0.0-1_amd64.deb');
    assert.equal(execFileSync('dpkg-deb', ['-f', appDeb, 'Depends'], { encoding: 'utf8' }).trim(), `ndist-node-${NODE} (= ${NODE}-1)`);
    const appFiles = execFileSync('dpkg-deb', ['-c', appDeb], { encoding: 'utf8' });
    assert.doesNotMatch(appFiles, /bin\/node$/m, 'the app package carries no node');
    assert.match(appFiles, /\/opt\/app-b\/app\/node_modules\/ms\/index\.js$/m);
    const runtimeFiles = execFileSync('dpkg-deb', ['-c', path.join(out2(), RUNTIME_DEB)], { encoding: 'utf8' });
    assert.match(runtimeFiles, new RegExp(`/opt/ndist/node/${NODE}/bin/node$`, 'm'));
    assert.match(runtimeFiles, new RegExp(`/opt/ndist/node/${NODE}/LICENSE$`, 'm'));

    const sums = execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out2(), encoding: 'utf8' });
    assert.match(sums, new RegExp(`^${RUNTIME_DEB.replace(/\./g, '\\.')}: OK$`, 'm'));
    const report = JSON.parse(await readFile(path.join(out2(), 'ndist-report.json'), 'utf8')) as { builds: { name: string; runtimePackage?: { file: string; reused: boolean } }[] };
    assert.deepEqual(report.builds.map((entry) => entry.runtimePackage?.file), [RUNTIME_DEB, RUNTIME_DEB]);
    const licenses = execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile ${appDeb} | tar -xOf - ./opt/app-b/share/licenses/licenses.json`], { encoding: 'utf8' });
    assert.deepEqual((JSON.parse(licenses) as { name: string; package?: string }[])[0], { name: 'node', version: NODE, license: 'MIT', package: `ndist-node-${NODE}` });
    assert.deepEqual(await ndistContainers(), []);
  });

  it('rebuilt from scratch (cache emptied) by another app, the runtime package has the same bytes', async () => {
    const first = await sha256File(path.join(out1(), RUNTIME_DEB));
    await rm(path.join(cacheDir, 'runtime-packages'), { recursive: true });
    // App B is up to date, but its runtime package is no longer cached: it is rebuilt, not reused.
    const [b] = await build(out2(), [{ name: 'b', app: 'app-b', source: directory({ path: path.join(work, 'app-b') }), node: NODE }]);
    assert.ok(b?.ok, String(b?.error));
    assert.ok(lines.some((line) => line === `up to date: no, the runtime package ${RUNTIME_DEB} is not in the cache`));
    assert.equal(b.runtimePackage?.reused, false);
    assert.equal(b.runtimePackage.sha256, first, 'reproducible whichever app triggers it');
  });

  it('rebuilds app B on another Node version, with that version\'s runtime package', async () => {
    const [b] = await build(out3(), [{ name: 'b-next', app: 'app-b', source: directory({ path: path.join(work, 'app-b-next') }), node: OTHER_NODE }]);
    assert.ok(b?.ok, String(b?.error));
    assert.equal(b.runtimePackage?.reused, false);
    assert.equal(path.basename(b.runtimePackage.path), OTHER_RUNTIME_DEB);
  });

  it('installs both apps on a clean host sharing one runtime; an upgrade brings the other runtime beside it; dpkg keeps each runtime an app needs', async (t) => {
    const files = [path.join(out2(), RUNTIME_DEB), path.join(out2(), 'app-a_1.0.0-1_amd64.deb'), path.join(out2(), 'app-b_1.0.0-1_amd64.deb'), path.join(out3(), OTHER_RUNTIME_DEB), path.join(out3(), 'app-b_1.1.0-1_amd64.deb')];
    const host = await cleanHost('debian:bookworm', files);
    t.after(() => host.remove());
    const sh = async (command: string, expectCode = 0) => {
      const result = await host.sh(command);
      assert.equal(result.code, expectCode, `${command}:\n${result.output}`);
      return result.output;
    };

    assert.equal((await sh('command -v node || echo none')).trim(), 'none', 'the host has no Node');
    await sh(`dpkg -i /tmp/${RUNTIME_DEB} /tmp/app-a_1.0.0-1_amd64.deb /tmp/app-b_1.0.0-1_amd64.deb`);
    assert.match(await sh('app-a'), new RegExp(`^app-a 1\\.0\\.0 on node v${NODE}: 3600000$`, 'm'));
    assert.match(await sh('app-b'), new RegExp(`^app-b 1\\.0\\.0 on node v${NODE}: 3600000$`, 'm'));
    // Its apps depend on it: dpkg refuses to remove the runtime under them.
    assert.match(await sh(`dpkg -r ndist-node-${NODE}`, 1), /dependency problems/);

    // App B's next release is built on another Node: its runtime installs beside the first.
    await sh(`dpkg -i /tmp/${OTHER_RUNTIME_DEB} /tmp/app-b_1.1.0-1_amd64.deb`);
    assert.match(await sh('app-b'), new RegExp(`^app-b 1\\.1\\.0 on node v${OTHER_NODE}: 3600000$`, 'm'));
    assert.match(await sh('app-a'), new RegExp(`^app-a 1\\.0\\.0 on node v${NODE}: 3600000$`, 'm'), 'app A still runs on its own runtime');
    const installed = await sh("dpkg-query -W -f '${Package} ${Version}\\n' 'ndist-node-*'");
    assert.match(installed, new RegExp(`^ndist-node-${NODE} ${NODE}-1$`, 'm'));
    assert.match(installed, new RegExp(`^ndist-node-${OTHER_NODE} ${OTHER_NODE}-1$`, 'm'));

    // Removing app A leaves B's runtime; A's runtime, needed by nobody now, can go.
    await sh('dpkg -r app-a');
    assert.match(await sh('app-b'), new RegExp(`on node v${OTHER_NODE}`));
    await sh(`dpkg -r ndist-node-${NODE}`);
    assert.match(await sh(`dpkg -r ndist-node-${OTHER_NODE}`, 1), /dependency problems/);
    assert.match(await sh('app-b'), new RegExp(`on node v${OTHER_NODE}`));
    assert.equal((await sh(`ls /opt/ndist/node`)).trim(), OTHER_NODE);
  });

  it('as .rpm (rpmbuild): the app Requires the exact runtime package, both install with rpm and the app runs on it', async (t) => {
    const out = path.join(work, 'out-rpm');
    const [a] = await build(out, [{ name: 'a-rpm', app: 'app-a', source: directory({ path: path.join(work, 'app-a') }), node: NODE }], 'debian-bookworm-rpm');
    assert.ok(a?.ok, String(a?.error));
    const runtimeRpm = `ndist-node-${NODE}-${NODE}-1.x86_64.rpm`;
    assert.equal(path.basename(a.runtimePackage!.path), runtimeRpm);
    const query = (...args: string[]) => execFileSync('rpm', ['-qp', ...args], { encoding: 'utf8' });
    assert.match(query('--requires', a.artifact!), new RegExp(`^ndist-node-${NODE} = ${NODE}-1$`, 'm'));
    assert.doesNotMatch(query('--list', a.artifact!), /bin\/node$/m, 'the app package carries no node');
    assert.match(query('--list', a.runtimePackage!.path), new RegExp(`^/opt/ndist/node/${NODE}/bin/node$`, 'm'));
    assert.match(query('--provides', a.runtimePackage!.path), new RegExp(`^ndist-node-${NODE} = ${NODE}-1$`, 'm'));

    const host = await cleanHost('debian:bookworm', [a.artifact!, a.runtimePackage!.path]);
    t.after(() => host.remove());
    const sh = async (command: string, expectCode = 0) => {
      const result = await host.sh(command);
      assert.equal(result.code, expectCode, `${command}:\n${result.output}`);
      return result.output;
    };
    await sh('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rpm >/dev/null');
    // No --nodeps for the app: rpm resolves its Requires against the runtime package.
    assert.match(await sh(`rpm -i --force-debian /tmp/app-a-1.0.0-1.x86_64.rpm`, 1), new RegExp(`ndist-node-${NODE} = ${NODE}-1 is needed by app-a`));
    // The runtime package requires its glibc floor (libc.so.6(GLIBC_…)(64bit)…), which this Debian
    // root's rpm database does not know: it alone is installed with --nodeps, the app then without.
    const unmet = await host.sh(`rpm -i --force-debian /tmp/${runtimeRpm}`);
    assert.notEqual(unmet.code, 0, unmet.output);
    assert.match(unmet.output, /libc\.so\.6\(GLIBC_2\.\d+\)\(64bit\) is needed by ndist-node/);
    await sh(`rpm -i --force-debian --nodeps /tmp/${runtimeRpm}`);
    await sh(`rpm -i --force-debian /tmp/app-a-1.0.0-1.x86_64.rpm`);
    assert.match(await sh('app-a'), new RegExp(`^app-a 1\\.0\\.0 on node v${NODE}: 3600000$`, 'm'));
    assert.match(await sh(`rpm -e ndist-node-${NODE}`, 1), /is needed by \(installed\) app-a/);
  });
});
