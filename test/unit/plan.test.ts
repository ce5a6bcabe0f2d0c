/**
 * The build plan, with no engine and no network: fixed runtime archives, the fixtures as sources.
 * Whole plans are compared with golden files in test/unit/golden/ (refresh them with
 * UPDATE_GOLDEN=1 and review the diff): a change in what a build does is a reviewed change.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { npmUserConfig, planBuild, upToDateParts, type BuildPlan, type ResolvedInputs } from '../../src/build/plan.ts';
import type { RuntimeArchive } from '../../src/build/runtime.ts';
import { findMachine, loadMachines } from '../../src/machine/catalogue.ts';
import type { InputEntry } from '../../src/machine/inputs.ts';
import { resolvePackage } from '../../src/package/metadata.ts';
import type { PackagerName } from '../../src/package/packager.ts';
import { packagerNamed } from '../../src/package/packagers.ts';
import type { BuildOptions } from '../../src/options/types.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const GOLDEN = path.join(import.meta.dirname, 'golden');
const runtime: RuntimeArchive = { kind: 'node', version: '22.23.3', source: 'npm', file: '/cache/node-x64.tgz', root: 'package', checksum: 'sha512-node' };
const npm: RuntimeArchive = { kind: 'npm', version: '10.9.9', source: 'npm', file: '/cache/npm.tgz', root: 'package', checksum: 'sha512-npm' };
const machines = loadMachines();

function options(app: 'hello-app' | 'service-app' | 'ts-app' | 'pnpm-ts-app' | 'yarn-native' | 'berry-app', machine: string, changes: Partial<BuildOptions> = {}): BuildOptions {
  const service: Partial<BuildOptions> = app === 'service-app'
    ? { user: 'service-app', service: { command: ['/usr/bin/service-app', 'serve'] }, configFiles: [{ path: '/etc/service-app/config.json', source: 'config/default.json' }], directories: [{ path: '/var/log/service-app' }] }
    : {};
  return { name: `${app} :: ${machine}`, app, source: { type: 'directory', path: path.join(ROOT, 'test', 'fixtures', app) }, buildMachine: machine, node: '22.23.3', ...service, ...changes };
}

/** apps/api of the monorepo-npm fixture (or monorepo-pnpm). */
function workspaceOptions(changes: Partial<BuildOptions> = {}, fixture = 'monorepo-npm'): BuildOptions {
  return { name: 'api :: debian-bookworm', app: 'api', workspace: 'apps/api', source: { type: 'directory', path: path.join(ROOT, 'test', 'fixtures', fixture) }, buildMachine: 'debian-bookworm', node: '22.23.3', ...changes };
}

function plan(build: BuildOptions, packager: PackagerName, resolved: Partial<ResolvedInputs> = {}): BuildPlan {
  const machine = findMachine(machines, build.buildMachine);
  const sourceDir = (build.source as { path: string }).path;
  const spec = resolvePackage(build, machine, sourceDir);
  return planBuild(build, machine, spec, {
    sourceDir, sourceDateEpoch: 1700000000, runtime, npm, registry: 'https://registry.example.invalid/', npmToken: false, packager: packagerNamed(packager), ...resolved,
  });
}

/** A host path as the golden files hold it: relative inside the checkout, absolute outside (the checkout's depth differs between clones). */
function hostPath(file: string): string {
  const relative = path.relative(ROOT, file);
  return relative.startsWith('..') ? file : relative;
}

/** A plan as text: what the machine is given and runs, host paths relative to the checkout. */
function describePlan(built: BuildPlan): string {
  const entry = (input: InputEntry) => {
    const mode = 'mode' in input && input.mode !== undefined ? ` ${input.mode.toString(8)}` : '';
    const host = 'hostPath' in input ? ` <- ${hostPath(input.hostPath)}` : '';
    // Binary content (a gzipped man page) as its size and hash, so the golden file stays text.
    const text = input.kind !== 'content' ? '' : Buffer.isBuffer(input.content) && !isUtf8(input.content)
      ? `${input.content.length} bytes, sha256 ${createHash('sha256').update(input.content).digest('hex')}`
      : String(input.content);
    const content = input.kind === 'content' ? `\n${text.replace(/\n?$/, '\n')}` : '\n';
    return `## ${input.kind} ${input.name}${mode}${host}${content}`;
  };
  return [
    `# run: ${built.run.join(' ')}`,
    `# package: ${built.packageCommand.join(' ')}`,
    `# outputs: ${built.outputs.artifact} ${built.outputs.sbom}`,
    `# archives: ${built.archives.map((archive) => `${archive.archive.file} -> ${archive.dir}`).join(', ')}`,
    ...built.inputs.map(entry),
    ...(built.runtimePackage ? [`# runtime package ${built.runtimePackage.spec.fileName}: ${built.runtimePackage.run.join(' ')}\n`, ...built.runtimePackage.inputs.map(entry)] : []),
  ].join('');
}

function assertGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN, `${name}.golden`);
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, actual);
  assert.ok(existsSync(file), `${path.relative(ROOT, file)} is missing: UPDATE_GOLDEN=1 writes it`);
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from ${path.relative(ROOT, file)} (UPDATE_GOLDEN=1 refreshes it)`);
}

describe('the plan of a build, against golden files', () => {
  const cli = (kind: 'pnpm' | 'yarn' | 'berry', version: string): Partial<ResolvedInputs> => ({
    manager: { kind, version, from: 'package.json\'s packageManager', lockfile: kind === 'pnpm' ? 'pnpm-lock.yaml' : 'yarn.lock' },
    managerCli: { kind, version, source: 'npm', file: `/cache/${kind}.tgz`, root: 'package', checksum: `sha512-${kind}` },
  });
  const cases: [string, BuildOptions, PackagerName, Partial<ResolvedInputs>?][] = [
    ['hello-app-deb-dpkg-deb', options('hello-app', 'debian-bookworm'), 'dpkg-deb'],
    ['hello-app-deb-fpm-shared', options('hello-app', 'debian-bookworm', { runtime: 'shared', fpmArgs: ['--vendor', 'Me & Co'] }), 'fpm'],
    ['service-app-deb-dpkg-deb-shared', options('service-app', 'debian-bookworm', { runtime: 'shared' }), 'dpkg-deb'],
    ['service-app-rpm-rpmbuild', options('service-app', 'rockylinux-9'), 'rpmbuild'],
    ['hello-app-rpm-rpmbuild-shared', options('hello-app', 'debian-bookworm-rpm', { runtime: 'shared' }), 'rpmbuild'],
    ['service-app-rpm-fpm', options('service-app', 'rockylinux-9', { provides: ['svc (>= 1) | other'] }), 'fpm'],
    // The build step by default (package.json's build script), with include and exclude.
    ['ts-app-deb-dpkg-deb-shared', options('ts-app', 'debian-bookworm', { runtime: 'shared', include: ['src/ms.d.ts'], exclude: ['dist/*.map'] }), 'dpkg-deb'],
    // pnpm with a build step, Yarn classic without one, Yarn Berry: their CLI, installs and environment.
    ['pnpm-ts-app-deb-dpkg-deb-shared', options('pnpm-ts-app', 'debian-bookworm', { runtime: 'shared' }), 'dpkg-deb', cli('pnpm', '10.34.9')],
    ['yarn-native-rpm-rpmbuild', options('yarn-native', 'rockylinux-9'), 'rpmbuild', cli('yarn', '1.22.22')],
    ['berry-app-deb-dpkg-deb', options('berry-app', 'debian-bookworm'), 'dpkg-deb', cli('berry', '4.18.1')],
    // A workspace of an npm monorepo: installed with --workspace, lib built, deployed to /ndist/ws.
    ['monorepo-npm-api-deb-dpkg-deb', workspaceOptions(), 'dpkg-deb'],
    // A workspace of a pnpm monorepo: a filtered install, lib built, pnpm deploy to /ndist/ws with the published package.json.
    ['monorepo-pnpm-api-deb-dpkg-deb', workspaceOptions({}, 'monorepo-pnpm'), 'dpkg-deb', cli('pnpm', '10.34.9')],
  ];
  for (const [name, build, packager, manager] of cases) {
    test(name, () => {
      const built = plan(build, packager, { imageId: 'sha256:image', caBundle: '/etc/ssl/certs/ca-certificates.crt', npmToken: true, ...manager });
      assertGolden(`${name}.plan`, describePlan(built));
      assertGolden(`${name}.script`, built.script + (built.specText === undefined ? '' : `\n# ---- spec ----\n${built.specText}`));
    });
  }
});

