/**
 * Stage: what makes a package a well-behaved service. From the build's `service`, `user`,
 * `configFiles`, `directories` and `hooks`, one description of what happens at install, upgrade,
 * remove and purge (LIFECYCLE) is turned into the deb maintainer scripts and the rpm scriptlets,
 * so the two formats cannot drift: only the mapping of dpkg's arguments and rpm's `$1` to an event
 * differs (each format's phaseEvent). Also written here: the systemd unit and /etc/default/<app>.
 */
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import type { Machine } from '../machine/catalogue.ts';
import { contentsNeedScripts, ownedByAccount, readSourceFile, type Contents, type InstalledFile, type OwnedPath } from './contents.ts';
import type { PackageFormat } from './format.ts';
import { formatOf } from './formats.ts';
import { shellQuote } from '../machine/script.ts';
import type { BuildOptions, Hooks, TimerSpec } from '../options/types.ts';

export type Phase = keyof Hooks;
export const PHASES: Phase[] = ['preinst', 'postinst', 'prerm', 'postrm'];

/** What a phase was called for, the same for deb and rpm (rpm has no purge and no abort-*). */
export type LifecycleEvent = 'install' | 'upgrade' | 'remove' | 'purge' | 'abort-remove' | 'abort-upgrade' | 'abort-install';

type Step = 'account' | 'contents' | 'reload' | 'enable' | 'start' | 'restart' | 'stop' | 'disable' | 'markEnable' | 'markEnableIfNewUnit' | 'forgetEnable' | 'purge';

/**
 * The single description both formats follow. Upgrades do not stop the service in prerm: the new
 * files replace the old ones under the running process, and postinst restarts it once they are all
 * in place (like debhelper's restart-after-upgrade). An admin's `systemctl disable` is kept: only
 * an install enables, and an upgrade restarts only an enabled unit. A marker turns the next
 * configure into an install (enable and start): left by a removal (installing a removed, not
 * purged, deb again is `configure <old-version>`, like an upgrade), and by an upgrade from a
 * version that had no unit.
 */
export const LIFECYCLE: Record<Phase, Partial<Record<LifecycleEvent, Step[]>>> = {
  preinst: { install: ['account'], upgrade: ['account', 'markEnableIfNewUnit'] },
  postinst: {
    install: ['account', 'contents', 'reload', 'enable', 'start', 'forgetEnable'],
    upgrade: ['account', 'contents', 'reload', 'restart'],
    // A failed removal is undone: the unit prerm stopped and disabled comes back.
    'abort-remove': ['enable', 'start'],
  },
  prerm: { remove: ['markEnable', 'stop', 'disable'] },
  postrm: { remove: ['reload'], purge: ['purge', 'reload'] },
};

export interface Account {
  user: string;
  group: string;
  home: string;
}


/** What the package does beyond files: resolved from the options and the source on the host. */
export interface Lifecycle {
  app: string;
  /** `<version>-<iteration>`, given to hooks as NDIST_PACKAGE_VERSION. */
  version: string;
  account?: Account;
  unit?: { name: string; path: string; content: string; enable: boolean; start: boolean; restartOnUpgrade: boolean };
  /** The service's timers (`<app>-<name>.timer`) and their oneshot services: enabled, started, stopped and disabled with the unit. */
  timers: { name: string; files: { path: string; content: string }[] }[];
  /** /etc/default/<app>: sourced by the /usr/bin wrapper and read by the unit; a config file. */
  environmentFile?: string;
  /** Exactly the conffiles / %config(noreplace) files, environment file included. */
  configFiles: InstalledFile[];
  /** Created on install with their owner, removed on purge. */
  directories: OwnedPath[];
  /** Files the package owns but does not ship: created empty on install if absent, removed on purge. */
  ghosts: OwnedPath[];
  /** Shipped files an account owns: given to it after each unpack (dpkg unpacks as root). */
  ownedFiles: InstalledFile[];
  /** Hook scripts' text by phase. */
  hooks: Partial<Record<Phase, string>>;
}

/** Makes the next postinst an install (see LIFECYCLE); cleared by it and by purge. */
function enableMarker(app: string): string {
  return `/var/lib/${app}/.enable-unit`;
}

/** Where units go on the machine's distribution (see each format's unitDir). */
export function systemdUnitDir(machine: Pick<Machine, 'format' | 'os'>): string {
  return formatOf(machine.format).unitDir(machine.os);
}

