/**
 * End to end on two Docker engines: the main one and a second dockerd this test starts (its own
 * data root, exec root, socket, loopback TCP port and bridge; see test/helpers/second-engine.ts)
 * and removes afterwards. Builds are spread over both and the report names the engine of each; an
 * engine that does not answer is named; the same build gives the same bytes on either engine
 * (the second reached by tcp://127.0.0.1); the second engine, reached by a docker context, stopped
 * mid-build fails its build naming it while the other build finishes; a build goes to the
 * engine declared native for its arch (no emulation fallback); a Debian base image missing on the
 * second engine (reached by tcp, so remote to ndist) is created there by debootstrap's second stage
 * in a helper container. The quick tiny-app fixture, payload not compressed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { Writable } from 'node:stream';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, BuildsFailedError, directory, type BuilderOptions, type BuildOptions, type BuildResult } from '../../src/index.ts';
import { findMachine, loadMachines } from '../../src/machine/catalogue.ts';
import { DockerEngine } from '../../src/machine/docker/engine.ts';
import { hostOptions } from '../../src/machine/docker/connection.ts';
import { machineImageTag } from '../../src/machine/docker/image.ts';
import { openShell } from '../../src/commands/shell.ts';
import { listCaches, pruneCommand } from '../../src/commands/cache.ts';
import { docker, ndistContainers, TEST_SESSION } from '../helpers/docker.ts';
import { copyImages, startSecondEngine, type SecondEngine } from '../helpers/second-engine.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'tiny-app');
const NODE = '22.23.3';

function tinyApp(version: string): BuildOptions {
  return { name: `tiny ${version}`, app: 'tiny-app', version, source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', arch: 'amd64', node: NODE, compression: 'none' };
}

interface Report {
  builds: { name: string; status: string; engine?: { name: string; emulated: boolean }; artifact?: { sha256: string } }[];
}

describe('builds on two Docker engines', { timeout: 40 * 60_000 }, () => {
  let second: SecondEngine;
  let work: string;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-engines-e2e-'));
    // The machine image, made (or found) on the main engine, then loaded into the second with its base image.
    const machine = findMachine(loadMachines(ROOT), 'debian-bookworm', 'buildMachine');
    const [image] = await Promise.all([
      new DockerEngine(docker).ensureMachineImage(machine, 'amd64', (line) => process.stderr.write(`image | ${line}\n`)),
      startSecondEngine().then((started) => (second = started)),
    ]);
    await copyImages(docker, second.docker, [image.tag, machine.baseImage!.amd64!]);
  });

  after(async () => {
    await second?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A Builder on `engines`, writing to work/<run>, its lines collected. */
  function builder(run: string, options: BuilderOptions, lines: string[]): Builder {
    return new Builder({ outDir: path.join(work, run), cacheDir: path.join(work, 'cache'), machinesDir: ROOT, force: true, log: (build, line) => lines.push(`${build} | ${line}`), ...options });
  }

  async function report(run: string): Promise<Report> {
    return JSON.parse(await readFile(path.join(work, run, 'ndist-report.json'), 'utf8')) as Report;
  }

  async function leftOnSecond(): Promise<number> {
    return (await second.docker.listContainers({ all: true, filters: { label: [`io.ndist.session=${TEST_SESSION}`] } })).length;
  }

  it('spreads builds over both engines and names each; a silent engine is named; either engine gives the same bytes (tcp)', async () => {
    const lines: string[] = [];
    const first = builder('run1', {
      engines: [{ name: 'main', concurrency: 1 }, { name: 'second', host: `unix://${second.socket}`, concurrency: 1 }, { name: 'ghost', host: `unix://${second.dir}/nowhere.sock` }],
    }, lines);
    first.addBuild(tinyApp('1.0.1')).addBuild(tinyApp('1.0.2'));
    await first.build();

    const output = lines.join('\n');
    assert.match(output, new RegExp(`ndist \\| WARNING: engine "ghost" at unix://${second.dir}/nowhere.sock does not answer \\(.*\\): its builds go to the other engines`));
    const run1 = await report('run1');
    assert.deepEqual(run1.builds.map((build) => build.engine?.name).sort(), ['main', 'second'], 'one build on each engine');
    for (const build of run1.builds) {
      assert.equal(build.engine!.emulated, false);
      const where = build.engine!.name === 'second' ? `unix://${second.socket}` : '';
      assert.match(output, new RegExp(`${build.name} \\| engine: ${build.engine!.name} at ${where}.*amd64 native`));
    }

    // The main engine's build again, on the second engine reached by tcp: the same bytes.
    const onMain = run1.builds.find((build) => build.engine!.name === 'main')!;
    const again = builder('run2', { engines: [{ name: 'by-tcp', host: `tcp://127.0.0.1:${second.tcpPort}` }] }, lines);
    again.addBuild(tinyApp(onMain.name.slice('tiny '.length)));
    await again.build();
    const [rebuilt] = (await report('run2')).builds;
    assert.equal(rebuilt!.engine!.name, 'by-tcp');
    assert.equal(rebuilt!.artifact!.sha256, onMain.artifact!.sha256, 'the same bytes on either engine');
    assert.deepEqual(await ndistContainers(), [], 'no container left on the main engine');
    assert.equal(await leftOnSecond(), 0, 'no container left on the second engine');
  });

  it('a build goes to the engine declared native for its arch, named, with no emulation fallback', async () => {
    // Both engines are this amd64 host: the main one is declared arm64-only, so only the second runs
    // amd64 natively and routing by declared arch must pick it (an arm build would cost minutes under QEMU).
    const lines: string[] = [];
    const routed = builder('run-arch', { engines: [{ name: 'main', arch: ['arm64'], concurrency: 2 }, { name: 'second', host: `unix://${second.socket}`, arch: ['amd64'], concurrency: 1 }] }, lines);
    routed.addBuild({ ...tinyApp('1.0.5'), name: 'tiny routed' });
    await routed.build();
    const [build] = (await report('run-arch')).builds;
    assert.deepEqual(build!.engine, { name: 'second', emulated: false }, 'the report names the engine, not emulated by routing');
    const output = lines.join('\n');
    assert.match(output, new RegExp(`tiny routed \\| engine: second at unix://${second.socket}, amd64 native`));
    assert.doesNotMatch(output, /no engine that answers runs amd64 natively/, 'no emulation fallback');
    assert.equal(await leftOnSecond(), 0, 'no container left on the second engine');
  });

  it('a Debian base image missing on the second engine (remote, by tcp) is created there, its second stage in a helper container', async () => {
    // A Dockerfile with nothing to install: the base image's creation is what is under test.
    const dir = path.join(work, 'bare-machine');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n');
    const machine = { ...findMachine(loadMachines(ROOT), 'debian-bullseye', 'buildMachine'), id: 'bare-bullseye', image: 'ndist-test/bare-bullseye', dockerfile: dir, buildArgs: {} };
    const base = machine.baseImage!.amd64!;
    assert.equal(await second.docker.getImage(base).inspect().then(() => true, () => false), false, `${base} is not on the second engine yet`);
    const lines: string[] = [];
    // Taken as remote, as an engine on another machine is: nothing of debootstrap's second stage runs on this host.
    const address = `tcp://127.0.0.1:${second.tcpPort}`;
    const remote = await DockerEngine.connect({ name: 'second-tcp', address, ...hostOptions(address, 'host'), local: false });
    const image = await remote.ensureMachineImage(machine, 'amd64', (line) => lines.push(line));
    const output = lines.join('\n');
    assert.match(output, /image: base image debian:bullseye is not on engine "second-tcp" and no registry gives it: creating it with debootstrap, its second stage in a helper container on the engine/);
    assert.match(output, /image: bootstrap: created debian:bullseye/);
    const created = await second.docker.getImage(base).inspect();
    assert.equal(created.Config.Labels?.['io.ndist.bootstrap'], 'bullseye');
    for (const name of [image.tag, base]) await second.docker.getImage(name).remove({ force: true });
    assert.equal(await second.docker.getImage(base).inspect().then(() => true, () => false), false, 'removed afterwards');
    assert.equal(await leftOnSecond(), 0, 'no helper container left on the second engine');
  });

  it('ndist shell opens on the engine the build routes to; ndist cache lists and prunes each engine, named', async () => {
    // main declared arm64 only: the amd64 build, and so its shell, goes to the second engine.
    const engines = [{ name: 'main', arch: ['arm64' as const] }, { name: 'second', host: `unix://${second.socket}` }];
    const lines: string[] = [];
    let stdout = '';
    const sink = new Writable({ write(chunk: Buffer, _encoding, done) { stdout += chunk.toString(); done(); } });
    const code = await openShell(tinyApp('1.0.6'), { engines, machinesDir: ROOT, cacheDir: path.join(work, 'cache') }, ['sh', '-c', 'echo "shell on $(hostname)"'], { stdout: sink, stderr: sink, tty: false, log: (line) => lines.push(line) });
    assert.equal(code, 0, `${lines.join('\n')}\n${stdout}`);
    assert.match(lines.join('\n'), new RegExp(`^engine: second at unix://${second.socket}, amd64 native$`, 'm'));
    assert.match(stdout, /^shell on [0-9a-f]{12}$/m, 'the command ran in a container');
    assert.equal(await leftOnSecond(), 0);

    // The host's cache directory is the test's own: prune must not touch the user's.
    const saved = process.env.NDIST_CACHE_DIR;
    process.env.NDIST_CACHE_DIR = path.join(work, 'cache');
    try {
      const listed = (await listCaches([{ name: 'main' }, { name: 'second', host: `unix://${second.socket}` }])).join('\n');
      const sections = listed.split(/^(?=engine )/m);
      const onSecond = sections.find((section) => section.startsWith(`engine second at unix://${second.socket}:`));
      assert.ok(sections.some((section) => /^engine main at unix:\/\/\S+:$/m.test(section)), listed);
      assert.ok(onSecond, listed);
      const current = await machineImageTag(findMachine(loadMachines(ROOT), 'debian-bookworm', 'buildMachine'), 'amd64');
      assert.match(onSecond, new RegExp(`^image +${current.replace(/[.:/]/g, '\\$&')} .* current$`, 'm'));
      // A stale tag on the second engine only: pruning there removes it, and names the engine.
      const stale = 'ndist/debian-bookworm:000000000000-amd64';
      await second.docker.getImage(current).tag({ repo: 'ndist/debian-bookworm', tag: '000000000000-amd64' });
      const pruned = (await pruneCommand({ olderThanDays: 30 }, [{ name: 'second', host: `unix://${second.socket}` }])).join('\n');
      assert.match(pruned, new RegExp(`^engine second at unix://${second.socket}:\nremoved:\n.*\n^image +${stale.replace(/[.:/]/g, '\\$&')} `, 'm'));
      assert.equal(await second.docker.getImage(stale).inspect().then(() => true, () => false), false, 'the stale tag is gone from the second engine');
      assert.ok(await second.docker.getImage(current).inspect(), 'the current image stays');
    } finally {
      if (saved === undefined) delete process.env.NDIST_CACHE_DIR;
      else process.env.NDIST_CACHE_DIR = saved;
    }
    assert.equal(await leftOnSecond(), 0);
    assert.deepEqual(await ndistContainers(), []);
  });

  it('the second engine, reached by a docker context, stopped mid-build: its build fails naming it, the other finishes', async () => {
    const lines: string[] = [];
    const config = path.join(work, 'docker-config');
    const digest = createHash('sha256').update('second-ctx').digest('hex');
    await mkdir(path.join(config, 'contexts', 'meta', digest), { recursive: true });
    await writeFile(path.join(config, 'contexts', 'meta', digest, 'meta.json'), JSON.stringify({ Name: 'second-ctx', Metadata: {}, Endpoints: { docker: { Host: `unix://${second.socket}`, SkipTLSVerify: false } } }));
    let stopped = false;
    const onSecond = new Set<string>();
    const log = (build: string, line: string) => {
      lines.push(`${build} | ${line}`);
      if (line.startsWith('engine: second ')) onSecond.add(build);
      // Stopped once its build script runs in a container there.
      if (!stopped && onSecond.has(build) && line.startsWith('script: running')) {
        stopped = true;
        second.kill();
      }
    };
    const stopping = builder('run3', { engines: [{ name: 'main', concurrency: 1 }, { name: 'second', context: 'second-ctx', concurrency: 1 }], log }, lines);
    stopping.addBuild(tinyApp('1.0.3')).addBuild(tinyApp('1.0.4'));

    const saved = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = config;
    const error = await stopping.build().then(() => assert.fail('build() resolved'), (thrown: unknown) => thrown).finally(() => {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
    });
    assert.ok(error instanceof BuildsFailedError, String(error));
    assert.ok(stopped, 'the second engine was stopped during a build');
    const results = new Map(error.results.map((result: BuildResult) => [result.name, result]));
    const [lost] = [...onSecond];
    const failed = results.get(lost!)!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.error!.message, new RegExp(`^engine "second" at unix://${second.socket} \\(context second-ctx\\) stopped answering`));
    const other = [...results.values()].find((result) => result.name !== lost)!;
    assert.equal(other.status, 'succeeded', other.error?.message);
    assert.equal(other.engine?.name, 'main');
    assert.deepEqual(await ndistContainers(), [], 'no container left on the main engine');
  });
});
