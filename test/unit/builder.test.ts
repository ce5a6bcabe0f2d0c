/**
 * The Builder's orchestration on an in-memory engine (test/helpers/fake-engine.ts): concurrency,
 * fail-fast, failures, file clashes, the report and SHA256SUMS, container removal. No Docker, no
 * network: the source is a fixture directory and the Node runtime and npm CLI are small archives
 * placed in the cache, with their checksums, as a fetch would have left them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { afterEach, beforeEach, describe, test } from 'node:test';
import tar from 'tar-stream';
import { Builder } from '../../src/build/builder.ts';
import { BuildsFailedError, ConfigError } from '../../src/errors.ts';
import { directory } from '../../src/build/source.ts';
import { defaultConnection } from '../../src/machine/docker/connection.ts';
import { setRunSettings } from '../../src/options/run-settings.ts';
import type { BuildOptions, BuilderOptions, BuildResult } from '../../src/options/types.ts';
import { FakeEngine, packageBytes, succeeds, type FakeScript } from '../helpers/fake-engine.ts';

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'tiny-app');
const NODE = '22.23.3';
const NPM = '10.9.9';

let work: string;
let outDir: string;
let cacheDir: string;
const stepSummary = process.env.GITHUB_STEP_SUMMARY;

/** A tar.gz holding one file under `root`/. */
async function smallArchive(root: string): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: `${root}/README` }, 'a stand-in for the real archive\n');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack.pipe(createGzip())) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A runtime cache entry as src/build/runtime.ts leaves it after a verified fetch. */
async function cacheEntry(entry: string, meta: { source: 'official' | 'npm'; root: string; file: string }, algorithm: 'sha256' | 'sha512'): Promise<void> {
  const dir = path.join(cacheDir, 'runtimes', entry);
  await mkdir(dir, { recursive: true });
  const archive = await smallArchive(meta.root);
  await writeFile(path.join(dir, meta.file), archive);
  const digest = createHash(algorithm).update(archive);
  const checksum = algorithm === 'sha256' ? `sha256:${digest.digest('hex')}` : `sha512-${digest.digest('base64')}`;
  await writeFile(path.join(dir, 'meta.json'), JSON.stringify({ ...meta, checksum }));
}

beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'ndist-builder-test-'));
  outDir = path.join(work, 'dist');
  cacheDir = path.join(work, 'cache');
  await cacheEntry(`node-${NODE}-x64`, { source: 'official', root: `node-v${NODE}-linux-x64`, file: `node-v${NODE}-linux-x64.tar.gz` }, 'sha256');
  await cacheEntry(`npm-${NPM}-any`, { source: 'npm', root: 'package', file: `npm-${NPM}.tgz` }, 'sha512');
  delete process.env.GITHUB_STEP_SUMMARY;
});

afterEach(async () => {
  setRunSettings(undefined);
  if (stepSummary !== undefined) process.env.GITHUB_STEP_SUMMARY = stepSummary;
  await rm(work, { recursive: true, force: true });
});

function builder(engine: FakeEngine, options: BuilderOptions = {}): Builder {
  return new Builder({ outDir, cacheDir, machinesDir: work, progress: 'silent', ...options }, async () => engine);
}

