/**
 * `ndist verify [outDir|report]` and `verify()`: every package a build run made goes through the
 * verify cycle (cycle.ts) on a clean host of the release it was built for; the outcome is printed
 * as `<build> | …` lines and a table, and recorded in `outDir/ndist-verify.json` by sha256, which
 * `ndist promote` reads (through `ndist publish`) before it lets bytes into a channel.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPORT_FILE } from '../build/report.ts';
import { ConfigError, VerifyFailedError } from '../errors.ts';
import { findMachine, loadMachines, type OsRelease } from '../machine/catalogue.ts';
import { connectDocker } from '../machine/docker/client.ts';
import { imageExists } from '../machine/docker/image.ts';
import type { Arch, SmokeTest } from '../options/types.ts';
import type { PackageFormat } from '../package/format.ts';
import { formatDuration, textTable } from '../progress/reporter.ts';
import { distOf, listRepository } from '../repository/repository.ts';
import { ndistVersion } from '../util/ndist-version.ts';
import { runCycle, type CycleResult } from './cycle.ts';
import { floorFromLog, releasesFitting } from './glibc-floor.ts';
import { VERIFY_FILE, addRun, readVerifyRecords, writeVerifyRecords, type VerifyRun } from './record.ts';

export interface VerifyOptions {
  /** A build's outDir (holding ndist-report.json) or the report file itself. */
  target: string;
  /** Where the build machines are defined (templates/build_machines.json): default the current directory. */
  projectDir?: string;
  /** A repository (`ndist publish --repo`) whose `channel` serves the version hosts run now: installed first, upgraded from, rolled back to. */
  fromRepo?: string;
  channel?: string;
  /** Run lintian on each .deb (default true). */
  lint?: boolean;
  /** Progress lines (`<build> | …`); default: standard output. */
  log?: (line: string) => void;
}

export interface VerifyOutcome {
  build: string;
  file: string;
  sha256: string;
  release: string;
  ok: boolean;
  result: CycleResult;
  durationMs: number;
}

interface ReportedBuild {
  name: string;
  status: string;
  inputs?: { app?: string; arch?: Arch; service?: { socket?: unknown }; smoke?: SmokeTest };
  machine?: { id?: string; format?: PackageFormat; os?: OsRelease };
  artifact?: { file: string; sha256: string };
  runtimePackage?: { file: string; sha256: string };
  log?: string;
}