/** True when the build asks for anything a plain package does not have. */
export function hasLifecycle(options: BuildOptions, contents: Contents): boolean {
  return Boolean(options.service || options.user || contentsNeedScripts(contents) || (options.hooks && Object.keys(options.hooks).length > 0));
}

const HOOK_END = 'NDIST_HOOK_END';

/** Resolve the lifecycle options against the fetched source; undefined when the build has none. */
export function resolveLifecycle(options: BuildOptions, machine: Pick<Machine, 'format' | 'os'>, contents: Contents, sourceDir: string, description: string, version: string): Lifecycle | undefined {
  if (!hasLifecycle(options, contents)) return undefined;
  const app = options.app;
  const account = options.user ? { user: options.user, group: options.group ?? options.user, home: `/var/lib/${app}` } : undefined;
  const configFiles = contents.files.filter((file) => file.config);
  const hooks: Partial<Record<Phase, string>> = {};
  for (const [phase, file] of Object.entries(options.hooks ?? {}) as [Phase, string][]) {
    const text = readSourceFile(sourceDir, file, `hooks.${phase}`).toString('utf8');
    if (text.split('\n').includes(HOOK_END)) throw new ConfigError(`hooks.${phase}`, `"${file}" has a line "${HOOK_END}", which ends the here-document it is embedded in`);
    hooks[phase] = text.endsWith('\n') ? text : `${text}\n`;
  }
  const { directories, ghosts } = contents;
  let unit: Lifecycle['unit'];
  const timers: Lifecycle['timers'] = [];
  let environmentFile: string | undefined;
  if (options.service) {
    environmentFile = `/etc/default/${app}`;
    // A config file the build ships at that path is the environment file; else ndist writes it.
    if (!configFiles.some((file) => file.path === environmentFile)) {
      configFiles.push({ path: environmentFile, mode: 0o644, content: environmentFileText(app, options.service.environment ?? {}), owner: 'root', group: 'root', config: true });
    }
    const name = `${app}.service`;
    const { enable = true, start = true, restartOnUpgrade = true } = options.service;
    unit = { name, path: `${systemdUnitDir(machine)}/${name}`, enable, start, restartOnUpgrade, content: unitFile(options, account, [...directories, ...ghosts], description, environmentFile) };
    const dir = systemdUnitDir(machine);
    for (const job of options.service.timers ?? []) {
      const base = `${app}-${job.name}`;
      timers.push({
        name: `${base}.timer`,
        files: [
          { path: `${dir}/${base}.service`, content: unitFile(options, account, [...directories, ...ghosts], description, environmentFile, job) },
          { path: `${dir}/${base}.timer`, content: timerFile(app, job, `${base}.service`) },
        ],
      });
    }
  }
  const ownedFiles = contents.files.filter(ownedByAccount);
  return { app, version, account, unit, timers, environmentFile, configFiles, directories, ghosts, ownedFiles, hooks };
}

/** Values were checked to hold no ' or \ (see validate.ts): single quotes read literally in sh and in systemd. */
export function environmentFileText(app: string, environment: Record<string, string>): string {
  return [
    `# Environment of ${app}: read by its systemd unit and by /usr/bin/${app}.`,
    '# Edits are kept on upgrade. Restart the service after a change.',
    ...Object.entries(environment).map(([name, value]) => `${name}='${value}'`),
    '',
  ].join('\n');
}

/** One systemd command-line word: double-quoted, `\` and `"` escaped, `%` and `$` doubled (no specifier or variable expansion). */
export function systemdQuote(word: string): string {
  return `"${word.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('%', '%%').replaceAll('$', () => '$$')}"`;
}

/** A unit value that is not a command line: `%` doubled so no specifier expands, no trailing `\` (a line continuation). */
function unitText(value: string): string {
  return value.replaceAll('%', '%%').replace(/\\+$/, '');
}

