/**
 * Checks a build's options before anything runs, so a mistake is reported with the field that is
 * wrong and what would be right, not as a failure deep inside a container.
 */
import { existsSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type { BuildOptions, SourceSpec } from './types.ts';

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
/** Debian policy 5.6.1 (and valid for RPM): lowercase, digits, + - . ; at least two characters. */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const EXACT_VERSION = /^\d+\.\d+\.\d+$/;
/** Upstream version as Debian and RPM both accept it, after semver's pre-release dash became `~`. */
const PACKAGE_VERSION = /^[0-9][A-Za-z0-9.+~]*$/;
const ITERATION = /^[A-Za-z0-9.+~]+$/;
const DEB_ARCH_QUALIFIER = '(?::[a-z0-9-]+)?';
const PKG = `[a-z0-9][a-z0-9+.-]+${DEB_ARCH_QUALIFIER}`;
/** `@name`: the build machine's package for `name` (its "packages" in build_machines.json). */
const ALIAS = '@[a-z0-9][a-z0-9-]*';
/** One apt-get/dnf install argument: `name`, `name:arch` or `name=version`, or an `@alias`. */
const BUILD_DEP = new RegExp(`^(?:${PKG}(?:=[A-Za-z0-9.+~:-]+)?|${ALIAS})$`);
/** A Depends entry: alternatives of `name` or `name (op version)`, or an `@alias`. */
const RELATION = `(?:${PKG}(?: \\((?:<<|<=|=|>=|>>) [A-Za-z0-9.+~:-]+\\))?|${ALIAS})`;
const RUNTIME_DEP = new RegExp(`^${RELATION}(?: \\| ${RELATION})*$`);
const EXAMPLES = {
  app: 'my-service',
  node: '22.23.3',
  buildDep: 'libsqlite3-dev',
  runtimeDep: 'libsqlite3-0 (>= 3.40)',
};

function fail(field: string, message: string): never {
  throw new ConfigError(field, message);
}

export function requireText(field: string, value: unknown, { multiline = false, max = 4096 } = {}): string {
  if (typeof value !== 'string' || value.trim() === '') fail(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  if (value.length > max) fail(field, `is ${value.length} characters long; at most ${max}`);
  if (!multiline && CONTROL_CHARS.test(value)) fail(field, 'must be a single line without control characters');
  return value;
}

function optionalText(field: string, value: unknown, options?: { multiline?: boolean; max?: number }): void {
  if (value !== undefined) requireText(field, value, options);
}

/** semver `1.2.0-rc.1` sorts before `1.2.0`; in Debian and RPM that needs `1.2.0~rc.1`. */
export function toPackageVersion(version: string): string {
  // Dashes inside the pre-release (1.0.0-beta-2) would read as a Debian revision: make them dots.
  return version
    .replace(/^v/, '')
    .replace(/^(\d+\.\d+\.\d+)-([^+]*)/, (_, release: string, pre: string) => `${release}~${pre.replaceAll('-', '.')}`);
}

export function checkPackageVersion(field: string, version: string): string {
  const converted = toPackageVersion(version);
  if (!PACKAGE_VERSION.test(converted)) {
    fail(field, `"${version}" is not a package version; use digits, letters and . + ~ starting with a digit, e.g. 1.2.0 or 1.2.0-rc.1`);
  }
  return converted;
}

/** A git ref as `git check-ref-format` allows it, and never something git could read as an option. */
function checkRef(field: string, value: unknown): void {
  const ref = requireText(field, value, { max: 255 });
  if (ref.startsWith('-') || /[\s~^:?*[\\]|\.\.|@\{|\/\/|\.lock$|^\/|\/$|\.$/.test(ref)) {
    fail(field, `"${ref}" is not a valid git branch, tag or commit name`);
  }
}

function checkSource(source: unknown): void {
  if (!source || typeof source !== 'object') fail('source', 'must be git({ uri, branch }), gitDirectory({ path, ref }) or directory({ path })');
  const spec = source as SourceSpec;
  switch (spec.type) {
    case 'git': {
      const uri = requireText('source.uri', spec.uri);
      if (uri.startsWith('-')) fail('source.uri', `"${uri}" must not start with "-"`);
      const refs = (['branch', 'tag', 'commit'] as const).filter((key) => spec[key] !== undefined);
      if (refs.length > 1) fail('source', `give one of branch, tag or commit, not ${refs.join(' and ')}`);
      for (const key of refs) checkRef(`source.${key}`, spec[key]);
      if (spec.commit !== undefined && !/^[0-9a-f]{7,64}$/i.test(spec.commit)) {
        fail('source.commit', `"${spec.commit}" is not a commit hash (7 to 64 hex digits)`);
      }
      return;
    }
    case 'gitDirectory':
    case 'directory': {
      const dir = requireText('source.path', spec.path);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) fail('source.path', `"${dir}" is not a directory`);
      if (spec.type === 'gitDirectory' && spec.ref !== undefined) checkRef('source.ref', spec.ref);
      return;
    }
    default:
      fail('source.type', `is ${JSON.stringify((spec as { type: unknown }).type)}; use git(), gitDirectory() or directory()`);
  }
}

function checkList(field: string, value: unknown, pattern: RegExp, example: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) fail(field, `must be a list of strings, e.g. ["${example}"]`);
  value.forEach((item, index) => {
    if (typeof item !== 'string' || !pattern.test(item)) {
      fail(`${field}[${index}]`, `${JSON.stringify(item)} is not a valid package name or relation, e.g. "${example}"`);
    }
  });
}

/** Validate the options a build was added with. Metadata read later from package.json is checked again then. */
export function validateBuild(options: BuildOptions): void {
  requireText('name', options.name, { max: 200 });
  const app = requireText('app', options.app, { max: 100 });
  if (!PACKAGE_NAME.test(app)) fail('app', `"${app}" is not a package name: lowercase letters, digits, + - . (at least 2 characters), e.g. "${EXAMPLES.app}"`);
  if (options.version !== undefined) checkPackageVersion('version', requireText('version', options.version, { max: 100 }));
  if (options.iteration !== undefined && !ITERATION.test(String(options.iteration))) {
    fail('iteration', `"${options.iteration}" is not a package revision: digits, letters, . + ~ (e.g. "1")`);
  }
  checkSource(options.source);
  requireText('buildMachine', options.buildMachine, { max: 100 });
  if (options.arch !== undefined && !['amd64', 'arm64'].includes(options.arch)) {
    fail('arch', `is ${JSON.stringify(options.arch)}; allowed: amd64, arm64`);
  }
  checkList('buildDeps', options.buildDeps, BUILD_DEP, EXAMPLES.buildDep);
  checkList('runtimeDeps', options.runtimeDeps, RUNTIME_DEP, EXAMPLES.runtimeDep);
  for (const key of ['node', 'npm'] as const) {
    const value = options[key];
    if (value === undefined && key === 'npm') continue;
    if (typeof value !== 'string' || !EXACT_VERSION.test(value)) {
      fail(key, `must be an exact version like "${key === 'node' ? EXAMPLES.node : '10.9.9'}", got ${JSON.stringify(value)}`);
    }
  }
  if (options.fpmArgs !== undefined && (!Array.isArray(options.fpmArgs) || !options.fpmArgs.every((arg) => typeof arg === 'string'))) {
    fail('fpmArgs', 'must be a list of strings, e.g. ["--deb-priority", "optional"]');
  }
  optionalText('maintainer', options.maintainer, { max: 200 });
  optionalText('description', options.description, { max: 2000 });
  optionalText('license', options.license, { max: 200 });
  if (options.homepage !== undefined) checkHomepage('homepage', options.homepage);
  if (options.entry !== undefined) checkEntry('entry', options.entry);
  if (options.allowedLicenses !== undefined) {
    if (!Array.isArray(options.allowedLicenses)) fail('allowedLicenses', 'must be a list of SPDX licence ids, e.g. ["MIT", "Apache-2.0"]');
    options.allowedLicenses.forEach((id, index) => {
      if (typeof id !== 'string' || !/^[A-Za-z0-9.+-]+$/.test(id)) fail(`allowedLicenses[${index}]`, `${JSON.stringify(id)} is not an SPDX licence id like "MIT"`);
    });
  }
  if (options.healthCheck !== undefined && !['error', 'warn', 'off'].includes(options.healthCheck)) {
    fail('healthCheck', `is ${JSON.stringify(options.healthCheck)}; allowed: error, warn, off`);
  }
  if (options.sourceDateEpoch !== undefined && !(Number.isInteger(options.sourceDateEpoch) && options.sourceDateEpoch >= 0)) {
    fail('sourceDateEpoch', `must be a whole number of seconds since 1970, e.g. 1700000000, got ${JSON.stringify(options.sourceDateEpoch)}`);
  }
  if (options.compression !== undefined && !['xz', 'gzip', 'zstd', 'none'].includes(options.compression)) {
    fail('compression', `is ${JSON.stringify(options.compression)}; allowed: xz, gzip, zstd, none`);
  }
  if (options.runtime !== undefined && !['bundled', 'shared'].includes(options.runtime)) {
    fail('runtime', `is ${JSON.stringify(options.runtime)}; allowed: bundled (Node inside the app package, the default), shared (Node in its own ndist-node-<version> package)`);
  }
  checkServiceOptions(options);
}

/** useradd's portable name rule (and Debian's adduser default NAME_REGEX, minus uppercase). */
const ACCOUNT = /^[a-z_][a-z0-9_-]{0,30}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters allowed in a path a maintainer script or unit names; no quoting tricks, no spaces. */
const SAFE_PATH = /^(\/[A-Za-z0-9._+@-]+)+$/;
const MODE = /^0?[0-7]{3}$/;
/** Debian relation without alternatives, for Provides/Conflicts/Replaces. */
const SIMPLE_RELATION = new RegExp(`^[a-z0-9][a-z0-9+.-]+(?: \\((?:<<|<=|=|>=|>>) [A-Za-z0-9.+~:-]+\\))?$`);
const SYSTEM_DIRS = new Set(['/etc', '/etc/default', '/var', '/var/lib', '/var/log', '/var/cache', '/var/spool', '/var/tmp', '/var/run', '/srv', '/run', '/tmp']);

function checkAccount(field: string, value: unknown): void {
  if (typeof value !== 'string' || !ACCOUNT.test(value)) fail(field, `${JSON.stringify(value)} is not a system account name: lowercase letters, digits, _ and -, starting with a letter or _, at most 31 characters, e.g. "my-service"`);
}

function checkMode(field: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || !MODE.test(value))) fail(field, `${JSON.stringify(value)} is not an octal mode like "0640"`);
}