/** A build of the tiny-app fixture; its version makes its file name. */
function tinyApp(name: string, version: string): BuildOptions {
  return { name, app: 'tiny-app', version, source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', arch: 'amd64', node: NODE };
}

/** Runs `script` for the named builds, the default script for the others. */
function scripts(byBuild: Record<string, FakeScript>): FakeScript {
  return (container, options) => (byBuild[container.build] ?? succeeds)(container, options);
}

/** build() rejects with BuildsFailedError: its results. */
async function failedResults(run: Promise<BuildResult[]>): Promise<Map<string, BuildResult>> {
  const error = await run.then(
    () => assert.fail('build() resolved'),
    (error: unknown) => error,
  );
  assert.ok(error instanceof BuildsFailedError, String(error));
  return new Map(error.results.map((result) => [result.name, result]));
}

function assertAllRemoved(engine: FakeEngine): void {
  assert.deepEqual(
    engine.containers.filter((container) => !container.removed).map((container) => container.build),
    [],
    'containers left behind',
  );
  assert.equal(engine.live, 0);
}

describe('Builder on an in-memory engine', () => {
  test('runs at most `concurrency` builds in containers at once; each builds its package, and its container goes', async () => {
    const engine: FakeEngine = new FakeEngine(async (container, options) => {
      // Holds each build until a second container is up (or every one has started): shows two run together.
      await engine.until(() => engine.live >= 2 || engine.containers.length === 4);
      return succeeds(container, options);
    });
    const run = builder(engine, { concurrency: 2 });
    for (const version of ['1.0.1', '1.0.2', '1.0.3', '1.0.4']) run.addBuild(tinyApp(`tiny ${version}`, version));

    const results = await run.build();

    assert.equal(engine.maxLive, 2);
    assert.deepEqual(results.map((result) => result.status), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    for (const result of results) {
      const fileName = path.basename(result.artifact!);
      assert.deepEqual(await readFile(result.artifact!), packageBytes(result.name, fileName));
      assert.equal(result.sha256, createHash('sha256').update(packageBytes(result.name, fileName)).digest('hex'));
    }
    assert.equal(engine.containers.length, 4);
    for (const container of engine.containers) {
      assert.equal(container.spec.labels['io.ndist.build'], container.build);
      assert.deepEqual(container.puts, ['/'], 'the inputs are streamed in; the runtime and npm are not');
      assert.deepEqual(
        (container.spec.mounts ?? []).filter((mount) => mount.readOnly).map((mount) => mount.target),
        ['/ndist/runtime', '/ndist/npm'],
        'the runtime and npm volumes are mounted read-only',
      );
    }
    assertAllRemoved(engine);
  });

  test('a failing build does not stop the others; the report, SHA256SUMS and logs say what happened', async () => {
    const engine = new FakeEngine(
      scripts({
        broken: async (_container, { onLine }) => {
          onLine?.('==> package');
          onLine?.('dpkg-deb: error: something is wrong');
          return 2;
        },
      }),
    );
    const run = builder(engine, { concurrency: 2 });
    run.addBuild(tinyApp('first', '1.0.1')).addBuild(tinyApp('broken', '1.0.2')).addBuild(tinyApp('last', '1.0.3'));

    const results = await failedResults(run.build());

    assert.equal(results.get('first')?.status, 'succeeded');
    assert.equal(results.get('last')?.status, 'succeeded');
    const broken = results.get('broken')!;
    assert.equal(broken.status, 'failed');
    assert.equal(broken.stage, 'package');
    assert.match(broken.error!.message, /the build script failed with exit code 2/);

    const report = JSON.parse(await readFile(path.join(outDir, 'ndist-report.json'), 'utf8')) as {
      ok: boolean;
      settings: { concurrency: number; failFast: boolean };
      builds: { name: string; status: string; artifact?: { file: string; sha256: string }; error?: { message: string; stage?: string } }[];
    };
    assert.equal(report.ok, false);
    assert.deepEqual(report.settings, { concurrency: 2, failFast: false });
    assert.deepEqual(report.builds.map((build) => [build.name, build.status]), [['first', 'succeeded'], ['broken', 'failed'], ['last', 'succeeded']]);
    assert.deepEqual(report.builds[1]!.error, { message: broken.error!.message, stage: 'package' });

    const sums = await readFile(path.join(outDir, 'SHA256SUMS'), 'utf8');
    const expected = ['first', 'last'].map((name) => {
      const result = results.get(name)!;
      assert.equal(report.builds.find((build) => build.name === name)!.artifact!.sha256, result.sha256);
      return `${result.sha256}  ${path.basename(result.artifact!)}\n`;
    });
    assert.equal(sums, expected.join(''), 'one line per package, by file name');

    const log = await readFile(broken.log!, 'utf8');
    assert.match(log, /dpkg-deb: error: something is wrong/);
    assert.match(log, />> FAILED in stage package: the build script failed with exit code 2/);
    assertAllRemoved(engine);
  });

  test('changes: a .changes beside each .deb that asks for one, listing its bytes, in SHA256SUMS and the result', async () => {
    const run = builder(new FakeEngine(succeeds));
    run.addBuild({ ...tinyApp('with', '1.0.1'), changes: { distribution: 'bookworm' } }).addBuild(tinyApp('without', '1.0.2'));
    const results = new Map((await run.build()).map((result) => [result.name, result]));
    const withChanges = results.get('with')!;
    assert.equal(withChanges.changes!.path, path.join(outDir, 'tiny-app_1.0.1-1_amd64.changes'));
    const text = await readFile(withChanges.changes!.path, 'utf8');
    assert.match(text, /^Distribution: bookworm$/m);
    assert.match(text, new RegExp(`^Checksums-Sha256:\\n ${withChanges.sha256} ${withChanges.size} tiny-app_1\\.0\\.1-1_amd64\\.deb$`, 'm'));
    assert.equal(results.get('without')!.changes, undefined);
    const sums = await readFile(path.join(outDir, 'SHA256SUMS'), 'utf8');
    assert.match(sums, new RegExp(`^${withChanges.changes!.sha256}  tiny-app_1\\.0\\.1-1_amd64\\.changes$`, 'm'));
  });

  test('--fail-fast: a failure stops the running builds (their containers removed) and starts no more', async () => {
    const engine: FakeEngine = new FakeEngine(
      scripts({
        // Fails once the other build is in its container.
        fails: async () => {
          await engine.until(() => engine.live >= 2);
          return 1;
        },
        // Would run until its container is removed.
        slow: async (container) => {
          await container.gone;
          return 0;
        },
      }),
    );
    const run = builder(engine, { concurrency: 2, failFast: true });
    run.addBuild(tinyApp('fails', '1.0.1')).addBuild(tinyApp('slow', '1.0.2')).addBuild(tinyApp('queued', '1.0.3'));

    const results = await failedResults(run.build());

    assert.deepEqual([...results.values()].map((result) => [result.name, result.status]), [['fails', 'failed'], ['slow', 'cancelled'], ['queued', 'cancelled']]);
    for (const name of ['slow', 'queued']) assert.equal(results.get(name)!.error!.message, 'stopped by --fail-fast: build "fails" failed');
    assert.equal(results.get('slow')!.stage, 'dependencies', 'stopped in its container');
    assert.match(await readFile(results.get('queued')!.log!, 'utf8'), />> not started: stopped by --fail-fast/);
    assert.deepEqual(engine.containers.map((container) => container.build).sort(), ['fails', 'slow'], 'the queued build started no container');
    assertAllRemoved(engine);
    assert.equal(await readFile(path.join(outDir, 'SHA256SUMS'), 'utf8').catch(() => 'none'), 'none', 'nothing was built');
  });

  test('two builds that would write one file: the second is refused, naming both', async () => {
    const engine = new FakeEngine();
    const run = builder(engine, { concurrency: 1 });
    run.addBuild(tinyApp('one', '1.0.0')).addBuild(tinyApp('other', '1.0.0'));

    const results = await failedResults(run.build());

    const one = results.get('one')!;
    const other = results.get('other')!;
    assert.equal(one.status, 'succeeded');
    assert.equal(other.status, 'failed');
    const fileName = path.basename(one.artifact!);
    assert.equal(other.error!.message, `build "other": would write ${fileName}, as build "one" does: give them different versions, iterations (e.g. '1deb12') or outDirs`);
    assert.deepEqual(await readFile(one.artifact!), packageBytes('one', fileName), 'the first build\'s package is left as it was');
    assert.deepEqual(engine.containers.map((container) => container.build), ['one']);
    assertAllRemoved(engine);
  });

  test('a source without a lockfile, or with one out of sync, fails as a ConfigError before any container starts', async () => {
    const source = async (name: string, change: (dir: string) => Promise<void>) => {
      const dir = path.join(work, name);
      await cp(FIXTURE, dir, { recursive: true });
      await change(dir);
      return { ...tinyApp(name, '1.0.0'), source: directory({ path: dir }) };
    };
    const engine = new FakeEngine();
    const run = builder(engine);
    run.addBuild(await source('no-lock', (dir) => rm(path.join(dir, 'package-lock.json'))));
    run.addBuild(await source('stale-lock', async (dir) => {
      const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      await writeFile(path.join(dir, 'package.json'), JSON.stringify({ ...pkg, dependencies: { ...(pkg.dependencies as object), added: '^1.0.0' } }));
    }));

    const results = await failedResults(run.build());

    const noLock = results.get('no-lock')!.error!;
    assert.ok(noLock instanceof ConfigError, String(noLock));
    assert.match(noLock.message, /package-lock\.json: is missing from the source: run `npm install` to create package-lock\.json, then commit it/);
    assert.match(results.get('stale-lock')!.error!.message, /package-lock\.json: is out of sync with package\.json: dependencies "added" \(\^1\.0\.0\) of package\.json is not in it; run `npm install` and commit package-lock\.json/);
    assert.deepEqual(engine.containers, [], 'no container started');
  });
});

describe('Builder on several in-memory engines', () => {
  /** A Builder whose `engines` are the fakes, by name. */
  function onEngines(engines: Record<string, FakeEngine>, options: BuilderOptions): Builder {
    return new Builder({ outDir, cacheDir, machinesDir: work, progress: 'silent', ...options }, async (connection) => {
      const engine = engines[connection.name]!;
      await engine.info();
      return engine;
    });
  }

  test('builds go to both engines; the report and each log name the engine; one not answering is named and left out', async () => {
    const hold: FakeScript = async (container, options) => {
      // Holds each build until both live engines run one: shows the run used both.
      await local.until(() => local.live + second.live >= 2 || local.containers.length + second.containers.length === 4);
      return succeeds(container, options);
    };
    const local = new FakeEngine(hold, { arch: 'amd64' });
    const second = new FakeEngine(hold, { arch: 'amd64' });
    const gone = new FakeEngine(hold, { arch: 'amd64' });
    gone.down = true;
    const notes: string[] = [];
    const run = onEngines({ local, second, gone }, {
      engines: [{ name: 'local', concurrency: 1 }, { name: 'second', host: 'unix:///run/second.sock', concurrency: 1 }, { name: 'gone', host: 'tcp://127.0.0.1:1' }],
      log: (build, line) => notes.push(`${build} | ${line}`),
    });
    for (const version of ['1.0.1', '1.0.2', '1.0.3', '1.0.4']) run.addBuild(tinyApp(`tiny ${version}`, version));

    const results = await run.build();

    assert.match(notes.join('\n'), /ndist \| WARNING: engine "gone" at tcp:\/\/127.0.0.1:1 does not answer \(.*ECONNREFUSED.*\): its builds go to the other engines/);
    assert.equal(local.containers.length + second.containers.length, 4);
    assert.ok(local.containers.length > 0 && second.containers.length > 0, 'both engines ran builds');
    assert.equal(gone.containers.length, 0);
    const report = JSON.parse(await readFile(path.join(outDir, 'ndist-report.json'), 'utf8')) as { settings: { concurrency: number }; builds: { name: string; engine: { name: string; emulated: boolean } }[] };
    assert.equal(report.settings.concurrency, 2, "the live engines' slots");
    for (const build of report.builds) {
      const engine = build.engine.name === 'local' ? local : second;
      assert.ok(engine.containers.some((container) => container.build === build.name), `${build.name} ran on ${build.engine.name}`);
      assert.equal(build.engine.emulated, false);
      assert.equal(results.find((result) => result.name === build.name)!.engine!.name, build.engine.name);
      const where = build.engine.name === 'local' ? defaultConnection().address : 'unix:///run/second.sock';
      assert.match(await readFile(path.join(outDir, 'logs', `${build.name.replace(/ /g, '-')}.log`), 'utf8'), new RegExp(`engine: ${build.engine.name} at ${where.replace(/\//g, '\\/')}, amd64 native`));
    }
    assertAllRemoved(local);
    assertAllRemoved(second);
  });

  test('an engine that stops answering mid-build fails its build naming it; the other builds finish', async () => {
    const healthy = new FakeEngine(undefined, { arch: 'amd64' });
    const dying: FakeEngine = new FakeEngine(async () => {
      dying.down = true;
      throw new Error('socket hang up');
    }, { arch: 'amd64' });
    const run = onEngines({ healthy, dying }, { engines: [{ name: 'healthy', concurrency: 1 }, { name: 'dying', host: 'unix:///run/dying.sock', concurrency: 1 }] });
    for (const version of ['1.0.1', '1.0.2', '1.0.3']) run.addBuild(tinyApp(`tiny ${version}`, version));

    const results = await failedResults(run.build());

    const failed = [...results.values()].filter((result) => result.status === 'failed');
    assert.equal(failed.length, 1);
    assert.match(failed[0]!.error!.message, /^engine "dying" at unix:\/\/\/run\/dying.sock stopped answering \(.*\): socket hang up$/);
    assert.equal(failed[0]!.engine?.name, 'dying');
    assert.deepEqual([...results.values()].filter((result) => result.ok).map((result) => result.engine?.name), ['healthy', 'healthy']);
    assertAllRemoved(healthy);
    assertAllRemoved(dying);
  });

  test('engines are checked when the Builder is made: the field and what would be right', () => {
    assert.throws(() => new Builder({ engines: [{ name: 'a' }, { name: 'a', host: 'unix:///x.sock' }] }), /engines\[1\]\.name: "a" names another engine too/);
    assert.throws(() => new Builder({ engines: [{ name: 'a', host: 'unix:///x.sock', context: 'c' }] }), /engines\[0\]: gives both host and context/);
    assert.throws(() => new Builder({ engines: [{ name: 'a', host: 'http://x:2375' }] }), /engines\[0\]\.host: "http:\/\/x:2375" is not unix:\/\/\/path\/to\/docker.sock, tcp:\/\/host:port or ssh:\/\/user@host/);
    assert.throws(() => new Builder({ engines: [{ name: 'a', host: 'unix:///x.sock', tls: { ca: '/nope.pem' } }] }), /engines\[0\]\.tls: is only for a tcp:\/\/ host/);
    assert.throws(() => new Builder({ engines: [{ name: 'a', host: 'tcp://h:2376', tls: { ca: '/nope.pem' } }] }), /engines\[0\]\.tls\.ca: "\/nope.pem" is not a file/);
    assert.throws(() => new Builder({ engines: [{ name: 'a', arch: ['s390x' as never] }] }), /engines\[0\]\.arch\[0\]/);
    assert.throws(() => new Builder({ engines: [{ name: 'a', concurrency: 0 }] }), /engines\[0\]\.concurrency/);
    assert.throws(() => new Builder({ engines: [] }), /engines: must be a list of at least one engine/);
  });
});
