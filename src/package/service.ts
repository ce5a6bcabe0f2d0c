/**
 * Stage: what makes a package a well-behaved service. From the build's `service`, `user`,
 * `configFiles`, `directories` and `hooks`, one description of what happens at install, upgrade,
 * remove and purge (LIFECYCLE) is turned into the deb maintainer scripts and the rpm scriptlets,
 * so the two formats cannot drift: only the mapping of dpkg's arguments and rpm's `$1` to an event
 * differs (each format's phaseEvent). Also written here: the systemd unit and /etc/default/<app>.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import type { Machine } from '../machine/catalogue.ts';
import type { PackageFormat } from './format.ts';
import { formatOf } from './formats.ts';
import { shellQuote } from '../machine/script.ts';
import type { BuildOptions, Hooks } from '../options/types.ts';

export type Phase = keyof Hooks;
export const PHASES: Phase[] = ['preinst', 'postinst', 'prerm', 'postrm'];

/** What a phase was called for, the same for deb and rpm (rpm has no purge and no abort-*). */
export type LifecycleEvent = 'install' | 'upgrade' | 'remove' | 'purge' | 'abort-remove' | 'abort-upgrade' | 'abort-install';

type Step = 'account' | 'directories' | 'reload' | 'enable' | 'start' | 'restart' | 'stop' | 'disable' | 'markEnable' | 'markEnableIfNewUnit' | 'forgetEnable' | 'purge';

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
    install: ['account', 'directories', 'reload', 'enable', 'start', 'forgetEnable'],
    upgrade: ['account', 'directories', 'reload', 'restart'],
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

export interface OwnedDirectory {
  path: string;
  owner: string;
  group: string;
  mode: string;
}

export interface PackagedFile {
  path: string;
  mode: number;
  content: string | Buffer;
}

