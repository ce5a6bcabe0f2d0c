/**
 * Settings of one `ndist` run that the CLI passes to the Builder a package.ts constructs. They live
 * on globalThis under a registered symbol, so they reach the Builder even when the package.ts loads
 * another copy of ndist than the CLI runs. CLI flags win over the Builder's own options.
 */
import { ConfigError } from '../errors.ts';
import type { BuildOptions, BuilderOptions } from './types.ts';

/** What a Builder holds, recorded under `ndist list` (and render, dry-run) instead of building. */
export interface CollectedBuilder {
  options: BuilderOptions;
  /** The selected builds, as added. */
  builds: BuildOptions[];
}

export interface RunSettings {
  /** `--concurrency N` */
  concurrency?: number;
  /** `--fail-fast` */
  failFast?: boolean;
  /** `--force`: rebuild builds that are up to date. */
  force?: boolean;
  /** `--only <glob>` (repeatable): only builds whose name matches one of them run. */
  only?: string[];
  /**
   * 'list': build() records the (selected) build names in `listed`, and the builds with the
   * Builder's options in `collected`, and returns without building.
   */
  mode?: 'build' | 'list';
  listed?: string[];
  collected?: CollectedBuilder[];
  /** `--verbose`: every line of container output, even on a terminal. */
  verbose?: boolean;
}

const KEY = Symbol.for('ndist.run');

/** The settings of this run; empty when ndist is used as a library, outside the CLI. */
export function runSettings(): RunSettings {
  return ((globalThis as Record<symbol, unknown>)[KEY] as RunSettings | undefined) ?? {};
}

export function setRunSettings(settings: RunSettings | undefined): void {
  if (settings) (globalThis as Record<symbol, unknown>)[KEY] = settings;
  else delete (globalThis as Record<symbol, unknown>)[KEY];
}

/**
 * A glob over build names: `*` matches any run of characters, `?` one character, `[abc]` one of
 * a set, `{a,b}` one of the alternatives; anything else matches itself.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        const set = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        source += set.startsWith('!') ? `[^${set.slice(1)}]` : `[${set}]`;
        i = end;
      }
    } else if (char === '{') {
      braces++;
      source += '(?:';
    } else if (char === '}' && braces > 0) {
      braces--;
      source += ')';
    } else if (char === ',' && braces > 0) source += '|';
    else source += char.replace(/[.+^$()|\\/\]{}]/g, '\\$&');
  }
  if (braces > 0) throw new ConfigError('--only', `"${glob}" has an unclosed "{"`);
  return new RegExp(`^${source}$`);
}

/** The names matching any of `globs` (all names when there are none), in their order. */
export function selectNames(names: readonly string[], globs: readonly string[] | undefined): string[] {
  if (!globs || globs.length === 0) return [...names];
  const patterns = globs.map(globToRegExp);
  const selected = names.filter((name) => patterns.some((pattern) => pattern.test(name)));
  if (selected.length === 0) {
    throw new ConfigError('--only', `${globs.map((glob) => `"${glob}"`).join(', ')} matches no build; builds: ${names.map((name) => `"${name}"`).join(', ')}`);
  }
  return selected;
}