/** A timer starting its job's oneshot service on the job's calendar; Persistent: a run missed while the host was off happens at boot. */
export function timerFile(app: string, job: TimerSpec, service: string): string {
  return [
    `# Generated by ndist for the ${app} package. Override with: systemctl edit ${app}-${job.name}.timer`,
    '[Unit]',
    `Description=${unitText(`${app}: ${job.name} on schedule`)}`,
    '',
    '[Timer]',
    `OnCalendar=${unitText(job.onCalendar)}`,
    'Persistent=true',
    `Unit=${service}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/**
 * The service's unit, or (`job`) the oneshot service a timer starts: same account, environment and
 * hardening, no Restart= and no [Install] (the timer starts it).
 * `writable`: the directories and ghost files the service may write under ProtectSystem=strict.
 */
export function unitFile(options: BuildOptions, account: Account | undefined, writable: OwnedPath[], description: string, environmentFile: string, job?: TimerSpec): string {
  const service = options.service!;
  const command = job?.command ?? service.command ?? [`/usr/bin/${options.app}`];
  const user = service.user ?? account?.user;
  const group = service.group ?? (user === account?.user ? account?.group : undefined);
  const hardening = { noNewPrivileges: true, protectSystem: 'strict', privateTmp: true, protectHome: true, ...service.hardening };
  const writablePaths = [...new Set([...(account ? [account.home] : []), ...writable.map((entry) => entry.path)])];
  const lines = [
    `# Generated by ndist for the ${options.app} package. Override with: systemctl edit ${job ? `${options.app}-${job.name}` : options.app}`,
    '[Unit]',
    `Description=${unitText(`${service.description ?? description}${job ? ` (${job.name})` : ''}`)}`,
    // Documentation= takes URIs separated by spaces: only a plain http(s) one is written.
    ...(options.homepage && /^https?:\/\/\S+$/.test(options.homepage) ? [`Documentation=${unitText(options.homepage)}`] : []),
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    `Type=${job ? 'oneshot' : 'simple'}`,
    `EnvironmentFile=-${environmentFile}`,
    `ExecStart=${command[0]}${command.slice(1).map((arg) => ` ${systemdQuote(arg)}`).join('')}`,
    ...(user ? [`User=${user}`] : []),
    ...(group ? [`Group=${group}`] : []),
    `WorkingDirectory=${service.workingDirectory ?? account?.home ?? '/'}`,
    ...(job ? [] : [`Restart=${service.restart ?? 'on-failure'}`, `RestartSec=${service.restartSec ?? 5}`]),
    ...(hardening.noNewPrivileges ? ['NoNewPrivileges=yes'] : []),
    ...(hardening.protectSystem !== 'no' ? [`ProtectSystem=${hardening.protectSystem}`] : []),
    ...(hardening.protectSystem === 'strict' && writablePaths.length > 0 ? [`ReadWritePaths=${writablePaths.join(' ')}`] : []),
    ...(hardening.privateTmp ? ['PrivateTmp=yes'] : []),
    ...(hardening.protectHome ? ['ProtectHome=yes'] : []),
    '',
    ...(job ? [] : ['[Install]', 'WantedBy=multi-user.target', '']),
  ];
  return lines.join('\n');
}

/** The variables and the shell functions a phase's steps use; each value is shell-quoted. */
function prelude(lifecycle: Lifecycle, steps: Set<Step>): string[] {
  const q = shellQuote;
  const { account, unit, app } = lifecycle;
  const lines = [
    `app=${q(app)}`,
    `unit=${q(unit?.name ?? `${app}.service`)}`,
    ...(lifecycle.timers.length > 0 ? [`timers=${q(lifecycle.timers.map((timer) => timer.name).join(' '))}`] : []),
    `enable_marker=${q(enableMarker(app))}`,
    'note() { echo "$app: $*"; }',
    // Containers and chroots have no running systemd: say so and go on, never fail.
    'systemd_running() { [ -d /run/systemd/system ]; }',
  ];
  if (!account) return lines;
  lines.push(
    `user=${q(account.user)} group=${q(account.group)} home=${q(account.home)}`,
    // The account's GECOS records what the package created, so purge removes only that.
    `marker=${q(`created by package ${app}`)}`,
  );
  if (steps.has('account')) {
    lines.push(
      'create_account() {',
      '  created_group=',
      '  if ! getent group "$group" >/dev/null; then',
      '    groupadd --system "$group"',
      '    created_group=" with group $group"',
      '    note "created system group $group"',
      '  fi',
      '  if ! getent passwd "$user" >/dev/null; then',
      `    useradd --system --gid "$group" --home-dir "$home" --no-create-home --shell /usr/sbin/nologin --comment "$app service ($marker$created_group)" "$user"`,
      '    note "created system user $user"',
      '  fi',
      '  [ -d "$home" ] || install -d -o "$user" -g "$group" -m 0750 "$home"',
      '}',
    );
  }
  if (steps.has('purge')) {
    lines.push(
      'remove_account() {',
      '  gecos=$(getent passwd "$user" | cut -d: -f5)',
      '  case "$gecos" in',
      '    *"($marker"*)',
      '      userdel "$user" && note "removed system user $user"',
      '      case "$gecos" in',
      '        *" with group $group)"*) ! getent group "$group" >/dev/null || { groupdel "$group" && note "removed system group $group"; } ;;',
      '      esac',
      '      ;;',
      '    "") ;;',
      '    *) note "keeping user $user: it was not created by this package" ;;',
      '  esac',
      '}',
    );
  }
  return lines;
}

