/** `ndist publish|promote|rollback|repo`, over repository/repository.ts: what changed, then what each channel holds. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { textTable } from '../progress/reporter.ts';
import { parseChannelKey, type ChannelListing } from '../repository/channels.ts';
import { listRepository, promote, publish, repositoryInstructions, rollback, type RepositoryOptions } from '../repository/repository.ts';

/** `verified`; `UNVERIFIED` where it was promoted into this channel with --unverified; else `-` (no record yet). */
function verifyState(pkg: ChannelListing['packages'][number], channel: string): string {
  if (pkg.verified) return 'verified';
  return pkg.unverifiedPromotions?.includes(parseChannelKey(channel).channel) ? 'UNVERIFIED' : '-';
}

function channelTable(channels: ChannelListing[]): string[] {
  const rows = channels.flatMap((listing) =>
    listing.packages.length
      ? listing.packages.map((pkg) => [listing.channel, pkg.name, pkg.version, pkg.arch, verifyState(pkg, listing.channel), pkg.current ? 'current' : ''])
      : [[listing.channel, '(empty)', '', '', '', '']],
  );
  return textTable(['CHANNEL', 'PACKAGE', 'VERSION', 'ARCH', 'VERIFY', ''], rows);
}

function parseKeep(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return Number(value);
}

interface CommonFlags {
  repo: string;
  keyFile?: string;
  url?: string;
  keep?: number;
  dist?: string;
}

function repositoryOptions(flags: CommonFlags): RepositoryOptions {
  return {
    repo: flags.repo,
    sign: flags.keyFile ? { keyFile: flags.keyFile } : {},
    url: flags.url,
    keep: flags.keep,
    log: (line) => console.error(`ndist: ${line}`),
  };
}

const REPO_HELP = 'the repository directory (created on the first publish)';
const KEY_HELP = 'armored secret key the indexes are signed with (default: $NDIST_SIGNING_KEY)';
const DIST_HELP = 'only this target release (bookworm, el9…)';

export function addRepositoryCommands(cli: Command): void {
  cli
    .command('publish')
    .description("add built packages to a channel of an apt + yum repository kept in a directory, signed; a published version is never rewritten")
    .argument('<inputs...>', "a build's outDir (its ndist-report.json says what to publish, and for which release), or .deb/.rpm files with --dist")
    .requiredOption('--repo <dir>', REPO_HELP)
    .requiredOption('--channel <name>', 'the channel to publish to, e.g. testing')
    .option('--dist <name>', "target release the packages are for (default: from each build's machine: bookworm, el9…)")
    .option('--keep <n>', 'versions of an app a channel keeps (default: 5)', parseKeep)
    .option('--url <url>', 'where the repository is served: written into INSTALL.md and the .repo files')
    .option('--name <name>', 'name of a new repository: key and sources file names (default: ndist)')
    .option('--key-file <file>', KEY_HELP)
    .action(async (inputs: string[], flags: CommonFlags & { channel: string; name?: string }) => {
      const { changes, channels } = await publish(inputs, { ...repositoryOptions(flags), channel: flags.channel, dist: flags.dist, name: flags.name });
      for (const line of [...changes, '', ...channelTable(channels)]) console.log(line);
    });

  cli
    .command('promote')
    .description("add an app's version from one channel to another (with the runtime package it runs on)")
    .argument('<app>', 'package name')
    .argument('<version>', 'upstream version (1.1.0) or full version (1.1.0-1deb12)')
    .requiredOption('--repo <dir>', REPO_HELP)
    .requiredOption('--from <channel>', 'e.g. testing')
    .requiredOption('--to <channel>', 'e.g. stable')
    .option('--dist <name>', DIST_HELP)
    .option('--keep <n>', 'versions of an app a channel keeps (default: 5)', parseKeep)
    .option('--key-file <file>', KEY_HELP)
    .option('--unverified', 'promote even bytes with no passing `ndist verify` record for their release (recorded; repo ls shows it)')
    .action(async (app: string, version: string, flags: CommonFlags & { from: string; to: string; unverified?: boolean }) => {
      const { changes, channels } = await promote(app, version, { ...repositoryOptions(flags), from: flags.from, to: flags.to, dist: flags.dist, unverified: flags.unverified });
      for (const line of [...changes, '', ...channelTable(channels)]) console.log(line);
    });

  cli
    .command('rollback')
    .description('take the newest version of an app out of a channel, so hosts go back to the one before; prints the downgrade commands')
    .argument('<app>', 'package name')
    .requiredOption('--repo <dir>', REPO_HELP)
    .requiredOption('--channel <name>', 'e.g. stable')
    .option('--dist <name>', DIST_HELP)
    .option('--key-file <file>', KEY_HELP)
    .action(async (app: string, flags: CommonFlags & { channel: string }) => {
      const { changes, rolledBack, channels } = await rollback(app, { ...repositoryOptions(flags), channel: flags.channel, dist: flags.dist });
      const lines = [...changes, ''];
      for (const step of rolledBack) lines.push(`${step.channel} (${step.arch}): ${step.removed} → ${step.current}; on hosts: ${step.downgrade}`);
      for (const line of [...lines, '', ...channelTable(channels)]) console.log(line);
    });

  const repo = cli.command('repo').description('inspect a repository made by ndist publish');
  repo
    .command('ls')
    .description('what each channel holds, newest first; "current" is what a host installing from it gets')
    .requiredOption('--repo <dir>', REPO_HELP)
    .option('--json', 'as JSON')
    .action(async (flags: { repo: string; json?: boolean }) => {
      const { channels } = await listRepository(flags.repo);
      if (flags.json) console.log(JSON.stringify(channels, null, 2));
      else for (const line of channelTable(channels)) console.log(line);
    });
  repo
    .command('instructions')
    .description('print what a host runs to trust the key and follow a channel (apt sources line, .repo file)')
    .requiredOption('--repo <dir>', REPO_HELP)
    .option('--url <url>', 'where the repository is served (default: the --url it was published with)')
    .action(async (flags: { repo: string; url?: string }) => {
      process.stdout.write(await repositoryInstructions(flags.repo, flags.url));
    });
}
