import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BuildError, BuildsFailedError, CacheError, ConfigError, EXIT_CODES, RepositoryError, RuntimeError, errorMessage, exitCodeOf, isNdistError,
} from '../../src/errors.ts';
import type { BuildResult } from '../../src/options/types.ts';

const failedWith = (error: Error): BuildResult => ({ name: error.name, ok: false, status: 'failed', durationMs: 0, error });

describe('ConfigError', () => {
  test('carries the field and prefixes the message with it', () => {
    const error = new ConfigError('source.uri', 'must not start with "-"');
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'ConfigError');
    assert.equal(error.field, 'source.uri');
    assert.equal(error.message, 'source.uri: must not start with "-"');
    assert.match(String(error), /^ConfigError: source\.uri: must not start with "-"$/);
  });
});

describe('BuildError', () => {
  test('keeps the message as it is, with details and cause', () => {
    const cause = new Error('exit 1');
    const error = new BuildError('the build script failed', { build: 'hello', stage: 'script', output: 'log', cause });
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'BuildError');
    assert.equal(error.message, 'the build script failed');
    assert.deepEqual(error.details, { build: 'hello', stage: 'script', output: 'log', cause });
    assert.equal(error.cause, cause);
  });

  test('has empty details and no cause by default', () => {
    const error = new BuildError('failed');
    assert.deepEqual(error.details, {});
    assert.equal(error.cause, undefined);
  });
});

describe('errorMessage', () => {
  test('is the message of an Error, and the string form of anything else', () => {
    assert.equal(errorMessage(new ConfigError('app', 'bad')), 'app: bad');
    assert.equal(errorMessage(new TypeError('oops')), 'oops');
    assert.equal(errorMessage('plain text'), 'plain text');
    assert.equal(errorMessage(42), '42');
    assert.equal(errorMessage(undefined), 'undefined');
    assert.equal(errorMessage(null), 'null');
  });
});

describe('the error contract', () => {
  test('each ndist error carries the exit code the README documents', () => {
    const cases: [Error, number][] = [
      [new ConfigError('app', 'bad'), 2],
      [new BuildError('failed'), 1],
      [new RuntimeError('cannot fetch node'), 1],
      [new BuildsFailedError([]), 1],
      // Every build failed on its configuration: a configuration error; any other failure among them: a failure.
      [new BuildsFailedError([failedWith(new ConfigError('package-lock.json', 'is missing'))]), 2],
      [new BuildsFailedError([failedWith(new ConfigError('package-lock.json', 'is missing')), failedWith(new BuildError('the build script failed'))]), 1],
      [new RepositoryError('refused'), 1],
      [new CacheError('prune failed'), 1],
    ];
    for (const [error, code] of cases) {
      assert.ok(isNdistError(error), error.name);
      assert.equal(exitCodeOf(error), code, error.name);
    }
    assert.deepEqual(EXIT_CODES, { failed: 1, config: 2, internal: 70 });
  });

  test('anything else is internal', () => {
    for (const error of [new Error('bug'), new TypeError('x is undefined'), 'a string', undefined]) {
      assert.equal(isNdistError(error), false);
      assert.equal(exitCodeOf(error), EXIT_CODES.internal);
    }
  });

  test('is recognised by its registered brand, so errors of another copy of ndist count too', () => {
    const foreign = Object.assign(new Error('from another copy'), { [Symbol.for('ndist.error')]: true, exitCode: 2 });
    assert.equal(isNdistError(foreign), true);
    assert.equal(exitCodeOf(foreign), 2);
  });
});