/** The unit's step, then the same for its timers (their names are in $timers, one word each). */
function stepLines(step: Step, lifecycle: Lifecycle): string[] {
  const lines = unitStepLines(step, lifecycle);
  if (lifecycle.timers.length === 0) return lines;
  const unit = lifecycle.unit!;
  switch (step) {
    case 'enable':
      return unit.enable ? [...lines, 'for timer in $timers; do systemctl enable "$timer" 2>&1 | sed "s/^/$app: /" || true; done'] : lines;
    case 'start':
      return unit.start ? [...lines, 'if systemd_running; then for timer in $timers; do systemctl start "$timer" || note "$timer failed to start"; done; fi'] : lines;
    case 'stop':
      // The timer, and its job if it is running.
      return [...lines, 'if systemd_running; then for timer in $timers; do systemctl stop "$timer" "${timer%.timer}.service" || true; done; fi'];
    case 'disable':
      return [...lines, 'if command -v systemctl >/dev/null; then for timer in $timers; do systemctl disable "$timer" 2>&1 | sed "s/^/$app: /"; done; fi'];
    default:
      return lines;
  }
}

function unitStepLines(step: Step, lifecycle: Lifecycle): string[] {
  const q = shellQuote;
  const hasUnit = lifecycle.unit !== undefined;
  switch (step) {
    case 'account':
      return lifecycle.account ? ['create_account'] : [];
    case 'contents':
      // After the account exists: directories first (a ghost may be inside one), then ghosts, then
      // the owner of shipped files, which dpkg unpacks as root on every install and upgrade.
      return [
        ...lifecycle.directories.map((dir) => `[ -d ${q(dir.path)} ] || install -d -o ${q(dir.owner)} -g ${q(dir.group)} -m ${q(dir.mode)} ${q(dir.path)}`),
        ...lifecycle.ghosts.map((ghost) => `[ -e ${q(ghost.path)} ] || { mkdir -p ${q(path.posix.dirname(ghost.path))}; install -m ${q(ghost.mode)} -o ${q(ghost.owner)} -g ${q(ghost.group)} /dev/null ${q(ghost.path)}; }`),
        ...lifecycle.ownedFiles.map((file) => `chown ${q(`${file.owner}:${file.group}`)} ${q(file.path)}`),
      ];
    case 'reload':
      return hasUnit ? ['if systemd_running; then systemctl daemon-reload; fi'] : [];
    case 'enable':
      if (hasUnit && !lifecycle.unit!.enable) return ['note "$unit not enabled (service.enable is false): systemctl enable $unit to start it at boot"'];
      // systemctl enable only writes symlinks: it works with systemd not running, so the next boot starts the unit.
      return hasUnit ? ['if command -v systemctl >/dev/null; then systemctl enable "$unit" 2>&1 | sed "s/^/$app: /"; else note "systemctl not found: $unit not enabled"; fi'] : [];
    case 'start':
      if (hasUnit && !lifecycle.unit!.start) return ['note "$unit not started (service.start is false): systemctl start $unit"'];
      return hasUnit
        ? ['if systemd_running; then systemctl start "$unit" || note "$unit failed to start: see journalctl -u $unit"; else note "systemd is not running (container or chroot?): $unit not started"; fi']
        : [];
    case 'restart':
      // The old code keeps running: the operator restarts it at a time of their choosing.
      if (hasUnit && !lifecycle.unit!.restartOnUpgrade) return ['note "$unit not restarted (service.restartOnUpgrade is false): it runs the old version until systemctl restart $unit"'];
      return hasUnit
        ? [
            'if ! systemd_running; then note "systemd is not running (container or chroot?): $unit not restarted"',
            'elif systemctl is-enabled --quiet "$unit"; then systemctl restart "$unit" || note "$unit failed to restart: see journalctl -u $unit"',
            'else note "$unit is disabled: not restarted"; fi',
          ]
        : [];
    case 'stop':
      return hasUnit ? ['if systemd_running; then systemctl stop "$unit" || true; else note "systemd is not running: $unit not stopped"; fi'] : [];
    case 'disable':
      return hasUnit ? ['if command -v systemctl >/dev/null; then systemctl disable "$unit" 2>&1 | sed "s/^/$app: /"; fi'] : [];
    case 'markEnable':
      return hasUnit ? [`mkdir -p ${q(path.posix.dirname(enableMarker(lifecycle.app)))}`, 'touch "$enable_marker"'] : [];
    case 'markEnableIfNewUnit':
      // Before unpacking: the old version's files are still in place.
      return hasUnit ? [`[ -e ${q(lifecycle.unit!.path)} ] || { mkdir -p ${q(path.posix.dirname(enableMarker(lifecycle.app)))}; touch "$enable_marker"; }`] : [];
    case 'forgetEnable':
      return hasUnit ? ['rm -f "$enable_marker"'] : [];
    case 'purge':
      return [
        ...lifecycle.directories.map((dir) => `rm -rf ${q(dir.path)}`),
        ...lifecycle.ghosts.map((ghost) => `rm -f ${q(ghost.path)}`),
        // systemd's record of a Persistent timer's last run, which it keeps after the unit is gone.
        ...lifecycle.timers.map((timer) => `rm -f ${q(`/var/lib/systemd/timers/stamp-${timer.name}`)}`),
        ...(lifecycle.account ? ['rm -rf "$home"', 'remove_account'] : []),
        ...(hasUnit ? ['rm -f "$enable_marker"', `rmdir ${q(path.posix.dirname(enableMarker(lifecycle.app)))} 2>/dev/null || true`] : []),
        // dpkg removes the conffiles; what it leaves beside them (.dpkg-old, .dpkg-dist) goes too.
        ...lifecycle.configFiles.map((file) => `rm -f ${q(file.path)}.dpkg-old ${q(file.path)}.dpkg-dist ${q(file.path)}.dpkg-new`),
        ...[...new Set(lifecycle.configFiles.map((file) => path.posix.dirname(file.path)))]
          .filter((dir) => path.posix.basename(dir) === lifecycle.app)
          .map((dir) => `rmdir ${q(dir)} 2>/dev/null || true`),
      ];
  }
}

