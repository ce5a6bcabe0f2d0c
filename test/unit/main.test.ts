import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { collectBuilds, main } from '../../src/commands/main.ts';
import { ConfigError } from '../../src/errors.ts';
import { setRunSettings } from '../../src/options/run-settings.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ndist-unit-main-'));
});
after(async () => {
  setRunSettings(undefined);
  await rm(dir, { recursive: true, force: true });
});

/** Run the CLI in this process; what it writes to stderr is captured. */
async function run(...args: string[]): Promise<{ code: number; stderr: string }> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...parts: unknown[]) => lines.push(parts.map((part) => (part instanceof Error ? part.stack : String(part))).join(' '));
  try {
    return { code: await main(['node', 'ndist', ...args]), stderr: lines.join('\n') };
  } finally {
    console.error = original;
  }
}

/** A project directory holding `package.ts` with `source`; `type` is its package.json "type". */
async function project(name: string, source: string, type?: 'module'): Promise<string> {
  const projectDir = path.join(dir, name);
  await mkdir(projectDir);
  await writeFile(path.join(projectDir, 'package.json'), JSON.stringify({ name, ...(type ? { type } : {}) }));
  await writeFile(path.join(projectDir, 'package.ts'), source);
  return path.join(projectDir, 'package.ts');
}

describe('a package.ts that does not compile', () => {
  for (const type of ['module', undefined] as const) {
    test(`is a configuration error naming the file, line and column (${type ?? 'CommonJS'} project)`, async () => {
      const file = await project(`syntax-${type ?? 'cjs'}`, 'const x = 1;\nconst y = {;\n', type);
      await assert.rejects(collectBuilds(file), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.field, `${file}:2:11`);
        assert.match(error.message, /cannot be compiled: Expected identifier but found ";"/);
        return true;
      });
    });
  }

  test('the CLI prints it without a stack and exits 2', async () => {
    const file = await project('syntax-cli', 'const y = {;\n', 'module');
    const { code, stderr } = await run('list', file);
    assert.equal(code, 2);
    assert.equal(stderr, `ndist: ${file}:1:11: cannot be compiled: Expected identifier but found ";"`);
  });
});

describe('what the CLI prints', () => {
  test('a configuration error: one line, no stack, exit 2', async () => {
    const { code, stderr } = await run('list', path.join(dir, 'missing.ts'));
    assert.equal(code, 2);
    assert.equal(stderr, `ndist: file: ${path.join(dir, 'missing.ts')} does not exist; write a package.ts (see examples/package.ts) or run \`ndist init\``);
  });

  test('anything else as an internal error with its stack, exit 70', async () => {
    const file = await project('throws', 'throw new TypeError("a bug");\n', 'module');
    const { code, stderr } = await run('list', file);
    assert.equal(code, 70);
    assert.match(stderr, /^ndist: internal error, please report it with the output below\nTypeError: a bug\n {4}at /);
  });
});
