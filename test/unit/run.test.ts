import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { globToRegExp, runSettings, selectNames, setRunSettings } from '../../src/options/run-settings.ts';

describe('run settings and --only', () => {
  const names = ['hello :: bookworm', 'hello :: trixie', 'api :: bookworm', 'a.b'];

  test('* ? [] and {} select build names; other characters match themselves', () => {
    assert.deepEqual(selectNames(names, ['hello*']), ['hello :: bookworm', 'hello :: trixie']);
    assert.deepEqual(selectNames(names, ['*:: bookworm']), ['hello :: bookworm', 'api :: bookworm']);
    assert.deepEqual(selectNames(names, ['{api,hello} :: t*']), ['hello :: trixie']);
    assert.deepEqual(selectNames(names, ['a?b']), ['a.b']);
    assert.deepEqual(selectNames(names, ['[ab].b']), ['a.b']);
    assert.equal(globToRegExp('a.b').test('axb'), false, 'a dot is a dot');
  });

  test('several globs select the union, in the order the builds were added', () => {
    assert.deepEqual(selectNames(names, ['api*', 'hello :: bookworm']), ['hello :: bookworm', 'api :: bookworm']);
  });

  test('no glob selects everything; a glob matching nothing is a ConfigError naming the builds', () => {
    assert.deepEqual(selectNames(names, undefined), names);
    assert.throws(() => selectNames(names, ['nope*']), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /--only: "nope\*" matches no build; builds: "hello :: bookworm"/);
      return true;
    });
    assert.throws(() => globToRegExp('{a,b'), /unclosed/);
  });

  test('settings live on globalThis under Symbol.for("ndist.run"), where another copy of ndist finds them', () => {
    setRunSettings({ concurrency: 3 });
    assert.equal((globalThis as Record<symbol, { concurrency: number }>)[Symbol.for('ndist.run')]?.concurrency, 3);
    assert.equal(runSettings().concurrency, 3);
    setRunSettings(undefined);
    assert.deepEqual(runSettings(), {});
  });
});

describe('--verbose', () => {
  test('asks for plain lines (every line of container output) unless the Builder is silent', async () => {
    const { progressWanted } = await import('../../src/build/builder.ts');
    assert.equal(progressWanted({}, {}), 'auto');
    assert.equal(progressWanted({}, { verbose: true }), 'plain');
    assert.equal(progressWanted({ progress: 'tree' }, { verbose: true }), 'plain');
    assert.equal(progressWanted({ progress: 'silent' }, { verbose: true }), 'silent');
    assert.equal(progressWanted({ log: () => {} }, { verbose: true }), 'silent');
    assert.equal(progressWanted({ log: () => {} }, {}), 'silent');
  });
});
