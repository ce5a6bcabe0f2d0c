/**
 * What of the app goes into the package, worked out inside the build machine after the build step
 * and the prune (run there with the bundled Node, so it imports only Node's built-ins): the files
 * `npm pack` would publish (npm's own list, `npm pack --dry-run --json`, read from --packlist:
 * package.json `files`, .npmignore or else .gitignore, package.json, README and licence files), the
 * commands' scripts (--always), the production node_modules (and the build/ of an app's own
 * addon), and the files matching an --include
 * glob; then less every path an --exclude glob matches. It writes the list, NUL-separated with every
 * parent directory before its children, for `tar --no-recursion -T` to copy with modes and links.
 */
import { chmodSync, existsSync, lstatSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Directories of the source never walked for --include: dependencies are taken whole, git is never packaged. */
const NOT_WALKED = new Set(['node_modules', '.git']);

/**
 * A glob as a regular expression over a path relative to the app: `*` and `?` match within one
 * name, `**` across directories (`a/**` is everything under a; `**\/x` is x at any depth).
 */
export function globPattern(glob: string): RegExp {
  let source = '';
  const text = glob.replace(/^\.\//, '').replace(/\/+$/, '');
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '*' && text[i + 1] === '*') {
      i++;
      if (text[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else {
        source += '.*';
      }
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

/** Whether `file` or one of the directories it is in matches one of `patterns`. */
export function matchesAny(file: string, patterns: RegExp[]): boolean {
  const parts = file.split('/');
  for (let depth = 1; depth <= parts.length; depth++) {
    const prefix = parts.slice(0, depth).join('/');
    if (patterns.some((pattern) => pattern.test(prefix))) return true;
  }
  return false;
}

/** Every file, link and directory below `dir` (relative to `root`), without following links. */
function walk(root: string, dir: string, into: Set<string>, skip = NOT_WALKED): void {
  for (const name of readdirSync(path.join(root, dir))) {
    if (dir === '' && skip.has(name)) continue;
    const relative = dir === '' ? name : `${dir}/${name}`;
    into.add(relative);
    if (lstatSync(path.join(root, relative)).isDirectory()) walk(root, relative, into, skip);
  }
}

export interface StageInputs {
  source: string;
  /** Relative paths npm pack would publish. */
  packed: string[];
  /** Paths that must be packaged and must exist: the commands' scripts. */
  always: string[];
  include: string[];
  exclude: string[];
}

/** The paths to package, sorted (so every directory comes before what it holds), or an error naming a missing script. */
export function stagedPaths(inputs: StageInputs): { paths: string[]; missing: string[] } {
  const chosen = new Set<string>();
  for (const file of [...inputs.packed, ...inputs.always]) chosen.add(file.replace(/^\.\//, ''));
  // Installed in the machine, never published: production node_modules, and the app's own addon
  // compiled beside its binding.gyp (its build/ is often in .gitignore, which npm pack reads).
  for (const dir of ['node_modules', ...(existsSync(path.join(inputs.source, 'binding.gyp')) ? ['build'] : [])]) {
    if (!existsSync(path.join(inputs.source, dir))) continue;
    chosen.add(dir);
    walk(inputs.source, dir, chosen, new Set());
  }
  if (inputs.include.length > 0) {
    const include = inputs.include.map(globPattern);
    const everything = new Set<string>();
    walk(inputs.source, '', everything);
    for (const file of everything) if (matchesAny(file, include)) chosen.add(file);
  }
  const exclude = inputs.exclude.map(globPattern);
  const kept = new Set<string>();
  for (const file of chosen) {
    if (matchesAny(file, exclude) || !existsSync(path.join(inputs.source, file))) continue;
    kept.add(file);
    // Its directories, so tar gives them their own modes.
    for (let dir = path.posix.dirname(file); dir !== '.'; dir = path.posix.dirname(dir)) kept.add(dir);
  }
  const missing = inputs.always.filter((file) => !existsSync(path.join(inputs.source, file)));
  return { paths: [...kept].sort(), missing };
}

/**
 * The commands' scripts executable, as npm's bin links make them, in the machine's copy of the
 * source before tar copies it with its modes: a script keeps its shebang, and one that cannot run
 * is a lintian error (script-not-executable). Read and write bits are left as they are.
 */
export function makeExecutable(source: string, scripts: string[]): void {
  for (const script of new Set(scripts)) {
    const file = path.join(source, script);
    chmodSync(file, statSync(file).mode | 0o111);
  }
}

function main(args: string[]): number {
  const values = (name: string) => args.flatMap((arg, index) => (arg === name ? [args[index + 1]!] : []));
  const value = (name: string) => values(name)[0]!;
  const [pack] = JSON.parse(readFileSync(value('--packlist'), 'utf8')) as { files: { path: string }[] }[];
  const { paths, missing } = stagedPaths({
    source: value('--source'),
    packed: pack!.files.map((file) => file.path),
    always: values('--always'),
    include: values('--include'),
    exclude: values('--exclude'),
  });
  for (const file of missing) console.log(`staging error: ${file} does not exist after the build step; it is a command's script (package.json bin or main, or the entry option)`);
  if (missing.length > 0) return 3;
  makeExecutable(value('--source'), values('--always'));
  writeFileSync(value('--out'), paths.map((file) => `${file}\0`).join(''));
  const packaged = paths.filter((file) => !file.startsWith('node_modules/') && file !== 'node_modules' && !lstatSync(path.join(value('--source'), file)).isDirectory());
  console.log(`staging: ${packaged.length} files of the app (npm pack's list${values('--include').length ? ', include' : ''}${values('--exclude').length ? ', less exclude' : ''}) and its production node_modules`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
