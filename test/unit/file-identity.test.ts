import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { checksumOf, fileIdentity, sameIdentity, settled } from '../../src/cache/file-identity.ts';

const tempDirs: string[] = [];
async function tempFile(content: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ndist-identity-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'archive.tgz');
  await writeFile(file, content);
  return file;
}
after(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A compute that counts its calls. */
function counting(checksum: string): { compute: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return { compute: async () => (calls++, checksum), calls: () => calls };
}

describe('file identity', () => {
  it('is remembered only once the last change is older than a clock tick', async () => {
    const file = await tempFile('bytes');
    const identity = await fileIdentity(file);
    assert.equal(settled(identity), false, 'just written');
    assert.equal(settled(identity, Date.now() + 1000), true);
    const first = await checksumOf(file, undefined, counting('sum').compute);
    assert.deepEqual(first, { checksum: 'sum' }, 'nothing to remember yet');
  });

  it('a remembered checksum is used while the file is unchanged, and re-computed once it is written, touched or replaced', async () => {
    const file = await tempFile('bytes');
    await sleep(150);
    const counter = counting('sum');
    const { remember } = await checksumOf(file, undefined, counter.compute);
    assert.ok(remember, 'settled: remembered');
    assert.equal(remember.checksum, 'sum');
    assert.deepEqual(await checksumOf(file, remember, counter.compute), { checksum: 'sum' });
    assert.equal(counter.calls(), 1, 'not computed again');

    await writeFile(file, 'BYTES');
    assert.equal(sameIdentity(remember.identity, await fileIdentity(file)), false, 'same size, new content');
    await checksumOf(file, remember, counter.compute);
    assert.equal(counter.calls(), 2);

    const again = await tempFile('bytes');
    await sleep(150);
    const kept = (await checksumOf(again, undefined, counter.compute)).remember!;
    const { mtime } = await stat(again);
    await utimes(again, mtime, mtime);
    assert.equal(sameIdentity(kept.identity, await fileIdentity(again)), false, 'touched back to the same mtime: the change time moved');

    const other = await tempFile('bytes');
    await sleep(150);
    const replaced = (await checksumOf(other, undefined, counter.compute)).remember!;
    const copy = `${other}.new`;
    await writeFile(copy, 'bytes');
    await rename(copy, other);
    assert.equal(sameIdentity(replaced.identity, await fileIdentity(other)), false, 'replaced by another file');
  });

  it('an undefined record never matches', async () => {
    assert.equal(sameIdentity(undefined, await fileIdentity(await tempFile('x'))), false);
  });
});
