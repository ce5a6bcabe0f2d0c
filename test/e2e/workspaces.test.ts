/**
 * End to end, monorepos (issue #17): test/fixtures/monorepo-npm, npm workspaces with its lockfile at
 * the root. apps/api ships; it depends on packages/lib, a workspace package built by TypeScript
 * (a devDependency) with a dependency of its own at another version than the app's (ms 2.0.0, nested
 * under it in the package, beside the app's ms 2.1.3); apps/other and its dependency must not ship.
 * One build, then the package is installed on a clean Debian 12 container with no Node, run, and purged.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, directory } from '../../src/index.ts';
import { cleanHost, ndistContainers, type CleanHost } from '../helpers/docker.ts';
import { cleanUpOnInterrupt } from '../helpers/interrupt.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'monorepo-npm');
const NODE = '22.23.3';

/** `dpkg-deb -c` as { type, path, target } with the leading `.` dropped. */
function debEntries(deb: string): { type: string; path: string; target?: string }[] {
  return execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).trim().split('\n').map((line) => {
    const [, type, rest] = /^(.)\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\.(.*)$/.exec(line)!;
    const [file, target] = rest!.split(' -> ');
    return { type: type!, path: file!.replace(/\/$/, ''), ...(target === undefined ? {} : { target }) };
  });
}

describe('a workspace of an npm monorepo', { timeout: 20 * 60_000 }, () => {
  let work: string;
  let host: CleanHost | undefined;
  let stopCleanUpOnInterrupt: () => void;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-workspaces-e2e-'));
    stopCleanUpOnInterrupt = cleanUpOnInterrupt(() => [work]);
  });

  after(async () => {
    await host?.remove();
    stopCleanUpOnInterrupt();
    await rm(work, { recursive: true, force: true });
  });

  it('ships apps/api with lib built, as real directories, nothing of apps/other; it installs and runs on a clean host', async () => {
    const lines: string[] = [];
    const builder = new Builder({ outDir: path.join(work, 'out'), cacheDir: path.join(work, 'cache'), machinesDir: ROOT, force: true, log: (_, line) => lines.push(line) });
    builder.addBuild({ name: 'api', app: 'api', workspace: 'apps/api', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', arch: 'amd64', node: NODE, compression: 'none' });
    const [result] = await builder.build();
    const log = lines.join('\n');
    assert.ok(result!.ok, log);
    assert.match(log, /^dependency cache: saved [0-9a-f]{64}-full$/m);
    assert.deepEqual(await ndistContainers(), [], 'no build container left');

    // Only the workspace and what it depends on were installed; lib was built before the deploy.
    assert.match(log, /^\+ npm run build --workspace packages\/lib$/m);
    assert.match(log, /^workspace: apps\/api deployed with 3 packages, workspace packages packages\/lib → node_modules\/lib$/m);
    assert.equal(path.basename(result!.artifact!), 'api_1.2.3-1_amd64.deb', 'name and version from the workspace');

    const entries = debEntries(result!.artifact!);
    const paths = new Set(entries.map((entry) => entry.path));
    const app = '/opt/api/app';
    for (const file of ['bin/api.js', 'package.json', 'node_modules/lib/package.json', 'node_modules/lib/dist/index.js', 'node_modules/ms/package.json', 'node_modules/lib/node_modules/ms/package.json']) {
      assert.ok(paths.has(`${app}/${file}`), `${file} is in the package`);
    }
    assert.equal(entries.find((entry) => entry.path === `${app}/node_modules/lib`)?.type, 'd', 'lib is a real directory');
    // What lib publishes only (its files: dist), and nothing of the other workspace, devDependencies or the monorepo.
    const unwanted = [...paths].filter((file) => /\/node_modules\/(is-number|typescript|other|api)(\/|$)|\/(apps|packages)(\/|$)|\/lib\/(src|tsconfig\.json)|other must not ship/.test(file));
    assert.deepEqual(unwanted, []);
    // Every symlink points inside the package: /usr/bin/api at the app's wrapper, none into a monorepo.
    for (const link of entries.filter((entry) => entry.type === 'l')) {
      const target = path.posix.resolve(path.posix.dirname(link.path), link.target!);
      assert.ok(target.startsWith('/opt/api/') && paths.has(target), `${link.path} -> ${link.target} points inside the package`);
    }

    const sbom = JSON.parse(await readFile(result!.sbom!.path, 'utf8')) as { components: { name: string; version: string }[] };
    const components = sbom.components.map((component) => `${component.name}@${component.version}`).sort();
    assert.deepEqual(components, ['lib@0.4.0', 'ms@2.0.0', 'ms@2.1.3']);

    host = await cleanHost('debian:bookworm', [result!.artifact!]);
    const sh = async (command: string) => {
      const { code, output } = await host!.sh(command);
      assert.equal(code, 0, `${command}:\n${output}`);
      return output;
    };
    await sh('command -v node && exit 1 || true');
    await sh('dpkg -i /tmp/api_1.2.3-1_amd64.deb');
    assert.equal((await sh('api')).trim(), 'api 1.2.3 with ms 2.1.3; lib 0.4.0 with ms 2.0.0: 2 minutes');
    await sh('dpkg -P api');
    await sh('test ! -e /opt/api && test ! -e /usr/bin/api');

    // Again, another version: the dependency cache (root and workspaces' node_modules) restores the
    // install, and the package holds the same files.
    const again: string[] = [];
    const warm = new Builder({ outDir: path.join(work, 'out2'), cacheDir: path.join(work, 'cache'), machinesDir: ROOT, force: true, log: (_, line) => again.push(line) });
    warm.addBuild({ name: 'api', app: 'api', version: '1.2.4', workspace: 'apps/api', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', arch: 'amd64', node: NODE, compression: 'none' });
    const [second] = await warm.build();
    assert.ok(second!.ok, again.join('\n'));
    assert.match(again.join('\n'), /^dependency cache: hit [0-9a-f]{64}-full, npm ci skipped$/m);
    assert.deepEqual(debEntries(second!.artifact!).map((entry) => `${entry.type} ${entry.path}`), entries.map((entry) => `${entry.type} ${entry.path}`));
  });
});
