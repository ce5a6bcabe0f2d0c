import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sourceDateEpoch } from '../../src/build/resolve.ts';
import type { BuildOptions } from '../../src/options/types.ts';

describe('SOURCE_DATE_EPOCH', () => {
  const options = { name: 'x' } as BuildOptions;
  test('the option wins, then the environment, then the source time', () => {
    assert.equal(sourceDateEpoch({ ...options, sourceDateEpoch: 5 }, 9, { SOURCE_DATE_EPOCH: '7' }), 5);
    assert.equal(sourceDateEpoch(options, 9, { SOURCE_DATE_EPOCH: '7' }), 7);
    assert.equal(sourceDateEpoch(options, 9, {}), 9);
    assert.equal(sourceDateEpoch(options, 9, { SOURCE_DATE_EPOCH: 'yesterday' }), 9);
  });
});
