/**
 * A workspace build's self-contained app, made inside the build machine after the install and the
 * build step (run there with the bundled Node, so it imports only Node's built-ins): the shipped
 * workspace's directory (without its node_modules) becomes the app's root, and each package of the
 * plan the host worked out from the root lockfile (package/workspace.ts) is copied to its place in
 * the app's node_modules as a real directory: an installed package whole (less its own
 * node_modules, whose packages have places of their own), a workspace package as `npm pack` would
 * publish it. Links into the monorepo are never copied; other workspaces are never read.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface Placement {
  from: string;
  to: string;
  workspace: boolean;
  optional: boolean;
}

/** Copies `from` to `to`, links as links, without `from`'s own node_modules. */
function copyPackage(from: string, to: string): void {
  const skipped = path.join(from, 'node_modules');
  cpSync(from, to, { recursive: true, verbatimSymlinks: true, filter: (file) => file !== skipped });
}

/**
 * The files npm would publish of the workspace package at `dir`. npm 10 runs `prepare` for pack even
 * with --ignore-scripts: its scripts are set aside meanwhile, and put back whatever happens.
 */
function packedFiles(root: string, dir: string): string[] {
  const pkgFile = path.join(root, dir, 'package.json');
  const original = readFileSync(pkgFile);
  const pkg = JSON.parse(original.toString('utf8')) as Record<string, unknown>;
  delete pkg.scripts;
  writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
  try {
    const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--workspace', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const [pack] = JSON.parse(output) as { files: { path: string }[] }[];
    return pack!.files.map((file) => file.path);
  } finally {
    writeFileSync(pkgFile, original);
  }
}

function main(args: string[]): number {
  const value = (name: string) => args[args.indexOf(name) + 1]!;
  const root = value('--source');
  const out = value('--out');
  const plan = JSON.parse(readFileSync(value('--plan'), 'utf8')) as { path: string; placements: Placement[] };
  copyPackage(path.join(root, plan.path), out);
  let packages = 0;
  for (const placement of plan.placements) {
    const from = path.join(root, placement.from);
    const to = path.join(out, placement.to);
    if (!existsSync(from)) {
      // An optional dependency for another OS or CPU is not installed; anything else must be.
      if (placement.optional) continue;
      console.log(`workspace error: ${placement.from} is not installed, but ${plan.path} needs it at ${placement.to}`);
      return 3;
    }
    if (placement.workspace) {
      for (const file of packedFiles(root, placement.from)) {
        mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
        cpSync(path.join(from, file), path.join(to, file), { verbatimSymlinks: true });
      }
    } else {
      copyPackage(from, to);
    }
    packages++;
  }
  const workspaces = plan.placements.filter((placement) => placement.workspace).map((placement) => `${placement.from} → ${placement.to}`);
  console.log(`workspace: ${plan.path} deployed with ${packages} packages${workspaces.length ? `, workspace packages ${workspaces.join(', ')}` : ''}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
