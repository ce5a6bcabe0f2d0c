/**
 * Stage: find the build machine a build names. Machines come from ndist's own
 * templates/build_machines.json, with a project's file of the same name merged over it. Both are
 * checked against templates/build_machines.schema.json (which editors can use for completion);
 * an error names the file, the machine and the field.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { ConfigError } from '../errors.ts';
import { cachedValidators, fieldName, schemaProblems, type SchemaProblem } from '../util/schema.ts';
import { defaultCacheDir } from '../build/runtime.ts';
import type { Arch, Compression } from '../options/types.ts';
import type { PackageFormat } from '../package/format.ts';
import { FORMATS } from '../package/formats.ts';

// The machine's format, as the repository side and the report name it.

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates');
export const DEFAULT_BUILDERS_DIR = path.join(PACKAGE_ROOT, 'builders');
export const SCHEMA_FILE = path.join(DEFAULT_TEMPLATES_DIR, 'build_machines.schema.json');

/** What the machine's /etc/os-release says. */
export interface OsRelease {
  id: string;
  versionId: string;
  codename?: string;
  like?: string[];
}

export interface Machine {
  id: string;
  description: string;
  /** Image repository; the tag is a hash of the Dockerfile's context (and base image, build args) and the arch when `dockerfile` is set. */
  image: string;
  /** Directory holding the Dockerfile, absolute. Absent: `image` is used as it is. */
  dockerfile?: string;
  /** The image the Dockerfile starts FROM (build argument BASE_IMAGE), per architecture. */
  baseImage?: Partial<Record<Arch, string>>;
  /** Further build arguments of the Dockerfile. */
  buildArgs: Record<string, string>;
  /** Absolute path of the Handlebars shell template. */
  script: string;
  /** Formats with a spec template (rpm): absolute path of the Handlebars spec template its native packager reads. */
  specTemplate?: string;
  format: PackageFormat;
  arch: Arch[];
  compression: Compression;
  os?: OsRelease;
  /** Distro package names for names that differ per distro (`@sqlite` in buildDeps/runtimeDeps). */
  packages: Record<string, string>;
  /** Where the entry came from, for `ndist machines`. */
  origin: string;
}

type RawEntry = {
  description?: string;
  image: string;
  dockerfile?: string;
  baseImage?: string | Partial<Record<Arch, string>>;
  buildArgs?: Record<string, string>;
  script: string;
  specTemplate?: string;
  format?: PackageFormat;
  arch?: Arch[];
  compression?: Compression;
  os?: OsRelease;
  packages?: Record<string, string>;
};

let validator: ValidateFunction | undefined;

/** One schema problem as `machine "<id>" field "<field>"` and what is wrong. */
function describeProblem({ path: [id, ...field], message }: SchemaProblem): { where: string; message: string } {
  if (id === undefined) return { where: '', message };
  return { where: field.length > 0 ? `machine "${id}" field "${fieldName(field)}"` : `machine "${id}"`, message };
}

function readCatalogue(file: string): Record<string, RawEntry> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(file, `is not valid JSON: ${(error as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(file, 'must be an object mapping machine ids to entries');
  }
  validator ??= cachedValidators(SCHEMA_FILE, [''], defaultCacheDir())[''];
  if (!validator(parsed)) {
    const problems = schemaProblems(validator).map(describeProblem);
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1, 4).map(({ where, message }) => `${where} ${message}`).join('; ')})` : '';
    throw new ConfigError(`${file}: ${first.where}`.replace(/: $/, ''), `${first.message}${more}`);
  }
  return parsed as Record<string, RawEntry>;
}

/** A file a project may bring, else ndist's own of the same relative path. */
function locate(relative: string, dirs: string[], exists: (candidate: string) => boolean): string | undefined {
  for (const dir of dirs) {
    const candidate = path.resolve(dir, relative);
    if (exists(candidate)) return candidate;
  }
  return undefined;
}

