import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BuildError, ConfigError, errorMessage } from '../../src/errors.ts';

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
