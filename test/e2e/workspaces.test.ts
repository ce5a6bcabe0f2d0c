/**
 * End to end, monorepos (issue #17): test/fixtures/monorepo-npm, npm workspaces with its lockfile at
 * the root. apps/api ships; it depends on packages/lib, a workspace package built by TypeScript
 * (a devDependency) with a dependency of its own at another version than the app's (ms 2.0.0, nested
 * under it in the package, beside the app's ms 2.1.3); apps/other and its dependency must not ship.
 * One build, then the package is installed on a clean Debian 12 container with no Node, run, and purged.
 * Then the same monorepo under pnpm (test/fixtures/monorepo-pnpm: pnpm-workspace.yaml, its pnpm-lock.yaml,
 * lib linked with `workspace:^`), shipped through `pnpm deploy`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, directory } from '../../src/index.ts';
import type { BuildOptions, BuildResult } from '../../src/index.ts';
import { cleanHost, ndistContainers, type CleanHost } from '../helpers/docker.ts';
import { cleanUpOnInterrupt } from '../helpers/interrupt.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'monorepo-npm');
const PNPM_FIXTURE = path.join(ROOT, 'test', 'fixtures', 'monorepo-pnpm');
const NODE = '22.23.3';

/** `dpkg-deb -c` as { type, path, target } with the leading `.` dropped. */
function debEntries(deb: string): { type: string; path: string; target?: string }[] {
  return execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).trim().split('\n').map((line) => {
    const [, type, rest] = /^(.)\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\.(.*)$/.exec(line)!;
    const [file, target] = rest!.split(' -> ');
    return { type: type!, path: file!.replace(/\/$/, ''), ...(target === undefined ? {} : { target }) };
  });
}

const APP = '/opt/api/app';

let work: string;
const hosts: CleanHost[] = [];
let stopCleanUpOnInterrupt: () => void;

before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'ndist-workspaces-e2e-'));
  stopCleanUpOnInterrupt = cleanUpOnInterrupt(() => [work]);
});

after(async () => {
  for (const host of hosts) await host.remove();
  stopCleanUpOnInterrupt();
  await rm(work, { recursive: true, force: true });
});

/** One build of apps/api of `fixture` into `out`, its result and log. */
async function buildApi(fixture: string, out: string, changes: Partial<BuildOptions> = {}): Promise<{ result: BuildResult; log: string }> {
  const lines: string[] = [];
  const builder = new Builder({ outDir: path.join(work, out), cacheDir: path.join(work, 'cache'), machinesDir: ROOT, force: true, log: (_, line) => lines.push(line) });
  builder.addBuild({ name: 'api', app: 'api', workspace: 'apps/api', source: directory({ path: fixture }), buildMachine: 'debian-bookworm', arch: 'amd64', node: NODE, compression: 'none', ...changes });
  const [result] = await builder.build();
  const log = lines.join('\n');
  assert.ok(result!.ok, log);
  assert.deepEqual(await ndistContainers(), [], 'no build container left');
  assert.equal(path.basename(result!.artifact!), `api_${changes.version ?? '1.2.3'}-1_amd64.deb`, 'name and version from the workspace');
  return { result: result!, log };
}

/**
 * The package holds apps/api, lib as a real directory with what it publishes (dist), both ms; nothing
 * of the other workspace, devDependencies or the monorepo (nor `unwanted`); every symlink points inside it.
 * The SBOM lists lib and both ms. Returns the package's entries.
 */
async function checkPackage(result: BuildResult, unwanted?: RegExp): Promise<{ type: string; path: string; target?: string }[]> {
  const entries = debEntries(result.artifact!);
  const paths = new Set(entries.map((entry) => entry.path));
  for (const file of ['bin/api.js', 'package.json', 'node_modules/lib/package.json', 'node_modules/lib/dist/index.js', 'node_modules/ms/package.json', 'node_modules/lib/node_modules/ms/package.json']) {
    assert.ok(paths.has(`${APP}/${file}`), `${file} is in the package`);
  }
  assert.equal(entries.find((entry) => entry.path === `${APP}/node_modules/lib`)?.type, 'd', 'lib is a real directory');
  const extra = [...paths].filter((file) => /\/node_modules\/(is-number|typescript|other|api)(\/|$)|\/(apps|packages)(\/|$)|\/lib\/(src|tsconfig\.json)|other must not ship/.test(file) || unwanted?.test(file));
  assert.deepEqual(extra, []);
  // Every symlink points inside the package: /usr/bin/api at the app's wrapper, none into a monorepo.
  for (const link of entries.filter((entry) => entry.type === 'l')) {
    const target = path.posix.resolve(path.posix.dirname(link.path), link.target!);
    assert.ok(target.startsWith('/opt/api/') && paths.has(target), `${link.path} -> ${link.target} points inside the package`);
  }
  const sbom = JSON.parse(await readFile(result.sbom!.path, 'utf8')) as { components: { name: string; version: string }[] };
  assert.deepEqual(sbom.components.map((component) => `${component.name}@${component.version}`).sort(), ['lib@0.4.0', 'ms@2.0.0', 'ms@2.1.3']);
  return entries;
}

