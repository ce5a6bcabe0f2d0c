/**
 * End to end, apps installed by pnpm and Yarn (issue #17): each fixture's lockfile was written by
 * the manager it names, run on the host from its registry tarball. All three are built in one
 * Builder run for debian-bookworm (one shared runtime package, zstd, as the corpus does), installed
 * on one clean Debian 12 container with no Node, run, and purged:
 * - test/fixtures/pnpm-ts-app: pnpm pinned by hash in packageManager, a TypeScript build step;
 * - test/fixtures/yarn-native: Yarn classic (from yarn.lock alone, at ndist's default version),
 *   the app's own native addon compiled in the machine against the bundled Node's headers;
 * - test/fixtures/berry-app: Yarn Berry 4 with `nodeLinker: node-modules`, a devDependency that
 *   must not ship.
 * And through the CLI, the refusal of a packageManager hash that does not match the registry's
 * tarball: no container, nothing cached, the download never used. And pnpm's strict-dep-builds:
 * test/fixtures/pnpm-unapproved-build depends on core-js, whose install script the project does not
 * allow: the build fails, naming core-js and onlyBuiltDependencies.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, BuildsFailedError, directory } from '../../src/index.ts';
import type { BuildOptions, BuildResult } from '../../src/index.ts';
import { TEST_SESSION, cleanHost, ndistContainers, type CleanHost } from '../helpers/docker.ts';
import { cleanUpOnInterrupt } from '../helpers/interrupt.ts';
import { buildAll } from '../helpers/build-all.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const NODE = '22.23.3';

type Sh = (command: string, expectCode?: number) => Promise<string>;

interface ManagerApp {
  app: string;
  version: string;
  manager: RegExp;
  options?: Partial<BuildOptions>;
  inspect(files: string): void;
  smoke(sh: Sh): Promise<void>;
}

const APPS: ManagerApp[] = [
  {
    app: 'pnpm-ts-app',
    version: '1.2.0',
    manager: /package manager: pnpm 10\.34\.9 \(from package\.json's packageManager\), lockfile pnpm-lock\.yaml/,
    inspect(files) {
      assert.match(files, /\/opt\/pnpm-ts-app\/app\/dist\/cli\.js$/m, 'the build output ships');
      assert.match(files, /\/opt\/pnpm-ts-app\/app\/node_modules\/ms\/index\.js$/m, 'the production dependency ships as a real directory');
      assert.doesNotMatch(files, /node_modules\/typescript\//, 'the devDependency does not ship');
      assert.doesNotMatch(files, /node_modules\/\.(pnpm|modules\.yaml|pnpm-workspace-state)|pnpm-lock\.yaml|\/src\/cli\.ts/, 'no pnpm state, lockfile or sources');
      assert.doesNotMatch(files, /^l.*\/opt\/pnpm-ts-app\/app\/node_modules\/[^ ]+ -> /m, 'no symlink in node_modules');
    },
    async smoke(sh) {
      assert.equal((await sh('pnpm-ts-app --version')).trim(), '1.2.0');
      assert.equal((await sh('pnpm-ts-app you')).trim(), 'hello you, built 2 minutes ago');
    },
  },
  {
    app: 'yarn-native',
    version: '1.0.0',
    manager: /package manager: yarn 1\.22\.22 \(from the default for Yarn classic \(1\.x\) \(yarn\.lock names no version\)\), lockfile yarn\.lock/,
    options: { buildDeps: ['@sqlite-dev'], runtimeDeps: ['@sqlite'] },
    inspect(files) {
      assert.match(files, /\/opt\/yarn-native\/app\/build\/Release\/sqlite_version\.node( |$)/m, 'the addon compiled in the machine ships');
      assert.match(files, /\/opt\/yarn-native\/app\/node_modules\/ms\/index\.js$/m);
      assert.doesNotMatch(files, /yarn\.lock|\.yarn-integrity/, 'no lockfile or Yarn state');
    },
    async smoke(sh) {
      assert.match(await sh('yarn-native'), /^system sqlite 3\.\d+\.\d+, ms 2000$/m);
    },
  },
  {
    app: 'berry-app',
    version: '1.0.0',
    manager: /package manager: berry 4\.18\.1 \(from package\.json's packageManager\), lockfile yarn\.lock/,
    inspect(files) {
      assert.match(files, /\/opt\/berry-app\/app\/node_modules\/ms\/index\.js$/m);
      assert.doesNotMatch(files, /node_modules\/left-pad\//, 'the devDependency does not ship');
      assert.doesNotMatch(files, /\.yarnrc\.yml|\/\.yarn\/|\.yarn-state\.yml|yarn\.lock/, 'no Yarn configuration, state or lockfile');
    },
    async smoke(sh) {
      assert.equal((await sh('berry-app')).trim(), 'berry-app 1.0.0: 2 minutes');
    },
  },
];

describe('package managers: pnpm, Yarn classic and Yarn Berry apps built, installed on a clean host, run, removed', { timeout: 30 * 60_000 }, () => {
  let work: string;
  let host: CleanHost | undefined;
  const results = new Map<string, BuildResult>();
  const lines: string[] = [];
  let stopCleanUpOnInterrupt: (() => void) | undefined;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-managers-'));
    stopCleanUpOnInterrupt = cleanUpOnInterrupt(() => [work]);
    for (const { app } of APPS) await cp(path.join(ROOT, 'test', 'fixtures', app), path.join(work, 'apps', app), { recursive: true });
  });
  after(async () => {
    await host?.remove();
    await rm(work, { recursive: true, force: true });
    stopCleanUpOnInterrupt?.();
  });

  it('builds the three apps in one run, each with its own manager, leaving no container', async (t) => {
    const builder = new Builder({ outDir: path.join(work, 'out'), concurrency: 2, progress: 'silent', log: (build, line) => lines.push(`${build} | ${line}`) });
    for (const entry of APPS) {
      builder.addBuild({
        name: entry.app, app: entry.app, source: directory({ path: path.join(work, 'apps', entry.app) }), buildMachine: 'debian-bookworm', node: NODE, runtime: 'shared', compression: 'zstd', ...entry.options,
      });
    }
    const started = Date.now();
    for (const [name, result] of await buildAll(builder)) results.set(name, result);
    t.diagnostic(`build run: ${((Date.now() - started) / 1000).toFixed(0)} s for ${APPS.length} apps, concurrency 2`);
    for (const [name, result] of results) t.diagnostic(`${name}: ${(result.size! / 1e6).toFixed(1)} MB in ${(result.durationMs / 1000).toFixed(0)} s`);
    assert.deepEqual(await ndistContainers(), []);
    for (const entry of APPS) assert.ok(lines.some((line) => line.startsWith(`${entry.app} | `) && entry.manager.test(line)), `${entry.app}: the log says which manager and why`);
    assert.ok(lines.some((line) => /^pnpm-ts-app \| ==> dependencies: pnpm install --frozen-lockfile/.test(line)), 'pnpm installs frozen to its lockfile');
    assert.ok(lines.some((line) => /^berry-app \| ==> dependencies: yarn workspaces focus --all --production/.test(line)), 'Berry installs production only');
  });

  it('each package holds its production tree and the SBOM lists it', async () => {
    for (const entry of APPS) {
      const result = results.get(entry.app);
      assert.ok(result?.artifact, `${entry.app} was built`);
      assert.equal(path.basename(result.artifact), `${entry.app}_${entry.version}-1_amd64.deb`);
      entry.inspect(execFileSync('dpkg-deb', ['-c', result.artifact], { encoding: 'utf8' }));
      const sbom = JSON.parse(await readFile(result.sbom!.path, 'utf8')) as { components?: { name: string }[] };
      assert.ok(sbom.components?.some((component) => component.name === 'ms'), `${entry.app}: the SBOM lists ms`);
    }
  });

  it('installs the three on one clean Debian 12 host with no Node, runs each, and purges each', async (t) => {
    const debs = [...new Set(APPS.flatMap((entry) => [results.get(entry.app)!.artifact!, results.get(entry.app)!.runtimePackage!.path]))];
    host = await cleanHost('debian:bookworm', debs);
    const sh: Sh = async (command, expectCode = 0) => {
      const result = await host!.sh(command);
      assert.equal(result.code, expectCode, `${command}:\n${result.output}`);
      return result.output;
    };
    assert.equal((await sh('command -v node || echo none')).trim(), 'none', 'the host has no Node');
    // apt resolves yarn-native's Depends (libsqlite3-0) from the distro, as on a real host.
    await sh(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${debs.map((deb) => `/tmp/${path.basename(deb)}`).join(' ')}`);
    for (const entry of APPS) await t.test(entry.app, () => entry.smoke(sh));
    for (const entry of APPS) {
      await sh(`dpkg -P ${entry.app}`);
      await sh(`dpkg -s ${entry.app}`, 1);
    }
    await sh(`dpkg -P ndist-node-${NODE}`);
    assert.equal((await sh('ls -A /opt')).trim(), '');
  });
});

describe('a packageManager hash that does not match the registry', () => {
  it('is refused through the CLI before any container starts, and the download is neither cached nor used', { timeout: 120_000 }, async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-hash-'));
    try {
      const dir = path.join(tmp, 'app');
      await cp(path.join(ROOT, 'test', 'fixtures', 'pnpm-ts-app'), dir, { recursive: true });
      const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { packageManager: string };
      // One hex digit changed: the hash of another tarball.
      const corrupt = pkg.packageManager.replace(/[0-9a-f]$/, (digit) => (digit === '0' ? '1' : '0'));
      await writeFile(path.join(dir, 'package.json'), JSON.stringify({ ...pkg, packageManager: corrupt }, null, 2));
      await writeFile(path.join(dir, 'ndist.config.json'), JSON.stringify({ outDir: 'out', builds: [{ name: 'hash', app: 'pnpm-ts-app', source: { type: 'directory', path: '.' }, buildMachine: 'debian-bookworm', node: NODE }] }));
      const cacheDir = path.join(tmp, 'cache');
      const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
        execFile(process.execPath, [path.join(ROOT, 'bin', 'ndist.js'), 'build'], { cwd: dir, timeout: 110_000, env: { ...process.env, NDIST_SESSION: TEST_SESSION, NDIST_CACHE_DIR: cacheDir, CI: 'true' } }, (error, stdout, stderr) => {
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` });
        });
      });
      assert.equal(code, 1, output);
      assert.match(output, /checksum mismatch for pnpm@10\.34\.9 \(package\.json's packageManager\): packageManager gives sha512 [0-9a-f]{128}, the registry's tarball is [0-9a-f]{128}; the download is not used/);
      const runtimes = path.join(cacheDir, 'runtimes');
      const cached = existsSync(runtimes) ? await readdir(runtimes) : [];
      assert.deepEqual(cached.filter((entry) => entry.startsWith('pnpm-') || entry.startsWith('.tmp-')), [], 'no pnpm entry and no leftover download in the cache');
      assert.deepEqual(await ndistContainers(), []);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});

describe('a pnpm dependency with an install script the project does not allow', () => {
  it('fails the build (strict-dep-builds), naming the package and onlyBuiltDependencies, and leaves no container', { timeout: 15 * 60_000 }, async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-unapproved-'));
    const stop = cleanUpOnInterrupt(() => [work]);
    try {
      const lines: string[] = [];
      const builder = new Builder({ outDir: path.join(work, 'out'), progress: 'silent', log: (_, line) => lines.push(line) });
      builder.addBuild({ name: 'unapproved', app: 'pnpm-unapproved-build', source: directory({ path: path.join(ROOT, 'test', 'fixtures', 'pnpm-unapproved-build') }), buildMachine: 'debian-bookworm', node: NODE, compression: 'none' });
      const error = await builder.build().then(() => undefined, (failure: unknown) => failure);
      assert.ok(error instanceof BuildsFailedError, `the build failed: ${String(error)}\n${lines.join('\n')}`);
      const [result] = error.results;
      assert.equal(result!.stage, 'dependencies', 'it failed installing');
      assert.match(result!.error!.message, /the build script failed with exit code \d+: pnpm 10 skipped the install scripts of core-js@3\.45\.1, .*list it in onlyBuiltDependencies \(pnpm-workspace\.yaml `onlyBuiltDependencies: \[core-js\]`/);
      assert.ok(lines.some((line) => /ERR_PNPM_IGNORED_BUILDS\s+Ignored build scripts: core-js@3\.45\.1/.test(line)), 'pnpm\'s own line is in the log');
      assert.equal(result!.artifact, undefined, 'nothing was packaged');
      assert.deepEqual(await ndistContainers(), []);
    } finally {
      stop();
      await rm(work, { recursive: true, force: true });
    }
  });
});
