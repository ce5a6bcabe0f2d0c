/**
 * Health check of a staged package, run inside the build machine with the bundled Node after the
 * dependencies are installed and before packaging (like omnibus's): every ELF file (node, `.node`
 * addons, other binaries) may only need libraries that are inside the package, part of the base
 * system, or provided by a runtime dependency, and no glibc / libstdc++ symbol version newer than
 * the machine's own.
 *
 * This file is copied into the container and run there as `node health-check.mjs`, so it imports
 * nothing but Node's built-ins.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Libraries every glibc system has (omnibus's list): never a dependency to declare. */
const BASE_LIBRARIES = [
  /^libc\.so\./, /^libm\.so\./, /^libdl\.so\./, /^libpthread\.so\./, /^librt\.so\./, /^libutil\.so\./,
  /^libresolv\.so\./, /^libstdc\+\+\.so\./, /^libgcc_s\.so\./, /^ld-linux.*\.so\./, /^linux-(vdso|gate)\.so\./,
];

export interface ElfFacts {
  /** Path relative to the package root. */
  file: string;
  needed: string[];
  /** Required symbol versions, e.g. GLIBC_2.34, GLIBCXX_3.4.30. */
  versions: string[];
  /** The same, per library that defines them (readelf's version needs): libm.so.6 → [GLIBC_2.29]. */
  needs?: Record<string, string[]>;
}

export interface LibraryOwner {
  /** Where the library was found on the build machine, if anywhere. */
  path?: string;
  /** Distro package that owns it. */
  package?: string;
  /** That package is part of every installation (Debian: Essential or Priority required). */
  base?: boolean;
}

export interface MachineFacts {
  glibc: string;
  /** Newest GLIBCXX_ version the machine's libstdc++ defines. */
  glibcxx?: string;
}

export interface Problem {
  file: string;
  message: string;
}

