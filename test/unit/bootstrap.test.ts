import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBootstrapImage } from '../../src/machine/bootstrap.ts';
import { ConfigError } from '../../src/errors.ts';

describe('parseBootstrapImage', () => {
  test('debian:<suite> is the host architecture unless --arch says otherwise', () => {
    assert.deepEqual(parseBootstrapImage('debian:bookworm'), { suite: 'bookworm', arch: undefined });
    assert.deepEqual(parseBootstrapImage('debian:trixie', 'amd64'), { suite: 'trixie', arch: 'amd64' });
  });

  test('arm64v8/debian:<suite> is arm64, as Docker Hub names per-arch images', () => {
    assert.deepEqual(parseBootstrapImage('arm64v8/debian:bookworm'), { suite: 'bookworm', arch: 'arm64' });
    assert.deepEqual(parseBootstrapImage('arm64v8/debian:bookworm', 'arm64'), { suite: 'bookworm', arch: 'arm64' });
  });

  test('arm32v7/debian:<suite> is armhf (32-bit ARM)', () => {
    assert.deepEqual(parseBootstrapImage('arm32v7/debian:bookworm'), { suite: 'bookworm', arch: 'armhf' });
    assert.throws(() => parseBootstrapImage('arm32v7/debian:bookworm', 'arm64'), /--arch: is arm64, but arm32v7\/debian:bookworm names an armhf image/);
  });

  test('an --arch that contradicts the name, or an unsupported image, is a ConfigError', () => {
    assert.throws(() => parseBootstrapImage('arm64v8/debian:bookworm', 'amd64'), (error: unknown) => error instanceof ConfigError && /--arch: is amd64, but arm64v8\/debian:bookworm names an arm64 image/.test(error.message));
    assert.throws(() => parseBootstrapImage('ubuntu:noble'), (error: unknown) => error instanceof ConfigError && /"ubuntu:noble" is not supported; use debian:<suite>, arm64v8\/debian:<suite> or arm32v7\/debian:<suite>/.test(error.message));
  });
});
