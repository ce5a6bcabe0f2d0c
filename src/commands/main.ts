/** The `ndist` command line. Each command is a thin layer over the library. */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { bootstrapImage } from '../machine/bootstrap.ts';
import { ARCHES } from '../util/arch.ts';
import type { Arch, EngineOptions } from '../options/types.ts';
import { registerCleanup } from '../cleanup.ts';
import { ConfigError, exitCodeOf, isNdistError } from '../errors.ts';
import { defaultBuildFile, isConfigFile, runConfigFile } from '../options/config.ts';
import { init, listWorkspaces } from './init.ts';
import { loadMachines } from '../machine/catalogue.ts';
import { commandLine, describeBuild, pickBuild, renderBuild } from './render.ts';
import { textTable } from '../progress/reporter.ts';
import { setRunSettings, type CollectedBuilder, type RunSettings } from '../options/run-settings.ts';
import { addRepositoryCommands } from './repo.ts';
import { addVerifyCommand } from './verify.ts';
import { ndistVersion } from '../util/ndist-version.ts';

/**
 * Run a package.ts (or .js/.mjs) file: TypeScript is loaded with tsx, no compile step. A .json
 * file (ndist.config.json, or package.json with an "ndist" block) is read as a configuration
 * instead. No file: package.ts, else ndist.config.json, else package.json's "ndist" block.
 * `settings` reach the Builder it constructs (see run.ts); they win over its own options.
 */
async function runBuildFile(file: string | undefined, settings: RunSettings): Promise<RunSettings> {
  const resolved = file === undefined ? defaultBuildFile(process.cwd()) : path.resolve(file);
  if (!existsSync(resolved)) throw new ConfigError('file', `${resolved} does not exist; write a package.ts (see examples/package.ts) or run \`ndist init\``);
  setRunSettings(settings);
  if (isConfigFile(resolved)) {
    await runConfigFile(resolved);
    return settings;
  }
  const { tsImport } = await import('tsx/esm/api');
  const { file: moduleFile, remove } = await asModule(resolved);
  const removeCopy = registerCleanup(remove);
  try {
    await tsImport(pathToFileURL(moduleFile).href, import.meta.url);
  } catch (error) {
    throw compileError(error, moduleFile, resolved) ?? error;
  } finally {
    await removeCopy();
  }
  return settings;
}

/**
 * A file tsx could not compile (esbuild's TransformError, one `<file>:<line>:<column>: ERROR: <what>`
 * line per error) as a ConfigError naming the file, line and column of the first; `copy` (the
 * hidden .mts copy of a CommonJS project's package.ts) is named as the file it was copied from.
 */
export function compileError(error: unknown, copy: string, file: string): ConfigError | undefined {
  if (!(error instanceof Error) || error.name !== 'TransformError') return undefined;
  const first = /^(.+):(\d+):(\d+): ERROR: (.+)$/m.exec(error.message);
  if (!first) return new ConfigError(file, `cannot be compiled: ${error.message}`);
  const [, where, line, column, what] = first;
  // esbuild names the .mts copy with a .ts extension.
  const isCopy = where!.replace(/\.m?ts$/, '') === copy.replace(/\.m?ts$/, '');
  return new ConfigError(`${isCopy ? file : where}:${line}:${column}`, `cannot be compiled: ${what}`);
}

/** Whether the package.json nearest to `file` says "type": "module". */
function inModulePackage(file: string): boolean {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type === 'module';
    if (path.dirname(dir) === dir) return false;
  }
}

/**
 * A package.ts in a CommonJS project (no "type": "module") would be compiled to CommonJS, where
 * its top-level `await builder.build()` is an error. It is run from a hidden .mts copy beside it
 * instead (same directory, so its relative imports hold), removed afterwards.
 */
async function asModule(file: string): Promise<{ file: string; remove: () => Promise<void> }> {
  if (!file.endsWith('.ts') || inModulePackage(file)) return { file, remove: async () => {} };
  const copy = path.join(path.dirname(file), `.${path.basename(file, '.ts')}.ndist-${process.pid}.mts`);
  await writeFile(copy, await readFile(file));
  return { file: copy, remove: () => rm(copy, { force: true }) };
}

/** The builds a file describes (as `ndist list` sees them), built by nothing. */
export async function collectBuilds(file: string | undefined, only?: string[]): Promise<CollectedBuilder[]> {
  const { collected = [] } = await runBuildFile(file, { mode: 'list', only });
  if (collected.length === 0) throw new ConfigError('file', `${file ?? 'the build file'} ran no builder.build(); no builds found`);
  return collected;
}