describe('planBuild', () => {
  test('the script runs the packager command; the spec is rendered for rpmbuild only', () => {
    for (const [build, packager] of [[options('hello-app', 'debian-bookworm'), 'dpkg-deb'], [options('hello-app', 'rockylinux-9'), 'rpmbuild'], [options('hello-app', 'rockylinux-9'), 'fpm']] as const) {
      const built = plan(build, packager);
      assert.equal(built.packager.name, packager);
      assert.equal(built.variables.packageCommand, built.packageCommand);
      assert.equal(built.specText !== undefined, packager === 'rpmbuild');
      assert.equal(built.outputs.artifact, built.spec.fileName);
      assert.equal(built.outputs.sbom, `${built.spec.fileName}.cdx.json`);
    }
  });

  test('a workspace build caches the installed workspaces\' node_modules too, and stages from the deployed app', () => {
    const built = plan(workspaceOptions(), 'dpkg-deb', { dependencyKey: { key: 'k1' } });
    assert.match(built.script, /^ {2}rm -rf node_modules apps\/api\/node_modules packages\/lib\/node_modules$/m);
    assert.match(built.script, /^ {4}for dir in node_modules apps\/api\/node_modules packages\/lib\/node_modules; do \[ -d "\$dir" \] && set -- "\$@" "\$dir"; done$/m);
    // lib's build script needs its devDependencies: the full install is cached.
    assert.match(built.script, /\/ndist\/cache\/deps\/k1-full\.tar/);
    assert.match(built.script, /^tar -C \/ndist\/ws --null/m);
    assert.match(built.script, /--modules \/ndist\/ws\/node_modules/);
    const plain = plan(options('hello-app', 'debian-bookworm'), 'dpkg-deb');
    assert.doesNotMatch(plain.script, /workspace|\/ndist\/ws/);
  });

  test('every template variable the README lists is given', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const listed = /### Template variables[\s\S]*?\n`(name app [^`]+)`/.exec(readme)![1]!.split(/\s+/);
    const given = Object.keys(plan(options('hello-app', 'debian-bookworm'), 'dpkg-deb').variables);
    assert.deepEqual(listed.filter((name) => !given.includes(name)), []);
    assert.deepEqual(given.filter((name) => !listed.includes(name)), []);
  });

  test('a runtime package is planned for a shared runtime once the image is known', () => {
    const shared = options('hello-app', 'debian-bookworm', { runtime: 'shared' });
    assert.equal(plan(shared, 'dpkg-deb').runtimePackage, undefined, 'not without an image (ndist render)');
    assert.equal(plan(options('hello-app', 'debian-bookworm'), 'dpkg-deb', { imageId: 'sha256:1' }).runtimePackage, undefined, 'not for a bundled runtime');
    const runtimePackage = plan(shared, 'dpkg-deb', { imageId: 'sha256:1' }).runtimePackage!;
    assert.equal(runtimePackage.spec.fileName, 'ndist-node-22.23.3_22.23.3-1_amd64.deb');
    assert.match(runtimePackage.key, /^[0-9a-f]{32}$/);
    assert.notEqual(plan(shared, 'dpkg-deb', { imageId: 'sha256:2' }).runtimePackage!.key, runtimePackage.key, 'the image keys it');
    assert.notEqual(plan(shared, 'fpm', { imageId: 'sha256:1' }).runtimePackage!.key, runtimePackage.key, 'the packager keys it');
  });

  test('the dependency key reaches the script; without one the script says why', () => {
    const build = options('hello-app', 'debian-bookworm');
    assert.equal(plan(build, 'dpkg-deb', { dependencyKey: { key: 'abc' } }).variables.depsCacheFile, '/ndist/cache/deps/abc.tar');
    assert.match(plan(build, 'dpkg-deb', { dependencyKey: { reason: 'no lockfile' } }).script, /^echo "dependency cache: not used, "'no lockfile'$/m);
    assert.match(plan(build, 'dpkg-deb').script, /keyed only in a build/);
  });

  test('licences and SBOM are cached with the dependency key, the licences arguments and package.json; not without a key', () => {
    const build = options('hello-app', 'debian-bookworm');
    const base = (built: BuildPlan) => built.variables.licencesCacheBase as string;
    const keyed = plan(build, 'dpkg-deb', { dependencyKey: { key: 'abc' } });
    assert.match(base(keyed), /^[0-9a-f]{64}$/);
    assert.equal(base(plan(build, 'dpkg-deb', { dependencyKey: { key: 'abc' } })), base(keyed), 'stable');
    assert.notEqual(base(plan(build, 'dpkg-deb', { dependencyKey: { key: 'abd' } })), base(keyed), 'the installed tree keys it');
    assert.notEqual(base(plan({ ...build, allowedLicenses: ['MIT'] }, 'dpkg-deb', { dependencyKey: { key: 'abc' } })), base(keyed), 'allowedLicenses keys it');
    assert.notEqual(base(plan({ ...build, runtime: 'shared' }, 'dpkg-deb', { dependencyKey: { key: 'abc' } })), base(keyed), 'the runtime mode keys it');
    // package.json is hashed in the machine, where it is: the script names the entry by both.
    assert.match(keyed.script, /^licences_cache=\/ndist\/cache\/deps\/licences-\$\(\{ echo [0-9a-f]{64}; cat package\.json; \} \| sha256sum/m);
    assert.equal(base(plan(build, 'dpkg-deb', { dependencyKey: { reason: 'no lockfile' } })), '');
    assert.match(plan(build, 'dpkg-deb').script, /^licences_cache=$/m);
  });

  test('npm is given an auth line only with NPM_TOKEN; the CA bundle only when there is one', () => {
    const npmrc = (built: BuildPlan) => built.inputs.find((input) => input.name === 'ndist/npmrc') as { content: string };
    const build = options('hello-app', 'debian-bookworm');
    assert.equal(npmrc(plan(build, 'dpkg-deb')).content, '');
    assert.match(npmrc(plan(build, 'dpkg-deb', { npmToken: true })).content, /_authToken=\$\{NPM_TOKEN\}/);
    assert.equal(plan(build, 'dpkg-deb').inputs.some((input) => input.name === 'ndist/ca.crt'), false);
    assert.equal(plan(build, 'dpkg-deb', { caBundle: '/etc/ca.crt' }).inputs.some((input) => input.name === 'ndist/ca.crt'), true);
  });

  test('a packager that does not write the machine\'s format is refused', () => {
    assert.throws(() => plan(options('hello-app', 'rockylinux-9'), 'dpkg-deb'), (error: unknown) => error instanceof ConfigError && /dpkg-deb does not write \.rpm packages/.test(error.message));
  });
});

