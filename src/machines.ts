/**
 * Stage: find the build machine a build names. Machines come from ndist's own
 * templates/build_machines.json, with a project's file of the same name merged over it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.ts';
import type { Arch, Compression } from './types.ts';

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates');
export const DEFAULT_BUILDERS_DIR = path.join(PACKAGE_ROOT, 'builders');

export interface Machine {
  id: string;
  description: string;
  /** Image repository; the tag is a hash of the Dockerfile's directory when `dockerfile` is set. */
  image: string;
  /** Directory holding the Dockerfile, absolute. Absent: `image` is used as it is. */
  dockerfile?: string;
  /** The image the Dockerfile starts FROM, which `ndist bootstrap-image` can create offline. */
  baseImage?: string;
  /** Absolute path of the Handlebars shell template. */
  script: string;
  format: 'deb';
  arch: Arch[];
  compression: Compression;
  /** Where the entry came from, for `ndist machines`. */
  origin: string;
}

type RawEntry = Record<string, unknown>;

const FORMATS = ['deb'];
const ARCHES = ['amd64', 'arm64'];
const COMPRESSIONS = ['xz', 'gzip', 'zstd', 'none'];

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
  return parsed as Record<string, RawEntry>;
}

function toMachine(id: string, entry: RawEntry, templatesDir: string, buildersDir: string, origin: string): Machine {
  const field = (name: string) => `${origin}: machine "${id}" field "${name}"`;
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new ConfigError(`${origin}: machine "${id}"`, 'must be an object with image, script, format…');
  }
  const text = (name: string, required: boolean): string | undefined => {
    const value = entry[name];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(field(name), 'must be a non-empty string');
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: string[], fallback: T): T => {
    const value = entry[name] ?? fallback;
    if (typeof value !== 'string' || !allowed.includes(value)) {
      throw new ConfigError(field(name), `is ${JSON.stringify(value)}; allowed: ${allowed.join(', ')}`);
    }
    return value as T;
  };
  const arch = entry.arch ?? ['amd64'];
  if (!Array.isArray(arch) || arch.length === 0 || !arch.every((a) => ARCHES.includes(a))) {
    throw new ConfigError(field('arch'), `is ${JSON.stringify(arch)}; a non-empty list of: ${ARCHES.join(', ')}`);
  }
  const script = path.resolve(templatesDir, text('script', true)!);
  if (!existsSync(script)) throw new ConfigError(field('script'), `names ${script}, which does not exist`);
  const dockerfileDir = text('dockerfile', false);
  const dockerfile = dockerfileDir ? path.resolve(buildersDir, dockerfileDir) : undefined;
  if (dockerfile && !existsSync(path.join(dockerfile, 'Dockerfile'))) {
    throw new ConfigError(field('dockerfile'), `names ${dockerfile}, which holds no Dockerfile`);
  }
  return {
    id,
    description: text('description', false) ?? id,
    image: text('image', true)!,
    dockerfile,
    baseImage: text('baseImage', false),
    script,
    format: oneOf('format', FORMATS, 'deb'),
    arch: arch as Arch[],
    compression: oneOf('compression', COMPRESSIONS, 'xz'),
    origin,
  };
}

/**
 * Load the default machines, then those of a project (`projectDir/templates/build_machines.json`,
 * templates beside it, Dockerfiles under `projectDir/builders/`), which replace defaults of the same id.
 */
export function loadMachines(projectDir?: string): Map<string, Machine> {
  const machines = new Map<string, Machine>();
  const add = (templatesDir: string, buildersDir: string, origin: string) => {
    const file = path.join(templatesDir, 'build_machines.json');
    for (const [id, entry] of Object.entries(readCatalogue(file))) {
      if (id.startsWith('$')) continue;
      machines.set(id, toMachine(id, entry, templatesDir, buildersDir, origin === 'ndist' ? 'ndist' : file));
    }
  };
  add(DEFAULT_TEMPLATES_DIR, DEFAULT_BUILDERS_DIR, 'ndist');
  const projectTemplates = projectDir && path.join(projectDir, 'templates');
  if (projectTemplates && existsSync(path.join(projectTemplates, 'build_machines.json'))) {
    add(projectTemplates, path.join(projectDir, 'builders'), 'project');
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
