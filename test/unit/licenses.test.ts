import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { declaredLicense, findPackages, isAllowed, reconcileSbom } from '../../src/in-machine/licenses.ts';

describe('licences of bundled packages', () => {
  let modules: string;
  before(async () => {
    modules = path.join(await mkdtemp(path.join(os.tmpdir(), 'ndist-licenses-')), 'node_modules');
    const add = async (dir: string, manifest: object) => {
      await mkdir(path.join(modules, dir), { recursive: true });
      await writeFile(path.join(modules, dir, 'package.json'), JSON.stringify(manifest));
    };
    await add('zed', { name: 'zed', version: '1.0.0', license: 'MIT' });
    await add('@scope/pkg', { name: '@scope/pkg', version: '2.0.0', license: { type: 'ISC' } });
    await add('zed/node_modules/inner', { name: 'inner', version: '0.1.0', licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }] });
    await add('.bin', { name: 'not-a-package' });
    await mkdir(path.join(modules, 'no-manifest'));
  });
  after(async () => rm(path.dirname(modules), { recursive: true, force: true }));

  test('finds scoped and nested packages, sorted, skipping dot directories and folders without package.json', () => {
    assert.deepEqual(
      findPackages(modules).map(({ name, version, license }) => `${name}@${version} ${license}`),
      ['@scope/pkg@2.0.0 ISC', 'inner@0.1.0 MIT OR Apache-2.0', 'zed@1.0.0 MIT'],
    );
  });

  test('declared licence in its current and old forms', () => {
    assert.equal(declaredLicense({ license: 'BSD-3-Clause' }), 'BSD-3-Clause');
    assert.equal(declaredLicense({ license: { type: 'MIT' } }), 'MIT');
    assert.equal(declaredLicense({ licenses: [{ type: 'GPL-2.0' }] }), 'GPL-2.0');
    assert.equal(declaredLicense({}), 'UNKNOWN');
  });

  test('SPDX expressions against an allow-list', () => {
    const allowed = new Set(['MIT', 'Apache-2.0']);
    assert.equal(isAllowed('MIT', allowed), true);
    assert.equal(isAllowed('(GPL-3.0 OR MIT)', allowed), true);
    assert.equal(isAllowed('MIT AND GPL-3.0', allowed), false);
    assert.equal(isAllowed('MIT AND Apache-2.0', allowed), true);
    assert.equal(isAllowed('GPL-3.0', allowed), false);
    assert.equal(isAllowed('UNKNOWN', allowed), false);
  });

  test('an app without dependencies on a shared runtime still gets licenses.json (nothing copied before it)', async () => {
    const dir = path.dirname(modules);
    const out = path.join(dir, 'staged', 'share', 'licenses');
    await mkdir(path.join(dir, 'empty_modules'));
    const script = path.resolve(import.meta.dirname, '..', '..', 'src', 'in-machine', 'licenses.ts');
    execFileSync(process.execPath, ['--import', 'tsx', script, '--out', out, '--modules', path.join(dir, 'empty_modules'), '--node-version', '22.23.3', '--runtime-package', 'ndist-node-22.23.3'], { stdio: 'pipe' });
    assert.deepEqual(JSON.parse(await readFile(path.join(out, 'licenses.json'), 'utf8')), [{ name: 'node', version: '22.23.3', license: 'MIT', package: 'ndist-node-22.23.3' }]);
  });
});

describe('SBOM reconciled with what is installed', () => {
  const installed = [
    { name: 'ms', version: '2.1.3', license: 'MIT', dir: '/m/ms' },
    { name: '@esbuild/linux-x64', version: '0.24.0', license: 'MIT', dir: '/m/@esbuild/linux-x64' },
  ];
  const fromLockfile = {
    bomFormat: 'CycloneDX',
    components: [
      { name: '@esbuild/darwin-arm64', version: '0.24.0', 'bom-ref': '@esbuild/darwin-arm64@0.24.0' },
      { name: '@esbuild/linux-x64', version: '0.24.0', 'bom-ref': '@esbuild/linux-x64@0.24.0' },
      { name: 'ms', version: '2.1.3', 'bom-ref': 'ms@2.1.3' },
    ],
    dependencies: [
      { ref: 'app@1.0.0', dependsOn: ['ms@2.1.3', '@esbuild/darwin-arm64@0.24.0', '@esbuild/linux-x64@0.24.0'] },
      { ref: '@esbuild/darwin-arm64@0.24.0', dependsOn: [] },
      { ref: 'ms@2.1.3', dependsOn: [] },
    ],
  };

  test('optional packages of other platforms leave the SBOM and its dependency graph', () => {
    const { sbom, leftOut, unlisted } = reconcileSbom(fromLockfile, installed);
    assert.deepEqual(sbom.components!.map((component) => component.name), ['@esbuild/linux-x64', 'ms']);
    assert.deepEqual(sbom.dependencies, [{ ref: 'app@1.0.0', dependsOn: ['ms@2.1.3', '@esbuild/linux-x64@0.24.0'] }, { ref: 'ms@2.1.3', dependsOn: [] }]);
    assert.deepEqual(leftOut, ['@esbuild/darwin-arm64@0.24.0']);
    assert.deepEqual(unlisted, []);
  });

  test('an installed package the lockfile does not list is reported', () => {
    const { unlisted } = reconcileSbom(fromLockfile, [...installed, { name: 'stray', version: '1.0.0', license: 'MIT', dir: '/m/stray' }]);
    assert.deepEqual(unlisted, ['stray@1.0.0']);
  });
});
