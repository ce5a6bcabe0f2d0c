/** `ndist verify [outDir|report]`: the CLI over verify/verify.ts. */
import type { Command } from 'commander';

export function addVerifyCommand(cli: Command): void {
  cli
    .command('verify')
    .description('install every package of a build run on a clean host of its release, run its smoke test, remove and purge it, compare the host with before, lint it; records ndist-verify.json')
    .argument('[target]', "a build's outDir or its ndist-report.json", 'dist')
    .action(async (target: string) => {
      const { verify } = await import('../verify/verify.ts');
      await verify({ target });
    });
}
