/**
 * `npm run bench [-- --out <prefix>] [-- --only-real-app | --only-runtime | --only-engines]`: measures, in one run on
 * this machine, a real published app (http-server, packed from the registry: bare host, cold, warm,
 * no-op, shared warm, 4 shared builds sequential and concurrent, with ndist's fixed overhead per
 * build), then builds test/fixtures/hello-app and measures the wall time, peak RSS of the ndist
 * process and artifact size of:
 * - bare host: `npm ci --omit=dev` and dpkg-deb (xz) of the same tree, by hand, with the same
 *   Node 22 runtime and npm the builds use (from the benchmark's runtime cache);
 * - ndist cold: empty runtime cache, empty npm download cache and dependency cache volumes (the
 *   machine image is built first when missing, and that build is in no row);
 * - ndist warm after a source change, ndist no-op, 4 builds sequential and 4 concurrent;
 * - the hello-world app (test/fixtures/tiny-app), for its package size, and its packaging time
 *   (the script, package and artifact stages: everything after npm ci) with runtime 'bundled' and
 *   'shared', first build and warm rebuild after a source change; `--only-runtime` runs just these;
 * - the build step (test/fixtures/ts-app: TypeScript, tsc from devDependencies), cold, warm
 *   after a TypeScript source change, and no-op; then the same app installed by pnpm
 *   (test/fixtures/pnpm-ts-app), cold, warm and no-op.
 * - engines: 4 tiny-app builds on one engine against the same 4 on two (a second dockerd on this
 *   host, started and removed as the engines e2e test does); `--only-engines` runs just these.
 * Sizes are the app package's only: a shared runtime's package is measured in its own row.
 * It writes <prefix>.md and <prefix>.json (default bench-results). Everything it creates (temp
 * dir, runtime cache, volumes) is its own and is removed at the end and on Ctrl-C.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync, readdirSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { ensureMachineImage, imageExists, machineImageTag } from '../src/machine/docker/image.ts';
import { loadMachines } from '../src/machine/catalogue.ts';
import { cacheVolumes } from '../src/cache/dependency-cache.ts';
import { copyImages, startSecondEngine } from '../test/helpers/second-engine.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const NODE_VERSION = '22.23.3';
const CORES = os.availableParallelism();
const outPrefix = path.resolve(process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1]! : 'bench-results');

const work = mkdtempSync(path.join(os.tmpdir(), 'ndist-bench-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  NDIST_CACHE_DIR: path.join(work, 'cache'),
  NDIST_VOLUME_PREFIX: `ndist-bench-${process.pid}`,
  NDIST_SESSION: `bench-${process.pid}`,
  CI: 'true',
};
// npm's cache, the dependency cache and the other managers' stores.
const volumes = Object.values(cacheVolumes(env));
const RSS_PRELOAD = path.join(work, 'rss.mjs');
// Loaded into the ndist process: writes its peak resident set size when it exits.
writeFileSync(RSS_PRELOAD, `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.NDIST_BENCH_RSS, String(process.resourceUsage().maxRSS * 1024)));\n`);

let child: ReturnType<typeof spawn> | undefined;
function cleanup(): void {
  rmSync(work, { recursive: true, force: true });
  // And the runtime volumes its builds populated (<prefix>-runtime-<key>).
  let runtimeVolumes: string[] = [];
  try {
    runtimeVolumes = execFileSync('docker', ['volume', 'ls', '-q', '--filter', `name=${env.NDIST_VOLUME_PREFIX}-runtime-`], { encoding: 'utf8' }).split('\n').filter((name) => name.startsWith(`${env.NDIST_VOLUME_PREFIX}-runtime-`));
  } catch {
    // No engine: nothing to remove.
  }
  for (const volume of [...volumes, ...runtimeVolumes]) {
    try {
      execFileSync('docker', ['volume', 'rm', '-f', volume], { stdio: 'ignore' });
    } catch {
      // Never created, or already gone.
    }
  }
}
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\nbench: ${signal}: waiting for ndist to remove its containers, then removing the benchmark's files and volumes\n`);
    const finish = () => {
      cleanup();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    if (child && child.exitCode === null) {
      child.kill(signal);
      child.once('exit', finish);
    } else finish();
  });
}

interface Run {
  wallMs: number;
  rss?: number;
}

/** Run a command, its output to our log file; wall time, and peak RSS when it is ndist. */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; rss?: boolean }): Promise<Run> {
  const rssFile = path.join(work, `rss-${Date.now()}`);
  const logFile = path.join(work, 'bench.log');
  appendFileSync(logFile, `\n$ ${command} ${args.join(' ')}\n`);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const nodeArgs = options.rss ? ['--import', `file://${RSS_PRELOAD}`] : [];
    child = spawn(command === 'ndist' ? process.execPath : command, command === 'ndist' ? [...nodeArgs, path.join(ROOT, 'bin', 'ndist.js'), ...args] : args, {
      cwd: options.cwd,
      env: { ...env, ...options.env, NDIST_BENCH_RSS: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const collect = (chunk: Buffer) => {
      appendFileSync(logFile, chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (stopping) return;
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} failed with exit code ${code}:\n${tail}`));
      resolve({ wallMs, rss: existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : undefined });
    });
  });
}

/** An ndist.config.json building `app` from `source` into `outDir`, once per version. */
function config(name: string, source: string, outDir: string, versions: string[], app = 'hello-app', runtime: 'bundled' | 'shared' = 'bundled', extra: object = {}): string {
  const file = path.join(work, `${name}.ndist.config.json`);
  const builds = versions.map((version) => ({ name: `${app} ${version}`, app, version, source: { type: 'directory', path: source }, buildMachine: 'debian-bookworm', node: NODE_VERSION, runtime }));
  writeFileSync(file, JSON.stringify({ outDir, progress: 'plain', ...extra, builds }, null, 2));
  return file;
}

/** The first build of a run's report: its app package's size and the time spent after npm ci. */
function reported(outDir: string): { appMb: number; packagingS: number; runtimePackage?: { mb: number; reused: boolean } } {
  const report = JSON.parse(readFileSync(path.join(outDir, 'ndist-report.json'), 'utf8')) as {
    builds: { artifact: { size: number }; stages: Record<string, number>; runtimePackage?: { size: number; reused: boolean } }[];
  };
  const build = report.builds[0]!;
  const packagingMs = ['script', 'package', 'artifact'].reduce((sum, stage) => sum + (build.stages[stage] ?? 0), 0);
  return {
    appMb: build.artifact.size / 1e6,
    packagingS: packagingMs / 1000,
    ...(build.runtimePackage ? { runtimePackage: { mb: build.runtimePackage.size / 1e6, reused: build.runtimePackage.reused } } : {}),
  };
}

interface Row {
  scenario: string;
  wallS: number;
  /** Seconds after npm ci (script, package and artifact stages), from the report. */
  packagingS?: number;
  ratio?: number;
  /** Seconds of ndist's own work: the wall time minus npm ci (when it ran) and the package stage (compression). */
  overheadS?: number;
  peakRssMb?: number;
  artifactMb?: number;
  note: string;
}

/**
 * ndist's fixed overhead in a single-build run: the wall time minus the package stage (the
 * compressor) and npm ci when it ran (from the build log's timestamps; a dependency cache restore
 * counts as overhead).
 */
function fixedOverhead(outDir: string, wallS: number): number {
  const report = JSON.parse(readFileSync(path.join(outDir, 'ndist-report.json'), 'utf8')) as { builds: { stages: Record<string, number> }[] };
  const logs = path.join(outDir, 'logs');
  const log = readFileSync(path.join(logs, readdirSync(logs).find((name) => name.endsWith('.log'))!), 'utf8');
  const at = (pattern: RegExp) => Number(new RegExp(String.raw`^\[\s*([\d.]+)s\] ${pattern.source}`, 'm').exec(log)?.[1]);
  const npmCi = /dependency cache: hit/.test(log) || !/==> dependencies/.test(log) ? 0 : at(/>> stage script/) - at(/==> dependencies/);
  return wallS - (report.builds[0]!.stages.package ?? 0) / 1000 - npmCi;
}

const loadAtStart = os.loadavg()[0]!;
const onlyRuntime = process.argv.includes('--only-runtime');
const onlyRealApp = process.argv.includes('--only-real-app');
const onlyEngines = process.argv.includes('--only-engines');
/** A published app with tens of plain-JS dependencies (no addon), packed from the registry; its lockfile is kept in test/corpus. */
const REAL_APP = { name: 'http-server', spec: 'http-server@14.1.1', lockfile: path.join(ROOT, 'test', 'corpus', 'http-server', 'package-lock.json'), changed: 'lib/http-server.js' };

/**
 * The real app's rows: the same steps by hand on the host, ndist cold, warm after a source change
 * and no-op (bundled, xz), then runtime 'shared': warm after a source change, and 4 warm builds
 * sequential and concurrent. Returns the bare-host row, against which these rows' ratios are taken.
 */
async function realAppRows(rows: Row[], ndistRow: (scenario: string, file: string, outDir: string, note: string, args?: string[]) => Promise<Row>): Promise<Row> {
  const app = path.join(work, REAL_APP.name);
  mkdirSync(app);
  // npm pack checks the tarball against the registry's integrity.
  const packed = (JSON.parse(execFileSync('npm', ['pack', REAL_APP.spec, '--json', '--pack-destination', work], { cwd: work, encoding: 'utf8' })) as { filename: string }[])[0]!;
  execFileSync('tar', ['-xzf', path.join(work, packed.filename), '-C', app, '--strip-components=1']);
  cpSync(REAL_APP.lockfile, path.join(app, 'package-lock.json'));
  const change = () => appendFileSync(path.join(app, REAL_APP.changed), `// changed by the benchmark ${Date.now()}\n`);
  const single = path.join(work, 'real-single');
  const singleConfig = config('real-single', app, single, ['14.1.1'], REAL_APP.name);
  const withOverhead = (row: Row, outDir: string) => {
    row.overheadS = fixedOverhead(outDir, row.wallS);
    return row;
  };
  withOverhead(await ndistRow(`${REAL_APP.name}: ndist cold`, singleConfig, single, 'empty runtime cache, npm cache, dependency cache and runtime volumes'), single);
  change();
  withOverhead(await ndistRow(`${REAL_APP.name}: ndist warm, source changed`, singleConfig, single, 'one source file changed: dependency cache hit, npm ci, licences and SBOM skipped'), single);
  withOverhead(await ndistRow(`${REAL_APP.name}: ndist no-op`, singleConfig, single, 'nothing changed: the artifact is reused, no container'), single);

  const shared = path.join(work, 'real-shared');
  const sharedConfig = config('real-shared', app, shared, ['14.1.1'], REAL_APP.name, 'shared');
  await ndistRow(`${REAL_APP.name}: shared, first build`, sharedConfig, shared, 'runtime shared: also builds the runtime package (xz, once per Node version and target)');
  change();
  withOverhead(await ndistRow(`${REAL_APP.name}: shared, warm`, sharedConfig, shared, 'runtime shared, one source file changed: runtime package reused, dependency cache hit'), shared);
  const versions = ['14.1.2', '14.1.3', '14.1.4', '14.1.5'];
  const seq = path.join(work, 'real-seq');
  await ndistRow(`${REAL_APP.name}: 4 shared, sequential`, config('real-seq', app, seq, versions, REAL_APP.name, 'shared'), seq, '4 versions, runtime shared, warm caches, --concurrency 1', ['--concurrency', '1']);
  const conc = path.join(work, 'real-conc');
  await ndistRow(`${REAL_APP.name}: 4 shared, concurrent`, config('real-conc', app, conc, versions.map((version) => `${version}-c`), REAL_APP.name, 'shared'), conc, `the same 4 (other versions, not reused), --concurrency 4 on ${CORES} cores`, ['--concurrency', '4']);

  // By hand on the host: npm ci --omit=dev, copy node, dpkg-deb -Zxz, the same node and npm.
  const bare = path.join(work, 'real-bare');
  const { node, npmDir } = hostRuntime();
  const root = path.join(bare, 'root');
  const appCopy = path.join(bare, 'src');
  cpSync(app, appCopy, { recursive: true });
  const registry = execFileSync('npm', ['config', 'get', 'registry'], { cwd: app, encoding: 'utf8' }).trim();
  const script = [
    'set -euo pipefail',
    `export PATH=${node}/bin:$PATH npm_config_cache=${path.join(bare, 'npm-cache')} npm_config_registry=${registry}`,
    `cd ${appCopy} && node ${npmDir}/bin/npm-cli.js ci --omit=dev`,
    `mkdir -p ${root}/opt/${REAL_APP.name}/node/bin ${root}/DEBIAN`,
    `cp -a ${appCopy} ${root}/opt/${REAL_APP.name}/app && cp ${node}/bin/node ${root}/opt/${REAL_APP.name}/node/bin/node`,
    `printf 'Package: ${REAL_APP.name}\\nVersion: 14.1.1-1\\nArchitecture: amd64\\nMaintainer: bench <bench@ndist.invalid>\\nDescription: bench\\n' > ${root}/DEBIAN/control`,
    `dpkg-deb --root-owner-group -Zxz --build ${root} ${bare}/app.deb`,
  ].join('\n');
  mkdirSync(bare, { recursive: true });
  const hand = await run('bash', ['-c', script], { cwd: bare });
  const bareRow: Row = { scenario: `${REAL_APP.name}: bare host`, wallS: hand.wallMs / 1000, artifactMb: statSync(path.join(bare, 'app.deb')).size / 1e6, note: 'npm ci --omit=dev + copy node + dpkg-deb -Zxz, same node and npm, empty npm cache' };
  rows.splice(rows.findIndex((row) => row.scenario.startsWith(REAL_APP.name)), 0, bareRow);
  for (const row of rows) if (row.scenario.startsWith(`${REAL_APP.name}: `) && row !== bareRow) row.ratio = row.wallS / bareRow.wallS;
  process.stderr.write(`bench: ${bareRow.scenario}: ${bareRow.wallS.toFixed(1)} s\n`);
  return bareRow;
}

/** The Node runtime and npm the builds used, extracted from the benchmark's runtime cache (once). */
let extractedRuntime: { node: string; npmDir: string } | undefined;
function hostRuntime(): { node: string; npmDir: string } {
  if (extractedRuntime) return extractedRuntime;
  const runtimes = path.join(work, 'cache', 'runtimes');
  const node = path.join(work, 'node');
  const npmDir = path.join(work, 'npm');
  mkdirSync(node);
  mkdirSync(npmDir);
  const archive = (dir: string) => path.join(dir, readdirSync(dir).find((name) => /\.(tgz|tar\.xz|tar\.gz)$/.test(name))!);
  execFileSync('tar', ['-xf', archive(path.join(runtimes, `node-${NODE_VERSION}-x64`)), '-C', node, '--strip-components', '1']);
  execFileSync('tar', ['-xf', archive(path.join(runtimes, readdirSync(runtimes).find((name) => name.startsWith('npm-'))!)), '-C', npmDir, '--strip-components', '1']);
  extractedRuntime = { node, npmDir };
  return extractedRuntime;
}

async function main(): Promise<void> {
  const app = path.join(work, 'hello-app');
  cpSync(path.join(ROOT, 'test', 'fixtures', 'hello-app'), app, { recursive: true });
  const rows: Row[] = [];
  const ndistRow = async (scenario: string, file: string, outDir: string, note: string, args: string[] = []) => {
    const result = await run('ndist', ['build', file, ...args], { cwd: work, rss: true });
    const { appMb, packagingS } = reported(outDir);
    const row: Row = { scenario, wallS: result.wallMs / 1000, packagingS, peakRssMb: result.rss ? result.rss / 1e6 : undefined, artifactMb: appMb, note };
    rows.push(row);
    process.stderr.write(`bench: ${scenario}: ${row.wallS.toFixed(1)} s\n`);
    return row;
  };

  // The machine image is made once per Dockerfile; the cold row starts with it present.
  const imageStarted = Date.now();
  const machine = loadMachines(ROOT).get('debian-bookworm')!;
  const tag = await machineImageTag(machine, 'amd64');
  const docker = new Docker();
  const present = await imageExists(docker, tag);
  if (!present) await ensureMachineImage(docker, machine, 'amd64', () => {});
  process.stderr.write(`bench: machine image ${tag}: ${present ? 'present' : `built in ${((Date.now() - imageStarted) / 1000).toFixed(0)} s`}\n`);
  const imageNote = present ? 'present before the run' : `built by the benchmark first, in ${((Date.now() - imageStarted) / 1000).toFixed(0)} s (not in any row)`;

  let bareRow: Row | undefined;
  // The real app first: its cold row starts with empty caches and runtime volumes.
  const realBare = onlyRuntime || onlyEngines ? undefined : await realAppRows(rows, ndistRow);
  if (!onlyRuntime && !onlyRealApp && !onlyEngines) {
    const single = path.join(work, 'out-single');
    const singleConfig = config('single', app, single, ['1.0.0']);
    await ndistRow('ndist cold', singleConfig, single, `npm cache and dependency cache cold for this app (runtime cache and volumes warm from the rows above unless --only-runtime); machine image ${imageNote}`);
    writeFileSync(path.join(app, 'bin', 'hello.js'), `${readFileSync(path.join(app, 'bin', 'hello.js'), 'utf8')}// changed by the benchmark\n`);
    await ndistRow('ndist warm, source changed', singleConfig, single, 'one source file changed: dependency cache hit, npm ci skipped');
    await ndistRow('ndist no-op', singleConfig, single, 'nothing changed: the artifact is reused, no container');

    // By hand on the host, with the runtime and npm the builds used.
    const { node, npmDir } = hostRuntime();
    const bare = path.join(work, 'bare');
    const root = path.join(bare, 'root');
    const appCopy = path.join(bare, 'src');
    cpSync(app, appCopy, { recursive: true });
    const registry = execFileSync('npm', ['config', 'get', 'registry'], { cwd: app, encoding: 'utf8' }).trim();
    const script = [
      'set -euo pipefail',
      `export PATH=${node}/bin:$PATH npm_config_nodedir=${node} npm_config_build_from_source=true npm_config_cache=${path.join(bare, 'npm-cache')} npm_config_registry=${registry}`,
      `cd ${appCopy} && node ${npmDir}/bin/npm-cli.js ci --omit=dev`,
      `mkdir -p ${root}/opt/hello-app/node/bin ${root}/DEBIAN ${root}/usr/bin`,
      `cp -a ${appCopy} ${root}/opt/hello-app/app && cp ${node}/bin/node ${root}/opt/hello-app/node/bin/node`,
      `printf 'Package: hello-app\\nVersion: 1.0.0-1\\nArchitecture: amd64\\nMaintainer: bench <bench@ndist.invalid>\\nDescription: bench\\n' > ${root}/DEBIAN/control`,
      `dpkg-deb --root-owner-group -Zxz --build ${root} ${bare}/hello-app.deb`,
    ].join('\n');
    const hand = await run('bash', ['-c', script], { cwd: bare });
      bareRow = { scenario: 'hello-app: bare host', wallS: hand.wallMs / 1000, artifactMb: statSync(path.join(bare, 'hello-app.deb')).size / 1e6, note: 'npm ci --omit=dev (addon compiled) + dpkg-deb -Zxz, same node and npm, empty npm cache' };
    rows.splice(rows.findIndex((row) => row.scenario === 'ndist cold'), 0, bareRow);
    process.stderr.write(`bench: bare host: ${bareRow.wallS.toFixed(1)} s\n`);

    const versions = ['1.0.1', '1.0.2', '1.0.3', '1.0.4'];
    const seq = path.join(work, 'out-seq');
    await ndistRow('4 builds, sequential', config('seq', app, seq, versions), seq, '4 versions of the app, --concurrency 1', ['--concurrency', '1']);
    const conc = path.join(work, 'out-conc');
    await ndistRow('4 builds, concurrent', config('conc', app, conc, versions), conc, `the same 4, --concurrency 4 on ${CORES} cores`, ['--concurrency', '4']);
  }

  if (!onlyRealApp && !onlyEngines) await tinyAppRows(rows, ndistRow);
  if (!onlyRealApp && !onlyRuntime) await engineRows(rows, ndistRow);
  if (bareRow) for (const row of rows) if (!row.scenario.startsWith(`${REAL_APP.name}: `) && row !== bareRow) row.ratio = row.wallS / bareRow.wallS;
  writeResults(rows, bareRow, realBare);
}

/**
 * 4 tiny-app builds (no compression, --force) on one engine, then on two: the main engine and a
 * second dockerd on this same host. Both engines' npm caches are warmed by a first two-engine run
 * that is in no row. On one host the daemons share the cores, so little speed-up is expected.
 */
async function engineRows(rows: Row[], ndistRow: (scenario: string, file: string, outDir: string, note: string, args?: string[]) => Promise<Row>): Promise<void> {
  const second = await startSecondEngine();
  try {
    const machine = loadMachines(ROOT).get('debian-bookworm')!;
    await copyImages(new Docker(), second.docker, [await machineImageTag(machine, 'amd64'), machine.baseImage!.amd64!]);
    const tiny = path.join(work, 'tiny-engines');
    cpSync(path.join(ROOT, 'test', 'fixtures', 'tiny-app'), tiny, { recursive: true });
    const versions = ['2.0.1', '2.0.2', '2.0.3', '2.0.4'];
    const two = { engines: [{ name: 'main', concurrency: 2 }, { name: 'second', host: `unix://${second.socket}`, concurrency: 2 }] };
    const one = { engines: [{ name: 'main', concurrency: 4 }] };
    const out = (name: string) => path.join(work, `out-${name}`);
    const tinyConfig = (name: string, engines: object) => {
      const file = config(name, tiny, out(name), versions, 'tiny-app', 'bundled', engines);
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { builds: object[] };
      writeFileSync(file, JSON.stringify({ ...parsed, builds: parsed.builds.map((build) => ({ ...build, compression: 'none' })) }, null, 2));
      return file;
    };
    await run('ndist', ['build', tinyConfig('engines-warmup', two), '--force'], { cwd: work });
    await ndistRow('4 tiny-app builds, one engine', tinyConfig('engines-one', one), out('engines-one'), 'compression none, --force, npm cache warm: the main engine, 4 slots', ['--force']);
    await ndistRow('4 tiny-app builds, two engines', tinyConfig('engines-two', two), out('engines-two'), 'the same 4 on the main engine and a second dockerd on this host, 2 slots each: they share the same cores', ['--force']);
  } finally {
    await second.stop();
  }
}

/** The hello-world app: its size, and its packaging time with runtime 'bundled' and 'shared'. */
async function tinyAppRows(rows: Row[], ndistRow: (scenario: string, file: string, outDir: string, note: string, args?: string[]) => Promise<Row>): Promise<void> {
  const tiny = path.join(work, 'tiny-app');
  cpSync(path.join(ROOT, 'test', 'fixtures', 'tiny-app'), tiny, { recursive: true });
  const tinyOut = path.join(work, 'out-tiny');
  await ndistRow('hello world (tiny-app)', config('tiny', tiny, tinyOut, ['1.0.0'], 'tiny-app'), tinyOut, 'its size: Node 22 and one pure-JS dependency, xz');
  // The same app with runtime 'shared': the first build also makes the runtime package (its own row).
  const sharedOut = path.join(work, 'out-tiny-shared');
  const sharedConfig = config('tiny-shared', tiny, sharedOut, ['1.0.0'], 'tiny-app', 'shared');
  const sharedFirst = await ndistRow('tiny-app, shared, first build', sharedConfig, sharedOut, 'runtime shared, xz: the app package only; the runtime package is built in this build');
  const runtimePackage = reported(sharedOut).runtimePackage!;
  rows.push({ scenario: `runtime package ndist-node-${NODE_VERSION}`, wallS: sharedFirst.wallS, artifactMb: runtimePackage.mb, note: 'built once per Node version, target and packager settings; reused by every later app build' });
  writeFileSync(path.join(tiny, 'bin', 'tiny.js'), `${readFileSync(path.join(tiny, 'bin', 'tiny.js'), 'utf8')}// changed by the benchmark\n`);
  await ndistRow('tiny-app, bundled, warm', config('tiny', tiny, tinyOut, ['1.0.0'], 'tiny-app'), tinyOut, 'one source file changed: Node recompressed into the app package');
  await ndistRow('tiny-app, shared, warm', sharedConfig, sharedOut, 'one source file changed: the runtime package is reused from the cache');
  if (reported(sharedOut).runtimePackage?.reused !== true) throw new Error('the warm shared build did not reuse the runtime package');

  // The build step: the full install (typescript) cached, the build re-run after a source change.
  await buildStepRows(ndistRow, 'ts-app', 'ts', '', {
    cold: 'runtime shared (package reused): npm ci with devDependencies (typescript not yet in the npm cache), npm run build (tsc), npm prune',
    warm: 'one TypeScript source changed: the full install restored from the dependency cache, npm run build re-run, npm prune',
  });
  // The same app installed by pnpm (pinned by hash), next to npm's rows above.
  await buildStepRows(ndistRow, 'pnpm-ts-app', 'pnpm', 'pnpm: ', {
    cold: 'its CLI fetched and verified, empty pnpm store, pnpm install --frozen-lockfile, pnpm run build (tsc), production install again',
    warm: 'one TypeScript source changed: the full install restored from the dependency cache, pnpm run build re-run, production install from the warm store',
  });
}

/** A fixture app with a build step (runtime shared): cold, warm after a change to src/greet.ts, and no-op. */
async function buildStepRows(ndistRow: (scenario: string, file: string, outDir: string, note: string) => Promise<Row>, fixture: string, name: string, notePrefix: string, notes: { cold: string; warm: string }): Promise<void> {
  const app = path.join(work, fixture);
  cpSync(path.join(ROOT, 'test', 'fixtures', fixture), app, { recursive: true });
  const outDir = path.join(work, `out-${name}`);
  const file = config(name, app, outDir, ['1.2.0'], fixture, 'shared');
  await ndistRow(`${fixture}, build step, cold`, file, outDir, `${notePrefix}${notes.cold}`);
  const changed = path.join(app, 'src', 'greet.ts');
  writeFileSync(changed, `${readFileSync(changed, 'utf8')}// changed by the benchmark\n`);
  await ndistRow(`${fixture}, build step, warm`, file, outDir, `${notePrefix}${notes.warm}`);
  await ndistRow(`${fixture}, build step, no-op`, file, outDir, `${notePrefix}nothing changed: the artifact is reused, no container`);
}

function writeResults(rows: Row[], bareRow: Row | undefined, realBare: Row | undefined): void {
  const find = (scenario: string) => rows.find((row) => row.scenario === scenario)!;
  const real = (scenario: string) => find(`${REAL_APP.name}: ${scenario}`);
  const realTargets = realBare
    ? [
        { target: `${REAL_APP.name}: warm rebuild after a source change ≤ 1.1 × bare host`, value: `${real('ndist warm, source changed').ratio!.toFixed(2)} ×`, met: real('ndist warm, source changed').ratio! <= 1.1 },
        { target: `${REAL_APP.name}: fixed overhead of the warm rebuild ≤ 2 s`, value: `${real('ndist warm, source changed').overheadS!.toFixed(1)} s`, met: real('ndist warm, source changed').overheadS! <= 2 },
        { target: `${REAL_APP.name}: runtime shared, warm rebuild ≤ 4 s`, value: `${real('shared, warm').wallS.toFixed(1)} s`, met: real('shared, warm').wallS <= 4 },
        { target: `${REAL_APP.name}: no-op ≤ 1 s (CLI start included)`, value: `${real('ndist no-op').wallS.toFixed(1)} s`, met: real('ndist no-op').wallS <= 1 },
        {
          target: `${REAL_APP.name}: 4 shared builds concurrent ≤ 0.6 × sequential`,
          value: `${(real('4 shared, concurrent').wallS / real('4 shared, sequential').wallS).toFixed(2)} ×`,
          met: real('4 shared, concurrent').wallS / real('4 shared, sequential').wallS <= 0.6,
        },
      ]
    : [];
  const targets = [
    ...realTargets,
    ...(onlyRuntime || onlyRealApp || onlyEngines
      ? []
      : [
          { target: 'warm rebuild after a source change ≤ 1.3 × bare host', value: `${find('ndist warm, source changed').ratio!.toFixed(2)} ×`, met: find('ndist warm, source changed').ratio! <= 1.3 },
          { target: 'no-op rebuild ≤ 2 s', value: `${find('ndist no-op').wallS.toFixed(1)} s`, met: find('ndist no-op').wallS <= 2 },
          {
            target: `4 builds concurrent on ${CORES} cores ≤ 0.65 × sequential`,
            value: `${(find('4 builds, concurrent').wallS / find('4 builds, sequential').wallS).toFixed(2)} ×`,
            met: find('4 builds, concurrent').wallS / find('4 builds, sequential').wallS <= 0.65,
          },
        ]),
    { target: 'peak RSS of the ndist process ≤ 250 MB', value: `${Math.max(...rows.map((row) => row.peakRssMb ?? 0)).toFixed(0)} MB`, met: Math.max(...rows.map((row) => row.peakRssMb ?? 0)) <= 250 },
    ...(onlyRealApp || onlyEngines ? [] : [
    { target: 'hello-world .deb with Node 22 (xz) ≤ 30 MB', value: `${find('hello world (tiny-app)').artifactMb!.toFixed(1)} MB`, met: find('hello world (tiny-app)').artifactMb! <= 30 },
    { target: 'tiny-app release with runtime shared (xz) ≤ 3 MB', value: `${find('tiny-app, shared, warm').artifactMb!.toFixed(3)} MB`, met: find('tiny-app, shared, warm').artifactMb! <= 3 },
    {
      target: 'tiny-app warm rebuild with runtime shared ≤ 5 s after npm ci',
      value: `${find('tiny-app, shared, warm').packagingS!.toFixed(1)} s`,
      met: find('tiny-app, shared, warm').packagingS! <= 5,
    },
    ]),
  ];

  // Other work on the machine slows every row: the load average says how busy it was.
  const host = `${os.cpus()[0]?.model ?? 'cpu'}, ${CORES} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, node ${process.version}; load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end`;
  const fmt = (value: number | undefined, digits = 1) => (value === undefined ? '' : value.toFixed(digits));
  const markdown = [
    `# ndist benchmark (${new Date().toISOString()})`,
    '',
    `Machine: ${host}. Apps: ${REAL_APP.spec} (packed from the registry, plain JS); test/fixtures/hello-app (better-sqlite3 compiled from source, ms); machine debian-bookworm, Node ${NODE_VERSION}, xz. Ratios are to the same app's bare-host row.`,
    '',
    '| scenario | wall (s) | × bare host | fixed overhead (s) | after npm ci (s) | peak RSS of ndist (MB) | artifact (MB) | what it measures |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map((row) => `| ${row.scenario} | ${fmt(row.wallS)} | ${fmt(row.ratio, 2)} | ${fmt(row.overheadS)} | ${fmt(row.packagingS)} | ${fmt(row.peakRssMb, 0)} | ${fmt(row.artifactMb, row.artifactMb !== undefined && row.artifactMb < 0.1 ? 3 : 1)} | ${row.note} |`),
    '',
    '| target | measured | met |',
    '|---|---:|---|',
    ...targets.map((target) => `| ${target.target} | ${target.value} | ${target.met ? 'yes' : 'no'} |`),
    '',
  ].join('\n');
  writeFileSync(`${outPrefix}.md`, markdown);
  writeFileSync(`${outPrefix}.json`, `${JSON.stringify({ date: new Date().toISOString(), machine: host, node: NODE_VERSION, rows, targets }, null, 2)}\n`);
  process.stdout.write(`${markdown}\nwritten: ${outPrefix}.md, ${outPrefix}.json\n`);
}

try {
  await main();
} catch (error) {
  const log = path.join(work, 'bench.log');
  if (existsSync(log)) cpSync(log, `${outPrefix}.log`);
  process.stderr.write(`bench: ${(error as Error).message}\nfull output: ${outPrefix}.log\n`);
  process.exitCode = 1;
} finally {
  if (!stopping) cleanup();
}