/** An absolute, normalised path of safe characters, below one of `roots` and not a system directory itself. */
function checkSystemPath(field: string, value: unknown, roots: string[], example: string): string {
  const text = requireText(field, value, { max: 300 });
  if (!SAFE_PATH.test(text) || text.split('/').some((part) => part === '.' || part === '..')) {
    fail(field, `"${text}" must be an absolute path of letters, digits and . _ + @ -, e.g. "${example}"`);
  }
  if (!roots.some((root) => text.startsWith(`${root}/`)) || SYSTEM_DIRS.has(text)) {
    fail(field, `"${text}" must be below ${roots.join(', ')} and not a system directory, e.g. "${example}"`);
  }
  return text;
}

/** A unit-file value: one line; systemd escaping is done when the unit is written. */
function checkUnitValue(field: string, value: unknown): void {
  requireText(field, value, { max: 1000 });
}

function checkServiceOptions(options: BuildOptions): void {
  if (options.user !== undefined) checkAccount('user', options.user);
  if (options.group !== undefined) {
    checkAccount('group', options.group);
    if (options.user === undefined) fail('group', 'needs a user; set user: "my-service" as well');
  }
  const service = options.service;
  if (service !== undefined) {
    if (!service || typeof service !== 'object') fail('service', 'must be an object, e.g. { command: ["/usr/bin/my-service", "--port", "8080"] }');
    if (service.command !== undefined) {
      if (!Array.isArray(service.command) || service.command.length === 0) fail('service.command', 'must be a non-empty list of arguments, e.g. ["/usr/bin/my-service", "serve"]');
      service.command.forEach((arg, index) => {
        checkUnitValue(`service.command[${index}]`, arg);
        // systemd reads a lone ; as the end of a command line, quoted or not.
        if (arg === ';') fail(`service.command[${index}]`, 'cannot be ";", which systemd reads as a command separator');
      });
      if (!SAFE_PATH.test(service.command[0]!)) fail('service.command[0]', `"${service.command[0]}" must be an absolute path to the program, e.g. "/usr/bin/${options.app}"`);
    }
    if (service.description !== undefined) checkUnitValue('service.description', service.description);
    if (service.user !== undefined) checkAccount('service.user', service.user);
    if (service.group !== undefined) checkAccount('service.group', service.group);
    if (service.environment !== undefined) {
      if (!service.environment || typeof service.environment !== 'object' || Array.isArray(service.environment)) fail('service.environment', 'must be an object of NAME: "value"');
      for (const [name, value] of Object.entries(service.environment)) {
        if (!ENV_NAME.test(name)) fail(`service.environment.${name}`, 'is not a variable name: letters, digits and _, not starting with a digit');
        // Written between single quotes, which both sh and systemd's EnvironmentFile read literally.
        if (typeof value !== 'string' || CONTROL_CHARS.test(value) || /['\\]/.test(value)) {
          fail(`service.environment.${name}`, `${JSON.stringify(value)} must be a one-line string without ' or \\`);
        }
      }
    }
    if (service.workingDirectory !== undefined && !SAFE_PATH.test(service.workingDirectory)) {
      fail('service.workingDirectory', `${JSON.stringify(service.workingDirectory)} must be an absolute path, e.g. "/var/lib/${options.app}"`);
    }
    const restarts = ['no', 'on-success', 'on-failure', 'on-abnormal', 'on-abort', 'always'];
    if (service.restart !== undefined && !restarts.includes(service.restart)) fail('service.restart', `is ${JSON.stringify(service.restart)}; allowed: ${restarts.join(', ')}`);
    if (service.restartSec !== undefined && !(Number.isInteger(service.restartSec) && service.restartSec >= 0)) fail('service.restartSec', `must be a whole number of seconds, got ${JSON.stringify(service.restartSec)}`);
    const hardening = service.hardening;
    if (hardening !== undefined) {
      for (const key of ['noNewPrivileges', 'privateTmp', 'protectHome'] as const) {
        if (hardening[key] !== undefined && typeof hardening[key] !== 'boolean') fail(`service.hardening.${key}`, 'must be true or false');
      }
      if (hardening.protectSystem !== undefined && !['no', 'full', 'strict'].includes(hardening.protectSystem)) fail('service.hardening.protectSystem', `is ${JSON.stringify(hardening.protectSystem)}; allowed: no, full, strict`);
    }
  }
  const configPaths = new Set<string>();
  (checkArray('configFiles', options.configFiles) ?? []).forEach((file, index) => {
    const field = `configFiles[${index}]`;
    const target = checkSystemPath(`${field}.path`, file?.path, ['/etc'], `/etc/${options.app}/config.json`);
    if (configPaths.has(target)) fail(`${field}.path`, `"${target}" is listed twice`);
    configPaths.add(target);
    checkEntry(`${field}.source`, file.source);
    checkMode(`${field}.mode`, file.mode);
  });
  (checkArray('directories', options.directories) ?? []).forEach((dir, index) => {
    const field = `directories[${index}]`;
    checkSystemPath(`${field}.path`, dir?.path, ['/var', '/srv', '/etc'], `/var/log/${options.app}`);
    if (dir.owner !== undefined) checkAccount(`${field}.owner`, dir.owner);
    if (dir.group !== undefined) checkAccount(`${field}.group`, dir.group);
    checkMode(`${field}.mode`, dir.mode);
  });
  for (const key of ['provides', 'conflicts', 'replaces'] as const) checkList(key, options[key], SIMPLE_RELATION, 'old-name (<< 2.0)');
  if (options.hooks !== undefined) {
    if (!options.hooks || typeof options.hooks !== 'object') fail('hooks', 'must be an object like { postinst: "packaging/postinst.sh" }');
    for (const [phase, file] of Object.entries(options.hooks)) {
      if (!['preinst', 'postinst', 'prerm', 'postrm'].includes(phase)) fail(`hooks.${phase}`, 'is not a phase; use preinst, postinst, prerm or postrm');
      checkEntry(`hooks.${phase}`, file);
    }
  }
}

function checkArray<T>(field: string, value: T[] | undefined): T[] | undefined {
  if (value !== undefined && !Array.isArray(value)) fail(field, 'must be a list');
  return value;
}

/** A URL, one token: rpm's URL tag takes no spaces. */
export function checkHomepage(field: string, value: unknown): string {
  const url = requireText(field, value, { max: 500 });
  if (/\s/.test(url)) fail(field, `"${url}" must be a URL without spaces (rpm's URL field is one word), e.g. "https://example.com/my-app"`);
  return url;
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
