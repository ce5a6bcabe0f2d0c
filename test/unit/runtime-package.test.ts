import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256File } from '../../src/build/checksums.ts';
import { findMachine, loadMachines } from '../../src/machine/catalogue.ts';
import { dpkgDeb } from '../../src/package/packagers/dpkg-deb.ts';
import { fpm } from '../../src/package/packagers/fpm.ts';
import { STAGING_DIR } from '../../src/package/staging.ts';
import { NO_CONTENTS } from '../../src/package/contents.ts';
import type { PackageSpec } from '../../src/package/spec.ts';
import type { RuntimeArchive } from '../../src/build/runtime.ts';
import {
  cachedRuntimePackage, provideRuntimePackage, runtimeDependency, runtimePackageKey, runtimePackageScript, runtimePackageSpec,
} from '../../src/package/runtime-package.ts';

const runtime: RuntimeArchive = { kind: 'node', version: '22.23.3', source: 'npm', file: '/cache/node.tgz', root: 'package', checksum: 'sha512-abc' };

function appSpec(changes: Partial<PackageSpec> = {}): PackageSpec {
  return {
    app: 'demo', version: '1.0.0', iteration: '1', arch: 'amd64', nodeArch: 'x64', rpmArch: 'x86_64', maintainer: 'Jane <jane@example.com>', description: 'demo',
    entry: 'bin/demo.js', commands: [{ name: 'demo', entry: 'bin/demo.js' }], manPages: [], runtimeDeps: [], buildDeps: [], compression: 'xz', format: 'deb', prefix: '/opt/demo', fileName: 'demo_1.0.0-1_amd64.deb',
    provides: [], conflicts: [], replaces: [], recommends: [], suggests: [], enhances: [], preDepends: [], breaks: [], fields: {}, contents: NO_CONTENTS, ...changes,
  };
}

describe('runtime package spec and script', () => {
  test('one package per exact version, under its own prefix, with the app\'s target and compression', () => {
    const spec = runtimePackageSpec(appSpec({ compression: 'none' }), runtime);
    assert.equal(spec.app, 'ndist-node-22.23.3');
    assert.equal(spec.version, '22.23.3');
    assert.equal(spec.prefix, '/opt/ndist/node/22.23.3');
    assert.equal(spec.fileName, 'ndist-node-22.23.3_22.23.3-1_amd64.deb');
    assert.equal(spec.compression, 'none');
    assert.equal(runtimePackageSpec(appSpec({ format: 'rpm', arch: 'arm64', rpmArch: 'aarch64' }), runtime).fileName, 'ndist-node-22.23.3-22.23.3-1.aarch64.rpm');
    assert.equal(runtimeDependency('22.23.3'), 'ndist-node-22.23.3 (= 22.23.3-1)');
  });

  test('the script stages node and its licence, clamps times to the archive\'s, and packages its own staging tree', () => {
    const spec = runtimePackageSpec(appSpec(), runtime);
    const script = runtimePackageScript(spec, dpkgDeb, '/ndist/runtime/package', { script: '/ndist/health-check.mjs', machine: 'debian-bookworm', mode: 'error' });
    assert.match(script, /export SOURCE_DATE_EPOCH="\$\(stat -c %Y "\$runtime\/LICENSE"\)"/);
    assert.match(script, /install -m 0755 "\$runtime\/bin\/node" "\$root\$prefix\/bin\/node"/);
    assert.match(script, /Package: ndist-node-22\.23\.3/);
    assert.match(script, /--mode error --machine debian-bookworm/);
    assert.match(script, new RegExp(`^dpkg-deb --root-owner-group -Zxz --build ${STAGING_DIR}-runtime /ndist/out/ndist-node-22\\.23\\.3_22\\.23\\.3-1_amd64\\.deb$`, 'm'));
    assert.doesNotMatch(runtimePackageScript(spec, dpkgDeb, '/ndist/runtime/package', undefined), /health check/);
  });

  test('the cache key changes with what decides the bytes', () => {
    const machine = findMachine(loadMachines(), 'debian-bookworm');
    const base = { spec: runtimePackageSpec(appSpec(), runtime), runtime, machine, imageId: 'sha256:1', packager: dpkgDeb };
    const key = runtimePackageKey(base);
    assert.equal(runtimePackageKey(base), key);
    assert.equal(runtimePackageKey({ ...base, spec: runtimePackageSpec(appSpec({ app: 'other', prefix: '/opt/other' }), runtime) }), key, 'not the app');
    assert.notEqual(runtimePackageKey({ ...base, imageId: 'sha256:2' }), key);
    assert.notEqual(runtimePackageKey({ ...base, spec: runtimePackageSpec(appSpec({ compression: 'gzip' }), runtime) }), key);
    assert.notEqual(runtimePackageKey({ ...base, runtime: { ...runtime, checksum: 'sha512-other' } }), key);
    assert.notEqual(runtimePackageKey({ ...base, packager: fpm }), key);
  });
});

describe('provideRuntimePackage', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-runtime-package-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('builds once for concurrent builds, then reuses the cache; copies to each outDir', async () => {
    const cacheDir = path.join(dir, 'cache');
    let builds = 0;
    const build = async (into: string) => {
      builds++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      const file = path.join(into, 'rt.deb');
      await writeFile(file, 'runtime bytes');
      return { path: file, size: 13, sha256: await sha256File(file) };
    };
    const logs: string[] = [];
    const [first, second] = await Promise.all([
      provideRuntimePackage(cacheDir, 'key1', 'rt.deb', path.join(dir, 'out-a'), build, (line) => logs.push(line)),
      provideRuntimePackage(cacheDir, 'key1', 'rt.deb', path.join(dir, 'out-b'), build, (line) => logs.push(line)),
    ]);
    assert.equal(builds, 1);
    assert.deepEqual([first.reused, second.reused].sort(), [false, true]);
    assert.equal(first.sha256, second.sha256);
    assert.equal(readFileSync(path.join(dir, 'out-b', 'rt.deb'), 'utf8'), 'runtime bytes');
    assert.ok(logs.some((line) => /being built by another build of this run/.test(line)));
    assert.ok(cachedRuntimePackage(cacheDir, 'key1', 'rt.deb'));

    const third = await provideRuntimePackage(cacheDir, 'key1', 'rt.deb', path.join(dir, 'out-c'), build, () => {});
    assert.equal(builds, 1);
    assert.equal(third.reused, true);
    assert.equal(cachedRuntimePackage(cacheDir, 'key2', 'rt.deb'), undefined);
  });

  test('a failed build leaves nothing in the cache and fails every build waiting for it', async () => {
    const cacheDir = path.join(dir, 'cache-failing');
    const failing = () => Promise.reject(new Error('packaging failed'));
    const results = await Promise.allSettled([
      provideRuntimePackage(cacheDir, 'key', 'rt.deb', path.join(dir, 'out-f1'), failing, () => {}),
      provideRuntimePackage(cacheDir, 'key', 'rt.deb', path.join(dir, 'out-f2'), failing, () => {}),
    ]);
    assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected']);
    assert.equal(cachedRuntimePackage(cacheDir, 'key', 'rt.deb'), undefined);
    assert.equal(existsSync(path.join(dir, 'out-f1', 'rt.deb')), false);
  });
});