/** The script of one phase: event from the format's arguments, ndist's steps, then the build's hook. */
export function phaseScript(lifecycle: Lifecycle, phase: Phase, format: PackageFormat): string {
  const lines = [
    '#!/bin/sh',
    `# Generated by ndist: ${phase} of ${lifecycle.app} (${format}). Steps per event are described in ndist's src/package/service.ts.`,
    'set -e',
    ...prelude(lifecycle, new Set(Object.values(LIFECYCLE[phase]).flat())),
    ...formatOf(format).phaseEvent(phase),
  ];
  const events = Object.entries(LIFECYCLE[phase]) as [LifecycleEvent, Step[]][];
  const cases = events
    .map(([event, steps]) => [event, steps.flatMap((step) => stepLines(step, lifecycle))] as const)
    .filter(([, body]) => body.length > 0);
  if (cases.length > 0) {
    lines.push('case "$event" in');
    for (const [event, body] of cases) lines.push(`  ${event})`, ...body.map((line) => `    ${line}`), '    ;;');
    lines.push('esac');
  }
  if (phase === 'postrm') lines.push(...(formatOf(format).postrmRestore ?? []));
  const hook = lifecycle.hooks[phase];
  if (hook) {
    // The build's own script, run by sh with the event as $1; it fails the phase when it fails.
    lines.push(`NDIST_PACKAGE_VERSION=${shellQuote(lifecycle.version)} sh -s -- "$event" <<'${HOOK_END}'`, hook.replace(/\n$/, ''), HOOK_END);
  }
  lines.push('exit 0', '');
  return lines.join('\n');
}

/** The four maintainer scripts of the format (deb), or its four scriptlets' bodies (rpm). */
export function phaseScripts(lifecycle: Lifecycle, format: PackageFormat): Record<Phase, string> {
  return Object.fromEntries(PHASES.map((phase) => [phase, phaseScript(lifecycle, phase, format)])) as Record<Phase, string>;
}