/** What the package does beyond files: resolved from the options and the source on the host. */
export interface Lifecycle {
  app: string;
  /** `<version>-<iteration>`, given to hooks as NDIST_PACKAGE_VERSION. */
  version: string;
  account?: Account;
  unit?: { name: string; path: string; content: string };
  /** /etc/default/<app>: sourced by the /usr/bin wrapper and read by the unit; a config file. */
  environmentFile?: string;
  /** Exactly the conffiles / %config(noreplace) files, environment file included. */
  configFiles: PackagedFile[];
  directories: OwnedDirectory[];
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
export function hasLifecycle(options: BuildOptions): boolean {
  return Boolean(options.service || options.user || options.configFiles?.length || options.directories?.length || (options.hooks && Object.keys(options.hooks).length > 0));
}

const HOOK_END = 'NDIST_HOOK_END';

function readSourceFile(sourceDir: string, relative: string, field: string): Buffer {
  const file = path.join(sourceDir, relative);
  if (!existsSync(file) || !statSync(file).isFile()) throw new ConfigError(field, `"${relative}" is not a file in the source`);
  return readFileSync(file);
}

/** Resolve the lifecycle options against the fetched source; undefined when the build has none. */
export function resolveLifecycle(options: BuildOptions, machine: Pick<Machine, 'format' | 'os'>, sourceDir: string, description: string, version: string): Lifecycle | undefined {
  if (!hasLifecycle(options)) return undefined;
  const app = options.app;
  const account = options.user ? { user: options.user, group: options.group ?? options.user, home: `/var/lib/${app}` } : undefined;
  const configFiles: PackagedFile[] = (options.configFiles ?? []).map((file, index) => ({
    path: file.path,
    mode: Number.parseInt(file.mode ?? '0644', 8),
    content: readSourceFile(sourceDir, file.source, `configFiles[${index}].source`),
  }));
  const hooks: Partial<Record<Phase, string>> = {};
  for (const [phase, file] of Object.entries(options.hooks ?? {}) as [Phase, string][]) {
    const text = readSourceFile(sourceDir, file, `hooks.${phase}`).toString('utf8');
    if (text.split('\n').includes(HOOK_END)) throw new ConfigError(`hooks.${phase}`, `"${file}" has a line "${HOOK_END}", which ends the here-document it is embedded in`);
    hooks[phase] = text.endsWith('\n') ? text : `${text}\n`;
  }
  const directories: OwnedDirectory[] = (options.directories ?? []).map((dir) => {
    const owner = dir.owner ?? account?.user ?? 'root';
    return { path: dir.path, owner, group: dir.group ?? (owner === account?.user ? account.group : owner), mode: dir.mode ?? '0750' };
  });
  let unit: Lifecycle['unit'];
  let environmentFile: string | undefined;
  if (options.service) {
    environmentFile = `/etc/default/${app}`;
    // A config file the build ships at that path is the environment file; else ndist writes it.
    if (!configFiles.some((file) => file.path === environmentFile)) {
      configFiles.push({ path: environmentFile, mode: 0o644, content: environmentFileText(app, options.service.environment ?? {}) });
    }
    const name = `${app}.service`;
    unit = { name, path: `${systemdUnitDir(machine)}/${name}`, content: unitFile(options, account, directories, description, environmentFile) };
  }
  return { app, version, account, unit, environmentFile, configFiles, directories, hooks };
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

export function unitFile(options: BuildOptions, account: Account | undefined, directories: OwnedDirectory[], description: string, environmentFile: string): string {
  const service = options.service!;
  const command = service.command ?? [`/usr/bin/${options.app}`];
  const user = service.user ?? account?.user;
  const group = service.group ?? (user === account?.user ? account?.group : undefined);
  const hardening = { noNewPrivileges: true, protectSystem: 'strict', privateTmp: true, protectHome: true, ...service.hardening };
  const writable = [...new Set([...(account ? [account.home] : []), ...directories.map((dir) => dir.path)])];
  const lines = [
    `# Generated by ndist for the ${options.app} package. Override with: systemctl edit ${options.app}`,
    '[Unit]',
    `Description=${unitText(service.description ?? description)}`,
    // Documentation= takes URIs separated by spaces: only a plain http(s) one is written.
    ...(options.homepage && /^https?:\/\/\S+$/.test(options.homepage) ? [`Documentation=${unitText(options.homepage)}`] : []),
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `EnvironmentFile=-${environmentFile}`,
    `ExecStart=${command[0]}${command.slice(1).map((arg) => ` ${systemdQuote(arg)}`).join('')}`,
    ...(user ? [`User=${user}`] : []),
    ...(group ? [`Group=${group}`] : []),
    `WorkingDirectory=${service.workingDirectory ?? account?.home ?? '/'}`,
    `Restart=${service.restart ?? 'on-failure'}`,
    `RestartSec=${service.restartSec ?? 5}`,
    ...(hardening.noNewPrivileges ? ['NoNewPrivileges=yes'] : []),
    ...(hardening.protectSystem !== 'no' ? [`ProtectSystem=${hardening.protectSystem}`] : []),
    ...(hardening.protectSystem === 'strict' && writable.length > 0 ? [`ReadWritePaths=${writable.join(' ')}`] : []),
    ...(hardening.privateTmp ? ['PrivateTmp=yes'] : []),
    ...(hardening.protectHome ? ['ProtectHome=yes'] : []),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
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

function stepLines(step: Step, lifecycle: Lifecycle): string[] {
  const q = shellQuote;
  const hasUnit = lifecycle.unit !== undefined;
  switch (step) {
    case 'account':
      return lifecycle.account ? ['create_account'] : [];
    case 'directories':
      return lifecycle.directories.map((dir) => `[ -d ${q(dir.path)} ] || install -d -o ${q(dir.owner)} -g ${q(dir.group)} -m ${q(dir.mode)} ${q(dir.path)}`);
    case 'reload':
      return hasUnit ? ['if systemd_running; then systemctl daemon-reload; fi'] : [];
    case 'enable':
      // systemctl enable only writes symlinks: it works with systemd not running, so the next boot starts the unit.
      return hasUnit ? ['if command -v systemctl >/dev/null; then systemctl enable "$unit" 2>&1 | sed "s/^/$app: /"; else note "systemctl not found: $unit not enabled"; fi'] : [];
    case 'start':
      return hasUnit
        ? ['if systemd_running; then systemctl start "$unit" || note "$unit failed to start: see journalctl -u $unit"; else note "systemd is not running (container or chroot?): $unit not started"; fi']
        : [];
    case 'restart':
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
