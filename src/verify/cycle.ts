/**
 * One package's verify cycle on one release's clean host, as a distribution's tester runs it:
 * snapshot → install with apt (dependencies and the shared runtime package resolved by apt, never
 * `dpkg -i --force`) → the service is active → smoke test → the service is still active → remove →
 * purge → nothing left, nothing missing → lintian. The first failing step ends the cycle; it is
 * explained with its command, the last lines of its output and, for a service, its journal.
 */
import path from 'node:path';
import type Docker from 'dockerode';
import { shellQuote } from '../machine/script.ts';
import type { SmokeTest } from '../options/types.ts';
import { HOST_PACKAGE_DIR, VerifyHost, derivedImage, type CommandResult } from './host.ts';
import { judgeLintian, type LintResult } from './lint.ts';
import { judgeSmoke, smokeCheck } from './smoke.ts';
import { explainMissingLibraries, missingLibrariesCommand, parseMissingLibraries } from './libraries.ts';
import { SNAPSHOT_COMMAND, describeDiff, diffSnapshots, parseSnapshot } from './snapshot.ts';

export type StepName =
  | 'prepare' | 'snapshot' | 'install previous' | 'install' | 'upgrade' | 'libraries' | 'service' | 'smoke' | 'service after smoke' | 'rollback' | 'upgrade again'
  | 'remove' | 'purge' | 'leftovers' | 'lint';

export interface StepResult {
  step: StepName;
  ok: boolean;
  durationMs: number;
}

export interface Failure {
  step: StepName;
  /** What went wrong, in words. */
  message: string;
  command?: string;
  /** The last lines of the command's output. */
  output?: string[];
  /** The service's journal, when the package has one. */
  journal?: string[];
}

export interface CycleResult {
  ok: boolean;
  steps: StepResult[];
  failure?: Failure;
  lint?: LintResult;
}

export interface CycleInput {
  build: string;
  /** The package files: the app's, and the shared runtime package it runs on. */
  packages: string[];
  /** The plain base image of the release. */
  baseImage: string;
  /** The systemd unit of a service package (`<app>.service`). */
  unit?: string;
  smoke?: SmokeTest;
  /** What a repository channel serves now (the app's package and its runtime package): installed first, upgraded from, rolled back to. */
  previous?: { version: string; packages: string[] };
  /** Run lintian (default true). */
  lint?: boolean;
  /** The build's log, for what its health check said (the package a missing library came from). */
  buildLog?: string[];
  log: (line: string) => void;
}

/** Lines of output a failure shows. */
const OUTPUT_TAIL = 25;
/** An admin's edits to config files are kept on upgrade and downgrade, never asked about, as unattended-upgrades does. */
const APT = 'apt-get -y -q -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';
/** What verify appends to each config file before the upgrade: a blank line, which JSON, YAML, INI and shell files all allow. */
const CONFIG_EDIT = "printf '\\n'";

class StepFailed extends Error {
  constructor(readonly failure: Omit<Failure, 'step'>) {
    super(failure.message);
  }
}

const tail = (output: string) => output.split('\n').slice(-OUTPUT_TAIL);

