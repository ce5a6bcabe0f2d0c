/**
 * The libraries step of `ndist verify`: once the package is installed on the clean host, every ELF
 * file it ships (native addons, node, other binaries) is given to the host's own `ldd`, and a
 * library that resolves to nothing fails the step by name — a library the build machine had but
 * the package does not depend on (runtimeDeps). Pure: the host command and the judgement.
 */
import { shellQuote } from '../machine/script.ts';

/**
 * Prints `<file> <library>` for each library an installed file of `packages` needs and the host
 * does not have. Files are looked at when they can be ELF: `.node`, `.so`, `.so.*` or executable.
 */
export function missingLibrariesCommand(packages: string[]): string {
  return [
    `dpkg -L ${packages.map(shellQuote).join(' ')} | sort -u | while IFS= read -r f; do`,
    '  [ -f "$f" ] && [ ! -L "$f" ] || continue',
    '  case "$f" in *.node|*.so|*.so.*) ;; *) [ -x "$f" ] || continue ;; esac',
    `  [ "$(head -c 4 "$f" | od -An -c | tr -d ' \\n')" = '177ELF' ] || continue`,
    '  ldd "$f" 2>/dev/null | sed -n "s|^[[:space:]]*\\([^[:space:]]*\\) => not found.*|$f \\1|p"',
    'done',
  ].join('\n');
}

export interface MissingLibrary {
  file: string;
  library: string;
}

export function parseMissingLibraries(output: string): MissingLibrary[] {
  return output.split('\n').flatMap((line) => {
    const match = /^(\/\S*) (\S+)$/.exec(line.trim());
    return match ? [{ file: match[1]!, library: match[2]! }] : [];
  });
}

/**
 * What to tell the user about each missing library: the package the build machine took it from
 * when the build's health check named one (its warning is in the build log), else what to look for.
 */
export function explainMissingLibraries(missing: MissingLibrary[], buildLog: string[]): string[] {
  return missing.map(({ file, library }) => {
    const escaped = library.replace(/[.+*?^${}()|[\]\\]/g, '\\$&');
    const named = buildLog.map((line) => new RegExp(`needs ${escaped} \\([^)]*from package (\\S+)\\)`).exec(line)?.[1]).find(Boolean);
    return named
      ? `${file} needs ${library}, which no package installed here provides: add '${named}' to runtimeDeps (the build's health check found ${library} in that package on the build machine)`
      : `${file} needs ${library}, which no package installed here provides: add the package that provides ${library} to runtimeDeps`;
  });
}
