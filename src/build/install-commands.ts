/**
 * The install commands of pnpm and Yarn in the build machine (npm's are in the script template),
 * each frozen to the lockfile: an install that would change it fails the build.
 *
 * - pnpm installs a flat node_modules of real directories (`node-linker=hoisted`), so the package
 *   holds no symlink into a store; `strict-dep-builds` fails the build when pnpm 10 skips a
 *   dependency's build scripts (not in the project's `onlyBuiltDependencies`), instead of shipping
 *   an addon that was never compiled.
 * - Yarn classic installs production-only with `--production`.
 * - Yarn Berry installs with `--immutable`; production-only is `yarn workspaces focus --production`
 *   (its workspace-tools are built into Yarn 4).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MANAGER_CACHE_DIRS } from '../cache/dependency-cache.ts';
import type { ManagerKind } from '../package/package-manager.ts';

export interface ManagerCommands {
  /** The command name the build step calls it by (on PATH in the machine). */
  command: 'pnpm' | 'yarn';
  /** The CLI's script, relative to the archive's root. */
  cli: string;
  /** With a build step: everything, devDependencies too. */
  installAll: string[];
  /** Production dependencies only: without a build step, and after it in a fresh node_modules. */
  installProduction: string[];
}

export function managerCommands(kind: Exclude<ManagerKind, 'npm'>): ManagerCommands {
  if (kind === 'pnpm') {
    const install = ['pnpm', 'install', '--frozen-lockfile', `--store-dir=${MANAGER_CACHE_DIRS.pnpm}`, '--config.node-linker=hoisted', '--config.strict-dep-builds=true', '--reporter=append-only'];
    return { command: 'pnpm', cli: 'bin/pnpm.cjs', installAll: install, installProduction: [...install, '--prod'] };
  }
  if (kind === 'yarn') {
    const install = ['yarn', 'install', '--frozen-lockfile', '--non-interactive', '--no-progress', '--cache-folder', MANAGER_CACHE_DIRS.yarn];
    return { command: 'yarn', cli: 'bin/yarn.js', installAll: install, installProduction: [...install, '--production'] };
  }
  return { command: 'yarn', cli: 'bin/yarn.js', installAll: ['yarn', 'install', '--immutable'], installProduction: ['yarn', 'workspaces', 'focus', '--all', '--production'] };
}

/** Whether the project's .yarnrc.yml names its registry (then Berry uses it, not the host's). */
export function berryRegistryInProject(sourceDir: string): boolean {
  const rc = path.join(sourceDir, '.yarnrc.yml');
  return existsSync(rc) && /^npmRegistryServer:/m.test(readFileSync(rc, 'utf8'));
}
