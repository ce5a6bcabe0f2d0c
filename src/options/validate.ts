/**
 * Checks a build's options before anything runs, so a mistake is reported with the field that is
 * wrong and what would be right, not as a failure deep inside a container. What each option may
 * hold is stated once, in ndist.config.schema.json; this module adds the rules a schema cannot state.
 */
import { existsSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { fieldName, schemaProblems } from '../util/schema.ts';
import { schemaValidator } from './schema.ts';
import { toPackageVersion } from '../util/package-version.ts';
import { contentEntries } from './contents.ts';
import { globPattern, matchesAny } from '../in-machine/stage-app.ts';
import type { BuildOptions, EngineOptions, SourceSpec } from './types.ts';
import { checkSmoke } from '../verify/smoke.ts';
import { serviceUnitNames } from '../package/service.ts';
import { checkWorkspace, normaliseWorkspace } from '../package/workspace.ts';

/** Upstream version as Debian and RPM both accept it, after semver's pre-release dash became `~`. */
const PACKAGE_VERSION = /^[0-9][A-Za-z0-9.+~]*$/;
/** Characters allowed in a path a maintainer script or unit names; no quoting tricks, no spaces. */
const SAFE_PATH = /^(\/[A-Za-z0-9._+@-]+)+$/;
const SYSTEM_DIRS = new Set(['/etc', '/etc/default', '/var', '/var/lib', '/var/log', '/var/cache', '/var/spool', '/var/tmp', '/var/run', '/srv', '/run', '/tmp']);

/** Directories of the system a file or symlink must never replace. */
const OTHER_SYSTEM_DIRS = new Set(['/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib64', '/usr/share', '/usr/local', '/usr/include', '/usr/libexec', '/usr/local/bin', '/usr/local/lib', '/usr/share/doc', '/usr/share/man', '/usr/lib/systemd', '/usr/lib/systemd/system', '/lib/systemd', '/lib/systemd/system', '/etc/systemd/system']);

function fail(field: string, message: string): never {
  throw new ConfigError(field, message);
}

/** Check `value` against a part of the schema; the first problem is thrown, named `field`. */
function checkSchema(part: Parameters<typeof schemaValidator>[0], value: unknown, field: string): void {
  const validate = schemaValidator(part);
  if (validate(value)) return;
  const [first] = schemaProblems(validate);
  fail(fieldName([field, ...first!.path].filter((part) => part !== '')), first!.message);
}

/** A value read from the app's package.json as the schema's one line of text, of at most `max` characters. */
export function requireText(field: string, value: unknown, { max = 4096 } = {}): string {
  checkSchema('definitions/line', value, field);
  if ((value as string).length > max) fail(field, `is ${(value as string).length} characters long; at most ${max}`);
  return value as string;
}

export { toPackageVersion };

export function checkPackageVersion(field: string, version: string): string {
  const converted = toPackageVersion(version);
  if (!PACKAGE_VERSION.test(converted)) {
    fail(field, `"${version}" is not a package version; use digits, letters and . + ~ starting with a digit, e.g. 1.2.0 or 1.2.0-rc.1`);
  }
  return converted;
}

/** A git ref as `git check-ref-format` allows it, and never something git could read as an option. */
function checkRef(field: string, ref: string | undefined): void {
  if (ref !== undefined && (ref.startsWith('-') || /[\s~^:?*[\\]|\.\.|@\{|\/\/|\.lock$|^\/|\/$|\.$/.test(ref))) {
    fail(field, `"${ref}" is not a valid git branch, tag or commit name`);
  }
}

function checkSource(source: SourceSpec): void {
  if (source.type === 'git') {
    if (source.uri.startsWith('-')) fail('source.uri', `"${source.uri}" must not start with "-"`);
    const refs = (['branch', 'tag', 'commit'] as const).filter((key) => source[key] !== undefined);
    if (refs.length > 1) fail('source', `give one of branch, tag or commit, not ${refs.join(' and ')}`);
    for (const key of refs) checkRef(`source.${key}`, source[key]);
    return;
  }
  if (!existsSync(source.path) || !statSync(source.path).isDirectory()) fail('source.path', `"${source.path}" is not a directory`);
  if (source.type === 'gitDirectory') checkRef('source.ref', source.ref);
}

/**
 * Validate the options a build was added with: first against ndist.config.schema.json, then the
 * rules a schema cannot state. Metadata read later from package.json is checked again then.
 */
export function validateBuild(options: BuildOptions): void {
  checkSchema('definitions/build', options, '');
  if (options.version !== undefined) checkPackageVersion('version', options.version);
  checkSource(options.source);
  if (options.workspace !== undefined) {
    normaliseWorkspace(options.workspace);
    // A directory is there to read now; a git source is checked once fetched, still before any container.
    if (options.source.type === 'directory') checkWorkspace(options.source.path, options.workspace);
  }
  if (options.entry !== undefined) checkEntry('entry', options.entry);
  if (typeof options.changelog === 'string') checkEntry('changelog', options.changelog);
  checkGlobs('include', options.include ?? []);
  checkGlobs('exclude', options.exclude ?? []);
  (options.exclude ?? []).forEach((glob, index) => {
    if (matchesAny('package.json', [globPattern(glob)])) fail(`exclude[${index}]`, `"${glob}" would leave out package.json, which the app needs at run time`);
  });
  checkServiceOptions(options);
  checkSmoke(options.smoke);
}

/** Globs relative to the app, that cannot reach outside it. */
function checkGlobs(field: string, globs: string[]): void {
  globs.forEach((glob, index) => {
    if (glob.startsWith('/') || glob.split('/').includes('..')) fail(`${field}[${index}]`, `"${glob}" must be a glob relative to the app, without "..", e.g. "docs/**"`);
  });
}

/**
 * Validate the Builder's `engines`: each against the schema, then what it cannot say: names are
 * unique, a host or a context (not both), TLS files only for a tcp:// host, and present.
 */
export function validateEngines(engines: unknown): void {
  if (engines === undefined) return;
  if (!Array.isArray(engines) || engines.length === 0) fail('engines', 'must be a list of at least one engine, e.g. [{ "name": "local" }]');
  const names = new Set<string>();
  engines.forEach((engine: EngineOptions, index) => {
    const field = `engines[${index}]`;
    checkSchema('definitions/engine', engine, field);
    if (names.has(engine.name)) fail(`${field}.name`, `"${engine.name}" names another engine too; engine names must be unique`);
    names.add(engine.name);
    if (engine.host !== undefined && engine.context !== undefined) fail(field, `gives both host and context; give one (or neither, for the default engine)`);
    if (engine.tls) {
      if (!engine.host?.startsWith('tcp://')) fail(`${field}.tls`, `is only for a tcp:// host; ${engine.host ? `"${engine.host}" is not one` : 'give host: "tcp://<host>:2376"'} (a context brings its own TLS files)`);
      for (const [kind, file] of Object.entries(engine.tls)) {
        if (!existsSync(file) || !statSync(file).isFile()) fail(`${field}.tls.${kind}`, `"${file}" is not a file; give the path of the PEM file`);
      }
    }
  });
}

/** An absolute, normalised path of safe characters, below one of `roots` and not a system directory itself. */
function checkSystemPath(field: string, text: string, roots: string[], example: string): string {
  if (!SAFE_PATH.test(text) || text.split('/').some((part) => part === '.' || part === '..')) {
    fail(field, `"${text}" must be an absolute path of letters, digits and . _ + @ -, e.g. "${example}"`);
  }
  if (!roots.some((root) => text.startsWith(`${root}/`)) || SYSTEM_DIRS.has(text) || (roots.includes('') && (text.split('/').length < 3 || OTHER_SYSTEM_DIRS.has(text)))) {
    fail(field, `"${text}" must be ${roots.includes('') ? 'a file' : `below ${roots.join(', ')}`} and not a system directory, e.g. "${example}"`);
  }
  return text;
}

function checkServiceOptions(options: BuildOptions): void {
  if (options.group !== undefined && options.user === undefined) fail('group', 'needs a user; set user: "my-service" as well');
  const command = options.service?.command;
  if (command !== undefined) {
    command.forEach((arg, index) => {
      // systemd reads a lone ; as the end of a command line, quoted or not.
      if (arg === ';') fail(`service.command[${index}]`, 'cannot be ";", which systemd reads as a command separator');
    });
    if (!SAFE_PATH.test(command[0]!)) fail('service.command[0]', `"${command[0]}" must be an absolute path to the program, e.g. "/usr/bin/${options.app}"`);
  }
  // Extra units and timers' jobs are both <app>-<name>.service: one name space.
  const names = new Map<string, string>();
  const listening = new Map<string, string>();
  const checkSocket = (field: string, socket: { listen: string[] } | undefined) =>
    socket?.listen.forEach((listen, index) => {
      const port = /^(?:.*:)?([0-9]+)$/.exec(listen)?.[1];
      if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) fail(`${field}.listen[${index}]`, `"${listen}" has no port from 1 to 65535`);
      const earlier = listening.get(listen);
      if (earlier) fail(`${field}.listen[${index}]`, `"${listen}" is listened on by ${earlier} too`);
      listening.set(listen, `${field}.listen[${index}]`);
    });
  checkSocket('service.socket', options.service?.socket);
  for (const [kind, list] of [['units', options.service?.units ?? []], ['timers', options.service?.timers ?? []]] as const) {
    list.forEach((unit, index) => {
      const field = `service.${kind}[${index}]`;
      const earlier = names.get(unit.name);
      if (earlier) fail(`${field}.name`, `"${unit.name}" is listed twice (also ${earlier}): both would be ${options.app}-${unit.name}.service`);
      names.set(unit.name, `${field}.name`);
      unit.command.forEach((arg, at) => {
        if (arg === ';') fail(`${field}.command[${at}]`, 'cannot be ";", which systemd reads as a command separator');
      });
      if (!SAFE_PATH.test(unit.command[0]!)) fail(`${field}.command[0]`, `"${unit.command[0]}" must be an absolute path to the program, e.g. "/usr/bin/${options.app}"`);
      if ('socket' in unit) checkSocket(`${field}.socket`, unit.socket);
    });
  }
  checkContents(options);
  for (const [phase, file] of Object.entries(options.hooks ?? {})) checkEntry(`hooks.${phase}`, file);
}

/** A symlink's target: relative or absolute, of the characters a path may hold. */
const LINK_TARGET = /^[A-Za-z0-9._+@/-]+$/;
/** The fields each contents type takes besides type and destination. */
const CONTENT_FIELDS = {
  file: ['source', 'mode', 'owner', 'group'],
  config: ['source', 'mode', 'owner', 'group'],
  dir: ['mode', 'owner', 'group'],
  symlink: ['target'],
  ghost: ['mode', 'owner', 'group'],
} as const;

/** Paths ndist writes itself, which no contents entry may take (or, for a directory, go below). */
function ndistPaths(options: BuildOptions): { exact: string[]; below: string[] } {
  const app = options.app;
  return {
    exact: [
      `/usr/bin/${app}`,
      `/usr/share/doc/${app}/copyright`,
      `/usr/share/doc/${app}/changelog.Debian.gz`,
      ...serviceUnitNames(options).flatMap((unit) => [`/lib/systemd/system/${unit}`, `/usr/lib/systemd/system/${unit}`]),
    ],
    below: [`/opt/${app}`, '/opt/ndist'],
  };
}

/**
 * `contents` with its sugar `configFiles` and `directories`: each entry's fields fit its type, its
 * destination is an absolute path without `..`, in a place its type may go, not a path ndist writes
 * itself, and listed once. A directory or ghost file is removed on purge, so it must be the app's
 * own place under /var, /srv or /etc; a config file lives under /etc, and a plain file must not
 * (it would not be kept on upgrade: use type 'config').
 */
function checkContents(options: BuildOptions): void {
  const seen = new Map<string, string>();
  const ndist = ndistPaths(options);
  for (const { entry, field, destinationKey } of contentEntries(options)) {
    const allowed = new Set<string>(['type', 'destination', ...CONTENT_FIELDS[entry.type]]);
    for (const key of Object.keys(entry)) {
      if (!allowed.has(key)) fail(`${field}.${key}`, `is not used by an entry of type '${entry.type}'; it takes ${[...allowed].join(', ')}`);
    }
    if ((entry.type === 'file' || entry.type === 'config') && entry.source === undefined) fail(`${field}.source`, `is required for type '${entry.type}': the file in the app source to install`);
    if (entry.type === 'symlink' && entry.target === undefined) fail(`${field}.target`, "is required for type 'symlink': the path the link points to");
    const destinationField = `${field}.${destinationKey}`;
    const destination = entry.destination;
    const example = `/etc/${options.app}/config.json`;
    switch (entry.type) {
      case 'config':
        checkSystemPath(destinationField, destination, ['/etc'], example);
        break;
      case 'dir':
      case 'ghost':
        checkSystemPath(destinationField, destination, ['/var', '/srv', '/etc'], entry.type === 'dir' ? `/var/log/${options.app}` : `/var/log/${options.app}/${options.app}.log`);
        break;
      default:
        checkSystemPath(destinationField, destination, [''], `/usr/share/${options.app}/data.json`);
        if (destination === '/etc' || destination.startsWith('/etc/')) {
          fail(destinationField, `"${destination}" is under /etc: use type 'config', so an admin's edits are kept on upgrade`);
        }
        // /var and /srv hold the app's state, made by the install script (the home, dir entries): a
        // shipped file there would make the package own, as root's, a directory the script gives to an account.
        if (['/var/', '/srv/'].some((root) => destination.startsWith(root))) {
          fail(destinationField, `"${destination}" is under ${destination.slice(0, 4)}, which holds state the install script creates: ship it under /usr/share/${options.app} (or /etc as 'config'), or declare a 'ghost' or 'dir'`);
        }
    }
    if (ndist.exact.includes(destination) || ndist.below.some((dir) => destination === dir || destination.startsWith(`${dir}/`))) {
      fail(destinationField, `"${destination}" is a path ndist installs itself (the app under /opt/${options.app}, /usr/bin/${options.app}, the doc files, the unit); choose another`);
    }
    if (options.service && destination === `/etc/default/${options.app}` && entry.type !== 'config') {
      fail(destinationField, `"${destination}" is the service's environment file: give it as type 'config' to ship your own`);
    }
    const earlier = seen.get(destination);
    if (earlier) fail(destinationField, `"${destination}" is listed twice (also ${earlier})`);
    seen.set(destination, field);
    if (entry.type === 'file' || entry.type === 'config') checkEntry(`${field}.source`, entry.source);
    if (entry.type === 'symlink' && (!LINK_TARGET.test(entry.target) || entry.target.split('/').every((part) => part === '' || part === '.' || part === '..'))) {
      fail(`${field}.target`, `"${entry.target}" must be a path of letters, digits and . _ + @ - /, e.g. "../lib/${options.app}/cli.js"`);
    }
  }
}

/** package.json's homepage, held to the rule of the homepage option. */
export function checkHomepage(field: string, value: unknown): string {
  checkSchema('definitions/build/properties/homepage', value, field);
  return value as string;
}

/** The script /usr/bin/<app> runs: a relative path inside the app. */
export function checkEntry(field: string, entry: unknown): string {
  const value = requireText(field, entry, { max: 500 });
  const normalised = value.replace(/^\.\//, '');
  if (normalised.startsWith('/') || normalised.split('/').includes('..')) {
    fail(field, `"${value}" must be a path inside the app, like "bin/cli.js"`);
  }
  return normalised;
}
