import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cachedValidators, newAjv, schemaProblems } from '../../src/util/schema.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const tempDir = tempDirs('ndist-schema-');

const SCHEMA = {
  $id: 'test.schema.json',
  type: 'object',
  properties: { name: { $ref: '#/definitions/name' }, count: { type: 'integer', minimum: 1 } },
  required: ['name'],
  additionalProperties: false,
  definitions: { name: { type: 'string', pattern: '^[a-z]+$', expected: 'lower-case letters' } },
};

describe('cached schema validators', () => {
  it('compile once into the cache, then load from it, with the errors ajv gives in memory', async () => {
    const dir = await tempDir();
    const cacheDir = path.join(dir, 'cache');
    const schemaFile = path.join(dir, 'schema.json');
    await writeFile(schemaFile, JSON.stringify(SCHEMA));
    const parts = ['', 'definitions/name'] as const;
    const first = cachedValidators(schemaFile, parts, cacheDir);
    const cached = await readdir(path.join(cacheDir, 'schemas'));
    assert.equal(cached.length, 1);
    assert.match(cached[0]!, /^[0-9a-f]{32}\.cjs$/);
    const second = cachedValidators(schemaFile, parts, cacheDir);
    const inMemory = newAjv().compile(SCHEMA);
    for (const value of [{ name: 'ok' }, { name: 'Not OK', count: 0, extra: true }, {}]) {
      for (const validate of [first[''], second['']]) {
        assert.equal(validate(value), inMemory(value));
        assert.deepEqual(schemaProblems(validate), schemaProblems(inMemory), JSON.stringify(value));
      }
    }
    assert.equal(second['definitions/name']('abc'), true);
    assert.equal(second['definitions/name']('ABC'), false);

    // Another schema is another file: a stale one is never loaded.
    await writeFile(schemaFile, JSON.stringify({ ...SCHEMA, required: [] }));
    assert.equal(cachedValidators(schemaFile, parts, cacheDir)['']({}), true);
    assert.equal((await readdir(path.join(cacheDir, 'schemas'))).length, 2);
  });

  it('compile in memory when the cache cannot be written', async () => {
    const dir = await tempDir();
    const schemaFile = path.join(dir, 'schema.json');
    await writeFile(schemaFile, JSON.stringify(SCHEMA));
    const blocked = path.join(dir, 'file-not-dir');
    await writeFile(blocked, '');
    assert.equal(cachedValidators(schemaFile, [''], blocked)['']({ name: 'Bad' }), false);
  });
});