/** Installed on a clean Debian 12 host with no Node, run, `check`ed there, purged. */
async function installRunPurge(result: BuildResult, check: (sh: (command: string) => Promise<string>) => Promise<void> = async () => {}): Promise<void> {
  const host = await cleanHost('debian:bookworm', [result.artifact!]);
  hosts.push(host);
  const sh = async (command: string) => {
    const { code, output } = await host.sh(command);
    assert.equal(code, 0, `${command}:\n${output}`);
    return output;
  };
  await sh('command -v node && exit 1 || true');
  await sh(`dpkg -i /tmp/${path.basename(result.artifact!)}`);
  assert.equal((await sh('api')).trim(), 'api 1.2.3 with ms 2.1.3; lib 0.4.0 with ms 2.0.0: 2 minutes');
  await check(sh);
  await sh('dpkg -P api');
  await sh('test ! -e /opt/api && test ! -e /usr/bin/api');
}

describe('a workspace of an npm monorepo', { timeout: 20 * 60_000 }, () => {
  it('ships apps/api with lib built, as real directories, nothing of apps/other; it installs and runs on a clean host', async () => {
    const { result, log } = await buildApi(FIXTURE, 'out');
    assert.match(log, /^dependency cache: saved [0-9a-f]{64}-full$/m);
    // Only the workspace and what it depends on were installed; lib was built before the deploy.
    assert.match(log, /^\+ npm run build --workspace packages\/lib$/m);
    assert.match(log, /^workspace: apps\/api deployed with 3 packages, workspace packages packages\/lib → node_modules\/lib$/m);
    const entries = await checkPackage(result);
    await installRunPurge(result);

    // Again, another version: the dependency cache (root and workspaces' node_modules) restores the
    // install, and the package holds the same files.
    const again = await buildApi(FIXTURE, 'out2', { version: '1.2.4' });
    assert.match(again.log, /^dependency cache: hit [0-9a-f]{64}-full, npm ci skipped$/m);
    assert.deepEqual(debEntries(again.result.artifact!).map((entry) => `${entry.type} ${entry.path}`), entries.map((entry) => `${entry.type} ${entry.path}`));
  });
});

describe('a workspace of a pnpm monorepo', { timeout: 20 * 60_000 }, () => {
  it('ships apps/api through pnpm deploy with lib built, as real directories, nothing of apps/other; it installs and runs on a clean host', async () => {
    const { result, log } = await buildApi(PNPM_FIXTURE, 'out-pnpm');
    // The workspace links of pnpm-lock.yaml are keyed, not a reason to skip the cache.
    assert.match(log, /^dependency cache: saved [0-9a-f]{64}-full$/m);
    assert.match(log, /^\+ pnpm --dir packages\/lib run build$/m);
    assert.match(log, /^\+ pnpm deploy --filter \.\/apps\/api --prod --frozen-lockfile .*--config\.inject-workspace-packages=true \/ndist\/ws$/m);
    // Nor pnpm's install state or lockfile.
    const entries = await checkPackage(result, /\/node_modules\/\.(pnpm|modules\.yaml)|pnpm-lock\.yaml/);
    await installRunPurge(result, async (sh) => {
      // package.json as pnpm publishes it: lib's workspace range made its version, no path of the build machine.
      const manifest = JSON.parse(await sh(`cat ${APP}/package.json`)) as { dependencies: Record<string, string>; bin: Record<string, string> };
      assert.deepEqual(manifest.dependencies, { lib: '^0.4.0', ms: '2.1.3' });
      assert.deepEqual(manifest.bin, { api: 'bin/api.js' });
      const outside = await sh('find /opt/api -type l | while read -r link; do case "$(readlink -f "$link")" in /opt/api/*) ;; *) echo "$link";; esac; done');
      assert.equal(outside.trim(), '', 'no link leads out of the package');
    });

    // Again, another version: the dependency cache restores the filtered install (its workspace links
    // too), lib is built and deployed again, and the package holds the same files.
    const again = await buildApi(PNPM_FIXTURE, 'out-pnpm2', { version: '1.2.4' });
    assert.match(again.log, /^dependency cache: hit [0-9a-f]{64}-full, npm ci skipped$/m);
    assert.deepEqual(debEntries(again.result.artifact!).map((entry) => `${entry.type} ${entry.path}`), entries.map((entry) => `${entry.type} ${entry.path}`));
  });
});
