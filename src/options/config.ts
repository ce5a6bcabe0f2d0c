/**
 * Builds described without code: ndist.config.json, or the "ndist" block of package.json. The
 * file is checked against ndist.config.schema.json (shipped in the package), then each build goes
 * through Builder.addBuild like a package.ts's. Relative paths are relative to the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Builder } from '../build/builder.ts';
import { ConfigError } from '../errors.ts';
import { fieldName, schemaProblems } from '../util/schema.ts';
import { schemaValidator } from './schema.ts';
import type { BuildOptions, BuilderOptions, SourceSpec } from './types.ts';

export const CONFIG_FILE = 'ndist.config.json';

export interface NdistConfig extends Omit<BuilderOptions, 'log' | 'sign'> {
  sign?: true | { keyFile?: string };
  builds: BuildOptions[];
}

/** What `ndist build` with no file runs: package.ts, else ndist.config.json, else package.json's "ndist" block. */
export function defaultBuildFile(dir: string): string {
  for (const name of ['package.ts', CONFIG_FILE]) {
    if (existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  const pkg = path.join(dir, 'package.json');
  if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { ndist?: unknown }).ndist !== undefined) return pkg;
  throw new ConfigError('file', `${dir} has no package.ts, no ${CONFIG_FILE} and no "ndist" block in package.json; run \`ndist init\` to write a package.ts`);
}

/** A JSON file holding builds: ndist.config.json (any *.json but package.json) or a package.json with an "ndist" block. */
export function isConfigFile(file: string): boolean {
  return file.endsWith('.json');
}

/** Parse and check a configuration; `file` names it in errors, each build by its name. */
export function parseConfig(raw: unknown, file: string): NdistConfig {
  const validate = schemaValidator('');
  if (!validate(raw)) {
    const lines = schemaProblems(validate).map(({ path, message }) => {
      let where = '';
      let field = path;
      if (path[0] === 'builds' && path[1] !== undefined) {
        const name = (raw as { builds: Array<{ name?: unknown }> }).builds[Number(path[1])]?.name;
        where = `build ${typeof name === 'string' ? `"${name}"` : `#${Number(path[1]) + 1}`}`;
        field = path.slice(2);
      }
      const subject = [where, field.length > 0 ? `field "${fieldName(field)}"` : ''].filter(Boolean).join(' ');
      return subject ? `${subject}: ${message}` : message;
    });
    throw new ConfigError(file, `does not match ndist.config.schema.json:\n  ${lines.join('\n  ')}`);
  }
  return raw as NdistConfig;
}

/** Read the configuration in `file` (ndist.config.json, or package.json's "ndist" block). */
export function readConfig(file: string): NdistConfig {
  const resolved = path.resolve(file);
  if (!existsSync(resolved)) throw new ConfigError('file', `${resolved} does not exist`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(resolved, 'utf8'));
  } catch (error) {
    throw new ConfigError(resolved, `is not valid JSON: ${(error as Error).message}`);
  }
  if (path.basename(resolved) === 'package.json') {
    const block = (parsed as { ndist?: unknown } | null)?.ndist;
    if (block === undefined) throw new ConfigError(resolved, 'has no "ndist" block');
    return parseConfig(block, `${resolved} "ndist"`);
  }
  return parseConfig(parsed, resolved);
}

function rebase(dir: string, value: string | undefined): string | undefined {
  return value === undefined ? undefined : path.resolve(dir, value);
}

function rebaseAll<T extends Record<string, string | undefined>>(dir: string, paths: T): T {
  return Object.fromEntries(Object.entries(paths).map(([key, value]) => [key, rebase(dir, value)])) as T;
}

function rebaseSource(dir: string, source: SourceSpec): SourceSpec {
  return source.type === 'git' ? source : { ...source, path: path.resolve(dir, source.path) };
}

/** The Builder and build options a configuration file describes, paths made absolute. */
export function configBuilds(file: string): { builder: BuilderOptions; builds: BuildOptions[] } {
  const { builds, ...options } = readConfig(file);
  const dir = path.dirname(path.resolve(file));
  const builder: BuilderOptions = {
    ...options,
    outDir: rebase(dir, options.outDir ?? 'dist'),
    machinesDir: rebase(dir, options.machinesDir ?? '.'),
    ...(options.cacheDir !== undefined ? { cacheDir: rebase(dir, options.cacheDir) } : {}),
    ...(typeof options.caBundle === 'string' ? { caBundle: rebase(dir, options.caBundle) } : {}),
    ...(typeof options.sign === 'object' && options.sign.keyFile ? { sign: { keyFile: rebase(dir, options.sign.keyFile) } } : {}),
    ...(options.engines ? { engines: options.engines.map((engine) => (engine.tls ? { ...engine, tls: rebaseAll(dir, engine.tls) } : engine)) } : {}),
  };
  return { builder, builds: builds.map((build) => ({ ...build, source: rebaseSource(dir, build.source) })) };
}

/** Run the builds of a configuration file, as a package.ts calling builder.build() would. */
export async function runConfigFile(file: string): Promise<void> {
  const { builder: options, builds } = configBuilds(file);
  let builder: Builder;
  try {
    builder = new Builder(options);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${file}: field ${error.field}`, error.message.slice(error.field.length + 2));
    throw error;
  }
  for (const build of builds) {
    try {
      builder.addBuild(build);
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`${file}: build "${build.name}" field ${error.field}`, error.message.slice(error.field.length + 2));
      throw error;
    }
  }
  await builder.build();
}
