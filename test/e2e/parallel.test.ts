/**
 * End to end, with the quick tiny-app fixture (no native addon, payload not compressed): several
 * builds in one run, each with its own log; a failing build among others; an interrupt sent to a
 * real `ndist build` process in the middle of a build.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleGit } from 'simple-git';
import { Builder, directory } from '../../src/index.ts';
import { ndistContainers, TEST_SESSION } from '../helpers/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'tiny-app');
const NODE = '22.23.3';

/** A copy of the fixture whose package.json gets `scripts` (npm ci runs the app's postinstall). */
async function fixtureCopy(dir: string, scripts?: Record<string, string>): Promise<string> {
  await cp(FIXTURE, dir, { recursive: true });
  if (scripts) {
    const file = path.join(dir, 'package.json');
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), scripts }, null, 2));
  }
  return dir;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

function startCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; done: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'ndist.js'), ...args], {
    cwd,
    env: { ...process.env, NDIST_SESSION: TEST_SESSION, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk;
    process.stderr.write(chunk);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, output: () => output, done };
}

/** A package.ts in `dir` using the built library (lib/, as the CLI does). */
async function writePackageFile(dir: string, body: string): Promise<string> {
  await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  const file = path.join(dir, 'package.ts');
  await writeFile(file, `import { Builder, directory, gitDirectory } from ${JSON.stringify(path.join(ROOT, 'lib', 'index.js'))};\n${body}\n`);
  return file;
}

