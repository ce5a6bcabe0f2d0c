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
import type { BuildOptions, Hooks, ServiceType, SocketSpec, TimerSpec } from '../options/types.ts';

export type Phase = keyof Hooks;
export const PHASES: Phase[] = ['preinst', 'postinst', 'prerm', 'postrm'];

/** What a phase was called for, the same for deb and rpm (rpm has no purge and no abort-*). */
export type LifecycleEvent = 'install' | 'upgrade' | 'remove' | 'purge' | 'abort-remove' | 'abort-upgrade' | 'abort-install';

type Step = 'account' | 'contents' | 'reload' | 'enable' | 'start' | 'restart' | 'ready' | 'stop' | 'disable' | 'markEnable' | 'markEnableIfNewUnit' | 'forgetEnable' | 'purge';

/**
 * The single description both formats follow. Upgrades do not stop the service in prerm: the new
 * files replace the old ones under the running process, and postinst restarts it once they are all
 * in place (like debhelper's restart-after-upgrade). An admin's `systemctl disable` is kept: only
 * an install enables, and an upgrade restarts only an enabled unit. A marker turns the next
 * configure into an install (enable and start): left by a removal (installing a removed, not
 * purged, deb again is `configure <old-version>`, like an upgrade), and by an upgrade from a
 * version that had no unit; a marker per unit does the same for one unit (or timer) that is new
 * in an upgrade. `ready`: a Type=notify unit that did not start fails the phase, so the package
 * manager reports the install or upgrade as failed (the marker stays: running it again retries).
 */
