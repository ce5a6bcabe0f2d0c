/**
 * Cache keys change exactly when their inputs change: the dependency cache key, the source tree
 * hash and the inputs hash of no-op builds; the records of no-op builds; what prune removes.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hostEntries, shouldPrune, type CacheEntry } from '../../src/cache/inventory.ts';
import { cacheVolumes, dependencyCacheKey, type DependencyInputs } from '../../src/cache/dependency-cache.ts';
import type { RuntimeArchive } from '../../src/build/runtime.ts';
import { SOURCE_EXCLUDES } from '../../src/build/source.ts';
import { sha256File } from '../../src/build/checksums.ts';
import { buildInputsHash, findUpToDate, ndistCodeHash, sourceTreeHash, writeUpToDate } from '../../src/cache/up-to-date.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const tempDir = tempDirs('ndist-caches-');

const PACKAGE = { name: 'app', version: '1.0.0', description: 'an app', dependencies: { ms: '^2.1.3' } };
const LOCK = { name: 'app', lockfileVersion: 3, packages: { '': { dependencies: { ms: '^2.1.3' } }, 'node_modules/ms': { version: '2.1.3', resolved: 'https://registry.example.invalid/ms/-/ms-2.1.3.tgz', integrity: 'sha512-x' } } };

const PNPM_LOCK = "lockfileVersion: '9.0'\n\nimporters:\n  .:\n    dependencies:\n";

async function app(files: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir();
  const all = { 'package.json': JSON.stringify(PACKAGE), 'package-lock.json': JSON.stringify(LOCK), 'index.js': 'console.log(1)\n', ...files };
  for (const [name, content] of Object.entries(all)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

const archive = (kind: RuntimeArchive['kind'], version: string, checksum: string): RuntimeArchive => ({ kind, version, checksum, source: 'npm', file: '/x', root: 'package' });

function inputs(sourceDir: string, change: Partial<DependencyInputs> = {}): DependencyInputs {
  return {
    sourceDir,
    imageId: 'sha256:aaa',
    runtime: archive('node', '22.23.3', 'sha512-node'),
    npm: archive('npm', '10.9.9', 'sha512-npm'),
    arch: 'amd64',
    buildDeps: ['libsqlite3-dev', 'pkg-config'],
    buildFromSource: true,
    registry: 'https://registry.example.invalid/',
    ...change,
  };
}

describe('dependency cache key', () => {
  it('changes with each input that decides what npm ci installs', async () => {
    const dir = await app();
    const base = dependencyCacheKey(inputs(dir)).key;
    assert.match(base ?? '', /^[0-9a-f]{64}$/);
    const changed: [string, DependencyInputs][] = [
      ['image', inputs(dir, { imageId: 'sha256:bbb' })],
      ['node version', inputs(dir, { runtime: archive('node', '22.23.4', 'sha512-node') })],
      ['node checksum', inputs(dir, { runtime: archive('node', '22.23.3', 'sha512-other') })],
      ['npm version', inputs(dir, { npm: archive('npm', '10.9.8', 'sha512-npm') })],
      ['arch', inputs(dir, { arch: 'arm64' })],
      ['build deps', inputs(dir, { buildDeps: ['libsqlite3-dev'] })],
      ['buildFromSource', inputs(dir, { buildFromSource: false })],
      ['registry', inputs(dir, { registry: 'https://other.example.invalid/' })],
      ['lockfile', inputs(await app({ 'package-lock.json': JSON.stringify({ ...LOCK, lockfileVersion: 2 }) }))],
      ['package.json dependencies', inputs(await app({ 'package.json': JSON.stringify({ ...PACKAGE, dependencies: { ms: '^2.1.2' } }) }))],
      ['package.json overrides', inputs(await app({ 'package.json': JSON.stringify({ ...PACKAGE, overrides: { ms: '2.1.3' } }) }))],
      ['.npmrc', inputs(await app({ '.npmrc': 'legacy-peer-deps=true\n' }))],
      ['shrinkwrap instead of lock', inputs(await app({ 'npm-shrinkwrap.json': JSON.stringify(LOCK) }))],
      ['pnpm', inputs(await app({ 'pnpm-lock.yaml': PNPM_LOCK }), { manager: { kind: 'pnpm', lockfile: 'pnpm-lock.yaml' }, managerCli: archive('pnpm', '10.34.9', 'sha512-pnpm') })],
      ['pnpm version', inputs(await app({ 'pnpm-lock.yaml': PNPM_LOCK }), { manager: { kind: 'pnpm', lockfile: 'pnpm-lock.yaml' }, managerCli: archive('pnpm', '10.34.8', 'sha512-pnpm') })],
      ['pnpm checksum', inputs(await app({ 'pnpm-lock.yaml': PNPM_LOCK }), { manager: { kind: 'pnpm', lockfile: 'pnpm-lock.yaml' }, managerCli: archive('pnpm', '10.34.9', 'sha512-other') })],
      ['pnpm lockfile', inputs(await app({ 'pnpm-lock.yaml': `${PNPM_LOCK}\n` }), { manager: { kind: 'pnpm', lockfile: 'pnpm-lock.yaml' }, managerCli: archive('pnpm', '10.34.9', 'sha512-pnpm') })],
      ['pnpm onlyBuiltDependencies', inputs(await app({ 'pnpm-lock.yaml': PNPM_LOCK, 'package.json': JSON.stringify({ ...PACKAGE, pnpm: { onlyBuiltDependencies: ['x'] } }) }), { manager: { kind: 'pnpm', lockfile: 'pnpm-lock.yaml' }, managerCli: archive('pnpm', '10.34.9', 'sha512-pnpm') })],
      ['yarn .yarnrc.yml', inputs(await app({ 'yarn.lock': '# yarn\n', '.yarnrc.yml': 'nodeLinker: node-modules\n' }), { manager: { kind: 'berry', lockfile: 'yarn.lock' }, managerCli: archive('berry', '4.18.1', 'sha512-berry') })],
    ];
    const keys = changed.map(([what, value]) => [what, dependencyCacheKey(value).key] as const);
    for (const [what, key] of keys) assert.notEqual(key, base, `${what} changes the key`);
    assert.equal(new Set(keys.map(([, key]) => key)).size, keys.length, 'every change gives its own key');
  });

  it('does not change with the source, the version or the order of build deps', async () => {
    const base = dependencyCacheKey(inputs(await app())).key;
    assert.equal(dependencyCacheKey(inputs(await app({ 'index.js': 'console.log(2)\n', 'lib/more.js': '' }))).key, base);
    assert.equal(dependencyCacheKey(inputs(await app({ 'package.json': JSON.stringify({ ...PACKAGE, version: '2.0.0', description: 'changed' }) }))).key, base);
    assert.equal(dependencyCacheKey(inputs(await app(), { buildDeps: ['pkg-config', 'libsqlite3-dev'] })).key, base);
  });

  it('is not used when npm ci depends on the source: root install scripts, binding.gyp, workspaces, file: dependencies, no lockfile', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'package.json': JSON.stringify({ ...PACKAGE, scripts: { postinstall: 'patch-package' } }) }, /postinstall script/],
      [{ 'binding.gyp': '{}' }, /binding\.gyp/],
      [{ 'package.json': JSON.stringify({ ...PACKAGE, workspaces: ['packages/*'] }) }, /workspaces/],
      [{ 'package-lock.json': JSON.stringify({ ...LOCK, packages: { ...LOCK.packages, 'node_modules/local': { resolved: 'file:../local', link: true } } }) }, /file: or linked/],
    ];
    for (const [files, reason] of cases) {
      const key = dependencyCacheKey(inputs(await app(files)));
      assert.equal(key.key, undefined);
      assert.match(key.reason ?? '', reason);
    }
    const noLock = await app();
    await rm(path.join(noLock, 'package-lock.json'));
    assert.match(dependencyCacheKey(inputs(noLock)).reason ?? '', /no package-lock\.json/);
  });

  it('is not used for a pnpm or Yarn lockfile with local (link:, file:, portal:) dependencies', async () => {
    const key = dependencyCacheKey(inputs(await app({ 'pnpm-lock.yaml': `${PNPM_LOCK}      local:\n        specifier: link:../local\n` }), { manager: { kind: 'pnpm', lockfile: 'pnpm-lock.yaml' } }));
    assert.match(key.reason ?? '', /file: or linked/);
    const yarn = dependencyCacheKey(inputs(await app({ 'yarn.lock': '"local@file:../local":\n  version "1.0.0"\n' }), { manager: { kind: 'yarn', lockfile: 'yarn.lock' } }));
    assert.match(yarn.reason ?? '', /file: or linked/);
    const named = dependencyCacheKey(inputs(await app({ 'pnpm-lock.yaml': `${PNPM_LOCK}      read-yaml-file: 1.1.0\n` }), { manager: { kind: 'pnpm', lockfile: 'pnpm-lock.yaml' } }));
    assert.match(named.key ?? '', /^[0-9a-f]{64}$/, 'a package whose name ends in -file is no file: dependency');
  });

  it('has volume names of its own under NDIST_VOLUME_PREFIX', () => {
    assert.deepEqual(cacheVolumes({}), { npm: 'ndist-npm-cache', deps: 'ndist-deps', pnpm: 'ndist-pnpm-store', yarn: 'ndist-yarn-cache', berry: 'ndist-yarn-berry-cache' });
    assert.deepEqual(cacheVolumes({ NDIST_VOLUME_PREFIX: 'ndist-test-1' }), { npm: 'ndist-test-1-npm-cache', deps: 'ndist-test-1-deps', pnpm: 'ndist-test-1-pnpm-store', yarn: 'ndist-test-1-yarn-cache', berry: 'ndist-test-1-yarn-berry-cache' });
  });
});

describe('source tree hash', () => {
  it('changes with a file content, a name, an executable bit or a link, not with node_modules or .git', async () => {
    const dir = await app();
    const base = await sourceTreeHash(dir, SOURCE_EXCLUDES);
    assert.equal(await sourceTreeHash(dir, SOURCE_EXCLUDES), base, 'stable');
    await mkdir(path.join(dir, 'node_modules', 'x'), { recursive: true });
    await writeFile(path.join(dir, 'node_modules', 'x', 'a.js'), '');
    await mkdir(path.join(dir, '.git'));
    await writeFile(path.join(dir, '.git', 'HEAD'), 'ref');
    assert.equal(await sourceTreeHash(dir, SOURCE_EXCLUDES), base, 'excluded names are ignored');

    const seen = new Set([base]);
    const step = async (what: string, change: () => Promise<void>) => {
      await change();
      const hash = await sourceTreeHash(dir, SOURCE_EXCLUDES);
      assert.ok(!seen.has(hash), `${what} changes the hash`);
      seen.add(hash);
    };
    await step('content', () => writeFile(path.join(dir, 'index.js'), 'console.log(2)\n'));
    await step('executable bit', () => chmod(path.join(dir, 'index.js'), 0o755));
    await step('new file', () => writeFile(path.join(dir, 'extra.js'), ''));
    await step('rename', () => writeFile(path.join(dir, 'lib.js'), '').then(() => rm(path.join(dir, 'extra.js'))));
    await step('symlink', () => symlink('index.js', path.join(dir, 'link.js')));
    await step('node_modules below the root counts', async () => {
      await mkdir(path.join(dir, 'lib', 'node_modules'), { recursive: true });
    });
  });
});

describe("ndist's own code in the inputs", () => {
  it('is the tree of the modules that run (src/ here, under tsx), hashed once per process', async () => {
    const src = path.resolve(import.meta.dirname, '..', '..', 'src');
    assert.equal(await ndistCodeHash(), await sourceTreeHash(src, []));
    assert.equal(ndistCodeHash(), ndistCodeHash(), 'the same promise: hashed once');
  });
});

describe('no-op build records', () => {
  it('inputs hash: order of parts does not matter, each value and file content does', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'template');
    await writeFile(file, 'a');
    const base = await buildInputsHash({ one: '1', two: '2', template: { file } });
    assert.equal(await buildInputsHash({ template: { file }, two: '2', one: '1' }), base);
    assert.notEqual(await buildInputsHash({ one: '1', two: '3', template: { file } }), base);
    await writeFile(file, 'b');
    assert.notEqual(await buildInputsHash({ one: '1', two: '2', template: { file } }), base);
  });

  it('an artifact is reused only with the same inputs and while it verifies', async () => {
    const cacheDir = await tempDir();
    const outDir = await tempDir();
    const artifactPath = path.join(outDir, 'app_1.0.0-1_amd64.deb');
    await writeFile(artifactPath, 'package bytes');
    const sha256 = await sha256File(artifactPath);
    const reason = async (inputs: string) => ((await findUpToDate(cacheDir, artifactPath, inputs)) as { reason?: string }).reason ?? '';
    assert.match(await reason('inputs-1'), /no earlier build/);
    await writeUpToDate(cacheDir, { inputs: 'inputs-1', artifact: { path: artifactPath, size: 13, sha256 }, packager: 'dpkg-deb', image: { tag: 't', id: 'i' }, builtAt: new Date().toISOString() });
    assert.ok('record' in (await findUpToDate(cacheDir, artifactPath, 'inputs-1')));
    assert.match(await reason('inputs-2'), /inputs changed/);
    await writeFile(artifactPath, 'package byteS');
    assert.match(await reason('inputs-1'), /missing or changed/);
    await rm(artifactPath);
    assert.match(await reason('inputs-1'), /missing or changed/);
  });

  it('a recorded artifact is not re-hashed while its identity is unchanged, and is once it is rewritten', async () => {
    const cacheDir = await tempDir();
    const artifactPath = path.join(await tempDir(), 'app_1.0.0-1_amd64.deb');
    await writeFile(artifactPath, 'package bytes');
    await new Promise((resolve) => setTimeout(resolve, 150));
    // A sha256 no hash of the file gives: the artifact is reused only if it is not hashed.
    await writeUpToDate(cacheDir, { inputs: 'inputs-1', artifact: { path: artifactPath, size: 13, sha256: 'f'.repeat(64) }, packager: 'dpkg-deb', image: { tag: 't', id: 'i' }, builtAt: new Date().toISOString() });
    const found = await findUpToDate(cacheDir, artifactPath, 'inputs-1');
    assert.ok('record' in found, 'reused from its identity, not hashed');
    assert.equal(found.record.artifact.identity?.size, '13');
    await writeFile(artifactPath, 'package byteS');
    assert.match(((await findUpToDate(cacheDir, artifactPath, 'inputs-1')) as { reason: string }).reason, /missing or changed/, 'rewritten: hashed, and it does not match');
  });
});

describe('cache prune selection', () => {
  const now = new Date('2026-06-30T00:00:00Z');
  const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);
  const entry = (kind: CacheEntry['kind'], lastUsed?: Date, current?: boolean): CacheEntry => ({ kind, key: kind, lastUsed, current });

  it('removes entries unused for longer than --older-than, and images no machine builds today', () => {
    const options = { olderThanDays: 30, now };
    assert.equal(shouldPrune(entry('runtime', daysAgo(31)), options), true);
    assert.equal(shouldPrune(entry('runtime', daysAgo(29)), options), false);
    assert.equal(shouldPrune(entry('dependencies', daysAgo(31)), options), true);
    assert.equal(shouldPrune(entry('build record', daysAgo(1), true), options), false);
    assert.equal(shouldPrune(entry('build record', daysAgo(1), false), options), true, 'a record whose artifact is gone goes');
    assert.equal(shouldPrune(entry('image', daysAgo(400), true), options), false, 'a current image stays, however old');
    assert.equal(shouldPrune(entry('image', daysAgo(0), false), options), true, 'a stale image goes, however new');
    assert.equal(shouldPrune(entry('npm cache'), options), false, 'volumes go only with --all');
    assert.equal(shouldPrune(entry('dependency cache'), options), false);
    for (const kind of ['pnpm store', 'yarn cache', 'yarn berry cache'] as const) assert.equal(shouldPrune(entry(kind), options), false, `${kind}: only with --all`);
  });

  it('--all removes everything', () => {
    for (const kind of ['runtime', 'build record', 'image', 'npm cache', 'pnpm store', 'yarn cache', 'yarn berry cache', 'dependency cache', 'dependencies'] as const) {
      assert.equal(shouldPrune(entry(kind, daysAgo(0), true), { all: true, olderThanDays: 30, now }), true);
    }
  });
});

describe('host caches', () => {
  it('lists runtime packages with their size and last use (the package file\'s time), skipping partial entries', async () => {
    const cacheDir = await tempDir();
    const entry = path.join(cacheDir, 'runtime-packages', 'abc123');
    await mkdir(entry, { recursive: true });
    await mkdir(path.join(cacheDir, 'runtime-packages', '.tmp-x'));
    await writeFile(path.join(entry, 'ndist-node-22.23.3_22.23.3-1_amd64.deb'), 'x'.repeat(10));
    const used = new Date('2026-01-02T03:04:05Z');
    await utimes(path.join(entry, 'ndist-node-22.23.3_22.23.3-1_amd64.deb'), used, used);
    const entries = (await hostEntries(cacheDir)).filter((candidate) => candidate.kind === 'runtime package');
    assert.deepEqual(entries, [{ kind: 'runtime package', key: 'abc123', size: 10, lastUsed: used }]);
    assert.equal(shouldPrune(entries[0]!, { olderThanDays: 30, now: new Date('2026-03-01T00:00:00Z') }), true);
    assert.equal(shouldPrune(entries[0]!, { olderThanDays: 30, now: new Date('2026-01-10T00:00:00Z') }), false);
  });
});
