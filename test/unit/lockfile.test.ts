import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { checkLockfile } from '../../src/package/lockfile.ts';

let root: string;
let count = 0;
before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-lockfile-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const PACKAGE = { name: 'demo', version: '1.0.0', dependencies: { ms: '^2.1.3' }, devDependencies: { 'is-number': '^7.0.0' } };
const lockOf = (rootEntry: Record<string, unknown>) => ({ name: 'demo', lockfileVersion: 3, packages: { '': { name: 'demo', version: '1.0.0', ...rootEntry } } });

/** A source directory with these files (objects are written as JSON). */
function source(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(root, `app-${++count}-`));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

function configError(field: string, message: RegExp) {
  return (error: unknown) => error instanceof ConfigError && error.field === field && message.test(error.message);
}

describe('checkLockfile', () => {
  test('a lockfile whose root entry lists what package.json lists passes; so does a v1 lockfile, which has none', () => {
    checkLockfile(source({ 'package.json': PACKAGE, 'package-lock.json': lockOf({ dependencies: PACKAGE.dependencies, devDependencies: PACKAGE.devDependencies }) }));
    checkLockfile(source({ 'package.json': PACKAGE, 'package-lock.json': { lockfileVersion: 1, dependencies: {} } }));
    checkLockfile(source({ 'package.json': { name: 'demo' }, 'package-lock.json': lockOf({}) }));
  });

  test('no lockfile: says to run npm install and commit package-lock.json', () => {
    assert.throws(() => checkLockfile(source({ 'package.json': PACKAGE })), configError('package-lock.json', /^package-lock\.json: is missing from the source: run `npm install` to create package-lock\.json, then commit it$/));
  });

  test('npm-shrinkwrap.json counts as the lockfile, and is the one checked', () => {
    checkLockfile(source({ 'package.json': PACKAGE, 'npm-shrinkwrap.json': lockOf({ dependencies: PACKAGE.dependencies, devDependencies: PACKAGE.devDependencies }) }));
    assert.throws(
      () => checkLockfile(source({ 'package.json': PACKAGE, 'npm-shrinkwrap.json': lockOf({}), 'package-lock.json': lockOf({ dependencies: PACKAGE.dependencies, devDependencies: PACKAGE.devDependencies }) })),
      configError('npm-shrinkwrap.json', /out of sync.*; run `npm install` and commit npm-shrinkwrap\.json$/),
    );
  });

  test('out of sync: the first difference is named, with the fix', () => {
    const check = (rootEntry: Record<string, unknown>) => () => checkLockfile(source({ 'package.json': PACKAGE, 'package-lock.json': lockOf(rootEntry) }));
    assert.throws(
      check({ devDependencies: PACKAGE.devDependencies }),
      configError('package-lock.json', /^package-lock\.json: is out of sync with package\.json: dependencies "ms" \(\^2\.1\.3\) of package\.json is not in it; run `npm install` and commit package-lock\.json$/),
    );
    assert.throws(check({ dependencies: { ms: '^2.1.2' }, devDependencies: PACKAGE.devDependencies }), configError('package-lock.json', /dependencies "ms" is \^2\.1\.3 in package\.json but \^2\.1\.2 in it;/));
    assert.throws(check({ dependencies: PACKAGE.dependencies, devDependencies: { ...PACKAGE.devDependencies, eslint: '^9' } }), configError('package-lock.json', /it has devDependencies "eslint", which package\.json no longer lists;/));
    assert.throws(check({ ...PACKAGE, optionalDependencies: { fsevents: '^2' } }), configError('package-lock.json', /optionalDependencies "fsevents"/));
  });

  test('a lockfile that is not JSON is a ConfigError naming it', () => {
    assert.throws(() => checkLockfile(source({ 'package.json': PACKAGE, 'package-lock.json': '{ nope' })), configError('package-lock.json', /is not valid JSON .*run `npm install` and commit package-lock\.json$/));
  });

  test('the fixtures\' lockfiles are in sync', () => {
    for (const fixture of ['hello-app', 'native-link', 'service-app', 'tiny-app']) checkLockfile(path.join(import.meta.dirname, '..', 'fixtures', fixture));
  });
});