/** NEEDED entries of `readelf -d` output. */
export function parseNeeded(readelfDynamic: string): string[] {
  return [...readelfDynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((match) => match[1]!);
}

/** Symbol versions of `readelf -V` output: required ones (`Name: GLIBC_2.34`) or defined ones (`Name: GLIBCXX_3.4.30`). */
export function parseVersions(readelfVersions: string, prefix = '(?:GLIBC|GLIBCXX|CXXABI)'): string[] {
  return [...new Set([...readelfVersions.matchAll(new RegExp(`Name: (${prefix}_[0-9.]+)`, 'g'))].map((match) => match[1]!))];
}

/** Required versions per library, from the version needs section of `readelf -V` output. */
export function parseVersionNeeds(readelfVersions: string): Record<string, string[]> {
  const needs: Record<string, string[]> = {};
  const section = readelfVersions.split(/^Version needs section/m)[1];
  if (!section) return needs;
  let library: string | undefined;
  for (const line of section.split('\n')) {
    if (/^\S/.test(line)) break; // the next section
    const file = /File: (\S+)/.exec(line);
    if (file) library = file[1]!;
    const name = /Name: (\S+)/.exec(line);
    if (name && library) (needs[library] ??= []).push(name[1]!);
  }
  return needs;
}

/** Package names in Depends-style relations: 'libsqlite3-0 (>= 3.40) | libsqlite3' → both names. */
export function dependencyNames(relations: string[]): Set<string> {
  return new Set(relations.flatMap((relation) => relation.split('|').map((part) => part.trim().split(/[\s(:]/)[0]!)).filter(Boolean));
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function newest(versions: string[], prefix: string): string | undefined {
  return versions
    .filter((version) => version.startsWith(`${prefix}_`))
    .map((version) => version.slice(prefix.length + 1))
    .sort(compareVersions)
    .at(-1);
}

export interface Analysis {
  elves: ElfFacts[];
  /** Base names of every file and link in the package. */
  packaged: Set<string>;
  owners: Map<string, LibraryOwner>;
  runtimeDeps: string[];
  machine: MachineFacts;
  machineId: string;
}

/** What is wrong with the package, each problem with the file, the library or symbol, and the fix. */
export function analyse({ elves, packaged, owners, runtimeDeps, machine, machineId }: Analysis): Problem[] {
  const declared = dependencyNames(runtimeDeps);
  const problems: Problem[] = [];
  for (const elf of elves) {
    for (const library of elf.needed) {
      if (packaged.has(library) || BASE_LIBRARIES.some((pattern) => pattern.test(library))) continue;
      const owner = owners.get(library) ?? {};
      if (owner.base || (owner.package && declared.has(owner.package))) continue;
      problems.push({
        file: elf.file,
        message: owner.package
          ? `needs ${library} (${owner.path}, from package ${owner.package}), which is neither in the package nor in runtimeDeps: add '${owner.package}' to runtimeDeps`
          : owner.path
            ? `needs ${library} (${owner.path}), which no distro package owns: bundle it in the package, or install it from a package listed in runtimeDeps`
            : `needs ${library}, which is not in the package and not installed on the build machine: add the package that provides it to runtimeDeps (and its -dev package to buildDeps)`,
      });
    }
    const glibc = newest(elf.versions, 'GLIBC');
    if (glibc && compareVersions(glibc, machine.glibc) > 0) {
      problems.push({ file: elf.file, message: `needs GLIBC_${glibc}, newer than glibc ${machine.glibc} of ${machineId}: build it on that machine from source, or target a newer distro` });
    }
    const glibcxx = newest(elf.versions, 'GLIBCXX');
    if (glibcxx && machine.glibcxx && compareVersions(glibcxx, machine.glibcxx) > 0) {
      problems.push({ file: elf.file, message: `needs GLIBCXX_${glibcxx}, newer than GLIBCXX_${machine.glibcxx} of ${machineId}'s libstdc++: build it on that machine from source, or target a newer distro` });
    }
  }
  return problems;
}

/** The newest glibc and libstdc++ symbol versions any ELF file needs: the oldest system the package can run on, and the file that sets it. */
export interface Floor {
  glibc?: string;
  glibcFile?: string;
  glibcxx?: string;
  glibcxxFile?: string;
}

export function glibcFloor(elves: ElfFacts[]): Floor {
  const floor: Floor = {};
  for (const elf of elves) {
    const glibc = newest(elf.versions, 'GLIBC');
    if (glibc && (!floor.glibc || compareVersions(glibc, floor.glibc) > 0)) Object.assign(floor, { glibc, glibcFile: elf.file });
    const glibcxx = newest(elf.versions, 'GLIBCXX');
    if (glibcxx && (!floor.glibcxx || compareVersions(glibcxx, floor.glibcxx) > 0)) Object.assign(floor, { glibcxx, glibcxxFile: elf.file });
  }
  return floor;
}

/** The floor as the line the build log shows (`health check: needs glibc >= …`); none when no ELF file needs glibc. */
export function floorLine(floor: Floor): string | undefined {
  if (!floor.glibc) return undefined;
  const cxx = floor.glibcxx ? `, libstdc++ with GLIBCXX_${floor.glibcxx} (${floor.glibcxxFile})` : '';
  return `health check: needs glibc >= ${floor.glibc} (${floor.glibcFile})${cxx}`;
}

/**
 * The floor as dependencies in the package format's syntax, which the packager writes into the
 * package. A .deb: `libc6 (>= <glibc>)`, and `libstdc++6 (>= <version>)` when a file needs a
 * GLIBCXX_ version, that version being what the machine's libstdc++6 symbols file maps it to (as
 * dpkg-shlibdeps reads it; unversioned when the machine has no such file). An .rpm: what rpm's own
 * dependency generator writes, `<soname>(<version>)(64bit)` for the newest glibc or libstdc++
 * version each library is needed in, which every Red Hat-family glibc and libstdc++ provide
 * whatever their package is called or backported (and `AutoReqProv: no` keeps the generator off
 * the rest). Libraries inside the package are left out.
 */
export function floorRelations(elves: ElfFacts[], format: 'deb' | 'rpm', packaged: Set<string>, libstdcxxMinimum: (glibcxx: string) => string | undefined): string[] {
  if (format === 'deb') {
    const floor = glibcFloor(elves);
    const relations = floor.glibc ? [`libc6 (>= ${floor.glibc})`] : [];
    if (floor.glibcxx) {
      const minimum = libstdcxxMinimum(`GLIBCXX_${floor.glibcxx}`);
      relations.push(minimum ? `libstdc++6 (>= ${minimum})` : 'libstdc++6');
    }
    return relations;
  }
  const newestPerLibrary = new Map<string, string>();
  for (const elf of elves) {
    for (const [library, versions] of Object.entries(elf.needs ?? {})) {
      if (packaged.has(library)) continue;
      for (const prefix of ['GLIBC', 'GLIBCXX']) {
        const version = newest(versions, prefix);
        const key = `${library}\0${prefix}`;
        const known = newestPerLibrary.get(key);
        if (version && (!known || compareVersions(version, known) > 0)) newestPerLibrary.set(key, version);
      }
    }
  }
  return [...newestPerLibrary].map(([key, version]) => {
    const [library, prefix] = key.split('\0');
    return `${library}(${prefix}_${version})(64bit)`;
  }).sort();
}

/** The Debian package version a symbols file (`/var/lib/dpkg/info/libstdc++6:amd64.symbols`) gives a symbol version: ` GLIBCXX_3.4.21@GLIBCXX_3.4.21 5.2` → 5.2. */
export function symbolsMinimum(symbols: string, version: string): string | undefined {
  const escaped = version.replace(/\./g, '\\.');
  return new RegExp(`^\\s+${escaped}@${escaped} (\\S+)`, 'm').exec(symbols)?.[1];
}

// ---- Fact gathering inside the build machine ----

function isElf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === '\x7fELF';
  } finally {
    closeSync(fd);
  }
}

function walk(root: string, relative = ''): { files: string[]; names: Set<string> } {
  const files: string[] = [];
  const names = new Set<string>();
  for (const name of readdirSync(path.join(root, relative))) {
    const child = path.join(relative, name);
    const stat = lstatSync(path.join(root, child));
    names.add(name);
    if (stat.isDirectory()) {
      const inner = walk(root, child);
      files.push(...inner.files);
      for (const innerName of inner.names) names.add(innerName);
    } else if (stat.isFile() && stat.size > 4) {
      files.push(child);
    }
  }
  return { files, names };
}

function run(command: string, args: string[]): string {
  try {
    // `readelf -V` of the node binary prints a line per dynamic symbol (about 5 MB): past the
    // default 1 MB buffer it failed (ENOBUFS), read as no output, and node's versions went unchecked.
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 });
  } catch {
    return '';
  }
}