describe('parallel builds, logs, report, failures and interrupts', { timeout: 20 * 60_000 }, () => {
  let work: string;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-parallel-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('four builds (two machines × two versions) in one run: artifacts, separate logs, report with real sha256', async () => {
    // A second machine, defined by this project: the same Dockerfile and script as debian-bookworm
    // (so the same image), another id and another default compression.
    const project = path.join(work, 'project');
    await mkdir(path.join(project, 'templates'), { recursive: true });
    await cp(path.join(ROOT, 'builders', 'debian'), path.join(project, 'builders', 'bookworm-copy'), { recursive: true });
    await cp(path.join(ROOT, 'templates', 'debian.sh.hbs'), path.join(project, 'templates', 'debian.sh.hbs'));
    await writeFile(
      path.join(project, 'templates', 'build_machines.json'),
      JSON.stringify({
        'debian-bookworm-plain': { image: 'ndist/debian-bookworm', dockerfile: 'bookworm-copy', baseImage: 'debian:bookworm', script: 'debian.sh.hbs', format: 'deb', arch: ['amd64'], compression: 'none' },
      }),
    );
    const outDir = path.join(work, 'four');
    const lines: string[] = [];
    const builder = new Builder({ outDir, machinesDir: project, concurrency: 2, log: (build, line) => lines.push(`${build} | ${line}`) });
    const machines = [
      ['debian-bookworm', '1deb12'],
      ['debian-bookworm-plain', '1plain'],
    ] as const;
    for (const [machine, iteration] of machines) {
      for (const version of ['1.0.0', '1.1.0']) {
        builder.addBuild({ name: `tiny ${version} :: ${machine}`, app: 'tiny-app', version, iteration, source: directory({ path: FIXTURE }), buildMachine: machine, node: NODE, compression: 'none' });
      }
    }
    const results = await builder.build();
    assert.equal(results.length, 4);
    assert.ok(results.every((result) => result.status === 'succeeded'));

    const files = (await readdir(outDir)).sort();
    assert.deepEqual(files, ['SHA256SUMS', 'logs', 'ndist-report.json', 'tiny-app_1.0.0-1deb12_amd64.deb', 'tiny-app_1.0.0-1deb12_amd64.deb.cdx.json', 'tiny-app_1.0.0-1plain_amd64.deb', 'tiny-app_1.0.0-1plain_amd64.deb.cdx.json', 'tiny-app_1.1.0-1deb12_amd64.deb', 'tiny-app_1.1.0-1deb12_amd64.deb.cdx.json', 'tiny-app_1.1.0-1plain_amd64.deb', 'tiny-app_1.1.0-1plain_amd64.deb.cdx.json']);

    // Each log holds its own build's lines only.
    const logs = (await readdir(path.join(outDir, 'logs'))).sort();
    assert.deepEqual(logs, ['tiny-1.0.0-debian-bookworm-plain.log', 'tiny-1.0.0-debian-bookworm.log', 'tiny-1.1.0-debian-bookworm-plain.log', 'tiny-1.1.0-debian-bookworm.log']);
    for (const result of results) {
      const log = await readFile(result.log!, 'utf8');
      const own = path.basename(result.artifact!);
      assert.match(log, new RegExp(`package: ${own.replaceAll('.', '\\.')}`));
      for (const other of results.filter((r) => r !== result)) assert.ok(!log.includes(`package: ${path.basename(other.artifact!)}`), `${result.log} holds only its build's lines`);
      for (const stage of ['source', 'runtime', 'image', 'dependencies', 'script', 'package', 'artifact']) assert.match(log, new RegExp(`>> stage ${stage}\\n`));
    }

    const report = JSON.parse(await readFile(path.join(outDir, 'ndist-report.json'), 'utf8'));
    assert.equal(report.ok, true);
    assert.equal(report.builds.length, 4);
    for (const entry of report.builds) {
      const file = path.join(outDir, entry.artifact.file);
      assert.equal(entry.artifact.sha256, await sha256(file), `${entry.name}: sha256 in the report`);
      assert.equal(entry.artifact.size, (await readFile(file)).length);
      assert.equal(entry.runtime.version, NODE);
      assert.match(entry.runtime.checksum, /^(sha512-|sha256:)/);
      assert.match(entry.machine.imageId, /^sha256:[0-9a-f]{64}$/);
      assert.equal(entry.status, 'succeeded');
      assert.deepEqual(Object.keys(entry.stages), ['source', 'runtime', 'image', 'dependencies', 'script', 'package', 'artifact']);
    }
    assert.deepEqual(new Set(report.builds.map((entry: { machine: { id: string } }) => entry.machine.id)), new Set(['debian-bookworm', 'debian-bookworm-plain']));
    assert.deepEqual(await ndistContainers(), []);
  });

  it('one failing build among three, CI mode: the others succeed, exit code 1, its log tail shown', async () => {
    const dir = path.join(work, 'mixed');
    await mkdir(dir);
    await fixtureCopy(path.join(dir, 'ok'));
    await fixtureCopy(path.join(dir, 'broken'), { postinstall: 'echo "error: TINY_APP_CONFIG is not set" >&2; exit 3' });
    const file = await writePackageFile(
      dir,
      `const builder = new Builder({ outDir: 'dist' });
for (const [name, app, version] of [['tiny :: 1.0.0', 'ok', '1.0.0'], ['tiny :: 1.1.0', 'ok', '1.1.0'], ['broken :: 1.0.0', 'broken', '1.0.0']]) {
  builder.addBuild({ name, app: 'tiny-' + app, version, source: directory({ path: app }), buildMachine: 'debian-bookworm', node: '${NODE}', compression: 'none' });
}
await builder.build();`,
    );

    const listed = startCli(['list', file, '--only', 'tiny*'], dir);
    assert.equal((await listed.done).code, 0);
    assert.equal(listed.output(), 'tiny :: 1.0.0\ntiny :: 1.1.0\n');

    const run = startCli(['build', file], dir, { CI: 'true' });
    const { code } = await run.done;
    const output = run.output();
    assert.equal(code, 1, output);
    // Plain lines: no escape sequence or other control character.
    assert.doesNotMatch(output, /[\u0000-\u0008\u000b-\u001f\u007f]/);
    assert.match(output, /^broken :: 1\.0\.0 \| error: TINY_APP_CONFIG is not set$/m, 'container output is prefixed with the build name');
    assert.match(output, /^tiny :: 1\.0\.0 {3}\| >> stage dependencies$/m, 'stages are announced');
    assert.match(output, /^broken :: 1\.0\.0 failed in stage dependencies: the build script failed with exit code 3$/m);
    assert.match(output, /full log: .*dist\/logs\/broken-1\.0\.0\.log/);
    assert.match(output, /^ {2}\| error: TINY_APP_CONFIG is not set$/m, 'the failure tail holds the error');
    assert.match(output, /^tiny :: 1\.1\.0 +succeeded +tiny-ok_1\.1\.0-1_amd64\.deb/m, 'summary table');
    assert.deepEqual((await readdir(path.join(dir, 'dist'))).sort(), ['SHA256SUMS', 'logs', 'ndist-report.json', 'tiny-ok_1.0.0-1_amd64.deb', 'tiny-ok_1.0.0-1_amd64.deb.cdx.json', 'tiny-ok_1.1.0-1_amd64.deb', 'tiny-ok_1.1.0-1_amd64.deb.cdx.json']);
    const report = JSON.parse(await readFile(path.join(dir, 'dist', 'ndist-report.json'), 'utf8'));
    assert.equal(report.ok, false);
    const failed = report.builds.find((entry: { name: string }) => entry.name === 'broken :: 1.0.0');
    assert.deepEqual(failed.error, { message: 'the build script failed with exit code 3', stage: 'dependencies' });
    assert.deepEqual(await ndistContainers(), []);

    // --only runs just the selected builds.
    const shard = startCli(['build', file, '--only', 'broken*'], dir, { CI: 'true' });
    assert.equal((await shard.done).code, 1);
    assert.doesNotMatch(shard.output(), /^tiny :: /m);
  });

  it('--fail-fast: a failure stops the running build and starts no more; nothing is packaged or left', async () => {
    const dir = path.join(work, 'fail-fast');
    await mkdir(dir);
    await fixtureCopy(path.join(dir, 'broken'), { postinstall: 'sleep 2; echo "error: broken on purpose" >&2; exit 3' });
    await fixtureCopy(path.join(dir, 'slow'), { postinstall: 'echo "slow: waiting"; sleep 300' });
    const file = await writePackageFile(
      dir,
      `const builder = new Builder({ outDir: 'dist' });
for (const [name, app] of [['broken', 'broken'], ['slow', 'slow'], ['later', 'slow']]) {
  builder.addBuild({ name, app: 'tiny-' + app, source: directory({ path: app }), buildMachine: 'debian-bookworm', node: '${NODE}', compression: 'none' });
}
await builder.build();`,
    );
    const started = Date.now();
    const run = startCli(['build', file, '--fail-fast', '--concurrency', '2'], dir, { CI: 'true' });
    const { code } = await run.done;
    assert.equal(code, 1, run.output());
    assert.ok(Date.now() - started < 240_000, 'the slow build was stopped, not waited for');
    const report = JSON.parse(await readFile(path.join(dir, 'dist', 'ndist-report.json'), 'utf8'));
    const status = Object.fromEntries(report.builds.map((entry: { name: string; status: string }) => [entry.name, entry.status]));
    assert.deepEqual(status, { broken: 'failed', slow: 'cancelled', later: 'cancelled' });
    assert.match(run.output(), /^slow +\| slow: waiting$/m, 'the slow build had started');
    assert.deepEqual((await readdir(path.join(dir, 'dist'))).filter((name) => name.endsWith('.deb') || name.includes('partial')), []);
    assert.deepEqual(await ndistContainers(), []);
  });

  it('SIGINT in the middle of a build: exit 130, no container, no temp dir, no artifact, no partial file', async () => {
    const dir = path.join(work, 'interrupt');
    await mkdir(dir);
    // A git source, so the build has a temporary checkout to remove; npm ci then hangs in postinstall.
    const app = await fixtureCopy(path.join(dir, 'slow'), { postinstall: 'echo slow postinstall started; sleep 300' });
    const git = simpleGit(app);
    await git.init();
    await git.add('.');
    await git.raw(['-c', 'user.name=ndist tests', '-c', 'user.email=tests@ndist.invalid', 'commit', '-q', '-m', 'fixture']);
    const file = await writePackageFile(
      dir,
      `const builder = new Builder({ outDir: 'dist' });
builder.addBuild({ name: 'slow', app: 'tiny-slow', source: gitDirectory({ path: 'slow' }), buildMachine: 'debian-bookworm', node: '${NODE}', compression: 'none' });
builder.addBuild({ name: 'slow too', app: 'tiny-slow-too', source: gitDirectory({ path: 'slow' }), buildMachine: 'debian-bookworm', node: '${NODE}', compression: 'none' });
await builder.build();`,
    );
    const tempDirs = async () => (await readdir(os.tmpdir())).filter((name) => name.startsWith(`ndist-source-${TEST_SESSION}-`));
    assert.deepEqual(await tempDirs(), []);

    const run = startCli(['build', file, '--concurrency', '2'], dir, { CI: 'true' });
    // The build script is running in its container: the postinstall has started.
    const deadline = Date.now() + 10 * 60_000;
    while (!/tiny-slow@1\.0\.0 postinstall|slow postinstall started/.test(run.output())) {
      assert.ok(Date.now() < deadline, `the build never reached its script:\n${run.output()}`);
      assert.equal(run.child.exitCode, null, `ndist exited early:\n${run.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok((await ndistContainers()).length > 0, 'a build container is running');
    assert.ok((await tempDirs()).length > 0, 'a temporary checkout exists');
    run.child.kill('SIGINT');
    const { code } = await run.done;
    assert.equal(code, 130, run.output());
    assert.deepEqual(await ndistContainers(), [], 'no container of this run remains');
    assert.deepEqual(await tempDirs(), [], 'no temporary directory of this run remains');
    const left = await readdir(path.join(dir, 'dist')).catch(() => []);
    assert.deepEqual(left.filter((name) => name !== 'logs'), [], 'no artifact, partial file or report');
  });
});
