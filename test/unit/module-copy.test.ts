/** The hidden .mts copy the CLI runs a CommonJS project's package.ts from is never part of a source. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import tar from 'tar-stream';
import { packInputs } from '../../src/machine/inputs.ts';
import { MODULE_COPY, SOURCE_EXCLUDES, fetchSource } from '../../src/build/source.ts';

test('neither streamed into the build machine nor counted in the source date', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ndist-module-copy-'));
  try {
    await writeFile(path.join(dir, 'package.ts'), '');
    await utimes(path.join(dir, 'package.ts'), 1_700_000_000, 1_700_000_000);
    await writeFile(path.join(dir, '.package.ndist-4242.mts'), '');
    assert.ok(MODULE_COPY.test('.package.ndist-4242.mts'));
    assert.equal(MODULE_COPY.test('package.mts'), false);

    const source = await fetchSource({ type: 'directory', path: dir }, () => {});
    assert.equal(source.epoch, 1_700_000_000);

    const names: string[] = [];
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      names.push(header.name);
      stream.resume();
      stream.on('end', next);
    });
    const done = new Promise<void>((resolve, reject) => extract.on('finish', () => resolve()).on('error', reject));
    packInputs([{ kind: 'tree', name: 'src', hostPath: dir, exclude: SOURCE_EXCLUDES }]).pipe(extract);
    await done;
    assert.deepEqual(names.sort(), ['src', 'src/package.ts']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