export async function runCycle(docker: Docker, input: CycleInput): Promise<CycleResult> {
  const steps: StepResult[] = [];
  const files = input.packages.map((file) => `${HOST_PACKAGE_DIR}/${path.basename(file)}`);
  let host: VerifyHost | undefined;
  let current: StepName = 'prepare';
  let linting: Promise<{ value: LintResult } | { error: unknown }> | undefined;

  /** Run a command as part of the current step; a non-zero exit fails the step with its output. */
  const must = async (command: string, what: string): Promise<CommandResult> => {
    const result = await host!.sh(`${command} 2>&1`);
    if (result.code !== 0) throw new StepFailed({ message: `${what} failed (exit ${result.code})`, command, output: tail(result.output) });
    return result;
  };
  const step = async <T>(name: StepName, body: () => Promise<T>): Promise<T> => {
    current = name;
    const started = Date.now();
    const value = await body();
    steps.push({ step: name, ok: true, durationMs: Date.now() - started });
    input.log(`${name}: ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return value;
  };
  const serviceActive = async () => {
    const command = `systemctl is-active ${shellQuote(input.unit!)}`;
    let state = '';
    for (let attempt = 0; attempt < 30; attempt++) {
      state = (await host!.sh(command)).output.trim();
      if (state === 'active') return;
      if (state === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new StepFailed({ message: `${input.unit} is ${state || 'not active'}`, command, output: tail((await host!.sh(`systemctl status --no-pager ${shellQuote(input.unit!)} 2>&1`)).output) });
  };

  try {
    // lintian runs in its own container while the cycle runs: it is the slowest step (the node binary).
    if (input.lint !== false) linting = lintDeb(docker, input).then((value) => ({ value }), (error: unknown) => ({ error }));
    const image = input.unit ? await derivedImage(docker, input.baseImage, ['systemd', 'systemd-sysv'], input.log) : input.baseImage;
    host = await VerifyHost.start(docker, image, { build: input.build, systemd: Boolean(input.unit) });
    await step('prepare', async () => {
      await host!.copyIn([...input.packages, ...(input.previous?.packages ?? [])]);
      await must(`${APT} update`, 'apt-get update');
    });
    const before = await step('snapshot', async () => parseSnapshot((await must(SNAPSHOT_COMMAND, 'the snapshot')).output));
    const install = (packages: string[], what: string, downgrade = false) =>
      must(`cd ${HOST_PACKAGE_DIR} && ${APT} install --no-install-recommends ${downgrade ? '--allow-downgrades ' : ''}${packages.map((file) => shellQuote(`./${path.basename(file)}`)).join(' ')}`, what);
    const packageNames = async (packages: string[]) =>
      (await must(packages.map((file) => `dpkg-deb -f ${shellQuote(`${HOST_PACKAGE_DIR}/${path.basename(file)}`)} Package`).join(' && '), 'reading the package names')).output.split('\n').map((line) => line.trim());
    const mainPid = async () => (await host!.sh(`systemctl show -p MainPID --value ${shellQuote(input.unit!)}`)).output.trim();
    let names: string[];
    if (input.previous) {
      const previous = input.previous;
      await step('install previous', async () => {
        await install(previous.packages, `apt-get install of ${previous.version} (what the channel serves)`);
        if (input.unit) await serviceActive();
      });
      const pidBefore = input.unit ? await mainPid() : undefined;
      const [previousApp] = await packageNames(previous.packages.slice(0, 1));
      await step('upgrade', async () => {
        // An admin's edit to each config file of the installed version must survive the upgrade.
        const conffiles = await must(`dpkg-query -W -f='\${Conffiles}\\n' ${shellQuote(previousApp!)} | awk '$1 ~ /^\\// && $3 != "obsolete" { print $1 }'`, 'listing the config files');
        const edited = conffiles.output.split('\n').map((line) => line.trim()).filter(Boolean);
        const sums = async () => (await must(edited.map((file) => `sha256sum ${shellQuote(file)}`).join(' && '), 'reading the config files')).output;
        let before = '';
        if (edited.length > 0) {
          await must(edited.map((file) => `${CONFIG_EDIT} >> ${shellQuote(file)}`).join(' && '), 'editing the config files');
          before = await sums();
        }
        await install(input.packages, `apt-get install (upgrade from ${previous.version})`);
        if (edited.length > 0) {
          const after = await sums();
          if (after !== before) throw new StepFailed({ message: `an edit to a config file did not survive the upgrade from ${previous.version} (a blank line appended to each before it)`, command: edited.map((file) => `sha256sum ${file}`).join('; '), output: ['before the upgrade:', ...before.split('\n'), 'after:', ...after.split('\n')] });
          input.log(`upgrade: the edits to ${edited.join(', ')} were kept`);
        } else {
          input.log(`upgrade: ${previousApp} ${previous.version} has no config files: no edit to keep across the upgrade`);
        }
        if (input.unit) {
          await serviceActive();
          // A socket has no process of its own: its service's restart is tested by its own users.
          if (input.unit.endsWith('.service') && (await mainPid()) === pidBefore) throw new StepFailed({ message: `${input.unit} was not restarted on the new version (MainPID ${pidBefore} before and after)` });
        }
      });
      names = [...new Set([...(await packageNames(input.packages)), ...(await packageNames(previous.packages))])];
    } else {
      names = await step('install', async () => {
        await install(input.packages, 'apt-get install');
        return packageNames(input.packages);
      });
    }
    await step('libraries', async () => {
      const command = missingLibrariesCommand(await packageNames(input.packages));
      const missing = parseMissingLibraries((await must(command, 'looking for unresolved libraries')).output);
      if (missing.length > 0) {
        throw new StepFailed({ message: `${[...new Set(missing.map((each) => each.library))].join(', ')} not found on the host: the package does not depend on what provides ${missing.length > 1 ? 'them' : 'it'}`, command: 'ldd on every ELF file of the package', output: explainMissingLibraries(missing, input.buildLog ?? []) });
      }
    });
    if (input.unit && !input.previous) await step('service', serviceActive);
    if (input.smoke) {
      const check = smokeCheck(input.smoke);
      await step('smoke', async () => {
        const result = await host!.sh(`${check.command} 2>&1`);
        const problem = judgeSmoke(check, result);
        if (problem) throw new StepFailed({ message: problem, command: check.label, output: tail(result.output) });
      });
      if (input.unit) await step('service after smoke', serviceActive);
    }
    if (input.previous) {
      const previous = input.previous;
      await step('rollback', async () => {
        await install(previous.packages, `apt-get install --allow-downgrades of ${previous.version}`, true);
        if (input.unit) await serviceActive();
      });
      await step('upgrade again', async () => {
        await install(input.packages, 'apt-get install (upgrade after the rollback)');
        if (input.unit) await serviceActive();
      });
    }
    await step('remove', async () => {
      await must(`${APT} remove ${names.map(shellQuote).join(' ')}`, 'apt-get remove');
    });
    await step('purge', async () => {
      // dpkg: a removed package with no conffiles is in no index apt knows, so `apt-get purge` cannot find it.
      await must(`dpkg --purge ${names.map(shellQuote).join(' ')} && ${APT} autoremove --purge`, 'dpkg --purge');
    });
    await step('leftovers', async () => {
      const after = parseSnapshot((await must(SNAPSHOT_COMMAND, 'the snapshot')).output);
      const problems = describeDiff(diffSnapshots(before, after));
      if (problems.length > 0) throw new StepFailed({ message: `the host is not as it was before install (${problems.length} differences)`, output: problems.slice(0, 50) });
    });
    const lint = linting
      ? await step('lint', async () => {
          const outcome = await linting!;
          if ('error' in outcome) throw outcome.error;
          return outcome.value;
        })
      : undefined;
    return { ok: true, steps, ...(lint ? { lint } : {}) };
  } catch (error) {
    const failure: Failure = error instanceof StepFailed ? { step: current, ...error.failure } : { step: current, message: (error as Error).message };
    if (input.unit && host) {
      const journal = await host.sh(`journalctl -u ${shellQuote(input.unit)} --no-pager -n 40 2>&1`).catch(() => undefined);
      if (journal) failure.journal = journal.output.split('\n');
    }
    steps.push({ step: current, ok: false, durationMs: 0 });
    input.log(`${current}: FAILED: ${failure.message}`);
    return { ok: false, steps, failure };
  } finally {
    await host?.remove();
    await linting; // its container is removed once it is done, whatever the cycle did
  }
}

/** lintian in a container of the release with lintian (the clean host stays clean), on the app's package only. */
async function lintDeb(docker: Docker, input: CycleInput): Promise<LintResult> {
  const image = await derivedImage(docker, input.baseImage, ['lintian'], input.log);
  const linter = await VerifyHost.start(docker, image, { build: input.build, systemd: false });
  try {
    await linter.copyIn([input.packages[0]!]);
    const command = `lintian --no-tag-display-limit ${shellQuote(`${HOST_PACKAGE_DIR}/${path.basename(input.packages[0]!)}`)}`;
    const result = await linter.sh(`${command} 2>&1`);
    const lint = judgeLintian(result.output);
    if (lint.refused.length > 0) throw new StepFailed({ message: `lintian reported ${lint.refused.length} tags outside ndist's allow-list`, command, output: lint.refused.slice(0, OUTPUT_TAIL) });
    // lintian exits non-zero for accepted errors too; anything else (a crash) is a failure.
    if (result.code !== 0 && Object.keys(lint.tags).length === 0) throw new StepFailed({ message: `lintian failed (exit ${result.code})`, command, output: tail(result.output) });
    return lint;
  } finally {
    await linter.remove();
  }
}
