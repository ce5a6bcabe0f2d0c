import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { globPattern, makeExecutable, matchesAny, stagedPaths } from '../../src/in-machine/stage-app.ts';
import { packageDirectory } from '../../src/build/pipeline.ts';
import { largest } from '../../src/progress/reporter.ts';
import { ConfigError } from '../../src/errors.ts';
import { validateBuild } from '../../src/options/validate.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('globs of include and exclude', () => {
  const matches = (glob: string, file: string) => matchesAny(file, [globPattern(glob)]);

  test('* and ? within a name, ** across directories', () => {
    assert.ok(matches('dist/*.map', 'dist/cli.js.map'));
    assert.ok(!matches('dist/*.map', 'dist/sub/cli.js.map'));
    assert.ok(matches('dist/**/*.map', 'dist/sub/deep/cli.js.map'));
    assert.ok(matches('dist/**/*.map', 'dist/cli.js.map'));
    assert.ok(matches('**/*.md', 'README.md'));
    assert.ok(matches('**/*.md', 'docs/a/b.md'));
    assert.ok(matches('v?.txt', 'v1.txt'));
    assert.ok(!matches('v?.txt', 'v10.txt'));
    assert.ok(!matches('*.md', 'docs/b.md'), 'a pattern without ** is anchored at the app root');
  });

  test('a pattern matching a directory covers what is in it; ./ and a trailing / are the same pattern', () => {
    assert.ok(matches('docs', 'docs/a/b.md'));
    assert.ok(matches('./docs/', 'docs/a/b.md'));
    assert.ok(!matches('docs', 'docsite/index.html'));
    assert.ok(matches('node_modules/typescript', 'node_modules/typescript/lib/tsc.js'));
  });

  test('regular-expression characters are literal', () => {
    assert.ok(matches('a+b(1).js', 'a+b(1).js'));
    assert.ok(!matches('a.js', 'abjs'));
  });

  test('validated before any container: relative, no "..", exclude never package.json', () => {
    const build = { name: 'b', app: 'demo', source: { type: 'directory' as const, path: ROOT }, buildMachine: 'debian-bookworm', node: '22.23.3' };
    const refused = (changes: object, field: string, message: RegExp) =>
      assert.throws(() => validateBuild({ ...build, ...changes }), (error: unknown) => error instanceof ConfigError && error.field === field && message.test(error.message));
    refused({ include: ['/etc/passwd'] }, 'include[0]', /must be a glob relative to the app, without "\.\."/);
    refused({ exclude: ['docs', '../other'] }, 'exclude[1]', /must be a glob relative to the app/);
    refused({ exclude: ['*.json'] }, 'exclude[0]', /would leave out package\.json/);
    refused({ include: [''] }, 'include[0]', /./);
    refused({ build: ['npm run build\nrm -rf /'] }, 'build[0]', /single line/);
    validateBuild({ ...build, include: ['config/**'], exclude: ['docs', 'dist/*.map'], build: ['npm run build'] });
  });
});

