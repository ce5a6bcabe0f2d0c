import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import { packInputs, type InputEntry } from '../../src/machine/inputs.ts';

interface ReadEntry {
  name: string;
  type: string | null | undefined;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  linkname?: string | null;
  content: string;
}

/** Every entry of a tar stream, in archive order. */
async function readTar(stream: Readable): Promise<ReadEntry[]> {
  const extract = tar.extract();
  stream.pipe(extract);
  stream.on('error', (error) => extract.destroy(error));
  const entries: ReadEntry[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const { name, type, mode, uid, gid, linkname } = entry.header;
    entries.push({ name, type, mode, uid, gid, ...(type === 'symlink' ? { linkname } : {}), content: Buffer.concat(chunks).toString('utf8') });
  }
  return entries;
}

let root: string;
let app: string;
before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-inputs-'));
  app = path.join(root, 'app');
  const write = (file: string, content: string, mode: number) => {
    mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
    writeFileSync(path.join(app, file), content);
    chmodSync(path.join(app, file), mode);
  };
  write('package.json', '{"name":"demo"}\n', 0o644);
  write('bin/cli.js', '#!/usr/bin/env node\n', 0o755);
  write('lib/z.js', 'z\n', 0o600);
  write('lib/a.js', 'a\n', 0o644);
  write('lib/node_modules/kept.js', 'kept\n', 0o644);
  write('.git/HEAD', 'ref: refs/heads/main\n', 0o644);
  write('node_modules/dep/index.js', 'dep\n', 0o644);
  mkdirSync(path.join(app, 'empty'));
  symlinkSync('bin/cli.js', path.join(app, 'cli-link'));
  writeFileSync(path.join(root, 'ca.crt'), 'CERTIFICATE\n');
  chmodSync(path.join(root, 'ca.crt'), 0o600);
  writeFileSync(path.join(root, 'tool.sh'), '#!/bin/sh\n');
  chmodSync(path.join(root, 'tool.sh'), 0o750);
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('packInputs', () => {
  test('content, directory, file and tree entries, with modes, root ownership and contents', async () => {
    const entries: InputEntry[] = [
      { kind: 'directory', name: 'ndist' },
      { kind: 'content', name: 'ndist/build.sh', content: '#!/bin/bash\necho hi\n', mode: 0o755 },
      { kind: 'content', name: 'ndist/note.txt', content: 'héllo\n' },
      { kind: 'file', name: 'ndist/ca.crt', hostPath: path.join(root, 'ca.crt'), mode: 0o644 },
      { kind: 'file', name: 'ndist/tool.sh', hostPath: path.join(root, 'tool.sh') },
      { kind: 'tree', name: 'ndist/src', hostPath: app, exclude: ['.git', 'node_modules'] },
    ];
    const read = await readTar(packInputs(entries));
    // In archive order: the entries as given, each tree depth-first in sorted order.
    assert.deepEqual(
      read.map(({ name, type, mode }) => `${type} ${mode?.toString(8)} ${name}`),
      [
        'directory 755 ndist',
        'file 755 ndist/build.sh',
        'file 644 ndist/note.txt',
        'file 644 ndist/ca.crt',
        'file 750 ndist/tool.sh',
        'directory 755 ndist/src',
        'directory 755 ndist/src/bin',
        'file 755 ndist/src/bin/cli.js',
        'symlink 777 ndist/src/cli-link',
        'directory 755 ndist/src/empty',
        'directory 755 ndist/src/lib',
        'file 644 ndist/src/lib/a.js',
        'directory 755 ndist/src/lib/node_modules',
        'file 644 ndist/src/lib/node_modules/kept.js',
        'file 600 ndist/src/lib/z.js',
        'file 644 ndist/src/package.json',
      ],
    );
    assert.deepEqual(
      read.map((entry) => entry.name).sort(),
      [
        'ndist',
        'ndist/build.sh',
        'ndist/ca.crt',
        'ndist/note.txt',
        'ndist/src',
        'ndist/src/bin',
        'ndist/src/bin/cli.js',
        'ndist/src/cli-link',
        'ndist/src/empty',
        'ndist/src/lib',
        'ndist/src/lib/a.js',
        'ndist/src/lib/node_modules',
        'ndist/src/lib/node_modules/kept.js',
        'ndist/src/lib/z.js',
        'ndist/src/package.json',
        'ndist/tool.sh',
      ],
    );
    const byName = new Map(read.map((entry) => [entry.name, entry]));
    const expect = (name: string, type: string, mode: number, content = '') => {
      const entry = byName.get(name);
      assert.ok(entry, `${name} is in the archive`);
      assert.deepEqual({ type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, content: entry.content }, { type, mode, uid: 0, gid: 0, content }, name);
    };
    expect('ndist', 'directory', 0o755);
    expect('ndist/build.sh', 'file', 0o755, '#!/bin/bash\necho hi\n');
    expect('ndist/note.txt', 'file', 0o644, 'héllo\n');
    expect('ndist/ca.crt', 'file', 0o644, 'CERTIFICATE\n');
    expect('ndist/tool.sh', 'file', 0o750, '#!/bin/sh\n');
    expect('ndist/src', 'directory', 0o755);
    expect('ndist/src/bin', 'directory', 0o755);
    expect('ndist/src/empty', 'directory', 0o755);
    expect('ndist/src/package.json', 'file', 0o644, '{"name":"demo"}\n');
    expect('ndist/src/bin/cli.js', 'file', 0o755, '#!/usr/bin/env node\n');
    expect('ndist/src/lib/z.js', 'file', 0o600, 'z\n');
    expect('ndist/src/lib/node_modules/kept.js', 'file', 0o644, 'kept\n');
    const link = byName.get('ndist/src/cli-link');
    assert.deepEqual(link && { type: link.type, linkname: link.linkname, uid: link.uid, gid: link.gid }, { type: 'symlink', linkname: 'bin/cli.js', uid: 0, gid: 0 });
  });

  test('a tree is archived in sorted order, parents before children', async () => {
    const read = await readTar(packInputs([{ kind: 'tree', name: 'src', hostPath: app, exclude: ['.git', 'node_modules'] }]));
    assert.deepEqual(
      read.map((entry) => entry.name),
      [
        'src',
        'src/bin',
        'src/bin/cli.js',
        'src/cli-link',
        'src/empty',
        'src/lib',
        'src/lib/a.js',
        'src/lib/node_modules',
        'src/lib/node_modules/kept.js',
        'src/lib/z.js',
        'src/package.json',
      ],
    );
  });

  test('exclude applies only at the root of the tree', async () => {
    const names = (await readTar(packInputs([{ kind: 'tree', name: 'src', hostPath: app }]))).map((entry) => entry.name);
    assert.ok(names.includes('src/.git/HEAD'));
    assert.ok(names.includes('src/node_modules/dep/index.js'));
    const excluded = (await readTar(packInputs([{ kind: 'tree', name: 'src', hostPath: app, exclude: ['lib'] }]))).map((entry) => entry.name);
    assert.equal(excluded.some((name) => name.startsWith('src/lib')), false);
    assert.ok(excluded.includes('src/.git/HEAD'));
  });

  test('generated files and directories get the given time, host files keep their own', async () => {
    const epoch = new Date(1_700_000_000_000);
    const extract = tar.extract();
    packInputs(
      [
        { kind: 'directory', name: 'root' },
        { kind: 'content', name: 'root/wrapper', content: '#!/bin/sh\n' },
        { kind: 'file', name: 'root/ca.crt', hostPath: path.join(root, 'ca.crt') },
      ],
      epoch,
    ).pipe(extract);
    const times: Record<string, number | undefined> = {};
    for await (const entry of extract) {
      times[entry.header.name] = entry.header.mtime?.getTime();
      entry.resume();
    }
    const hostTime = Math.floor(statSync(path.join(root, 'ca.crt')).mtimeMs / 1000) * 1000;
    assert.deepEqual(times, { root: epoch.getTime(), 'root/wrapper': epoch.getTime(), 'root/ca.crt': hostTime });
  });

  test('an empty list of entries is an empty archive', async () => {
    assert.deepEqual(await readTar(packInputs([])), []);
  });

  test('a host file that does not exist makes the stream fail', async () => {
    const stream = packInputs([{ kind: 'file', name: 'x', hostPath: path.join(root, 'missing') }]);
    await assert.rejects(readTar(stream), { code: 'ENOENT' });
  });

  test(
    'a file entry whose host path is a symlink archives the file it points to',
    async () => {
      symlinkSync(path.join(root, 'ca.crt'), path.join(root, 'ca-link.crt'));
      const read = await readTar(packInputs([{ kind: 'file', name: 'ca.crt', hostPath: path.join(root, 'ca-link.crt'), mode: 0o644 }]));
      assert.deepEqual(read.map(({ name, type, content }) => ({ name, type, content })), [{ name: 'ca.crt', type: 'file', content: 'CERTIFICATE\n' }]);
    },
  );
});