export const LIFECYCLE: Record<Phase, Partial<Record<LifecycleEvent, Step[]>>> = {
  preinst: { install: ['account'], upgrade: ['account', 'markEnableIfNewUnit'] },
  postinst: {
    install: ['account', 'contents', 'reload', 'enable', 'start', 'ready', 'forgetEnable'],
    upgrade: ['account', 'contents', 'reload', 'restart', 'ready'],
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


/** A unit file the package installs. */
export interface UnitFile {
  /** `<app>.service`, `<app>-<name>.socket`… */
  name: string;
  path: string;
  content: string;
}

/** A long-running unit of the service: `<app>.service` (the main one) or `<app>-<name>.service`. */
export interface ServiceUnit extends UnitFile {
  /** Type=notify: its start waits for READY=1, and a start that fails fails the install or upgrade. */
  notify: boolean;
  /** Socket activation: the socket is enabled and started instead of the service, which its first connection starts. */
  socket?: UnitFile;
}

/** What the package does beyond files: resolved from the options and the source on the host. */
export interface Lifecycle {
  app: string;
  /** `<version>-<iteration>`, given to hooks as NDIST_PACKAGE_VERSION. */
  version: string;
  account?: Account;
  /** The service's long-running units (the main one first) and what install and upgrade do with every unit of the package. */
  service?: { units: ServiceUnit[]; enable: boolean; start: boolean; restartOnUpgrade: boolean };
  /** The service's timers (`<app>-<name>.timer`) and their oneshot services: enabled, started, restarted, stopped and disabled with the units. */
  timers: { name: string; files: UnitFile[] }[];
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
  let service: Lifecycle['service'];
  const timers: Lifecycle['timers'] = [];
  let environmentFile: string | undefined;
  if (options.service) {
    const envFile = `/etc/default/${app}`;
    environmentFile = envFile;
    // A config file the build ships at that path is the environment file; else ndist writes it.
    if (!configFiles.some((file) => file.path === envFile)) {
      configFiles.push({ path: envFile, mode: 0o644, content: environmentFileText(app, options.service.environment ?? {}), owner: 'root', group: 'root', config: true });
    }
    const dir = systemdUnitDir(machine);
    const unit = (name: string, content: string): UnitFile => ({ name, path: `${dir}/${name}`, content });
    const writable = [...directories, ...ghosts];
    const { enable = true, start = true, restartOnUpgrade = true } = options.service;
    // The main unit and each of `units` go through the same code: one shape each.
    const shapes = serviceShapes(options);
    const units = shapes.map((shape): ServiceUnit => ({
      ...unit(`${shape.base}.service`, unitFile(options, account, writable, description, envFile, shape)),
      notify: shape.type === 'notify',
      ...(shape.socket ? { socket: unit(`${shape.base}.socket`, socketFile(app, { ...shape, description: shape.description ?? options.service!.description ?? description }, options.service!.user ?? account?.user, options.service!.group ?? account?.group)) } : {}),
    }));
    service = { units, enable, start, restartOnUpgrade };
    for (const job of options.service.timers ?? []) {
      const base = `${app}-${job.name}`;
      timers.push({
        name: `${base}.timer`,
        files: [
          unit(`${base}.service`, unitFile(options, account, writable, description, envFile, { base, label: job.name, command: job.command, type: 'oneshot' })),
          unit(`${base}.timer`, timerFile(app, job, `${base}.service`)),
        ],
      });
    }
  }
  const ownedFiles = contents.files.filter(ownedByAccount);
  return { app, version, account, service, timers, environmentFile, configFiles, directories, ghosts, ownedFiles, hooks };
}

/** What a service unit is made of: `<base>.service` running `command`; `label` names an extra unit or a timer's job in its Description. */
export interface UnitShape {
  base: string;
  label?: string;
  command: string[];
  description?: string;
  type: ServiceType | 'oneshot';
  socket?: SocketSpec;
}

/** The service's long-running units: the main one, then each of `service.units`. */
export function serviceShapes(options: BuildOptions): UnitShape[] {
  const service = options.service!;
  return [
    { base: options.app, command: service.command ?? [`/usr/bin/${options.app}`], type: service.type ?? 'simple', ...(service.description ? { description: service.description } : {}), ...(service.socket ? { socket: service.socket } : {}) },
    ...(service.units ?? []).map((extra): UnitShape => ({
      base: `${options.app}-${extra.name}`,
      label: extra.name,
      command: extra.command,
      type: extra.type ?? 'simple',
      ...(extra.description ? { description: extra.description } : {}),
      ...(extra.socket ? { socket: extra.socket } : {}),
    })),
  ];
}

/** Every unit file name the service gives the package (what `contents` may not take). */
export function serviceUnitNames(options: BuildOptions): string[] {
  if (!options.service) return [];
  return [
    ...serviceShapes(options).flatMap((shape) => [`${shape.base}.service`, ...(shape.socket ? [`${shape.base}.socket`] : [])]),
    ...(options.service.timers ?? []).flatMap((job) => [`${options.app}-${job.name}.service`, `${options.app}-${job.name}.timer`]),
  ];
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
 * A socket starting `<base>.service` (the same name) on its first connection. A socket file under
 * /run belongs to the service's account, so the service can be reached by it and its group only.
 */
export function socketFile(app: string, shape: UnitShape, user: string | undefined, group: string | undefined): string {
  const paths = shape.socket!.listen.some((listen) => listen.startsWith('/'));
  return [
    `# Generated by ndist for the ${app} package. Override with: systemctl edit ${shape.base}.socket`,
    '[Unit]',
    `Description=${unitText(`${shape.description ?? app}${shape.label ? ` (${shape.label})` : ''}: socket`)}`,
    '',
    '[Socket]',
    ...shape.socket!.listen.map((listen) => `ListenStream=${listen}`),
    ...(paths ? ['SocketMode=0660', ...(user ? [`SocketUser=${user}`] : []), ...(group ? [`SocketGroup=${group}`] : [])] : []),
    '',
    '[Install]',
    'WantedBy=sockets.target',
    '',
  ].join('\n');
}

/**
 * A service unit: a long-running one, socket-activated or not, or a timer's oneshot job (same
 * account, environment and hardening, no Restart= and no [Install]: the timer starts it).
 * `writable`: the directories and ghost files the service may write under ProtectSystem=strict.
 */
export function unitFile(options: BuildOptions, account: Account | undefined, writable: OwnedPath[], description: string, environmentFile: string, shape: UnitShape): string {
  const service = options.service!;
  const job = shape.type === 'oneshot';
  const socket = shape.socket ? `${shape.base}.socket` : undefined;
  const command = shape.command;
  const user = service.user ?? account?.user;
  const group = service.group ?? (user === account?.user ? account?.group : undefined);
  const hardening = { noNewPrivileges: true, protectSystem: 'strict', privateTmp: true, protectHome: true, ...service.hardening };
  const writablePaths = [...new Set([...(account ? [account.home] : []), ...writable.map((entry) => entry.path)])];
  const lines = [
    `# Generated by ndist for the ${options.app} package. Override with: systemctl edit ${shape.base}`,
    '[Unit]',
    `Description=${unitText(shape.description ?? `${service.description ?? description}${shape.label ? ` (${shape.label})` : ''}`)}`,
    // Documentation= takes URIs separated by spaces: only a plain http(s) one is written.
    ...(options.homepage && /^https?:\/\/\S+$/.test(options.homepage) ? [`Documentation=${unitText(options.homepage)}`] : []),
    'Wants=network-online.target',
    `After=network-online.target${socket ? ` ${socket}` : ''}`,
    // Stopping or restarting the socket (remove, upgrade) stops or restarts a running service with it.
    ...(socket ? [`Requires=${socket}`] : []),
    '',
    '[Service]',
    `Type=${shape.type}`,
    // READY=1 is taken from any process of the service: a Node app sends it with systemd-notify, a child process (see README).
    ...(shape.type === 'notify' ? ['NotifyAccess=all'] : []),
    ...(!job && service.startTimeoutSec !== undefined ? [`TimeoutStartSec=${service.startTimeoutSec}`] : []),
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
    // A timer's job is started by its timer, a socket-activated service by its socket: neither is enabled itself.
    ...(job || socket ? [] : ['[Install]', 'WantedBy=multi-user.target', '']),
  ];
  return lines.join('\n');
}

/**
 * What the package enables and starts, one entry per unit: each long-running service (its socket
 * when it is socket-activated), then each timer. `stops`: what goes down with it on removal (the
 * service behind a socket, a timer's job). `ready`: a start that fails fails the phase.
 */
interface Entry {
  unit: string;
  path: string;
  ready: boolean;
  stops: string[];
}

function entries(lifecycle: Lifecycle): Entry[] {
  return [
    ...(lifecycle.service?.units ?? []).map((unit): Entry =>
      unit.socket ? { unit: unit.socket.name, path: unit.socket.path, ready: false, stops: [unit.socket.name, unit.name] } : { unit: unit.name, path: unit.path, ready: unit.notify, stops: [unit.name] },
    ),
    ...lifecycle.timers.map((timer): Entry => ({ unit: timer.name, path: timer.files.find((file) => file.name === timer.name)!.path, ready: false, stops: timer.files.map((file) => file.name).reverse() })),
  ];
}

/** The variables and the shell functions a phase's steps use; each value is shell-quoted. */
function prelude(lifecycle: Lifecycle, steps: Set<Step>): string[] {
  const q = shellQuote;
  const { account, app } = lifecycle;
  const lines = [
    `app=${q(app)}`,
    `enable_marker=${q(enableMarker(app))}`,
    'note() { echo "$app: $*"; }',
    // Containers and chroots have no running systemd: say so and go on, never fail.
    'systemd_running() { [ -d /run/systemd/system ]; }',
  ];
  if (lifecycle.service && steps.has('disable')) {
    lines.push('disable_unit() {', '  if command -v systemctl >/dev/null; then systemctl disable "$1" 2>&1 | sed "s/^/$app: /"; fi', '}');
  }
  if (lifecycle.service && ['enable', 'start', 'restart'].some((step) => steps.has(step as Step))) {
    lines.push(
      // Units whose start failed and must not (Type=notify): the `ready` step fails the phase.
      'failed=',
      // systemctl enable only writes symlinks: it works with systemd not running, so the next boot starts the unit.
      'enable_unit() {',
      '  if command -v systemctl >/dev/null; then systemctl enable "$1" 2>&1 | sed "s/^/$app: /"; else note "systemctl not found: $1 not enabled"; fi',
      '}',
      // $2 "ready": a Type=notify service, whose start waits for READY=1 and must succeed.
      'start_unit() {',
      '  if ! systemd_running; then note "systemd is not running (container or chroot?): $1 not started"',
      '  elif ! systemctl start "$1"; then note "$1 failed to start: see journalctl -u $1"; if [ "$2" = ready ]; then failed="$failed $1"; fi',
      '  fi',
      '}',
      // An admin's disable is kept: only an enabled unit is restarted.
      'restart_unit() {',
      '  if ! systemd_running; then note "systemd is not running (container or chroot?): $1 not restarted"',
      '  elif ! systemctl is-enabled --quiet "$1"; then note "$1 is disabled: not restarted"',
      '  elif ! systemctl restart "$1"; then note "$1 failed to restart: see journalctl -u $1"; if [ "$2" = ready ]; then failed="$failed $1"; fi',
      '  fi',
      '}',
    );
  }
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
  const service = lifecycle.service;
  const all = entries(lifecycle);
  const marker = (entry: Entry) => `${enableMarker(lifecycle.app)}.${entry.unit}`;
  const install = (entry: Entry) => [
    service!.enable ? `enable_unit ${q(entry.unit)}` : `note ${q(`${entry.unit} not enabled (service.enable is false): systemctl enable ${entry.unit} to start it at boot`)}`,
    service!.start ? `start_unit ${q(entry.unit)}${entry.ready ? ' ready' : ''}` : `note ${q(`${entry.unit} not started (service.start is false): systemctl start ${entry.unit}`)}`,
  ];
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
      return service ? ['if systemd_running; then systemctl daemon-reload; fi'] : [];
    case 'enable':
      return service ? all.map((entry) => install(entry)[0]!) : [];
    case 'start':
      return service ? all.map((entry) => install(entry)[1]!) : [];
    case 'restart': {
      // The old code keeps running: the operator restarts it at a time of their choosing.
      const restart = (entry: Entry) =>
        service!.restartOnUpgrade
          ? `restart_unit ${q(entry.unit)}${entry.ready ? ' ready' : ''}`
          : `note ${q(`${entry.unit} not restarted (service.restartOnUpgrade is false): it runs the old version until systemctl restart ${entry.unit}`)}`;
      // A unit new in this version (preinst left its marker) is installed, the others restarted; a
      // new main unit made the whole upgrade an install (see LIFECYCLE).
      return all.flatMap((entry, index) =>
        index === 0
          ? [restart(entry)]
          : [`if [ -e ${q(marker(entry))} ]; then`, `  rm -f ${q(marker(entry))}`, ...install(entry).map((line) => `  ${line}`), 'else', `  ${restart(entry)}`, 'fi'],
      );
    }
    case 'ready':
      return all.some((entry) => entry.ready)
        ? [`if [ -n "$failed" ]; then note "not ready:$failed (no READY=1 within TimeoutStartSec, or it exited): the ${'$event'} fails; fix it and configure the package again"; exit 1; fi`]
        : [];
    case 'stop': {
      const names = all.flatMap((entry) => entry.stops).join(' ');
      return service ? [`if systemd_running; then systemctl stop ${names} || true; else note ${q(`systemd is not running: ${names} not stopped`)}; fi`] : [];
    }
    case 'disable':
      return service ? all.map((entry) => `disable_unit ${q(entry.unit)}`) : [];
    case 'markEnable':
      return service ? [`mkdir -p ${q(path.posix.dirname(enableMarker(lifecycle.app)))}`, 'touch "$enable_marker"'] : [];
    case 'markEnableIfNewUnit': {
      // Before unpacking: the old version's files are still in place. No main unit: the upgrade is an
      // install of everything; else each unit (or timer) the old version did not have gets its marker.
      if (!service) return [];
      const dir = q(path.posix.dirname(enableMarker(lifecycle.app)));
      const main = `[ -e ${q(service.units[0]!.path)} ] || { mkdir -p ${dir}; touch "$enable_marker"; }`;
      const others = all.slice(1).map((entry) => `  [ -e ${q(entry.path)} ] || { mkdir -p ${dir}; touch ${q(marker(entry))}; }`);
      return others.length > 0 ? [`if [ -e ${q(service.units[0]!.path)} ]; then`, ...others, 'else', `  mkdir -p ${dir}; touch "$enable_marker"`, 'fi'] : [main];
    }
    case 'forgetEnable':
      return service ? ['rm -f "$enable_marker" "$enable_marker".*'] : [];
    case 'purge':
      return [
        ...lifecycle.directories.map((dir) => `rm -rf ${q(dir.path)}`),
        ...lifecycle.ghosts.map((ghost) => `rm -f ${q(ghost.path)}`),
        // systemd's record of a Persistent timer's last run, which it keeps after the unit is gone.
        ...lifecycle.timers.map((timer) => `rm -f ${q(`/var/lib/systemd/timers/stamp-${timer.name}`)}`),
        ...(lifecycle.account ? ['rm -rf "$home"', 'remove_account'] : []),
        ...(service ? ['rm -f "$enable_marker" "$enable_marker".*', `rmdir ${q(path.posix.dirname(enableMarker(lifecycle.app)))} 2>/dev/null || true`] : []),
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
