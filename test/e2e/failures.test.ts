/**
 * Builds that cannot succeed fail with a message that names the problem, and leave nothing in
 * outDir or in Docker.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, BuildsFailedError, ConfigError, directory, git } from '../../src/index.ts';
import { ndistContainers } from '../helpers/docker.ts';

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'hello-app');

describe('failing builds', { timeout: 10 * 60_000 }, () => {
  let outDir: string;
  const logs: string[] = [];

  before(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'ndist-fail-'));
  });
  after(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  async function assertNothingLeft(): Promise<void> {
    // The logs and the report of a failed run stay; no package and no partial file.
    const left = (await readdir(outDir).catch(() => [])).filter((name) => name !== 'logs' && name !== 'ndist-report.json');
    assert.deepEqual(left, [], 'outDir holds no artifact and no partial file');
    assert.deepEqual(await ndistContainers(), [], 'no ndist container is left');
  }

  it('an unknown machine id is refused before anything runs, listing the known ones', async () => {
    const builder = new Builder({ outDir, log: (_build, line) => logs.push(line) });
    builder.addBuild({ name: 'typo', app: 'hello-app', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookwrom', node: '22.23.3' });
    await assert.rejects(builder.build(), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /buildMachine: unknown build machine "debian-bookwrom"; known machines: .*debian-bookworm/);
      return true;
    });
    await assertNothingLeft();
    assert.deepEqual(await readdir(outDir), [], 'a configuration error writes nothing at all');
  });

  it('a source that cannot be cloned fails the build with git\'s reason', async () => {
    const missing = path.join(outDir, 'no-such-repo');
    const builder = new Builder({ outDir, log: (_build, line) => logs.push(line) });
    builder.addBuild({ name: 'unclonable', app: 'hello-app', source: git({ uri: `file://${missing}`, branch: 'main' }), buildMachine: 'debian-bookworm', node: '22.23.3' });
    await assert.rejects(builder.build(), (error: unknown) => {
      assert.ok(error instanceof BuildsFailedError);
      const [result] = error.results;
      assert.equal(result?.ok, false);
      assert.match(String(result?.error?.message), /cannot get the source \(git file:\/\/.*no-such-repo main\): .*(does not exist|not a git repository|Could not read)/s);
      return true;
    });
    await assertNothingLeft();
  });

  it('two builds that would write the same file: the second fails before its container starts', async () => {
    const builder = new Builder({ outDir, log: (_build, line) => logs.push(line), concurrency: 1 });
    const tiny = path.resolve(import.meta.dirname, '..', 'fixtures', 'tiny-app');
    for (const name of ['first', 'second']) {
      builder.addBuild({ name, app: 'tiny-app', source: directory({ path: tiny }), buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'none' });
    }
    await assert.rejects(builder.build(), (error: unknown) => {
      assert.ok(error instanceof BuildsFailedError);
      assert.deepEqual(error.results.map((result) => result.status), ['succeeded', 'failed']);
      assert.equal(
        error.results[1]?.error?.message,
        'build "second": would write tiny-app_1.0.0-1_amd64.deb, as build "first" does: give them different versions, iterations (e.g. \'1deb12\') or outDirs',
      );
      assert.equal(error.results[1]?.stage, 'source', 'stopped before any container');
      return true;
    });
    assert.deepEqual(await ndistContainers(), []);
  });
});
