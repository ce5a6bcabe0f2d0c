import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { npmUserConfig, sourceDateEpoch } from '../../src/build/pipeline.ts';
import type { BuildOptions } from '../../src/options/types.ts';

describe('npm configuration for the build machine', () => {
  test('an auth line naming NPM_TOKEN, never its value, for the configured registry', () => {
    assert.equal(npmUserConfig('https://npm.example.invalid/', true), '//npm.example.invalid/:_authToken=${NPM_TOKEN}\n');
    assert.equal(npmUserConfig('https://mirror.example.invalid:8443/api/npm', true), '//mirror.example.invalid:8443/api/npm/:_authToken=${NPM_TOKEN}\n');
  });
  test('nothing without a token', () => {
    assert.equal(npmUserConfig('https://npm.example.invalid/', false), '');
  });
});

describe('SOURCE_DATE_EPOCH', () => {
  const options = { name: 'x' } as BuildOptions;
  test('the option wins, then the environment, then the source time', () => {
    assert.equal(sourceDateEpoch({ ...options, sourceDateEpoch: 5 }, 9, { SOURCE_DATE_EPOCH: '7' }), 5);
    assert.equal(sourceDateEpoch(options, 9, { SOURCE_DATE_EPOCH: '7' }), 7);
    assert.equal(sourceDateEpoch(options, 9, {}), 9);
    assert.equal(sourceDateEpoch(options, 9, { SOURCE_DATE_EPOCH: 'yesterday' }), 9);
  });
});
