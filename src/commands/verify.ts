/** `ndist verify [outDir|report]`: the CLI over verify/verify.ts. */
import type { Command } from 'commander';

export function addVerifyCommand(cli: Command): void {
  cli
    .command('verify')
    .description('install every package of a build run on a clean host of its release, run its smoke test, remove and purge it, compare the host with before, lint it; records ndist-verify.json')
    .argument('[target]', "a build's outDir or its ndist-report.json", 'dist')
    .option('--from-repo <dir>', 'a repository (ndist publish --repo): install what --channel serves first, upgrade from it, roll back to it and upgrade again')
    .option('--channel <name>', 'the channel hosts upgrade from, e.g. stable')
    .option('--no-lint', 'skip lintian')
    .action(async (target: string, flags: { fromRepo?: string; channel?: string; lint: boolean }) => {
      const { verify } = await import('../verify/verify.ts');
      await verify({ target, fromRepo: flags.fromRepo, channel: flags.channel, lint: flags.lint });
    });
}
