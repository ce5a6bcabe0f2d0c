/** The `ndist` command line. Each command is a thin layer over the library. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { bootstrapImage } from '../bootstrap.ts';
import { BuildsFailedError } from '../builder.ts';
import { BuildError, ConfigError } from '../errors.ts';
import { PACKAGE_ROOT, loadMachines } from '../machines.ts';
import { setRunSettings, type RunSettings } from '../run.ts';

function version(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Run a package.ts (or .js/.mjs) file: TypeScript is loaded with tsx, no compile step. `settings`
 * reach the Builder it constructs (see run.ts); they win over its own options.
 */
async function runBuildFile(file: string, settings: RunSettings): Promise<RunSettings> {
  const resolved = path.resolve(file);
  if (!existsSync(resolved)) throw new ConfigError('file', `${resolved} does not exist; write a package.ts (see examples/package.ts)`);
  setRunSettings(settings);
  const { tsImport } = await import('tsx/esm/api');
  await tsImport(pathToFileURL(resolved).href, import.meta.url);
  return settings;
}

function parseConcurrency(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return number;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const ONLY_HELP = 'only the builds whose name matches (`*`, `?`, `[abc]`, `{a,b}`); repeatable';

function program(): Command {
  const cli = new Command('ndist')
    .description('Build self-contained .deb packages of Node.js apps inside Docker build machines')
    .version(version())
    .exitOverride()
    .showHelpAfterError();

  cli
    .command('build')
    .description('run the builds a package.ts describes')
    .argument('[file]', 'the file that adds builds and calls builder.build()', 'package.ts')
    .option('-j, --concurrency <n>', 'builds run at once (default: CPU cores)', parseConcurrency)
    .option('--fail-fast', 'when a build fails, stop the others and start no more')
    .option('--only <glob>', ONLY_HELP, collect)
    .action(async (file: string, options: { concurrency?: number; failFast?: boolean; only?: string[] }) => {
      await runBuildFile(file, { mode: 'build', concurrency: options.concurrency, failFast: options.failFast, only: options.only });
    });

  cli
    .command('list')
    .description('print the names of the builds a package.ts describes, one a line, without building')
    .argument('[file]', 'the file that adds builds and calls builder.build()', 'package.ts')
    .option('--only <glob>', ONLY_HELP, collect)
    .action(async (file: string, options: { only?: string[] }) => {
      const { listed = [] } = await runBuildFile(file, { mode: 'list', only: options.only });
      if (listed.length === 0) throw new ConfigError('file', `${file} ran no builder.build(); nothing to list`);
      for (const name of listed) console.log(name);
    });

  cli
    .command('bootstrap-image')
    .description('create a Debian base image with debootstrap, for engines that cannot pull images')
    .argument('<image>', 'image to create, e.g. debian:bookworm')
    .option('--mirror <url>', "package archive to install from (default: debootstrap's own)")
    .addOption(new Option('--arch <arch>', 'architecture of the image').choices(['amd64', 'arm64']))
    .action(async (image: string, options: { mirror?: string; arch?: 'amd64' | 'arm64' }) => {
      await bootstrapImage(image, options);
    });

  cli
    .command('machines')
    .description('list the build machines: defaults and those of ./templates/build_machines.json')
    .action(() => {
      const rows = [...loadMachines(process.cwd()).values()].map((machine) => [machine.id, machine.image, machine.format, machine.arch.join(','), machine.origin]);
      const header = ['ID', 'IMAGE', 'FORMAT', 'ARCH', 'FROM'];
      const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
      for (const row of [header, ...rows]) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
    });
  return cli;
}

/** Run the CLI; returns the exit code. Errors the user can fix are printed without a stack. */
export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    // Matched by name, not instanceof: a package.ts may load another copy of ndist than this CLI.
    const name = error instanceof Error ? error.name : '';
    if ([BuildsFailedError.name, BuildError.name, ConfigError.name].includes(name)) {
      console.error(`ndist: ${(error as Error).message}`);
      return name === ConfigError.name ? 2 : 1;
    }
    console.error('ndist: internal error, please report it with the output below');
    console.error(error);
    return 70;
  }
}
