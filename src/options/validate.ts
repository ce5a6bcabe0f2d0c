/**
 * Checks a build's options before anything runs, so a mistake is reported with the field that is
 * wrong and what would be right, not as a failure deep inside a container. What each option may
 * hold is stated once, in ndist.config.schema.json; this module adds the rules a schema cannot state.
 */
import { existsSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { fieldName, schemaProblems } from '../util/schema.ts';
import { schemaValidator } from './schema.ts';
import type { BuildOptions, SourceSpec } from './types.ts';
import { checkSmoke } from '../verify/smoke.ts';

/** Upstream version as Debian and RPM both accept it, after semver's pre-release dash became `~`. */
const PACKAGE_VERSION = /^[0-9][A-Za-z0-9.+~]*$/;
/** Characters allowed in a path a maintainer script or unit names; no quoting tricks, no spaces. */
const SAFE_PATH = /^(\/[A-Za-z0-9._+@-]+)+$/;
const SYSTEM_DIRS = new Set(['/etc', '/etc/default', '/var', '/var/lib', '/var/log', '/var/cache', '/var/spool', '/var/tmp', '/var/run', '/srv', '/run', '/tmp']);

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
  if (options.entry !== undefined) checkEntry('entry', options.entry);
  checkServiceOptions(options);
  checkSmoke(options.smoke);
}

/** An absolute, normalised path of safe characters, below one of `roots` and not a system directory itself. */
function checkSystemPath(field: string, text: string, roots: string[], example: string): string {
  if (!SAFE_PATH.test(text) || text.split('/').some((part) => part === '.' || part === '..')) {
    fail(field, `"${text}" must be an absolute path of letters, digits and . _ + @ -, e.g. "${example}"`);
  }
  if (!roots.some((root) => text.startsWith(`${root}/`)) || SYSTEM_DIRS.has(text)) {
    fail(field, `"${text}" must be below ${roots.join(', ')} and not a system directory, e.g. "${example}"`);
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
  const configPaths = new Set<string>();
  (options.configFiles ?? []).forEach((file, index) => {
    const field = `configFiles[${index}]`;
    const target = checkSystemPath(`${field}.path`, file.path, ['/etc'], `/etc/${options.app}/config.json`);
    if (configPaths.has(target)) fail(`${field}.path`, `"${target}" is listed twice`);
    configPaths.add(target);
    checkEntry(`${field}.source`, file.source);
  });
  (options.directories ?? []).forEach((dir, index) => {
    checkSystemPath(`directories[${index}].path`, dir.path, ['/var', '/srv', '/etc'], `/var/log/${options.app}`);
  });
  for (const [phase, file] of Object.entries(options.hooks ?? {})) checkEntry(`hooks.${phase}`, file);
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
