/**
 * Licences of everything a package bundles, collected inside the build machine after `npm ci`
 * (run there with the bundled Node, so it imports only Node's built-ins): each npm package's
 * licence files go to `<prefix>/share/licenses/<name>@<version>/`, the Node runtime's to
 * `node@<version>/`, and `licenses.json` lists name, version and declared licence. With an
 * allow-list, a package under any other licence fails the build, named with its licence.
 *
 * With `--sbom`, the CycloneDX SBOM `npm sbom` wrote of the installed tree is checked against
 * what is installed: a component that is not installed leaves it, and a package installed but not
 * in it fails the build. The SBOM lists exactly what ships.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BundledPackage {
  name: string;
  version: string;
  license: string;
  /** Directory of the package inside node_modules. */
  dir: string;
}

const LICENSE_FILE = /^(licen[cs]e|copying|notice)(\..*)?$/i;

/** Every package installed under `nodeModules`, scoped and nested ones included, sorted by name. */
export function findPackages(nodeModules: string): BundledPackage[] {
  const found: BundledPackage[] = [];
  const visit = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir).sort()) {
      if (entry.startsWith('.')) continue;
      const child = path.join(dir, entry);
      if (entry.startsWith('@')) {
        visit(child);
        continue;
      }
      const manifest = path.join(child, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string; license?: unknown; licenses?: unknown };
      found.push({ name: pkg.name ?? entry, version: pkg.version ?? '0.0.0', license: declaredLicense(pkg), dir: child });
      visit(path.join(child, 'node_modules'));
    }
  };
  visit(nodeModules);
  return found.sort((a, b) => (a.name === b.name ? (a.version < b.version ? -1 : 1) : a.name < b.name ? -1 : 1));
}

/** The SPDX expression package.json declares, in its current or its old (`licenses` array) form. */
export function declaredLicense(pkg: { license?: unknown; licenses?: unknown }): string {
  if (typeof pkg.license === 'string') return pkg.license;
  const typed = (value: unknown) => (value && typeof value === 'object' && 'type' in value ? String((value as { type: unknown }).type) : undefined);
  if (typed(pkg.license)) return typed(pkg.license)!;
  if (Array.isArray(pkg.licenses)) return pkg.licenses.map(typed).filter(Boolean).join(' OR ') || 'UNKNOWN';
  return 'UNKNOWN';
}

/** Whether an SPDX expression is acceptable: an OR needs one allowed side, an AND needs both. */
export function isAllowed(expression: string, allowed: Set<string>): boolean {
  const text = expression.trim().replace(/^\((.*)\)$/, '$1');
  const or = text.split(/\s+OR\s+/i);
  if (or.length > 1) return or.some((part) => isAllowed(part, allowed));
  const and = text.split(/\s+AND\s+/i);
  if (and.length > 1) return and.every((part) => isAllowed(part, allowed));
  return allowed.has(text.replace(/^\(|\)$/g, '').trim());
}

interface CycloneDx {
  components?: { name: string; version: string; 'bom-ref'?: string }[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
}

/**
 * The SBOM with only the components installed (and the dependency graph without the others), and
 * the installed packages it does not list.
 */
export function reconcileSbom(sbom: CycloneDx, installed: BundledPackage[]): { sbom: CycloneDx; leftOut: string[]; unlisted: string[] } {
  const id = (pkg: { name: string; version: string }) => `${pkg.name}@${pkg.version}`;
  const installedIds = new Set(installed.map(id));
  const components = sbom.components ?? [];
  const kept = components.filter((component) => installedIds.has(id(component)));
  const leftOut = components.filter((component) => !installedIds.has(id(component)));
  const leftOutRefs = new Set(leftOut.map((component) => component['bom-ref']));
  const dependencies = sbom.dependencies
    ?.filter((entry) => !leftOutRefs.has(entry.ref))
    .map((entry) => ({ ...entry, dependsOn: (entry.dependsOn ?? []).filter((ref) => !leftOutRefs.has(ref)) }));
  const listed = new Set(kept.map(id));
  return {
    sbom: { ...sbom, components: kept, ...(dependencies ? { dependencies } : {}) },
    leftOut: [...new Set(leftOut.map(id))],
    unlisted: [...new Set(installed.map(id).filter((pkg) => !listed.has(pkg)))],
  };
}

function copyLicenseFiles(fromDir: string, toDir: string): number {
  const files = existsSync(fromDir) ? readdirSync(fromDir).filter((name) => LICENSE_FILE.test(name)) : [];
  if (files.length > 0) mkdirSync(toDir, { recursive: true });
  for (const file of files) copyFileSync(path.join(fromDir, file), path.join(toDir, file));
  return files.length;
}

function main(args: string[]): number {
  const value = (flag: string) => args[args.indexOf(flag) + 1]!;
  const out = value('--out');
  const allowed = args.flatMap((arg, index) => (args[index - 1] === '--allow' ? [arg] : []));
  const packages = findPackages(value('--modules'));
  const withoutFiles: string[] = [];
  for (const pkg of packages) {
    if (copyLicenseFiles(pkg.dir, path.join(out, `${pkg.name}@${pkg.version}`)) === 0) withoutFiles.push(`${pkg.name}@${pkg.version}`);
  }
  // A shared runtime is not in this package: its licence is in the runtime package it depends on.
  const runtimePackage = args.includes('--runtime-package') ? value('--runtime-package') : undefined;
  if (!runtimePackage) copyLicenseFiles(value('--runtime'), path.join(out, `node@${value('--node-version')}`));
  const node = { name: 'node', version: value('--node-version'), license: 'MIT', ...(runtimePackage ? { package: runtimePackage } : {}) };
  const listing = [node, ...packages.map(({ name, version, license }) => ({ name, version, license }))];
  // Nothing may have been copied (no dependency, shared runtime): the directory may not exist yet.
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'licenses.json'), `${JSON.stringify(listing, null, 2)}\n`);
  console.log(`licences: ${packages.length} npm packages${runtimePackage ? ` (the Node runtime's is in ${runtimePackage})` : ' and the Node runtime'}, in ${out}`);
  if (withoutFiles.length > 0) console.log(`licences: no licence file in ${withoutFiles.join(', ')} (their declared licence is in licenses.json)`);
  if (args.includes('--sbom')) {
    const file = value('--sbom');
    const { sbom, leftOut, unlisted } = reconcileSbom(JSON.parse(readFileSync(file, 'utf8')) as CycloneDx, packages);
    writeFileSync(file, `${JSON.stringify(sbom, null, 2)}\n`);
    console.log(`sbom: ${sbom.components!.length} npm packages${leftOut.length > 0 ? ` (${leftOut.length} in the lockfile but not installed, e.g. optional ones for other platforms, left out)` : ''}`);
    if (unlisted.length > 0) {
      console.log(`sbom error: installed but not in the lockfile's production tree: ${unlisted.join(', ')}`);
      return 5;
    }
  }
  if (allowed.length === 0) return 0;
  const refused = packages.filter((pkg) => !isAllowed(pkg.license, new Set(allowed)));
  for (const pkg of refused) console.log(`licence error: ${pkg.name}@${pkg.version} is under ${pkg.license}, which allowedLicenses does not list`);
  return refused.length > 0 ? 4 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
