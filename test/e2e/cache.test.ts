/**
 * End to end, with the quick fixture (tiny-app, no compression): a second build with nothing
 * changed reuses the artifact and starts no container; a changed source file rebuilds it, with
 * npm ci skipped thanks to the dependency cache; `ndist cache ls` shows the caches and pruning
 * removes a dependency entry; `force` rebuilds an up-to-date build.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { dependencyEntries, pruneDependencies } from '../../src/cache/inventory.ts';
import { cacheVolumes } from '../../src/cache/dependency-cache.ts';
import { machineImageTag } from '../../src/machine/docker/image.ts';
import { Builder, directory } from '../../src/index.ts';
import { loadMachines } from '../../src/machine/catalogue.ts';
import { defaultCacheDir } from '../../src/build/runtime.ts';
import { recordFile } from '../../src/cache/up-to-date.ts';
import type { BuildResult } from '../../src/options/types.ts';
import { TEST_SESSION, docker, ndistContainers } from '../helpers/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'tiny-app');

/**
 * Containers this test run's build "tiny" created since `since` (seconds), from the engine's events.
 * By build name: `ndist cache ls` starts a container of its own, maybe within the same second.
 */
async function containersCreatedSince(since: number): Promise<number> {
  const stream = await docker.getEvents({
    since,
    until: Math.ceil(Date.now() / 1000) + 1,
    filters: { type: ['container'], event: ['create'], label: [`io.ndist.session=${TEST_SESSION}`, 'io.ndist.build=tiny'] },
  });
  const text = await new Promise<string>((resolve, reject) => {
    let data = '';
    stream.on('data', (chunk: Buffer) => (data += chunk));
    stream.on('end', () => resolve(data));
    stream.on('error', reject);
  });
  return text.split('\n').filter((line) => line.trim()).length;
}

describe('caches: no-op builds and the dependency cache', { timeout: 10 * 60_000 }, () => {
  let work: string;
  let source: string;
  let outDir: string;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-cache-e2e-'));
    source = path.join(work, 'tiny-app');
    outDir = path.join(work, 'dist');
    await cp(FIXTURE, source, { recursive: true });
  });
  after(async () => {
    // The records of its builds, in the default cache directory.
    if (first?.artifact) await rm(recordFile(defaultCacheDir(), first.artifact), { force: true });
    await rm(work, { recursive: true, force: true });
  });

  async function build(force = false): Promise<{ result: BuildResult; lines: string[]; created: number }> {
    const lines: string[] = [];
    const since = Math.floor(Date.now() / 1000);
    const builder = new Builder({ outDir, force, log: (_build, line) => lines.push(line) });
    builder.addBuild({ name: 'tiny', app: 'tiny-app', source: directory({ path: source }), buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'none' });
    const [result] = await builder.build();
    assert.deepEqual(await ndistContainers(), []);
    return { result: result!, lines, created: await containersCreatedSince(since) };
  }

  let first: BuildResult;

  it('a first build fills the dependency cache', async () => {
    const { result, lines, created } = await build();
    first = result;
    assert.equal(result.reused, undefined);
    // The first build on this engine also populates the runtime and npm volumes, each in a short-lived container.
    assert.equal(lines.filter((line) => line.startsWith('runtime volume: populating ')).length, 2, lines.join('\n'));
    assert.equal(created, 3, 'one build container and two that populate the runtime volumes');
    assert.ok(lines.some((line) => /^dependency cache: saved [0-9a-f]{64}$/.test(line)), lines.join('\n'));
  });

  it('a second build with nothing changed reuses the artifact and starts no container', async () => {
    const { result, lines, created } = await build();
    assert.equal(result.reused, true);
    assert.equal(result.sha256, first.sha256);
    assert.equal(created, 0, 'no container was created');
    assert.ok(lines.some((line) => line.startsWith(`up to date: reusing ${first.artifact}`)), lines.join('\n'));
    const report = JSON.parse(await readFile(path.join(outDir, 'ndist-report.json'), 'utf8')) as { builds: { reused?: boolean }[] };
    assert.equal(report.builds[0]?.reused, true);
    assert.match(await readFile(path.join(outDir, 'SHA256SUMS'), 'utf8'), new RegExp(`^${first.sha256}  ${path.basename(first.artifact!)}$`, 'm'));
  });

  it('a changed source file rebuilds, restoring node_modules from the dependency cache', async () => {
    const entry = path.join(source, 'bin', 'tiny.js');
    await writeFile(entry, `${await readFile(entry, 'utf8')}// changed\n`);
    const { result, lines, created } = await build();
    assert.equal(result.reused, undefined);
    assert.equal(created, 1);
    assert.notEqual(result.sha256, first.sha256);
    assert.ok(lines.some((line) => line.startsWith('up to date: no, its inputs changed')), lines.join('\n'));
    assert.ok(lines.some((line) => /^dependency cache: hit [0-9a-f]{64}, npm ci skipped$/.test(line)), lines.join('\n'));
  });

  it('`ndist cache ls` lists the volumes, the dependency entry and the record; pruning removes the entry', async () => {
    const output = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'ndist.js'), 'cache', 'ls'], { encoding: 'utf8' });
    const volumes = cacheVolumes();
    assert.match(output, new RegExp(`^npm cache +${volumes.npm} `, 'm'));
    assert.match(output, new RegExp(`^dependency cache +${volumes.deps} `, 'm'));
    const key = /^dependencies +([0-9a-f]{64}) /m.exec(output)?.[1];
    assert.ok(key, output);
    assert.match(output, new RegExp(`^build record +${path.basename(recordFile(defaultCacheDir(), first.artifact!))} `, 'm'));

    const image = await machineImageTag(loadMachines().get('debian-bookworm')!, 'amd64');
    const later = { olderThanDays: 0, now: new Date(Date.now() + 60_000) };
    // The licences and SBOM of the same tree, kept beside it, are an entry of their own.
    const licences = /^licences and SBOM +(licences-[0-9a-f]{64}) /m.exec(output)?.[1];
    assert.ok(licences, output);
    assert.match(output, /^runtime volume +\S+-runtime-[0-9a-f]{32} /m);
    const removed = await pruneDependencies(docker, image, volumes, later);
    assert.deepEqual(removed.map((entry) => entry.key).sort(), [key, licences].sort());
    assert.deepEqual(await dependencyEntries(docker, image, volumes), []);
    assert.deepEqual(await ndistContainers(), []);
  });

  it('force rebuilds a build that is up to date', async () => {
    const { result, lines, created } = await build(true);
    assert.equal(result.reused, undefined);
    assert.equal(created, 1);
    assert.ok(lines.includes('up to date: not checked, --force rebuilds'), lines.join('\n'));
  });
});
