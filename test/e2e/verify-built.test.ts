/**
 * End to end: `ndist verify` on packages ndist built, on real clean bookworm containers (the
 * hand-made packages that fail at each step are in verify.test.ts, a file of its own so the two
 * run side by side). The tiny-app fixture (bundled runtime) passes the whole cycle — install,
 * smoke test, remove, purge, nothing left and nothing missing (/opt included), lintian — and the
 * record lands in ndist-verify.json; a native addon that needs a library no runtimeDep provides
 * (shared runtime, health check warn) fails at libraries, naming the package to add.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, directory, type BuildOptions, type BuildResult } from '../../src/index.ts';
import { VerifyFailedError } from '../../src/errors.ts';
import { verify } from '../../src/verify/verify.ts';
import { readVerifyRecords } from '../../src/verify/record.ts';
import { docker, verifyContainers } from '../helpers/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** One package of a test fixture, built for debian-bookworm (Node 22.23.3, payload not compressed) into `outDir`. */
async function buildFixture(outDir: string, options: Omit<BuildOptions, 'source' | 'buildMachine' | 'node'>): Promise<BuildResult> {
  const builder = new Builder({ outDir, log: () => {} });
  builder.addBuild({ source: directory({ path: path.join(ROOT, 'test', 'fixtures', options.app) }), buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'none', ...options });
  const [result] = await builder.build();
  return result!;
}

/** Containers verify left behind: none, whatever happened. */
describe('ndist verify on packages ndist built', { timeout: 25 * 60_000 }, () => {
  let work: string;
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  let tiny: BuildResult;
  let addon: BuildResult;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-verify-built-'));
    // Both built at once: their downloads and npm ci overlap.
    [tiny, addon] = await Promise.all([
      buildFixture(path.join(work, 'dist'), { name: 'tiny deb', app: 'tiny-app', smoke: { command: ['tiny-app'], output: 'tiny' } }),
      buildFixture(path.join(work, 'dist-native'), {
        name: 'addon deb', app: 'native-link', buildDeps: ['libsqlite3-dev'], runtimeDeps: [], healthCheck: 'warn', runtime: 'shared', smoke: ['native-link'],
      }),
    ]);
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("passes for a package ndist built: install, smoke test, remove, purge, nothing left, lintian's tags within the allow-list", async () => {
    const outDir = path.join(work, 'dist');
    lines.length = 0;
    const started = Date.now();
    const outcomes = await verify({ target: outDir, projectDir: ROOT, log }).catch((error: unknown) => assert.fail(`${error}\n${lines.join('\n')}`));
    console.log(`verify of one package on bookworm: ${((Date.now() - started) / 1000).toFixed(1)} s\n${lines.join('\n')}`);
    const outcome = outcomes.find((each) => each.release === 'bookworm');
    assert.equal(outcome!.ok, true, lines.join('\n'));
    // The official node binary needs glibc 2.28: the health check states it, verify names the releases it fits.
    assert.match(lines.join('\n'), /^tiny deb \| needs glibc >= 2\.28: fits bullseye, jammy, bookworm, noble, trixie$/m);
    const tags = Object.keys(outcome!.result.lint!.tags);
    assert.ok(tags.includes('dir-or-file-in-opt'));
    // The glibc floor is a dependency now, and the bin script is executable: lintian has nothing to say about either.
    const deb = path.join(outDir, outcome!.file);
    assert.match(execFileSync('dpkg-deb', ['-f', deb, 'Depends'], { encoding: 'utf8' }).trim(), /^libc6 \(>= 2\.28\), libstdc\+\+6 \(>= [0-9.]+\)$/);
    for (const tag of ['missing-dependency-on-libc', 'undeclared-elf-prerequisites', 'script-not-executable']) assert.ok(!tags.includes(tag), `lintian: ${tag}`);
    assert.match(execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }), /^-rwxr-xr-x \S+ +\d+ \S+ \S+ \.\/opt\/tiny-app\/app\/bin\/tiny\.js$/m);
    assert.deepEqual(outcome!.result.steps.map((step) => step.step), ['prepare', 'snapshot', 'install', 'libraries', 'smoke', 'remove', 'purge', 'leftovers', 'lint']);
    const records = readVerifyRecords(path.join(outDir, 'ndist-verify.json'));
    assert.equal(records.artifacts[outcome!.sha256]!.releases.bookworm!.ok, true);
    assert.ok(existsSync(path.join(outDir, 'ndist-verify.json')));
    assert.match(lines.join('\n'), /^tiny deb \| verified on bookworm/m);
    assert.deepEqual(await verifyContainers(), []);
  });

  it('fails at libraries when a native addon needs a library no runtimeDep provides, naming the package to add (a real build, health check warn, shared runtime)', async () => {
    const result = addon;
    const outDir = path.join(work, 'dist-native');
    // The shared runtime package declares the floor of its node binary; the app package that of its addon.
    assert.ok(result.ok, String(result.error));
    assert.match(execFileSync('dpkg-deb', ['-f', result.runtimePackage!.path, 'Depends'], { encoding: 'utf8' }).trim(), /^libc6 \(>= 2\.28\), libstdc\+\+6 \(>= [0-9.]+\)$/);
    // The app package: its runtime, then exactly the floor its health check stated for the addon (the first such line of the log; the runtime package's comes later).
    const stated = readFileSync(result.log!, 'utf8').split('\n').map((line) => /health check: the package depends on (.*)$/.exec(line)?.[1]).find(Boolean);
    assert.ok(stated, 'the health check states what the package depends on');
    const floor = stated.startsWith('nothing of glibc') ? '' : `, ${stated}`;
    assert.equal(execFileSync('dpkg-deb', ['-f', result.artifact!, 'Depends'], { encoding: 'utf8' }).trim(), `ndist-node-22.23.3 (= 22.23.3-1)${floor}`);
    lines.length = 0;
    await assert.rejects(verify({ target: outDir, projectDir: ROOT, lint: false, log }), VerifyFailedError);
    const output = lines.join('\n');
    assert.match(output, /^addon deb \| step "libraries" failed: libsqlite3\.so\.0 not found on the host/m);
    assert.match(output, /\/opt\/native-link\/app\/build\/Release\/sqlite_version\.node needs libsqlite3\.so\.0, which no package installed here provides: add 'libsqlite3-0' to runtimeDeps/);
    assert.deepEqual(await verifyContainers(), []);
  });
});
