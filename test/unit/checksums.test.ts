import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { CHECKSUMS_FILE, updateChecksums } from '../../src/build/checksums.ts';

describe('updateChecksums', () => {
  let outDir: string;
  beforeEach(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'ndist-sums-'));
  });
  afterEach(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  async function artifact(name: string, content: string) {
    const file = path.join(outDir, name);
    await writeFile(file, content);
    return { path: file, sha256: createHash('sha256').update(content).digest('hex') };
  }

  test('writes a file sha256sum -c verifies, sorted by name', async () => {
    const b = await artifact('b_1.0-1_amd64.deb', 'bbb');
    const a = await artifact('a_1.0-1_amd64.deb', 'aaa');
    await updateChecksums(outDir, [b, a]);
    const text = await readFile(path.join(outDir, CHECKSUMS_FILE), 'utf8');
    assert.equal(text, `${a.sha256}  a_1.0-1_amd64.deb\n${b.sha256}  b_1.0-1_amd64.deb\n`);
    assert.match(execFileSync('sha256sum', ['-c', CHECKSUMS_FILE], { cwd: outDir, encoding: 'utf8' }), /a_1\.0-1_amd64\.deb: OK\nb_1\.0-1_amd64\.deb: OK/);
    assert.deepEqual((await readdir(outDir)).filter((name) => name.includes('partial')), []);
  });

  test('a later run replaces its own lines, keeps other present artifacts and drops removed ones', async () => {
    const a = await artifact('a.deb', 'one');
    const gone = await artifact('gone.deb', 'x');
    const kept = await artifact('kept.deb', 'k');
    await updateChecksums(outDir, [a, gone, kept]);
    await rm(gone.path);
    const a2 = await artifact('a.deb', 'two');
    await updateChecksums(outDir, [a2]);
    const text = await readFile(path.join(outDir, CHECKSUMS_FILE), 'utf8');
    assert.equal(text, `${a2.sha256}  a.deb\n${kept.sha256}  kept.deb\n`);
  });
});
