import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyFileAtomic, partialPath, writeFileAtomic } from '../../src/util/atomic-write.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-atomic-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('atomic writes', () => {
  test('a partial name is hidden, beside the file and unique to each write', () => {
    const first = partialPath(path.join(dir, 'SHA256SUMS'));
    assert.equal(path.dirname(first), dir);
    assert.match(path.basename(first), /^\.SHA256SUMS\.[0-9a-f-]{36}\.partial$/);
    assert.notEqual(partialPath(path.join(dir, 'SHA256SUMS')), first);
  });

  test('writeFileAtomic replaces the file and leaves no partial file', async () => {
    const file = path.join(dir, 'report.json');
    writeFileSync(file, 'old');
    await writeFileAtomic(file, 'new');
    assert.equal(readFileSync(file, 'utf8'), 'new');
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.partial')), []);
  });

  test('copyFileAtomic copies into place', async () => {
    const source = path.join(dir, 'source');
    writeFileSync(source, 'bytes');
    await copyFileAtomic(source, path.join(dir, 'copy'));
    assert.equal(readFileSync(path.join(dir, 'copy'), 'utf8'), 'bytes');
  });

  test('a failed write removes its partial file and leaves the old file', async () => {
    const file = path.join(dir, 'kept');
    writeFileSync(file, 'old');
    await assert.rejects(copyFileAtomic(path.join(dir, 'missing'), file), /ENOENT/);
    assert.equal(readFileSync(file, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.partial')), []);
  });
});
