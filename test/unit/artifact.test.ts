import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import { writeArtifact } from '../../src/build/artifact.ts';
import { BuildError } from '../../src/errors.ts';

type TarEntry = { name: string; content?: Buffer; type?: 'file' | 'directory' };

/** The bytes of a tar archive holding `entries`. */
async function tarBytes(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of entries) {
    if (entry.type === 'directory') pack.entry({ name: entry.name, type: 'directory' });
    else pack.entry({ name: entry.name, size: entry.content!.length }, entry.content!);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `bytes` in small chunks, as a socket would give them. */
function streamOf(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16 * 1024) chunks.push(bytes.subarray(offset, offset + 16 * 1024));
  return Readable.from(chunks);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let root: string;
let outCount = 0;
before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-artifact-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A directory under the temp root that does not exist yet. */
const newOutDir = () => path.join(root, `out-${++outCount}`, 'dist');

describe('writeArtifact', () => {
  const FILE = 'demo_1.0.0-1_amd64.deb';

  test('writes the named file from the archive, with its size and sha256, and nothing else', async () => {
    const content = randomBytes(300 * 1024 + 17);
    const archive = await tarBytes([
      { name: 'out', type: 'directory' },
      { name: 'out/other.txt', content: Buffer.from('not this one') },
      { name: FILE, content },
      { name: `again/${FILE}`, content: Buffer.from('a second copy is ignored') },
    ]);
    const outDir = newOutDir();
    const artifact = await writeArtifact(streamOf(archive), outDir, FILE);
    assert.deepEqual(artifact, { path: path.join(outDir, FILE), size: content.length, sha256: sha256(content) });
    assert.deepEqual(readdirSync(outDir), [FILE], 'no .partial file is left');
    assert.ok(readFileSync(artifact.path).equals(content));
  });

  test('finds the file under a directory in the archive, as docker cp gives it', async () => {
    const content = Buffer.from('deb bytes');
    const outDir = newOutDir();
    const artifact = await writeArtifact(streamOf(await tarBytes([{ name: `ndist/out/${FILE}`, content }])), outDir, FILE);
    assert.equal(artifact.sha256, sha256(content));
    assert.equal(artifact.size, 9);
    assert.deepEqual(readdirSync(outDir), [FILE]);
  });

  test('an empty file is an artifact of size 0', async () => {
    const outDir = newOutDir();
    const artifact = await writeArtifact(streamOf(await tarBytes([{ name: FILE, content: Buffer.alloc(0) }])), outDir, FILE);
    assert.deepEqual(artifact, { path: path.join(outDir, FILE), size: 0, sha256: sha256(Buffer.alloc(0)) });
  });

  test('replaces an artifact of the same name', async () => {
    const outDir = newOutDir();
    await writeArtifact(streamOf(await tarBytes([{ name: FILE, content: Buffer.from('old') }])), outDir, FILE);
    await writeArtifact(streamOf(await tarBytes([{ name: FILE, content: Buffer.from('new') }])), outDir, FILE);
    assert.equal(readFileSync(path.join(outDir, FILE), 'utf8'), 'new');
    assert.deepEqual(readdirSync(outDir), [FILE]);
  });

  test('a file missing from the archive is a BuildError, and outDir holds no file', async () => {
    const outDir = newOutDir();
    const archive = await tarBytes([
      { name: 'other.deb', content: Buffer.from('x') },
      { name: FILE, type: 'directory' },
    ]);
    await assert.rejects(writeArtifact(streamOf(archive), outDir, FILE), (error: unknown) => {
      assert.ok(error instanceof BuildError);
      assert.equal(error.message, `the build machine did not produce ${FILE}`);
      assert.equal(error.details.stage, 'artifact');
      return true;
    });
    assert.deepEqual(readdirSync(outDir), []);
  });

  test('a stream that fails in the middle of the file rejects and leaves no file', async () => {
    const outDir = newOutDir();
    const archive = await tarBytes([{ name: FILE, content: randomBytes(256 * 1024) }]);
    const source = new PassThrough();
    source.write(archive.subarray(0, 100 * 1024));
    setTimeout(() => source.destroy(new Error('connection reset')), 20);
    await assert.rejects(writeArtifact(source, outDir, FILE), { message: 'connection reset' });
    assert.deepEqual(readdirSync(outDir), []);
  });

  test('an archive that ends in the middle of the file rejects and leaves no file', async () => {
    const outDir = newOutDir();
    const archive = await tarBytes([{ name: FILE, content: randomBytes(256 * 1024) }]);
    await assert.rejects(writeArtifact(streamOf(archive.subarray(0, 100 * 1024)), outDir, FILE));
    assert.deepEqual(readdirSync(outDir), []);
  });

  test('a failed write leaves an existing artifact of the same name as it was', async () => {
    const outDir = newOutDir();
    await writeArtifact(streamOf(await tarBytes([{ name: FILE, content: Buffer.from('good') }])), outDir, FILE);
    await assert.rejects(writeArtifact(streamOf(await tarBytes([])), outDir, FILE), BuildError);
    assert.equal(readFileSync(path.join(outDir, FILE), 'utf8'), 'good');
    assert.deepEqual(readdirSync(outDir), [FILE]);
  });

  test('is not fooled by a .partial name already in outDir', async () => {
    const outDir = newOutDir();
    mkdirSync(outDir, { recursive: true });
    // Left by an interrupted run: each write uses a partial name of its own, so this one is left alone.
    const stale = `.${FILE}.${process.pid}.partial`;
    writeFileSync(path.join(outDir, stale), 'stale');
    const artifact = await writeArtifact(streamOf(await tarBytes([{ name: FILE, content: Buffer.from('fresh') }])), outDir, FILE);
    assert.equal(readFileSync(artifact.path, 'utf8'), 'fresh');
    assert.deepEqual(readdirSync(outDir).sort(), [stale, FILE].sort());
  });
});
