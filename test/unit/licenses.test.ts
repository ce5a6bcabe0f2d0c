import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { declaredLicense, findPackages, isAllowed } from '../../src/licenses.ts';

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
});
