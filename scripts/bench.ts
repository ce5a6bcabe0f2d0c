/**
 * `npm run bench [-- --out <prefix>]`: builds test/fixtures/hello-app and measures, in one run on
 * this machine, the wall time, peak RSS of the ndist process and artifact size of:
 * - bare host: `npm ci --omit=dev` and dpkg-deb (xz) of the same tree, by hand, with the same
 *   Node 22 runtime and npm the builds use (from the benchmark's runtime cache);
 * - ndist cold: empty runtime cache, empty npm download cache and dependency cache volumes (the
 *   machine image is built first when missing, and that build is in no row);
 * - ndist warm after a source change, ndist no-op, 4 builds sequential and 4 concurrent;
 * - the hello-world app (test/fixtures/tiny-app), for its package size, and its packaging time
 *   (the script, package and artifact stages: everything after npm ci) with runtime 'bundled' and
 *   'shared', first build and warm rebuild after a source change; `--only-runtime` runs just these;
 * - the build step (test/fixtures/ts-app: TypeScript, tsc from devDependencies), cold and warm
 *   after a TypeScript source change.
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
const volumes = [`${env.NDIST_VOLUME_PREFIX}-npm-cache`, `${env.NDIST_VOLUME_PREFIX}-deps`];
const RSS_PRELOAD = path.join(work, 'rss.mjs');
// Loaded into the ndist process: writes its peak resident set size when it exits.
writeFileSync(RSS_PRELOAD, `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.NDIST_BENCH_RSS, String(process.resourceUsage().maxRSS * 1024)));\n`);

let child: ReturnType<typeof spawn> | undefined;
function cleanup(): void {
  rmSync(work, { recursive: true, force: true });
  for (const volume of volumes) {
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
function config(name: string, source: string, outDir: string, versions: string[], app = 'hello-app', runtime: 'bundled' | 'shared' = 'bundled'): string {
  const file = path.join(work, `${name}.ndist.config.json`);
  const builds = versions.map((version) => ({ name: `${app} ${version}`, app, version, source: { type: 'directory', path: source }, buildMachine: 'debian-bookworm', node: NODE_VERSION, runtime }));
  writeFileSync(file, JSON.stringify({ outDir, progress: 'plain', builds }, null, 2));
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
  peakRssMb?: number;
  artifactMb?: number;
  note: string;
}

const loadAtStart = os.loadavg()[0]!;
const onlyRuntime = process.argv.includes('--only-runtime');

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
  if (!onlyRuntime) {
    const single = path.join(work, 'out-single');
    const singleConfig = config('single', app, single, ['1.0.0']);
    await ndistRow('ndist cold', singleConfig, single, `empty runtime cache, npm cache and dependency cache; machine image ${imageNote}`);
    writeFileSync(path.join(app, 'bin', 'hello.js'), `${readFileSync(path.join(app, 'bin', 'hello.js'), 'utf8')}// changed by the benchmark\n`);
    await ndistRow('ndist warm, source changed', singleConfig, single, 'one source file changed: dependency cache hit, npm ci skipped');
    await ndistRow('ndist no-op', singleConfig, single, 'nothing changed: the artifact is reused, no container');

    // By hand on the host, with the runtime and npm the builds used.
    const runtimes = path.join(work, 'cache', 'runtimes');
    const node = path.join(work, 'node');
    const npmDir = path.join(work, 'npm');
    mkdirSync(node);
    mkdirSync(npmDir);
    const archive = (dir: string) => path.join(dir, readdirSync(dir).find((name) => /\.(tgz|tar\.xz|tar\.gz)$/.test(name))!);
    execFileSync('tar', ['-xf', archive(path.join(runtimes, `node-${NODE_VERSION}-x64`)), '-C', node, '--strip-components', '1']);
    execFileSync('tar', ['-xf', archive(path.join(runtimes, readdirSync(runtimes).find((name) => name.startsWith('npm-'))!)), '-C', npmDir, '--strip-components', '1']);
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
      bareRow = { scenario: 'bare host', wallS: hand.wallMs / 1000, artifactMb: statSync(path.join(bare, 'hello-app.deb')).size / 1e6, note: 'npm ci --omit=dev (addon compiled) + dpkg-deb -Zxz, same node and npm, empty npm cache' };
    rows.unshift(bareRow);
    process.stderr.write(`bench: bare host: ${bareRow.wallS.toFixed(1)} s\n`);

    const versions = ['1.0.1', '1.0.2', '1.0.3', '1.0.4'];
    const seq = path.join(work, 'out-seq');
    await ndistRow('4 builds, sequential', config('seq', app, seq, versions), seq, '4 versions of the app, --concurrency 1', ['--concurrency', '1']);
    const conc = path.join(work, 'out-conc');
    await ndistRow('4 builds, concurrent', config('conc', app, conc, versions), conc, `the same 4, --concurrency 4 on ${CORES} cores`, ['--concurrency', '4']);
  }

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
  const ts = path.join(work, 'ts-app');
  cpSync(path.join(ROOT, 'test', 'fixtures', 'ts-app'), ts, { recursive: true });
  const tsOut = path.join(work, 'out-ts');
  const tsConfig = config('ts', ts, tsOut, ['1.2.0'], 'ts-app', 'shared');
  await ndistRow('ts-app, build step, cold', tsConfig, tsOut, 'runtime shared (package reused): npm ci with devDependencies (typescript not yet in the npm cache), npm run build (tsc), npm prune');
  writeFileSync(path.join(ts, 'src', 'greet.ts'), `${readFileSync(path.join(ts, 'src', 'greet.ts'), 'utf8')}// changed by the benchmark\n`);
  await ndistRow('ts-app, build step, warm', tsConfig, tsOut, 'one TypeScript source changed: the full install restored from the dependency cache, npm run build re-run, npm prune');

  if (bareRow) for (const row of rows) if (row !== bareRow) row.ratio = row.wallS / bareRow.wallS;
  const find = (scenario: string) => rows.find((row) => row.scenario === scenario)!;
  const targets = [
    ...(onlyRuntime
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
    { target: 'hello-world .deb with Node 22 (xz) ≤ 30 MB', value: `${find('hello world (tiny-app)').artifactMb!.toFixed(1)} MB`, met: find('hello world (tiny-app)').artifactMb! <= 30 },
    { target: 'tiny-app release with runtime shared (xz) ≤ 3 MB', value: `${find('tiny-app, shared, warm').artifactMb!.toFixed(3)} MB`, met: find('tiny-app, shared, warm').artifactMb! <= 3 },
    {
      target: 'tiny-app warm rebuild with runtime shared ≤ 5 s after npm ci',
      value: `${find('tiny-app, shared, warm').packagingS!.toFixed(1)} s`,
      met: find('tiny-app, shared, warm').packagingS! <= 5,
    },
  ];

  // Other work on the machine slows every row: the load average says how busy it was.
  const host = `${os.cpus()[0]?.model ?? 'cpu'}, ${CORES} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, node ${process.version}; load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end`;
  const fmt = (value: number | undefined, digits = 1) => (value === undefined ? '' : value.toFixed(digits));
  const markdown = [
    `# ndist benchmark (${new Date().toISOString()})`,
    '',
    `Machine: ${host}. Fixture: test/fixtures/hello-app (better-sqlite3 compiled from source, ms), machine debian-bookworm, Node ${NODE_VERSION}, xz.`,
    '',
    '| scenario | wall (s) | × bare host | after npm ci (s) | peak RSS of ndist (MB) | artifact (MB) | what it measures |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows.map((row) => `| ${row.scenario} | ${fmt(row.wallS)} | ${fmt(row.ratio, 2)} | ${fmt(row.packagingS)} | ${fmt(row.peakRssMb, 0)} | ${fmt(row.artifactMb, row.artifactMb !== undefined && row.artifactMb < 0.1 ? 3 : 1)} | ${row.note} |`),
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
