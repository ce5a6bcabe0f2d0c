import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { checkWorkspace, declaredWorkspaces, isDeclaredWorkspace, npmWorkspaceCommands, planWorkspace, pnpmWorkspaceCommands, workspaceClosure, type LockEntry } from '../../src/package/workspace.ts';
import { managerCommands } from '../../src/build/install-commands.ts';
import { validateBuild } from '../../src/options/validate.ts';
import { directory } from '../../src/build/source.ts';
import { dependencyCacheKey } from '../../src/cache/dependency-cache.ts';
import { init, listWorkspaces } from '../../src/commands/init.ts';
import { describeBuild } from '../../src/commands/render.ts';

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'monorepo-npm');
const PNPM_FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'monorepo-pnpm');

let root: string;
let count = 0;
before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-workspace-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A source tree with these files (objects are written as JSON). */
function tree(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(root, `repo-${++count}-`));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

function configError(field: string, message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.field, field);
    assert.match(error.message, message);
    return true;
  };
}

const ROOT_PACKAGE = { name: 'mono', private: true, workspaces: ['apps/*', 'packages/*', '!packages/internal'] };

describe('the workspace option', () => {
  test('a declared workspace with a name and version passes, written with ./ or a trailing slash', () => {
    const dir = tree({ 'package.json': ROOT_PACKAGE, 'apps/api/package.json': { name: '@acme/api', version: '1.0.0' } });
    assert.deepEqual(checkWorkspace(dir, './apps/api/'), { path: 'apps/api', name: '@acme/api' });
  });

  test('pnpm-workspace.yaml packages, and Yarn\'s { packages } form, declare workspaces too', () => {
    const pnpm = tree({ 'package.json': { name: 'mono' }, 'pnpm-workspace.yaml': "packages:\n  - 'apps/*'\n", 'apps/api/package.json': { name: 'api', version: '1.0.0' } });
    assert.deepEqual(declaredWorkspaces(pnpm), { patterns: ['apps/*'], file: 'pnpm-workspace.yaml packages' });
    assert.equal(checkWorkspace(pnpm, 'apps/api').name, 'api');
    const yarn = tree({ 'package.json': { name: 'mono', workspaces: { packages: ['services/**'] } }, 'services/a/b/package.json': { name: 'b', version: '1.0.0' } });
    assert.equal(checkWorkspace(yarn, 'services/a/b').name, 'b');
  });

  test('refusals name the field and say what would be right', () => {
    const dir = tree({
      'package.json': ROOT_PACKAGE,
      'apps/api/package.json': { name: 'api', version: '1.0.0' },
      'apps/noversion/package.json': { name: 'noversion' },
      'apps/empty/README': 'no package.json',
      'packages/internal/package.json': { name: 'internal', version: '1.0.0' },
      'tools/cli/package.json': { name: 'cli', version: '1.0.0' },
    });
    assert.throws(() => checkWorkspace(dir, '/abs/apps/api'), configError('workspace', /must be a directory relative to the source's root, inside it, e\.g\. workspace: "apps\/api"/));
    assert.throws(() => checkWorkspace(dir, 'apps/../../x'), configError('workspace', /must be a directory relative to the source's root/));
    assert.throws(() => checkWorkspace(dir, '.'), configError('workspace', /must be a directory relative/));
    assert.throws(() => checkWorkspace(dir, 'apps/missing'), configError('workspace', /"apps\/missing" is not a directory of the source; package\.json workspaces declares apps\/\*, packages\/\*, !packages\/internal/));
    assert.throws(() => checkWorkspace(dir, 'apps/empty'), configError('workspace', /"apps\/empty" has no package\.json/));
    assert.throws(() => checkWorkspace(dir, 'apps/noversion'), configError('workspace', /apps\/noversion\/package\.json has no version; .*"version": "1\.0\.0"/));
    assert.throws(() => checkWorkspace(dir, 'tools/cli'), configError('workspace', /"tools\/cli" is not a workspace of the source's root: package\.json workspaces declares .*; add "tools\/cli" there/));
    assert.throws(() => checkWorkspace(dir, 'packages/internal'), configError('workspace', /"packages\/internal" is not a workspace/));
    const plain = tree({ 'package.json': { name: 'app', version: '1.0.0' }, 'sub/package.json': { name: 'sub', version: '1.0.0' } });
    assert.throws(() => checkWorkspace(plain, 'sub'), configError('workspace', /the source's root declares no workspaces: add "workspaces": \["sub\/\*"\]/));
  });

  test('validateBuild checks it before any container: against a directory source, and its form for any source', () => {
    const base = { name: 'api', app: 'api', buildMachine: 'debian-bookworm', node: '22.23.3' };
    validateBuild({ ...base, workspace: 'apps/api', source: directory({ path: FIXTURE }) });
    assert.throws(() => validateBuild({ ...base, workspace: 'apps/nope', source: directory({ path: FIXTURE }) }), configError('workspace', /is not a directory of the source/));
    assert.throws(() => validateBuild({ ...base, workspace: '../x', source: { type: 'git', uri: 'https://example.invalid/x.git' } }), configError('workspace', /relative to the source's root, without "\.\."/));
  });

  test('isDeclaredWorkspace: globs within one name, ** across, ! excludes', () => {
    assert.ok(isDeclaredWorkspace('apps/api', ['apps/*']));
    assert.ok(!isDeclaredWorkspace('apps/api/sub', ['apps/*']));
    assert.ok(isDeclaredWorkspace('apps/api/sub', ['apps/**']));
    assert.ok(isDeclaredWorkspace('apps/api', ['./apps/api']));
    assert.ok(!isDeclaredWorkspace('apps/old', ['apps/*', '!apps/old']));
  });
});

describe('workspaceClosure', () => {
  test('the fixture: lib as a workspace package, its own ms nested under it beside the app\'s, nothing of apps/other', () => {
    const plan = planWorkspace(FIXTURE, 'apps/api');
    assert.equal(plan.name, 'api');
    assert.deepEqual(plan.dependencies, [{ path: 'packages/lib', name: 'lib', build: true }]);
    assert.deepEqual(plan.placements, [
      { from: 'packages/lib', to: 'node_modules/lib', workspace: true, optional: false },
      { from: 'packages/lib/node_modules/ms', to: 'node_modules/lib/node_modules/ms', workspace: false, optional: false },
      { from: 'node_modules/ms', to: 'node_modules/ms', workspace: false, optional: false },
    ]);
  });

  const reg = (version: string, deps: Record<string, string> = {}, extra: Partial<LockEntry> = {}): LockEntry => ({ version, dependencies: deps, ...extra });

  test('re-rooted: a package at the root that needs the version the workspace shadows gets its own copy nested', () => {
    const packages: Record<string, LockEntry> = {
      '': { name: 'mono' },
      'apps/api': { version: '1.0.0', dependencies: { a: '1', x: '2' }, devDependencies: { jest: '1' } } as LockEntry,
      // The workspace's x@2 is nested under it in the monorepo; the root has x@1, which a needs.
      'apps/api/node_modules/x': reg('2.0.0'),
      'node_modules/x': reg('1.0.0'),
      'node_modules/a': reg('1.0.0', { x: '1', b: '1' }),
      'node_modules/b': reg('1.0.0', { a: '1' }),
      'node_modules/jest': reg('1.0.0', {}, { dev: true } as Partial<LockEntry>),
    };
    const plan = workspaceClosure({ packages }, 'apps/api');
    assert.deepEqual(plan.placements.map(({ from, to }) => `${to} <- ${from}`), [
      'node_modules/a <- node_modules/a',
      'node_modules/a/node_modules/x <- node_modules/x',
      'node_modules/b <- node_modules/b',
      'node_modules/x <- apps/api/node_modules/x',
    ]);
    assert.deepEqual(plan.dependencies, []);
  });

  test('workspace packages in dependency order, followed through links; optional dependencies may be missing', () => {
    const packages: Record<string, LockEntry> = {
      'apps/api': { version: '1.0.0', dependencies: { top: '*' }, optionalDependencies: { fsevents: '2' } },
      'node_modules/top': { resolved: 'packages/top', link: true },
      'node_modules/base': { resolved: 'packages/base', link: true },
      'packages/top': { name: 'top', version: '1.0.0', dependencies: { base: '*' } },
      'packages/base': { name: 'base', version: '1.0.0', peerDependencies: { react: '18' } },
    };
    const plan = workspaceClosure({ packages }, 'apps/api');
    assert.deepEqual(plan.dependencies.map((dependency) => dependency.path), ['packages/base', 'packages/top']);
    assert.deepEqual(plan.placements.map(({ from, to, workspace }) => [from, to, workspace]), [
      ['packages/base', 'node_modules/base', true],
      ['packages/top', 'node_modules/top', true],
    ]);
  });

  test('a lockfile without the workspace, or missing a dependency, is refused with what to run', () => {
    assert.throws(() => workspaceClosure({ packages: { '': {} } }, 'apps/api'), configError('package-lock.json', /has no entry for the workspace "apps\/api".*run `npm install` at the root and commit package-lock\.json/));
    assert.throws(() => workspaceClosure({ packages: { 'apps/api': { dependencies: { gone: '1' } } } }, 'apps/api'), configError('package-lock.json', /has no package "gone" that apps\/api depends on/));
  });

  test('a Yarn monorepo is refused by name, naming what is supported; an npm one without a lockfile is asked for one', () => {
    const dir = tree({ 'package.json': { name: 'mono', workspaces: ['apps/*'] }, 'yarn.lock': '# yarn lockfile v1\n', 'apps/api/package.json': { name: 'api', version: '1.0.0' } });
    assert.throws(() => planWorkspace(dir, 'apps/api'), configError('workspace', /npm workspaces \(a root package-lock\.json\) and pnpm workspaces \(pnpm-workspace\.yaml and pnpm-lock\.yaml\), not Yarn's; this monorepo has yarn\.lock/));
    const npmDir = tree({ 'package.json': ROOT_PACKAGE, 'apps/api/package.json': { name: 'api', version: '1.0.0' } });
    assert.throws(() => planWorkspace(npmDir, 'apps/api'), configError('package-lock.json', /is missing from the source's root: run `npm install` \(npm workspaces\) or `pnpm install` \(pnpm workspaces\) at the root of the monorepo \(not in apps\/api\)/));
  });

  test('npm\'s commands: a production install of the workspace; with builds, its workspace packages and the root too; ndist\'s deploy program', () => {
    const plan = planWorkspace(FIXTURE, 'apps/api');
    const paths = { source: '/src', program: '/deploy.mjs', plan: '/plan.json', manifest: '/manifest.json', out: '/ws' };
    assert.deepEqual(npmWorkspaceCommands(plan, false, paths), {
      install: ['npm', 'ci', '--omit=dev', '--ignore-scripts', '--workspace', 'apps/api'],
      builds: [['npm', 'run', 'build', '--workspace', 'packages/lib']],
      deploy: [['node', '/deploy.mjs', '--source', '/src', '--plan', '/plan.json', '--out', '/ws']],
    });
    assert.deepEqual(npmWorkspaceCommands(plan, true, paths).install, ['npm', 'ci', '--ignore-scripts', '--workspace', 'apps/api', '--workspace', 'packages/lib', '--include-workspace-root']);
  });
});

describe('pnpm workspaces', () => {
  const paths = { source: '/src', program: '/deploy.mjs', plan: '/plan.json', manifest: '/manifest.json', out: '/ws' };
  const pnpmInstall = managerCommands('pnpm').installAll;

  test('the fixture: lib, linked from apps/api in pnpm-lock.yaml, is its workspace package; nothing of apps/other; no placements (pnpm deploy lays out)', () => {
    const plan = planWorkspace(PNPM_FIXTURE, 'apps/api');
    assert.equal(plan.manager, 'pnpm');
    assert.equal(plan.name, 'api');
    assert.deepEqual(plan.dependencies, [{ path: 'packages/lib', name: 'lib', build: true }]);
    assert.deepEqual(plan.placements, []);
    const manifest = JSON.parse(plan.manifest!) as Record<string, Record<string, string>>;
    assert.deepEqual(manifest.dependencies, { lib: '^0.4.0', ms: '2.1.3' });
    assert.deepEqual(manifest.bin, { api: 'bin/api.js' });
    assert.deepEqual(manifest.engines, { node: '>=20' });
  });

  test('workspace packages in dependency order through link: versions; workspace: ranges published as pnpm publishes them', () => {
    const dir = tree({
      'package.json': { name: 'mono' },
      'pnpm-workspace.yaml': 'packages: [apps/*, packages/*]\n',
      'pnpm-lock.yaml': [
        "lockfileVersion: '9.0'",
        'importers:',
        '  .: {}',
        '  apps/api:',
        '    dependencies:',
        '      top: { specifier: "workspace:*", version: link:../../packages/top }',
        '      base: { specifier: "workspace:~", version: link:../../packages/base }',
        '      pinned: { specifier: "workspace:^1.0.0", version: link:../../packages/pinned }',
        '    devDependencies:',
        '      tool: { specifier: "workspace:^", version: link:../../packages/tool }',
        '  packages/top:',
        '    dependencies:',
        '      base: { specifier: "workspace:^", version: link:../base }',
        '  packages/base: {}',
        '  packages/pinned: {}',
        '  packages/tool: {}',
        '',
      ].join('\n'),
      'apps/api/package.json': { name: 'api', version: '1.0.0', dependencies: { top: 'workspace:*', base: 'workspace:~', pinned: 'workspace:^1.0.0' }, devDependencies: { tool: 'workspace:^' } },
      'packages/top/package.json': { name: 'top', version: '2.0.0', dependencies: { base: 'workspace:^' }, scripts: { build: 'tsc' } },
      'packages/base/package.json': { name: 'base', version: '3.1.0' },
      'packages/pinned/package.json': { name: 'pinned', version: '1.2.0' },
      'packages/tool/package.json': { name: 'tool', version: '4.0.0' },
    });
    const plan = planWorkspace(dir, 'apps/api');
    assert.deepEqual(plan.dependencies, [
      { path: 'packages/base', name: 'base', build: false },
      { path: 'packages/top', name: 'top', build: true },
      { path: 'packages/pinned', name: 'pinned', build: false },
    ]);
    const manifest = JSON.parse(plan.manifest!) as Record<string, Record<string, string>>;
    assert.deepEqual(manifest.dependencies, { top: '2.0.0', base: '~3.1.0', pinned: '^1.0.0' });
    assert.deepEqual(manifest.devDependencies, { tool: '^4.0.0' });
  });

  test('a workspace missing from pnpm-lock.yaml, or a link to a directory that is no workspace, is refused with what to run', () => {
    const files = { 'package.json': { name: 'mono' }, 'pnpm-workspace.yaml': 'packages: [apps/*]\n', 'apps/api/package.json': { name: 'api', version: '1.0.0' } };
    assert.throws(() => planWorkspace(tree({ ...files, 'pnpm-lock.yaml': "lockfileVersion: '9.0'\nimporters:\n  .: {}\n" }), 'apps/api'), configError('pnpm-lock.yaml', /has no importer for the workspace "apps\/api": run `pnpm install` at the root of the monorepo and commit pnpm-lock\.yaml/));
    const outside = tree({ ...files, 'tools/x/package.json': { name: 'x', version: '1.0.0' }, 'pnpm-lock.yaml': "lockfileVersion: '9.0'\nimporters:\n  apps/api:\n    dependencies:\n      x: { specifier: link:../../tools/x, version: link:../../tools/x }\n" });
    assert.throws(() => planWorkspace(outside, 'apps/api'), configError('pnpm-lock.yaml', /links "x" of apps\/api to tools\/x, which is not a workspace \(pnpm-workspace\.yaml packages declares apps\/\*\)/));
  });

  test('pnpm\'s commands: a filtered frozen install (with builds, devDependencies and the root too), each build in its package, pnpm deploy --prod with injected workspace packages, the published manifest', () => {
    const plan = planWorkspace(PNPM_FIXTURE, 'apps/api');
    const settings = pnpmInstall.slice(2);
    assert.ok(settings.includes('--frozen-lockfile') && settings.includes('--config.node-linker=hoisted') && settings.includes('--config.strict-dep-builds=true'));
    assert.deepEqual(pnpmWorkspaceCommands(plan, false, paths, pnpmInstall), {
      install: [...pnpmInstall, '--prod', '--filter', './apps/api...'],
      builds: [['pnpm', '--dir', 'packages/lib', 'run', 'build']],
      deploy: [
        ['pnpm', 'deploy', '--filter', './apps/api', '--prod', ...settings, '--config.inject-workspace-packages=true', '/ws'],
        ['cp', '/manifest.json', '/ws/package.json'],
        ['rm', '-f', '/ws/pnpm-lock.yaml'],
      ],
    });
    assert.deepEqual(pnpmWorkspaceCommands(plan, true, paths, pnpmInstall).install, [...pnpmInstall, '--filter', './apps/api...', '--filter', '.']);
  });

  test('the dependency cache key: workspace links are keyed, not refused; another workspace is another key; a link outside the workspaces has none', () => {
    const runtime = { version: '22.23.3', checksum: 'c', root: 'r' } as never;
    const inputs = { imageId: 'img', runtime, npm: runtime, arch: 'amd64' as const, buildDeps: [], buildFromSource: true, registry: 'https://registry.invalid/', sourceDir: PNPM_FIXTURE, manager: { kind: 'pnpm', version: '10.34.9', lockfile: 'pnpm-lock.yaml' } as never, managerCli: { version: '10.34.9', checksum: 'p', root: 'r' } as never };
    assert.match(dependencyCacheKey(inputs).reason!, /linked dependencies/);
    const api = dependencyCacheKey({ ...inputs, workspace: planWorkspace(PNPM_FIXTURE, 'apps/api') }).key!;
    assert.match(api, /^[0-9a-f]{64}$/);
    assert.notEqual(dependencyCacheKey({ ...inputs, workspace: planWorkspace(PNPM_FIXTURE, 'apps/other') }).key, api);
    const outside = tree({
      'package.json': { name: 'mono' },
      'pnpm-workspace.yaml': 'packages: [apps/*]\n',
      'pnpm-lock.yaml': "lockfileVersion: '9.0'\nimporters:\n  apps/api: {}\n  apps/web:\n    dependencies:\n      x: { specifier: link:../../tools/x, version: link:../../tools/x }\n",
      'apps/api/package.json': { name: 'api', version: '1.0.0' },
    });
    assert.match(dependencyCacheKey({ ...inputs, sourceDir: outside, workspace: planWorkspace(outside, 'apps/api') }).reason!, /linked dependencies/);
  });
});

describe('the dependency cache key of a workspace build', () => {
  const runtime = { version: '22.23.3', checksum: 'c', root: 'r' } as never;
  const inputs = { imageId: 'img', runtime, npm: runtime, arch: 'amd64' as const, buildDeps: [], buildFromSource: true, registry: 'https://registry.invalid/' };

  test('covers the workspace: another workspace, or a change to a workspace package\'s dependencies, is another key', () => {
    const dir = tree({
      'package.json': ROOT_PACKAGE,
      'package-lock.json': { lockfileVersion: 3, packages: { '': { workspaces: ROOT_PACKAGE.workspaces }, 'node_modules/lib': { resolved: 'packages/lib', link: true }, 'apps/api': { dependencies: { lib: '*' } }, 'apps/web': { dependencies: { lib: '*' } }, 'packages/lib': {} } },
      'apps/api/package.json': { name: 'api', version: '1.0.0', dependencies: { lib: '*' } },
      'apps/web/package.json': { name: 'web', version: '1.0.0', dependencies: { lib: '*' } },
      'packages/lib/package.json': { name: 'lib', version: '1.0.0' },
    });
    assert.match(dependencyCacheKey({ ...inputs, sourceDir: dir }).reason!, /workspaces/);
    const api = dependencyCacheKey({ ...inputs, sourceDir: dir, workspace: planWorkspace(dir, 'apps/api') }).key!;
    const web = dependencyCacheKey({ ...inputs, sourceDir: dir, workspace: planWorkspace(dir, 'apps/web') }).key!;
    assert.match(api, /^[0-9a-f]{64}$/);
    assert.notEqual(api, web);
    writeFileSync(path.join(dir, 'packages/lib/package.json'), JSON.stringify({ name: 'lib', version: '1.0.0', optionalDependencies: { x: '1' } }));
    assert.notEqual(dependencyCacheKey({ ...inputs, sourceDir: dir, workspace: planWorkspace(dir, 'apps/api') }).key, api);
    writeFileSync(path.join(dir, 'packages/lib/package.json'), JSON.stringify({ name: 'lib', version: '1.0.0', scripts: { postinstall: 'node x' } }));
    assert.match(dependencyCacheKey({ ...inputs, sourceDir: dir, workspace: planWorkspace(dir, 'apps/api') }).reason!, /packages\/lib\/package\.json has postinstall script/);
  });
});

describe('ndist init in a monorepo root', () => {
  test('names the workspace with a bin, its name and entry, and lists the others', () => {
    const dir = tree({
      'package.json': ROOT_PACKAGE,
      'packages/lib/package.json': { name: 'lib', version: '0.1.0', main: 'index.js' },
      'apps/api/package.json': { name: '@acme/api', version: '1.2.3', bin: { api: 'bin/api.js' } },
      'apps/web/package.json': { name: 'web', version: '1.0.0' },
      'tools/x/package.json': { name: 'x', version: '1.0.0', bin: 'x.js' },
    });
    assert.deepEqual(listWorkspaces(dir), ['apps/api', 'apps/web', 'packages/lib']);
    const text = readFileSync(init(dir, { node: '22.23.3' }), 'utf8');
    assert.match(text, /^ {2}app: "api",$/m);
    assert.match(text, /^ {2}\/\/ A monorepo: the workspace to package \(the others: apps\/web, packages\/lib\); name, version and bin are its own\.$/m);
    assert.match(text, /^ {2}workspace: "apps\/api",$/m);
    assert.match(text, /^ {2}entry: "bin\/api\.js",$/m);
  });

  test('in a pnpm monorepo root (pnpm-workspace.yaml) proposes the workspace with a bin and writes pnpm as the manager', () => {
    const dir = mkdtempSync(path.join(root, 'pnpm-init-'));
    cpSync(PNPM_FIXTURE, dir, { recursive: true });
    const text = readFileSync(init(dir, { node: '22.23.3' }), 'utf8');
    assert.match(text, /^ {2}workspace: "apps\/api",$/m);
    assert.match(text, /the others: apps\/other, packages\/lib/);
    assert.match(text, /pnpm@10\.34\.9/);
  });

  test('a monorepo whose workspaces have nothing to run is refused, saying what to set', () => {
    const dir = tree({ 'package.json': ROOT_PACKAGE, 'packages/lib/package.json': { name: 'lib', version: '0.1.0' } });
    assert.throws(() => init(dir), configError('workspace', /is a monorepo root, but none of its workspaces \(packages\/lib\) has a bin or main to run: .*workspace: "<its directory>"/));
  });
});

describe('ndist build --dry-run of a workspace', () => {
  test('names the workspace and the workspace packages it takes along; name and version are its own', async () => {
    const lines = await describeBuild({ name: 'api', app: 'api', workspace: 'apps/api', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', node: '22.23.3' }, { machinesDir: path.resolve(FIXTURE, '..', '..', '..'), outDir: '/out' });
    assert.ok(lines.includes('  workspace: apps/api (api), with the workspace packages packages/lib'), lines.join('\n'));
    assert.ok(lines.includes('  package:  api 1.2.3-1 amd64, xz compression'), lines.join('\n'));
  });
});
