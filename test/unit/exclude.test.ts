import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import { SOURCE_EXCLUDES } from '../../src/build/source.ts';
import { sourceTreeHash } from '../../src/cache/up-to-date.ts';
import { packInputs } from '../../src/machine/inputs.ts';
import { isExcluded } from '../../src/util/exclude.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-exclude-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Root names a source may hold: some left out by SOURCE_EXCLUDES, some only alike. */
const ROOT_NAMES = ['.git', 'node_modules', '.package.ndist-123.mts', 'index.js', '.gitignore', 'node_modules.txt', '.package.ndist-x.mts', 'package.mts'];

async function packedNames(tree: string): Promise<string[]> {
  const extract = tar.extract();
  packInputs([{ kind: 'tree', name: 'src', hostPath: tree, exclude: SOURCE_EXCLUDES }]).pipe(extract);
  const names: string[] = [];
  for await (const entry of extract) {
    names.push(entry.header.name);
    entry.resume();
  }
  return names;
}

describe('isExcluded', () => {
  test('a name equals a string rule or matches a pattern rule', () => {
    assert.equal(isExcluded('.git', SOURCE_EXCLUDES), true);
    assert.equal(isExcluded('node_modules', SOURCE_EXCLUDES), true);
    assert.equal(isExcluded('.package.ndist-123.mts', SOURCE_EXCLUDES), true);
    assert.equal(isExcluded('.gitignore', SOURCE_EXCLUDES), false);
    assert.equal(isExcluded('node_modules.txt', SOURCE_EXCLUDES), false);
    assert.equal(isExcluded('.package.ndist-x.mts', SOURCE_EXCLUDES), false);
    assert.equal(isExcluded('anything', []), false);
  });
});

describe('the source hash and the tar stream into the machine agree on what the source is', () => {
  test('a root name is streamed in exactly when changing it changes the hash, as isExcluded says', async () => {
    const tree = path.join(dir, 'tree');
    mkdirSync(tree);
    for (const name of ROOT_NAMES) writeFileSync(path.join(tree, name), 'a');
    const packed = await packedNames(tree);
    const before = await sourceTreeHash(tree, SOURCE_EXCLUDES);
    for (const name of ROOT_NAMES) {
      writeFileSync(path.join(tree, name), 'b');
      const hashed = (await sourceTreeHash(tree, SOURCE_EXCLUDES)) !== before;
      writeFileSync(path.join(tree, name), 'a');
      const streamed = packed.includes(`src/${name}`);
      assert.equal(streamed, !isExcluded(name, SOURCE_EXCLUDES), `${name} streamed`);
      assert.equal(hashed, streamed, `${name}: hashed ${hashed}, streamed ${streamed}`);
    }
  });

  test('below the root nothing is left out, by either', async () => {
    const tree = path.join(dir, 'nested');
    mkdirSync(path.join(tree, 'lib', 'node_modules'), { recursive: true });
    writeFileSync(path.join(tree, 'lib', 'node_modules', 'kept.js'), 'a');
    const before = await sourceTreeHash(tree, SOURCE_EXCLUDES);
    assert.ok((await packedNames(tree)).includes('src/lib/node_modules/kept.js'));
    writeFileSync(path.join(tree, 'lib', 'node_modules', 'kept.js'), 'b');
    assert.notEqual(await sourceTreeHash(tree, SOURCE_EXCLUDES), before);
  });
});