function toMachine(id: string, entry: RawEntry, templatesDirs: string[], buildersDirs: string[], origin: string): Machine {
  const field = (name: string) => `${origin}: machine "${id}" field "${name}"`;
  const arch = entry.arch ?? ['amd64'];
  const script = locate(entry.script, templatesDirs, existsSync);
  if (!script) throw new ConfigError(field('script'), `names ${entry.script}, which is in none of ${templatesDirs.join(', ')}`);
  let dockerfile: string | undefined;
  if (entry.dockerfile) {
    dockerfile = locate(entry.dockerfile, buildersDirs, (dir) => existsSync(path.join(dir, 'Dockerfile')));
    if (!dockerfile) throw new ConfigError(field('dockerfile'), `names ${entry.dockerfile}, which holds no Dockerfile in any of ${buildersDirs.join(', ')}`);
  }
  let baseImage: Partial<Record<Arch, string>> | undefined;
  if (entry.baseImage !== undefined) {
    if (!entry.dockerfile) throw new ConfigError(field('baseImage'), 'only applies with dockerfile (it is the Dockerfile\'s BASE_IMAGE)');
    baseImage = typeof entry.baseImage === 'string' ? Object.fromEntries(arch.map((a) => [a, entry.baseImage as string])) : entry.baseImage;
    const missing = arch.filter((a) => !baseImage![a]);
    if (missing.length > 0) throw new ConfigError(field('baseImage'), `names no image for ${missing.join(', ')}, which the machine builds (field "arch")`);
  }
  let specTemplate: string | undefined;
  const format = entry.format ?? 'deb';
  const defaultSpecTemplate = FORMATS[format].defaultSpecTemplate;
  if (defaultSpecTemplate) {
    specTemplate = locate(entry.specTemplate ?? defaultSpecTemplate, templatesDirs, existsSync);
    if (!specTemplate) throw new ConfigError(field('specTemplate'), `names ${entry.specTemplate}, which is in none of ${templatesDirs.join(', ')}`);
  } else if (entry.specTemplate !== undefined) {
    const withSpec = Object.values(FORMATS).filter((candidate) => candidate.defaultSpecTemplate).map((candidate) => candidate.name);
    throw new ConfigError(field('specTemplate'), `only applies to machines of format ${withSpec.join(', ')}`);
  }
  return {
    id,
    description: entry.description ?? id,
    image: entry.image,
    dockerfile,
    baseImage,
    buildArgs: entry.buildArgs ?? {},
    script,
    specTemplate,
    format,
    arch,
    compression: entry.compression ?? 'xz',
    os: entry.os,
    packages: entry.packages ?? {},
    origin,
  };
}

/**
 * Load the default machines, then those of a project (`projectDir/templates/build_machines.json`,
 * templates beside it, Dockerfiles under `projectDir/builders/`), which replace defaults of the
 * same id. A project entry may name its own script and Dockerfile or reuse ndist's: its own
 * directories are searched first.
 */
export function loadMachines(projectDir?: string): Map<string, Machine> {
  const machines = new Map<string, Machine>();
  const add = (templatesDirs: string[], buildersDirs: string[], origin: string) => {
    const file = path.join(templatesDirs[0]!, 'build_machines.json');
    for (const [id, entry] of Object.entries(readCatalogue(file))) {
      if (id.startsWith('$')) continue;
      machines.set(id, toMachine(id, entry, templatesDirs, buildersDirs, origin === 'ndist' ? 'ndist' : file));
    }
  };
  add([DEFAULT_TEMPLATES_DIR], [DEFAULT_BUILDERS_DIR], 'ndist');
  const projectTemplates = projectDir && path.join(projectDir, 'templates');
  if (projectTemplates && path.resolve(projectTemplates) !== DEFAULT_TEMPLATES_DIR && existsSync(path.join(projectTemplates, 'build_machines.json'))) {
    add([projectTemplates, DEFAULT_TEMPLATES_DIR], [path.join(projectDir, 'builders'), DEFAULT_BUILDERS_DIR], 'project');
  }
  return machines;
}

export function findMachine(machines: Map<string, Machine>, id: string, field = 'buildMachine'): Machine {
  const machine = machines.get(id);
  if (!machine) {
    throw new ConfigError(field, `unknown build machine "${id}"; known machines: ${[...machines.keys()].sort().join(', ')}`);
  }
  return machine;
}

/** A buildDeps/runtimeDeps entry: `@name` is the machine's distro package for `name`. */
export function resolvePackageName(machine: Machine, dep: string, field: string): string {
  if (!dep.startsWith('@')) return dep;
  const name = machine.packages[dep.slice(1)];
  if (!name) {
    const known = Object.keys(machine.packages);
    throw new ConfigError(field, `"${dep}" is not defined by machine ${machine.id} (its "packages": ${known.length > 0 ? known.map((k) => `@${k}`).join(', ') : 'none'})`);
  }
  return name;
}