function reportPath(target: string): { report: string; outDir: string } {
  const report = existsSync(target) && statSync(target).isDirectory() ? path.join(target, REPORT_FILE) : target;
  if (!existsSync(report)) throw new ConfigError('verify', `${target} is neither a build's outDir (no ${REPORT_FILE} in it) nor a report file: run \`ndist build\` first`);
  return { report, outDir: path.dirname(report) };
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Verify every package of a run; throws VerifyFailedError (after writing the record) when one fails. */
export async function verify(options: VerifyOptions): Promise<VerifyOutcome[]> {
  const print = options.log ?? ((line: string) => console.log(line));
  const { report, outDir } = reportPath(options.target);
  const builds = ((JSON.parse(readFileSync(report, 'utf8')) as { builds?: ReportedBuild[] }).builds ?? []).filter((build) => build.status === 'succeeded' && build.artifact);
  if (builds.length === 0) throw new ConfigError('verify', `${report} lists no successful build`);
  const machines = loadMachines(options.projectDir ?? process.cwd());
  const width = Math.max(...builds.map((build) => build.name.length));
  if ((options.fromRepo === undefined) !== (options.channel === undefined)) throw new ConfigError(options.fromRepo ? 'channel' : 'fromRepo', '--from-repo and --channel go together: the repository and the channel hosts upgrade from');
  const repository = options.fromRepo ? await listRepository(options.fromRepo) : undefined;
  const docker = await connectDocker();
  let records = readVerifyRecords(path.join(outDir, VERIFY_FILE));
  const outcomes: VerifyOutcome[] = [];

  for (const build of builds) {
    const log = (line: string) => print(`${build.name.padEnd(width)} | ${line}`);
    const file = path.join(outDir, build.artifact!.file);
    const sha256 = sha256Of(file);
    if (sha256 !== build.artifact!.sha256) throw new ConfigError('verify', `${file} changed since build "${build.name}" made it (sha256 ${sha256}, the report says ${build.artifact!.sha256}): rebuild it`);
    const { format, os } = build.machine ?? {};
    if (!format || !os || !build.machine?.id) throw new ConfigError('verify', `${report} does not say which release build "${build.name}" targets (made by an older ndist): build again`);
    const machine = findMachine(machines, build.machine.id, `builds "${build.name}" machine`);
    const arch = build.inputs?.arch ?? machine.arch[0]!;
    const targets = [{ release: distOf(format, os), baseImage: machine.baseImage?.[arch] }];
    // Other releases the package fits by its glibc floor (from the build log), where their base image is here.
    const buildLog = build.log && existsSync(path.join(outDir, build.log)) ? readFileSync(path.join(outDir, build.log), 'utf8').split('\n') : [];
    const floor = floorFromLog(buildLog);
    if (floor) {
      const fitting = releasesFitting(floor, format, machines.values());
      log(`needs glibc >= ${floor}: fits ${fitting.join(', ') || 'no catalogue release'}`);
      for (const other of machines.values()) {
        const release = other.os && other.format === format ? distOf(format, other.os) : undefined;
        const image = other.baseImage?.[arch];
        if (!release || !image || !fitting.includes(release) || targets.some((target) => target.release === release)) continue;
        if (await imageExists(docker, image)) targets.push({ release, baseImage: image });
      }
    }
    for (const { release, baseImage } of targets) {
      const started = Date.now();
      let result: CycleResult;
      if (format !== 'deb') {
        result = { ok: false, steps: [], failure: { step: 'prepare', message: rpmNotVerified(path.basename(file), release) } };
      } else if (!baseImage) {
        result = { ok: false, steps: [], failure: { step: 'prepare', message: `machine ${machine.id} names no base image to make a clean ${release} host from` } };
      } else if (!(await imageExists(docker, baseImage))) {
        result = { ok: false, steps: [], failure: { step: 'prepare', message: `the base image ${baseImage} is not on this Docker engine: pull it, or make it with \`ndist bootstrap-image ${baseImage}\`` } };
      } else {
        log(`verify on ${release} (${baseImage})`);
        const packages = [file, ...(build.runtimePackage ? [path.join(outDir, build.runtimePackage.file)] : [])];
        const previous = repository ? servedNow(repository, options.fromRepo!, `${format}/${release}/${options.channel}`, build.inputs?.app ?? '', arch) : undefined;
        if (repository) log(previous ? `upgrade from ${previous.version} (${options.channel})` : `${options.channel} serves no ${build.inputs?.app} for ${release} ${arch}: no upgrade to test`);
        result = await runCycle(docker, {
          build: build.name,
          packages,
          baseImage,
          // A socket-activated service starts on a connection: its socket is what the install makes active.
          unit: build.inputs?.service ? `${build.inputs.app}.${build.inputs.service.socket ? 'socket' : 'service'}` : undefined,
          smoke: build.inputs?.smoke,
          previous,
          lint: options.lint,
          buildLog,
          log,
        });
      }
      const durationMs = Date.now() - started;
      if (result.failure) for (const line of explainFailure(result)) log(line);
      log(`${result.ok ? 'verified' : 'NOT verified'} on ${release} in ${formatDuration(durationMs)}`);
      const run: VerifyRun = { ...result, image: baseImage ?? '', at: new Date().toISOString(), ndist: ndistVersion(), durationMs };
      records = addRun(records, { sha256, file: build.artifact!.file, build: build.name }, release, run);
      outcomes.push({ build: build.name, file: build.artifact!.file, sha256, release, ok: result.ok, result, durationMs });
    }
  }

  const recordFile = await writeVerifyRecords(outDir, records);
  for (const line of verifyTable(outcomes)) print(line);
  print(`verify records: ${recordFile}`);
  const failed = outcomes.filter((outcome) => !outcome.ok);
  if (failed.length > 0) throw new VerifyFailedError(failed.map((outcome) => `${outcome.build} on ${outcome.release}: ${outcome.result.failure?.step}: ${outcome.result.failure?.message}`));
  return outcomes;
}

/**
 * Why an .rpm is not verified: the cycle drives apt on a Debian-family host; an .rpm needs a
 * Red Hat-family host with dnf, which verify does not drive. Not a pass: promote refuses the bytes
 * until they are promoted with --unverified.
 */
export function rpmNotVerified(file: string, release: string): string {
  return (
    `cannot verify ${file} on ${release}: ndist verify runs its cycle with apt on Debian-family hosts only; an .rpm needs a clean Red Hat-family host with dnf, which verify does not drive yet. ` +
    'The package is not verified: check it on such a host yourself, then promote it with --unverified'
  );
}

/** The package (and runtime package) a channel gives hosts now, as files in the repository's pool. */
function servedNow(repository: Awaited<ReturnType<typeof listRepository>>, repo: string, channel: string, app: string, arch: string): { version: string; packages: string[] } | undefined {
  const current = repository.channels.find((listing) => listing.channel === channel)?.packages.find((pkg) => pkg.name === app && (pkg.arch === arch || pkg.arch === 'all') && pkg.current);
  if (!current) return undefined;
  const runtime = current.runtime ? repository.state.packages[current.runtime] : undefined;
  return { version: current.version, packages: [current, ...(runtime ? [runtime] : [])].map((pkg) => path.join(repo, pkg.file)) };
}

/** A failure in lines: the step, what went wrong, the command, its last output lines, the journal. */
export function explainFailure(result: CycleResult): string[] {
  const failure = result.failure;
  if (!failure) return [];
  return [
    `step "${failure.step}" failed: ${failure.message}`,
    ...(failure.command ? [`  command: ${failure.command}`] : []),
    ...(failure.output?.length ? ['  output (last lines):', ...failure.output.map((line) => `    ${line}`)] : []),
    ...(failure.journal?.length ? ['  journal of the service:', ...failure.journal.map((line) => `    ${line}`)] : []),
  ];
}

export function verifyTable(outcomes: VerifyOutcome[]): string[] {
  const rows = outcomes.map((outcome) => [
    outcome.build,
    outcome.release,
    // No step ran: the cycle could not start (an .rpm, a base image missing), which is not a failure of the package.
    outcome.ok ? 'verified' : outcome.result.steps.length === 0 ? 'NOT RUN' : `FAILED at ${outcome.result.failure?.step}`,
    outcome.result.lint ? String(Object.values(outcome.result.lint.tags).reduce((sum, count) => sum + count, 0)) : '',
    formatDuration(outcome.durationMs),
  ]);
  return textTable(['BUILD', 'RELEASE', 'RESULT', 'LINT TAGS', 'TIME'], rows);
}
