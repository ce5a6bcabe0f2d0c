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

/**
 * The packages whose build scripts pnpm skipped, from its `ERR_PNPM_IGNORED_BUILDS` line (which
 * `strict-dep-builds` makes an error), e.g. `['core-js@3.45.1']`; undefined for any other line.
 */
export function pnpmIgnoredBuilds(line: string): string[] | undefined {
  const listed = /ERR_PNPM_IGNORED_BUILDS\s+Ignored build scripts:\s*(.+?)\.?\s*$/.exec(line)?.[1];
  return listed?.split(/,\s*/).filter((name) => name !== '');
}

/** What to do about build scripts pnpm skipped: pnpm's own advice (`pnpm approve-builds`) is interactive. */
export function ignoredBuildsAdvice(packages: string[]): string {
  const names = [...new Set(packages.map((spec) => spec.replace(/(.)@[^@]*$/, '$1')))];
  return `pnpm 10 skipped the install scripts of ${packages.join(', ')}, which the project does not allow, and strict-dep-builds fails the build rather than ship a package that was never built: `
    + `list ${names.length === 1 ? 'it' : 'them'} in onlyBuiltDependencies (pnpm-workspace.yaml \`onlyBuiltDependencies: [${names.join(', ')}]\`, or package.json "pnpm": { "onlyBuiltDependencies": ${JSON.stringify(names)} }) to run ${names.length === 1 ? 'its script' : 'their scripts'}, `
    + 'or in ignoredBuiltDependencies when the package works without, then commit pnpm-lock.yaml';
}
