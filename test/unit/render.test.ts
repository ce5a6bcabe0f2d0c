/**
 * `ndist render`: the script and packager command of a build, from the tiny-app fixture, with no
 * container. The runtime comes from the cache, filled from the real registry first if empty.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { appName, init, initPackageFile } from '../../src/commands/init.ts';
import { findMachine, loadMachines } from '../../src/machine/catalogue.ts';
import { commandLine, describeBuild, pickBuild, renderBuild } from '../../src/commands/render.ts';
import { DEFAULT_NPM_VERSION } from '../../src/build/resolve.ts';
import { nativePackager } from '../../src/package/packagers.ts';
import { defaultCacheDir, fetchNodeRuntime, fetchNpmCli } from '../../src/build/runtime.ts';
import type { BuildOptions } from '../../src/options/types.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'tiny-app');
const REGISTRY = 'https://registry.example.invalid/';

const build: BuildOptions = { name: 'tiny :: bookworm', app: 'tiny-app', source: { type: 'directory', path: FIXTURE }, buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'none' };

describe('render', () => {
  const saved = process.env.npm_config_registry;
  before(async () => {
    // The runtime and npm CLI come from the real registry (once; then from the cache), before the
    // registry npm reports for the project is pointed at a made-up one for the rendered script.
    const fetchOptions = { cacheDir: defaultCacheDir() };
    await fetchNodeRuntime('22.23.3', 'x64', fetchOptions);
    await fetchNpmCli(DEFAULT_NPM_VERSION, fetchOptions);
    process.env.npm_config_registry = REGISTRY;
  });
  after(() => {
    if (saved === undefined) delete process.env.npm_config_registry;
    else process.env.npm_config_registry = saved;
  });

  test('the values that matter, for tiny-app on debian-bookworm', async () => {
    const rendered = await renderBuild(build, { machinesDir: ROOT, caBundle: false });
    assert.equal(rendered.spec.app, 'tiny-app');
    assert.equal(rendered.spec.version, '1.0.0');
    assert.equal(rendered.spec.prefix, '/opt/tiny-app');
    assert.equal(rendered.spec.fileName, 'tiny-app_1.0.0-1_amd64.deb');
    assert.equal(rendered.packager.name, 'dpkg-deb');
    assert.equal(rendered.runtime.version, '22.23.3');
    // npm-sourced archives unpack to package/.
    assert.equal(rendered.runtimeDir, rendered.runtime.source === 'npm' ? '/ndist/runtime/package' : `/ndist/runtime/node-v22.23.3-linux-x64`);
    assert.deepEqual(rendered.packageCommand, ['dpkg-deb', '--root-owner-group', '-Znone', '--build', '/ndist/root', '/ndist/out/tiny-app_1.0.0-1_amd64.deb']);
    assert.match(rendered.script, /^#!\/bin\/bash/);
    assert.match(rendered.script, /^prefix=\/opt\/tiny-app$/m);
    assert.match(rendered.script, new RegExp(`^runtime=${rendered.runtimeDir}$`, 'm'));
    assert.ok(rendered.script.includes(`npm_config_registry=${REGISTRY}`));
    assert.ok(rendered.script.includes(commandLine(rendered.packageCommand)), 'the script runs the packager command');
    assert.doesNotMatch(rendered.script, /\{\{|\}\}/, 'no placeholder left');
  });

  test('--packager fpm renders the fpm command', async () => {
    const rendered = await renderBuild({ ...build, fpmArgs: ['--deb-priority', 'optional'] }, { machinesDir: ROOT, caBundle: false }, { packager: 'fpm' });
    assert.deepEqual(rendered.packageCommand.slice(0, 5), ['fpm', '-s', 'dir', '-t', 'deb']);
    assert.ok(rendered.packageCommand.includes('--deb-priority'));
  });

  test('the packager is guessed from the Dockerfile: bookworm has no fpm', () => {
    assert.equal(nativePackager(findMachine(loadMachines(ROOT), 'debian-bookworm')).name, 'dpkg-deb');
  });

  test('a build is picked by its exact name; an unknown one lists the builds', () => {
    const collected = [{ options: {}, builds: [build] }];
    assert.equal(pickBuild(collected, 'tiny :: bookworm').build, build);
    assert.throws(() => pickBuild(collected, 'tiny*'), /no build is named "tiny\*"; builds: "tiny :: bookworm"/);
  });

  test('dry run: what would be built', async () => {
    const lines = await describeBuild(build, { machinesDir: ROOT, outDir: '/out' });
    assert.deepEqual(lines, [
      'tiny :: bookworm',
      `  source:   directory ${FIXTURE}`,
      '  machine:  debian-bookworm (ndist/debian-bookworm)',
      '  package:  tiny-app 1.0.0-1 amd64, none compression',
      '  runtime:  node 22.23.3 x64, npm 10.9.9',
      '  manager:  npm 10.9.9 (from the default), lockfile package-lock.json',
      '  entry:    bin/tiny.js → /usr/bin/tiny-app',
      '  artifact: /out/tiny-app_1.0.0-1_amd64.deb',
    ]);
  });

  test('dry run: every other bin and the man pages, and a missing lockfile refused', async () => {
    const hello = { ...build, name: 'hello', app: 'hello-app', source: { type: 'directory' as const, path: path.join(ROOT, 'test', 'fixtures', 'hello-app') } };
    const lines = await describeBuild(hello, { machinesDir: ROOT, outDir: '/out' });
    assert.deepEqual(lines.slice(6, 9), [
      '  entry:    bin/hello.js → /usr/bin/hello-app',
      '  command:  bin/hello-version.js → /usr/bin/hello-app-version',
      '  man page: man/hello-app.1 → /usr/share/man/man1/hello-app.1.gz',
    ]);
    const bare = await mkdtemp(path.join(os.tmpdir(), 'ndist-dry-run-'));
    try {
      await writeFile(path.join(bare, 'package.json'), '{"name":"bare","version":"1.0.0","bin":"cli.js"}');
      await writeFile(path.join(bare, 'cli.js'), '');
      await assert.rejects(describeBuild({ ...build, source: { type: 'directory', path: bare } }, { machinesDir: ROOT }), /package-lock\.json: is missing from the source: run `npm install`/);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  test('commandLine quotes only the words that need it', () => {
    assert.equal(commandLine(['fpm', '-m', 'A B <a@b.c>', "it's"]), `fpm -m 'A B <a@b.c>' 'it'\\''s'`);
  });
});

describe('init', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ndist-init-test-'));
    await cp(FIXTURE, dir, { recursive: true });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('package names become Debian package names', () => {
    assert.equal(appName('@acme/My_Server'), 'my-server');
    assert.equal(appName('tiny-app'), 'tiny-app');
    assert.equal(appName('x'), 'x-app');
  });

  test('writes a package.ts from package.json: app, bin, a bookworm build, a pinned node', async () => {
    const file = init(dir, { node: '22.23.3' });
    const text = await readFile(file, 'utf8');
    assert.match(text, /app: "tiny-app",/);
    assert.match(text, /name: "tiny-app :: bookworm",/);
    assert.match(text, /entry: "bin\/tiny\.js",/);
    assert.match(text, /buildMachine: 'debian-bookworm',/);
    assert.match(text, /node: "22\.23\.3",/);
    assert.match(text, /package\.json's \(1\.0\.0\)/);
    assert.match(text, /^await builder\.build\(\);$/m);
    assert.match(text, /^  \/\/ packageManager: npm \(package-lock\.json\); npm: '10\.9\.9' pins its version$/m);
  });

  test('writes the package manager it detects: pinned from a lockfile, as package.json pins it, or why it cannot', async () => {
    const cases: [string, Record<string, string>, Record<string, unknown>, RegExp][] = [
      ['yarn.lock', { 'yarn.lock': '# yarn lockfile v1\n' }, {}, /^  packageManager: "yarn@1\.22\.22", \/\/ detected from yarn\.lock$/m],
      ['packageManager', { 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" }, { packageManager: 'pnpm@10.20.0' }, /^  \/\/ packageManager: package\.json's \(pnpm@10\.20\.0, lockfile pnpm-lock\.yaml\)$/m],
      ['two lockfiles', { 'yarn.lock': '# yarn lockfile v1\n', 'package-lock.json': '{}' }, {}, /^  \/\/ packageManager: not detected: yarn\.lock: and package-lock\.json are both in the source/m],
    ];
    for (const [what, files, pkg, expected] of cases) {
      const other = await mkdtemp(path.join(os.tmpdir(), 'ndist-init-test-'));
      try {
        await writeFile(path.join(other, 'package.json'), JSON.stringify({ name: 'a-b', main: 'a.js', ...pkg }));
        for (const [name, content] of Object.entries(files)) await writeFile(path.join(other, name), content);
        assert.match(await readFile(init(other), 'utf8'), expected, what);
      } finally {
        await rm(other, { recursive: true, force: true });
      }
    }
  });

  test('refuses to overwrite, and checks --node', async () => {
    const before = await readFile(path.join(dir, 'package.ts'), 'utf8');
    assert.throws(() => init(dir), (error: unknown) => error instanceof ConfigError && /already exists; not overwriting it/.test(error.message));
    assert.equal(await readFile(path.join(dir, 'package.ts'), 'utf8'), before);
    const other = await mkdtemp(path.join(os.tmpdir(), 'ndist-init-test-'));
    try {
      await writeFile(path.join(other, 'package.json'), '{"name":"a-b"}');
      assert.throws(() => init(other, { node: '22' }), /--node: must be an exact version/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  test('engines.node: the default version when it is in range, else a clear refusal; --node is held to the range', () => {
    assert.match(initPackageFile({ name: 'svc', main: 'a.js', engines: { node: '>=20' } }), /node: "22\.23\.3",/);
    assert.throws(
      () => initPackageFile({ name: 'svc', main: 'a.js', engines: { node: '>=24' } }),
      (error: unknown) => error instanceof ConfigError && error.message === '--node: engines.node ">=24" of package.json does not include 22.23.3, the version ndist init pins by default; run ndist init --node <an exact version in that range>',
    );
    assert.match(initPackageFile({ name: 'svc', main: 'a.js', engines: { node: '>=24' } }, '24.1.0'), /node: "24\.1\.0",/);
    assert.throws(() => initPackageFile({ name: 'svc', main: 'a.js', engines: { node: '^20' } }, '18.20.4'), /--node: 18\.20\.4 is outside engines\.node "\^20" of package\.json; pick a version in that range$/);
  });

  test('main instead of bin; no version asks for one', () => {
    const text = initPackageFile({ name: 'svc', main: './server.js' });
    assert.match(text, /entry: "server\.js",/);
    assert.match(text, /version: '0\.0\.0',/);
    assert.throws(() => initPackageFile({}), /package\.json name: is missing/);
  });
});