describe('upToDateParts', () => {
  test('every input of a build but the image, each a value or a file to hash', () => {
    const build = options('hello-app', 'rockylinux-9');
    const machine = findMachine(machines, build.buildMachine);
    const spec = resolvePackage(build, machine, (build.source as { path: string }).path);
    const parts = upToDateParts(build, machine, spec, { sourceDateEpoch: 5, runtime, npm, registry: 'https://r.invalid/' }, { code: 'c0de', source: 'commit1' });
    assert.deepEqual(Object.keys(parts).sort(), ['healthCheck', 'licenses', 'ndist', 'ndistCode', 'npm', 'options', 'registry', 'runtime', 'script', 'signingKey', 'source', 'sourceDateEpoch', 'spec', 'specTemplate', 'stageApp', 'workspaceDeploy'].sort());
    assert.equal(parts.ndistCode, 'c0de');
    assert.equal(parts.source, 'commit1');
    assert.equal(parts.runtime, '22.23.3 sha512-node package');
    assert.deepEqual(parts.specTemplate, { file: machine.specTemplate });
    assert.equal(parts.signingKey, '');
    assert.doesNotMatch(String(parts.script), /\{\{>/, 'the template with its parts included');
  });
});

describe('npm configuration for the build machine', () => {
  test('an auth line naming NPM_TOKEN, never its value, for the configured registry', () => {
    assert.equal(npmUserConfig('https://npm.example.invalid/', true), '//npm.example.invalid/:_authToken=${NPM_TOKEN}\n');
    assert.equal(npmUserConfig('https://mirror.example.invalid:8443/api/npm', true), '//mirror.example.invalid:8443/api/npm/:_authToken=${NPM_TOKEN}\n');
  });
  test('nothing without a token', () => {
    assert.equal(npmUserConfig('https://npm.example.invalid/', false), '');
  });
});