describe('stagedPaths: what of the app is packaged', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-stage-'));
    for (const file of ['package.json', 'README.md', 'dist/cli.js', 'dist/cli.js.map', 'src/cli.ts', 'tests/a.test.js', 'config/default.json', 'node_modules/ms/index.js', 'node_modules/ms/package.json', 'build/Release/addon.node', 'binding.gyp']) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), file);
    }
    mkdirSync(path.join(dir, 'node_modules/.bin'));
    symlinkSync('../ms/index.js', path.join(dir, 'node_modules/.bin/ms'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("npm pack's list, the commands' scripts, node_modules whole (links as links) and an addon's build/, every directory before what it holds", () => {
    const { paths, missing } = stagedPaths({ source: dir, packed: ['package.json', 'README.md', 'dist/cli.js.map'], always: ['dist/cli.js'], include: [], exclude: [] });
    assert.deepEqual(missing, []);
    assert.deepEqual(paths, [
      'README.md', 'build', 'build/Release', 'build/Release/addon.node', 'dist', 'dist/cli.js', 'dist/cli.js.map',
      'node_modules', 'node_modules/.bin', 'node_modules/.bin/ms', 'node_modules/ms', 'node_modules/ms/index.js', 'node_modules/ms/package.json', 'package.json',
    ]);
  });

  test('include adds, exclude takes away (from node_modules too)', () => {
    const { paths } = stagedPaths({ source: dir, packed: ['package.json', 'dist/cli.js', 'dist/cli.js.map'], always: [], include: ['config'], exclude: ['dist/*.map', 'node_modules/.bin'] });
    assert.ok(paths.includes('config/default.json'));
    assert.ok(!paths.includes('dist/cli.js.map'));
    assert.ok(!paths.some((file) => file.startsWith('node_modules/.bin')));
    assert.ok(!paths.some((file) => file.startsWith('src') || file.startsWith('tests')));
  });

  test("the commands' scripts are made executable, as npm's bin links do; read and write bits kept", () => {
    chmodSync(path.join(dir, 'dist/cli.js'), 0o640);
    makeExecutable(dir, ['dist/cli.js', './dist/cli.js']);
    assert.equal(statSync(path.join(dir, 'dist/cli.js')).mode & 0o777, 0o751);
    assert.equal(statSync(path.join(dir, 'README.md')).mode & 0o111, 0, 'other files as they were');
  });

  test("a command's script the build did not make is named", () => {
    assert.deepEqual(stagedPaths({ source: dir, packed: [], always: ['dist/other.js'], include: [], exclude: [] }).missing, ['dist/other.js']);
  });

  test('the list copies with tar as the build script does: modes and links kept, nothing else', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-staged-'));
    try {
      const { paths } = stagedPaths({ source: dir, packed: ['package.json'], always: ['dist/cli.js'], include: [], exclude: ['build'] });
      writeFileSync(path.join(out, 'list'), paths.map((file) => `${file}\0`).join(''));
      mkdirSync(path.join(out, 'app'));
      execFileSync('bash', ['-c', `tar -C "$1" --null --no-recursion -T "$2/list" -cf - | tar -C "$2/app" -xpf -`, 'tar', dir, out]);
      const copied = execFileSync('find', ['.', '-mindepth', '1', '-printf', '%y %P\n'], { cwd: path.join(out, 'app'), encoding: 'utf8' }).trim().split('\n').sort();
      assert.deepEqual(copied, ['d dist', 'd node_modules', 'd node_modules/.bin', 'd node_modules/ms', 'f dist/cli.js', 'f node_modules/ms/index.js', 'f node_modules/ms/package.json', 'f package.json', 'l node_modules/.bin/ms']);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("the package's largest directories", () => {
  test("read from the build script's lines; a path with spaces kept", () => {
    assert.deepEqual(packageDirectory('package directory: 30100000 /opt/demo/app/node_modules'), { path: '/opt/demo/app/node_modules', size: 30100000 });
    assert.deepEqual(packageDirectory('package directory: 12 /opt/demo/app/my dir'), { path: '/opt/demo/app/my dir', size: 12 });
    assert.equal(packageDirectory('package directory: lots /opt/demo'), undefined);
    assert.equal(packageDirectory('echo package directory: 1 /x'), undefined);
  });

  test("a build's last line names the three largest", () => {
    const dirs = [{ path: '/opt/d/node', size: 102e6 }, { path: '/opt/d/app/node_modules', size: 30.1e6 }, { path: '/opt/d/app/dist', size: 2e5 }, { path: '/opt/d/share', size: 1e4 }];
    assert.equal(largest(dirs), '; largest: /opt/d/node 102.0 MB, /opt/d/app/node_modules 30.1 MB, /opt/d/app/dist 200.0 kB');
    assert.equal(largest(undefined), '');
  });
});