/** The engines of the build file's builders (`file`, else the one in this directory when there is one); undefined: the default engine. */
async function configuredEngines(file: string | undefined): Promise<EngineOptions[] | undefined> {
  if (file === undefined) {
    try {
      defaultBuildFile(process.cwd());
    } catch {
      return undefined;
    }
  }
  const engines = (await collectBuilds(file)).flatMap(({ options }) => options.engines ?? []);
  return engines.length > 0 ? engines : undefined;
}

function parseConcurrency(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return number;
}

function parseDays(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a whole number of days');
  return Number(value);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const ONLY_HELP = 'only the builds whose name matches (`*`, `?`, `[abc]`, `{a,b}`); repeatable';

function program(state: { exitCode: number }): Command {
  const cli = new Command('ndist')
    .description('Build self-contained .deb and .rpm packages of Node.js apps inside Docker build machines, and publish them to signed apt and yum repositories')
    .version(ndistVersion())
    .exitOverride()
    .showHelpAfterError();

  const FILE_HELP = 'package.ts, ndist.config.json or a package.json with an "ndist" block (default: the first of these in the current directory)';

  cli
    .command('build')
    .description('run the builds a package.ts (or ndist.config.json) describes')
    .argument('[file]', FILE_HELP)
    .option('-j, --concurrency <n>', 'builds run at once (default: CPU cores)', parseConcurrency)
    .option('--fail-fast', 'when a build fails, stop the others and start no more')
    .option('--force', 'rebuild even the builds whose inputs match an earlier build whose artifact is still there')
    .option('--only <glob>', ONLY_HELP, collect)
    .option('--dry-run', 'validate, resolve sources and metadata, print what would be built; start no container')
    .option('-v, --verbose', 'show every line of container output, even on a terminal')
    .action(async (file: string | undefined, options: { concurrency?: number; failFast?: boolean; force?: boolean; only?: string[]; dryRun?: boolean; verbose?: boolean }) => {
      if (options.dryRun) {
        for (const { options: builder, builds } of await collectBuilds(file, options.only)) {
          for (const build of builds) console.log((await describeBuild(build, builder, options.verbose ? (line) => console.error(line) : undefined)).join('\n'));
        }
        console.log('dry run: nothing was built');
        return;
      }
      await runBuildFile(file, { mode: 'build', concurrency: options.concurrency, failFast: options.failFast, force: options.force, only: options.only, verbose: options.verbose });
    });

  cli
    .command('list')
    .description('print the names of the builds a package.ts (or ndist.config.json) describes, one a line, without building')
    .argument('[file]', FILE_HELP)
    .option('--only <glob>', ONLY_HELP, collect)
    .action(async (file: string | undefined, options: { only?: string[] }) => {
      const { listed = [] } = await runBuildFile(file, { mode: 'list', only: options.only });
      if (listed.length === 0) throw new ConfigError('file', `${file ?? 'the build file'} ran no builder.build(); nothing to list`);
      for (const name of listed) console.log(name);
    });

  cli
    .command('render')
    .description('print the rendered build script and packager command of one build, without starting a container')
    .argument('<build>', 'the exact name of the build (see ndist list)')
    .option('-f, --file <file>', FILE_HELP)
    .addOption(new Option('--packager <packager>', "the packager to render for (default: fpm when the machine's Dockerfile installs it, else dpkg-deb)").choices(['dpkg-deb', 'fpm']))
    .option('--script-only', 'print only the script')
    .action(async (name: string, options: { file?: string; packager?: 'dpkg-deb' | 'fpm'; scriptOnly?: boolean }) => {
      const { build, builder } = pickBuild(await collectBuilds(options.file), name);
      const rendered = await renderBuild(build, builder, { packager: options.packager });
      if (!options.scriptOnly) {
        const { spec } = rendered;
        console.log(`# build:    ${build.name}`);
        console.log(`# machine:  ${rendered.machine.id} (${rendered.machine.image})`);
        console.log(`# package:  ${spec.app} ${spec.version}-${spec.iteration} ${spec.arch} → ${spec.fileName}`);
        console.log(`# prefix:   ${spec.prefix}`);
        console.log(`# runtime:  node ${rendered.runtime.version} (${rendered.runtime.source}) in ${rendered.runtimeDir}`);
        console.log(`# packager: ${commandLine(rendered.packageCommand)}`);
        console.log('');
      }
      process.stdout.write(rendered.script.endsWith('\n') ? rendered.script : `${rendered.script}\n`);
    });

  cli
    .command('shell')
    .description("open a shell (or run a command) in a build's machine with its source, runtime and build script in place; the container is removed on exit")
    .argument('<build>', 'the exact name of the build (see ndist list)')
    .argument('[command...]', 'a command to run instead of bash, after --, e.g. -- sh -c "ls /ndist/src"')
    .option('-f, --file <file>', FILE_HELP)
    .action(async (name: string, command: string[], options: { file?: string }) => {
      const { build, builder } = pickBuild(await collectBuilds(options.file), name);
      const { openShell } = await import('./shell.ts');
      const tty = command.length === 0 && process.stdin.isTTY === true && process.stdout.isTTY === true;
      state.exitCode = await openShell(build, builder, command, {
        stdin: tty || !process.stdin.isTTY ? process.stdin : undefined,
        stdout: process.stdout,
        stderr: process.stderr,
        tty,
        log: (line) => process.stderr.write(`ndist: ${line}\n`),
      });
    });

  cli
    .command('init')
    .description("write a package.ts for the app in the current directory from its package.json (never overwrites)")
    .option('--node <version>', 'exact Node.js version to bundle (default: a tested LTS release)')
    .action((options: { node?: string }) => {
      const file = init(process.cwd(), { node: options.node });
      const workspaces = listWorkspaces(process.cwd());
      // In a monorepo root, init chose a workspace: the user is told to check it.
      const monorepo = workspaces.length > 0 ? `this is a monorepo root: set workspace in it to the workspace to package (one of ${workspaces.join(', ')}); ` : '';
      console.log(`wrote ${file}; ${monorepo}next: npx ndist list, npx ndist render <build>, npx ndist build`);
    });

  cli
    .command('bootstrap-image')
    .description('create a Debian base image with debootstrap, for engines that cannot pull images')
    .argument('<image>', 'image to create, e.g. debian:bookworm')
    .option('--mirror <url>', "package archive to install from (default: debootstrap's own)")
    .addOption(new Option('--arch <arch>', 'architecture of the image').choices(ARCHES))
    .action(async (image: string, options: { mirror?: string; arch?: Arch }) => {
      await bootstrapImage(image, options);
    });

  const cache = cli.command('cache').description("ndist's caches: runtimes, build records, machine images, the npm and dependency cache volumes");
  cache
    .command('ls')
    .description('list what each cache holds: keys, sizes, last use; machine images and volumes per engine')
    .option('-f, --file <file>', `${FILE_HELP}; its engines are listed (default: the build file here, if any, else the default engine)`)
    .action(async (options: { file?: string }) => {
      const { listCaches } = await import('./cache.ts');
      for (const line of await listCaches(await configuredEngines(options.file))) console.log(line);
    });
  cache
    .command('prune')
    .description('remove cache entries unused for --older-than days and machine images no machine builds today; --all: everything')
    .option('--all', 'remove every cache: runtimes, build records, all machine images ndist built, both volumes')
    .option('--older-than <days>', 'age, in days since last use, of the entries removed', parseDays, 30)
    .option('-f, --file <file>', `${FILE_HELP}; its engines are pruned (default: the build file here, if any, else the default engine)`)
    .action(async (options: { all?: boolean; olderThan: number; file?: string }) => {
      const { pruneCommand } = await import('./cache.ts');
      for (const line of await pruneCommand({ all: options.all, olderThanDays: options.olderThan }, await configuredEngines(options.file))) console.log(line);
    });

  addRepositoryCommands(cli);
  addVerifyCommand(cli);

  cli
    .command('machines')
    .description('list the build machines: defaults and those of ./templates/build_machines.json')
    .action(() => {
      const rows = [...loadMachines(process.cwd()).values()].map((machine) => [machine.id, machine.image, machine.format, machine.arch.join(','), machine.origin]);
      for (const line of textTable(['ID', 'IMAGE', 'FORMAT', 'ARCH', 'FROM'], rows)) console.log(line);
    });
  return cli;
}

/**
 * Run the CLI; returns the exit code (see EXIT_CODES). An ndist error is printed without a stack;
 * anything else is a bug, printed with its stack for a report. Commander has printed its own.
 */
export async function main(argv: string[]): Promise<number> {
  try {
    const state = { exitCode: 0 };
    await program(state).parseAsync(argv);
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (isNdistError(error)) console.error(`ndist: ${error.message}`);
    else {
      console.error('ndist: internal error, please report it with the output below');
      console.error(error);
    }
    return exitCodeOf(error);
  }
}