function findOwner(library: string): LibraryOwner {
  const line = run('ldconfig', ['-p']).split('\n').find((entry) => entry.trim().startsWith(`${library} `));
  const libraryPath = line?.split('=> ')[1]?.trim();
  if (!libraryPath) return {};
  // With merged /usr, ldconfig may say /lib/… where dpkg recorded /usr/lib/…: ask for both.
  const canonical = path.join(realpathSync(path.dirname(libraryPath)), path.basename(libraryPath));
  const dpkg = run('dpkg', ['-S', libraryPath]) || run('dpkg', ['-S', canonical]);
  if (dpkg) {
    const name = dpkg.split(':')[0]!.trim();
    const status = run('dpkg-query', ['-W', '-f=${Essential} ${Priority}', name]);
    return { path: libraryPath, package: name, base: /^yes|required/.test(status) };
  }
  const rpm = run('rpm', ['-qf', '--qf', '%{NAME}', canonical]).trim();
  return { path: libraryPath, package: rpm || undefined };
}

/** The machine's libstdc++6 symbols files (Debian family), read once. */
function libstdcxxSymbols(): string {
  const dir = '/var/lib/dpkg/info';
  if (!existsSync(dir)) return '';
  return readdirSync(dir).filter((name) => /^libstdc\+\+6(:[a-z0-9]+)?\.symbols$/.test(name)).map((name) => readFileSync(path.join(dir, name), 'utf8')).join('\n');
}

function machineFacts(): MachineFacts {
  const glibc = run('getconf', ['GNU_LIBC_VERSION']).trim().split(' ')[1] ?? '0';
  const libstdcxx = run('ldconfig', ['-p']).split('\n').find((entry) => entry.trim().startsWith('libstdc++.so.6 '))?.split('=> ')[1]?.trim();
  const glibcxx = libstdcxx ? newest(parseVersions(run('readelf', ['-V', '--wide', libstdcxx]), 'GLIBCXX'), 'GLIBCXX') : undefined;
  return { glibc, glibcxx };
}

function main(args: string[]): number {
  const value = (flag: string) => args[args.indexOf(flag) + 1];
  const root = value('--root')!;
  const mode = value('--mode') ?? 'error';
  const machineId = value('--machine') ?? 'the build machine';
  const runtimeDeps = args.flatMap((arg, index) => (args[index - 1] === '--dep' ? [arg] : []));
  const { files, names } = walk(root);
  const elves = files
    .filter((file) => isElf(path.join(root, file)))
    .map((file) => {
      const full = path.join(root, file);
      const versions = run('readelf', ['-V', '--wide', full]);
      return { file: `/${file}`, needed: parseNeeded(run('readelf', ['-d', '--wide', full])), versions: parseVersions(versions), needs: parseVersionNeeds(versions) };
    });
  const libraries = new Set(elves.flatMap((elf) => elf.needed));
  const owners = new Map([...libraries].filter((library) => !names.has(library)).map((library) => [library, findOwner(library)] as const));
  const problems = analyse({ elves, packaged: names, owners, runtimeDeps, machine: machineFacts(), machineId });
  console.log(`health check: ${elves.length} ELF files, ${libraries.size} libraries needed`);
  const floor = floorLine(glibcFloor(elves));
  if (floor) console.log(floor);
  // The floor as the package's dependencies, for the packager (src/package/glibc-floor.ts).
  const floorOut = args.includes('--floor-out') ? value('--floor-out') : undefined;
  if (floorOut) {
    const format = value('--format') === 'rpm' ? 'rpm' : 'deb';
    let symbols: string | undefined;
    const relations = floorRelations(elves, format, names, (version) => symbolsMinimum((symbols ??= libstdcxxSymbols()), version));
    mkdirSync(path.dirname(floorOut), { recursive: true });
    writeFileSync(floorOut, relations.map((relation) => `${relation}\n`).join(''));
    console.log(`health check: the package ${format === 'deb' ? 'depends on' : 'requires'} ${relations.join(', ') || 'nothing of glibc (no ELF file needs it)'}`);
  }
  for (const problem of problems) console.log(`health check ${mode === 'warn' ? 'warning' : 'error'}: ${problem.file} ${problem.message}`);
  return problems.length > 0 && mode !== 'warn' ? 3 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
