import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { findMachine, loadMachines, type Machine } from '../../src/machine/catalogue.ts';
import { resolvePackage } from '../../src/package/metadata.ts';
import { NO_CONTENTS } from '../../src/package/contents.ts';
import { NO_RELATIONS, type PackageSpec } from '../../src/package/spec.ts';
import type { BuildOptions } from '../../src/options/types.ts';

let root: string;
let bookworm: Machine;
/** A machine that builds both architectures, with gzip by default. */
let multiArch: Machine;
let appCount = 0;

before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-metadata-'));
  bookworm = findMachine(loadMachines(), 'debian-bookworm');
  multiArch = { ...bookworm, id: 'multi', arch: ['amd64', 'arm64'], compression: 'gzip' };
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A new app directory with `pkg` as package.json (a string is written as it is) and empty `files`. */
function makeApp(pkg: Record<string, unknown> | string | undefined, files: string[] = []): string {
  const dir = path.join(root, `app-${++appCount}`);
  mkdirSync(dir);
  if (pkg !== undefined) writeFileSync(path.join(dir, 'package.json'), typeof pkg === 'string' ? pkg : JSON.stringify(pkg));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), '');
  }
  return dir;
}

function options(dir: string, changes: Partial<BuildOptions> = {}): BuildOptions {
  return { name: 'build', app: 'demo', source: { type: 'directory', path: dir }, buildMachine: 'debian-bookworm', node: '22.23.3', ...changes };
}

function resolve(pkg: Record<string, unknown> | string | undefined, files: string[], changes: Partial<BuildOptions> = {}, machine = bookworm): PackageSpec {
  const dir = makeApp(pkg, files);
  return resolvePackage(options(dir, changes), machine, dir);
}

function configError(field: string, message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.field, field);
    assert.match(error.message, message);
    return true;
  };
}

const FULL_PACKAGE = {
  name: 'demo',
  version: '2.3.4',
  description: 'Demo app\nwith a second line',
  license: 'Apache-2.0',
  homepage: 'https://demo.example',
  author: 'Jane Doe <jane@example.com> (https://jane.example)',
  bin: { demo: 'bin/demo.js' },
};

describe('resolvePackage: defaults from package.json', () => {
  test('takes version, description (first line), license, homepage, maintainer and entry from package.json', () => {
    assert.deepEqual(resolve(FULL_PACKAGE, ['bin/demo.js']), {
      app: 'demo',
      version: '2.3.4',
      iteration: '1',
      arch: 'amd64',
      nodeArch: 'x64',
      rpmArch: 'x86_64',
      maintainer: 'Jane Doe <jane@example.com>',
      description: 'Demo app',
      license: 'Apache-2.0',
      homepage: 'https://demo.example',
      entry: 'bin/demo.js',
      commands: [{ name: 'demo', entry: 'bin/demo.js' }],
      manPages: [],
      runtimeDeps: [],
      buildDeps: [],
      compression: 'xz',
      format: 'deb',
      prefix: '/opt/demo',
      fileName: 'demo_2.3.4-1_amd64.deb',
      ...NO_RELATIONS,
      contents: NO_CONTENTS,
    } satisfies PackageSpec);
  });

  test('the build options win over package.json', () => {
    const spec = resolve(FULL_PACKAGE, ['bin/demo.js', 'server.js'], {
      version: '3.0.0',
      iteration: '7',
      maintainer: 'Ops <ops@example.com>',
      description: 'Other',
      license: 'MIT',
      homepage: 'https://other.example',
      entry: './server.js',
      runtimeDeps: ['libc6 (>= 2.36)'],
      compression: 'none',
    });
    assert.deepEqual(
      { ...spec },
      {
        app: 'demo',
        version: '3.0.0',
        iteration: '7',
        arch: 'amd64',
        nodeArch: 'x64',
        rpmArch: 'x86_64',
        maintainer: 'Ops <ops@example.com>',
        description: 'Other',
        license: 'MIT',
        homepage: 'https://other.example',
        entry: 'server.js',
        commands: [{ name: 'demo', entry: 'server.js' }],
        manPages: [],
        runtimeDeps: ['libc6 (>= 2.36)'],
        buildDeps: [],
        compression: 'none',
        format: 'deb',
        prefix: '/opt/demo',
        ...NO_RELATIONS,
        contents: NO_CONTENTS,
        fileName: 'demo_3.0.0-7_amd64.deb',
      },
    );
  });

  test('without description, license, homepage or author: app name, undefined, undefined, a placeholder maintainer', () => {
    const spec = resolve({ version: '1.0.0' }, ['index.js']);
    assert.equal(spec.description, 'demo');
    assert.equal(spec.license, undefined);
    assert.equal(spec.homepage, undefined);
    assert.equal(spec.maintainer, 'demo maintainers <root@localhost>');
  });

  test('a description whose first line is empty falls back to the app name', () => {
    assert.equal(resolve({ version: '1.0.0', description: '\nsecond line' }, ['index.js']).description, 'demo');
    assert.equal(resolve({ version: '1.0.0', description: '  padded  \r\nmore' }, ['index.js']).description, 'padded');
  });
});

describe('resolvePackage: maintainer from author', () => {
  const maintainerOf = (author: unknown) => resolve({ version: '1.0.0', author }, ['index.js']).maintainer;

  test('a string "Name <mail> (url)" gives "Name <mail>"', () => {
    assert.equal(maintainerOf('Jane Doe <jane@example.com> (https://jane.example)'), 'Jane Doe <jane@example.com>');
    assert.equal(maintainerOf('Jane Doe <jane@example.com>'), 'Jane Doe <jane@example.com>');
    assert.equal(maintainerOf('  Jane   <jane@example.com>  '), 'Jane <jane@example.com>');
  });

  test('an object with name and email gives "name <email>"', () => {
    assert.equal(maintainerOf({ name: 'Jane Doe', email: 'jane@example.com', url: 'https://jane.example' }), 'Jane Doe <jane@example.com>');
  });

  test('an author without an email gives the placeholder', () => {
    assert.equal(maintainerOf('Jane Doe'), 'demo maintainers <root@localhost>');
    assert.equal(maintainerOf('Jane Doe (https://jane.example)'), 'demo maintainers <root@localhost>');
    assert.equal(maintainerOf({ name: 'Jane Doe' }), 'demo maintainers <root@localhost>');
    assert.equal(maintainerOf({ email: 'jane@example.com' }), 'demo maintainers <root@localhost>');
  });
});

describe('resolvePackage: entry', () => {
  const entryOf = (pkg: Record<string, unknown>, files: string[], changes: Partial<BuildOptions> = {}) =>
    resolve({ version: '1.0.0', ...pkg }, files, changes).entry;

  test('bin as a string', () => {
    assert.equal(entryOf({ bin: './cli.js' }, ['cli.js']), 'cli.js');
  });

  test('bin as an object: the entry named like the app', () => {
    assert.equal(entryOf({ bin: { other: 'other.js', demo: 'bin/demo.js' } }, ['bin/demo.js', 'other.js']), 'bin/demo.js');
  });

  test('bin as an object: the entry named like the package when none is named like the app', () => {
    assert.equal(entryOf({ name: 'pkg-name', bin: { tool: 'tool.js', 'pkg-name': 'main-cli.js' } }, ['main-cli.js', 'tool.js']), 'main-cli.js');
  });

  test('bin as an object with a single entry, whatever its name', () => {
    assert.equal(entryOf({ bin: { whatever: 'bin/w.js' } }, ['bin/w.js']), 'bin/w.js');
  });

  test('bin with several entries, none named like the app, and no main: ConfigError listing them', () => {
    assert.throws(
      () => resolve({ version: '1.0.0', bin: { one: 'one.js', two: 'two.js' } }, ['one.js', 'two.js']),
      configError('entry', /^entry: package\.json "bin" has several entries \(one, two\); set entry to the one \/usr\/bin\/demo runs$/),
    );
  });

  test('bin with several entries but main set: main', () => {
    assert.equal(entryOf({ bin: { one: 'one.js', two: 'two.js' }, main: 'lib/main.js' }, ['lib/main.js', 'one.js', 'two.js']), 'lib/main.js');
  });

  test('the entry option wins over bin', () => {
    assert.equal(entryOf({ bin: { one: 'one.js', two: 'two.js' } }, ['one.js', 'two.js'], { entry: 'two.js' }), 'two.js');
  });

  test('no bin: main, else index.js', () => {
    assert.equal(entryOf({ main: 'server.js' }, ['server.js']), 'server.js');
    assert.equal(entryOf({}, ['index.js']), 'index.js');
  });

  test('an entry missing in the source, with no build step, is a ConfigError', () => {
    assert.throws(() => resolve({ version: '1.0.0', bin: 'bin/missing.js' }, []), configError('entry', /^entry: "bin\/missing\.js" does not exist in the source and no build step would make it$/));
    assert.throws(() => resolve({ version: '1.0.0' }, []), configError('entry', /"index\.js" does not exist in the source/));
    assert.throws(() => resolve({ version: '1.0.0' }, ['index.js'], { entry: 'nope.js' }), configError('entry', /"nope\.js" does not exist/));
  });

  test('a package.json entry outside the app is a ConfigError on package.json bin/main', () => {
    assert.throws(
      () => resolve({ version: '1.0.0', bin: '../outside.js' }, []),
      configError('package.json bin/main', /"\.\.\/outside\.js" must be a path inside the app/),
    );
    assert.throws(() => resolve({ version: '1.0.0', main: '/etc/passwd' }, []), configError('package.json bin/main', /must be a path inside the app/));
  });
});

describe('resolvePackage: every bin a command', () => {
  const commandsOf = (pkg: Record<string, unknown>, files: string[], changes: Partial<BuildOptions> = {}) =>
    resolve({ version: '1.0.0', ...pkg }, files, changes).commands;

  test('/usr/bin/<app> first, then every other bin under its own name', () => {
    assert.deepEqual(commandsOf({ bin: { demo: 'bin/demo.js', 'demo-server': './bin/server.js' } }, ['bin/demo.js', 'bin/server.js']), [
      { name: 'demo', entry: 'bin/demo.js' },
      { name: 'demo-server', entry: 'bin/server.js' },
    ]);
  });

  test('a single bin named otherwise than the app: /usr/bin/<app> and /usr/bin/<bin>', () => {
    assert.deepEqual(commandsOf({ bin: { serve: 'cli.js' } }, ['cli.js']), [{ name: 'demo', entry: 'cli.js' }, { name: 'serve', entry: 'cli.js' }]);
  });

  test('the entry option sets /usr/bin/<app>, even over a bin of that name; bin as a string or main: one command', () => {
    assert.deepEqual(commandsOf({ bin: { demo: 'a.js', other: 'b.js' } }, ['a.js', 'b.js', 'c.js'], { entry: 'c.js' }), [{ name: 'demo', entry: 'c.js' }, { name: 'other', entry: 'b.js' }]);
    assert.deepEqual(commandsOf({ bin: 'cli.js' }, ['cli.js']), [{ name: 'demo', entry: 'cli.js' }]);
    // npm names a string bin after the package, without its scope.
    assert.deepEqual(commandsOf({ name: '@acme/serve-it', bin: './cli.js' }, ['cli.js']), [{ name: 'demo', entry: 'cli.js' }, { name: 'serve-it', entry: 'cli.js' }]);
    assert.deepEqual(commandsOf({ name: 'demo', bin: 'cli.js' }, ['cli.js']), [{ name: 'demo', entry: 'cli.js' }]);
    assert.deepEqual(commandsOf({ main: 'server.js' }, ['server.js']), [{ name: 'demo', entry: 'server.js' }]);
  });

  test('a bin name that is not a safe file name is a ConfigError naming it', () => {
    for (const name of ['../evil', '.hidden', '-rf', 'a b', 'x/y', '$(id)']) {
      assert.throws(() => commandsOf({ bin: { demo: 'a.js', [name]: 'a.js' } }, ['a.js']), configError(`package.json bin "${name}"`, /is not a safe command name/));
    }
  });

  test('a bin whose script is missing, with no build step to make it, is a ConfigError naming it; in dist/ or build/ it says how to add one', () => {
    assert.throws(() => commandsOf({ bin: { demo: 'a.js', tool: 'tool.js' } }, ['a.js']), configError('package.json bin "tool"', /^package\.json bin "tool": "tool\.js" does not exist in the source and no build step would make it$/));
    assert.throws(
      () => commandsOf({ bin: { demo: 'a.js', tool: './dist/tool.js' } }, ['a.js']),
      configError('package.json bin "tool"', /"dist\/tool\.js" does not exist in the source and no build step would make it; dist\/ looks like a build step's output: add a "build" script to package.json or set the build option/),
    );
    assert.throws(() => resolve({ version: '1.0.0', bin: 'build/cli.js' }, []), configError('entry', /"build\/cli\.js" does not exist in the source and no build step would make it; build\/ looks like/));
  });
});

describe('resolvePackage: the build step', () => {
  const built = { version: '1.0.0', bin: { demo: 'dist/cli.js', 'demo-x': 'dist/x.js' }, scripts: { build: 'tsc' } };

  test('package.json\'s build script with a script missing: npm run build by default, and bins it will make are accepted', () => {
    const spec = resolve(built, ['dist/x.js']);
    assert.deepEqual(spec.buildStep, { commands: ['npm run build'], from: 'package.json has a build script and dist/cli.js is not in the source (build: [] turns this off)' });
    assert.deepEqual(spec.commands, [{ name: 'demo', entry: 'dist/cli.js' }, { name: 'demo-x', entry: 'dist/x.js' }]);
  });

  test('a build script with every script in the source (a published tarball): no build step, and why', () => {
    const spec = resolve(built, ['dist/cli.js', 'dist/x.js']);
    assert.deepEqual(spec.buildStep, { commands: [], from: "package.json has a build script, but every command's script is in the source already (build: ['npm run build'] runs it)" });
    assert.deepEqual(resolve(built, ['dist/cli.js', 'dist/x.js'], { build: ['npm run build'] }).buildStep?.commands, ['npm run build']);
  });

  test('the build option wins; build: [] turns the default off, and a missing bin is refused again', () => {
    assert.deepEqual(resolve(built, [], { build: ['npm run compile', 'npm run bundle'] }).buildStep, { commands: ['npm run compile', 'npm run bundle'], from: 'the build option' });
    assert.throws(() => resolve(built, [], { build: [] }), configError('entry', /"dist\/cli\.js" does not exist in the source and no build step would make it/));
    assert.equal(resolve({ version: '1.0.0', bin: 'cli.js' }, ['cli.js']).buildStep, undefined, 'no build script, no option: no build step');
  });

  test('a command\'s script that exclude would leave out is a ConfigError naming both', () => {
    assert.throws(() => resolve(built, [], { exclude: ['dist/x.js'] }), configError('package.json bin "demo-x"', /"dist\/x\.js" is a command's script, which exclude "dist\/x\.js" would leave out/));
    assert.throws(() => resolve(built, [], { exclude: ['dist'] }), configError('entry', /exclude "dist"/));
  });
});

describe('resolvePackage: man pages', () => {
  const pagesOf = (man: unknown, files: string[]) => resolve({ version: '1.0.0', man }, ['index.js', ...files]).manPages;

  test('a path or a list, each installed gzipped in the section its name says', () => {
    assert.deepEqual(pagesOf('./man/demo.1', ['man/demo.1']), [{ source: 'man/demo.1', path: '/usr/share/man/man1/demo.1.gz' }]);
    assert.deepEqual(pagesOf(['man/demo.1', 'doc/demo.conf.5.gz', 'man/demo-api.3pm'], ['man/demo.1', 'doc/demo.conf.5.gz', 'man/demo-api.3pm']), [
      { source: 'man/demo.1', path: '/usr/share/man/man1/demo.1.gz' },
      { source: 'doc/demo.conf.5.gz', path: '/usr/share/man/man5/demo.conf.5.gz' },
      { source: 'man/demo-api.3pm', path: '/usr/share/man/man3/demo-api.3pm.gz' },
    ]);
    assert.deepEqual(pagesOf(undefined, []), []);
  });

  test('a missing page, a name without a section 1-8, or two pages at one path are ConfigErrors naming them', () => {
    assert.throws(() => pagesOf(['man/demo.1'], []), configError('package.json man[0]', /"man\/demo\.1" does not exist in the source/));
    assert.throws(() => pagesOf('README.md', ['README.md']), configError('package.json man[0]', /"README\.md" is not a man page name/));
    assert.throws(() => pagesOf('man/demo.9', ['man/demo.9']), configError('package.json man[0]', /is not a man page name/));
    assert.throws(() => pagesOf(['a/demo.1', 'b/demo.1.gz'], ['a/demo.1', 'b/demo.1.gz']), configError('package.json man[1]', /installs \/usr\/share\/man\/man1\/demo\.1\.gz, as another page does/));
    assert.throws(() => pagesOf('../demo.1', []), configError('package.json man[0]', /must be a path inside the app/));
    assert.throws(() => pagesOf({ page: 'demo.1' }, []), configError('package.json man', /must be a path or a list of paths/));
  });
});

describe('resolvePackage: engines.node', () => {
  test('a pinned node outside engines.node is refused naming both, with a version in range when ndist knows one', () => {
    assert.throws(
      () => resolve({ version: '1.0.0', engines: { node: '>=20' } }, ['index.js'], { node: '18.20.4' }),
      configError('node', /^node: 18\.20\.4 is outside engines\.node ">=20" of package\.json; pick a version in that range, e\.g\. 22\.23\.3$/),
    );
    assert.throws(
      () => resolve({ version: '1.0.0', engines: { node: '^24' } }, ['index.js'], { node: '22.23.3' }),
      configError('node', /^node: 22\.23\.3 is outside engines\.node "\^24" of package\.json; pick a version in that range$/),
    );
  });

  test('a node in range, no engines, or a range semver cannot read (ignored, as npm does) pass', () => {
    for (const engines of [{ node: '>=18 <23' }, {}, undefined, { node: 'not a range' }, { node: 22 }]) {
      assert.equal(resolve({ version: '1.0.0', engines }, ['index.js']).app, 'demo');
    }
  });
});

describe('resolvePackage: version, arch and file name', () => {
  test('a semver pre-release becomes a ~ version, in the file name too', () => {
    const spec = resolve({ version: '1.2.0-rc.1' }, ['index.js'], { iteration: '3', arch: 'arm64' }, multiArch);
    assert.equal(spec.version, '1.2.0~rc.1');
    assert.equal(spec.arch, 'arm64');
    assert.equal(spec.nodeArch, 'arm64');
    assert.equal(spec.fileName, 'demo_1.2.0~rc.1-3_arm64.deb');
    assert.equal(spec.compression, 'gzip', 'the machine default');
  });

  test('the version option is converted the same way', () => {
    const spec = resolve({ version: '1.0.0' }, ['index.js'], { version: 'v2.0.0-beta.2' });
    assert.equal(spec.version, '2.0.0~beta.2');
    assert.equal(spec.fileName, 'demo_2.0.0~beta.2-1_amd64.deb');
  });

  test('the arch defaults to the machine first one', () => {
    const spec = resolve({ version: '1.0.0' }, ['index.js'], {}, { ...multiArch, arch: ['arm64', 'amd64'] });
    assert.equal(spec.arch, 'arm64');
    assert.equal(spec.fileName, 'demo_1.0.0-1_arm64.deb');
  });

  test('an arch the machine does not build is a ConfigError', () => {
    assert.throws(
      () => resolve({ version: '1.0.0' }, ['index.js'], { arch: 'arm64' }, { ...bookworm, arch: ['amd64'] }),
      configError('arch', /^arch: machine debian-bookworm builds amd64, not arm64$/),
    );
  });

  test('no version anywhere is a ConfigError', () => {
    assert.throws(() => resolve({ name: 'demo' }, ['index.js']), configError('version', /is not set and package\.json has no version; set version: "1\.0\.0"/));
  });

  test('a package.json version that is no package version is a ConfigError on it', () => {
    assert.throws(() => resolve({ version: 'latest' }, ['index.js']), configError('package.json version', /"latest" is not a package version/));
  });
});

describe('resolvePackage: package.json itself', () => {
  test('a missing package.json is a ConfigError on source', () => {
    const dir = makeApp(undefined, ['index.js']);
    assert.throws(() => resolvePackage(options(dir), bookworm, dir), configError('source', /has no package\.json at its root/));
  });

  test('invalid JSON is a ConfigError on source', () => {
    assert.throws(() => resolve('{ "version": ', ['index.js']), configError('source', /package\.json is not valid JSON/));
  });
});

describe('resolvePackage: package.json fields that reach DEBIAN/control', () => {
  /** Either resolvePackage refuses the package.json with a ConfigError, or `field` of the spec has no control character. */
  function noControlCharacters(pkg: Record<string, unknown>, field: 'homepage' | 'maintainer' | 'license') {
    let spec: PackageSpec;
    try {
      spec = resolve({ version: '1.0.0', ...pkg }, ['index.js']);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return;
    }
    assert.doesNotMatch(spec[field] ?? '', /[\u0000-\u001f\u007f]/);
  }

  test('a homepage with a newline does not reach the spec', () => {
    noControlCharacters({ homepage: 'https://x.example\nPre-Depends: evil' }, 'homepage');
  });

  test('an author with a newline does not reach the maintainer', () => {
    noControlCharacters({ author: 'Mallory\nPre-Depends: evil <m@example.com>' }, 'maintainer');
    noControlCharacters({ author: { name: 'Mallory\nX: y', email: 'm@example.com' } }, 'maintainer');
  });

  test('a license with a newline does not reach the spec', () => {
    noControlCharacters({ license: 'MIT\nX: y' }, 'license');
  });
});

describe('resolvePackage: rpm machines', () => {
  test('file name <app>-<version>-<iteration>.<rpm arch>.rpm, with ~ for pre-releases', () => {
    const rpm = findMachine(loadMachines(), 'rockylinux-9');
    const spec = resolve({ version: '1.2.0-rc.1' }, ['index.js'], { iteration: '3' }, rpm);
    assert.equal(spec.format, 'rpm');
    assert.equal(spec.rpmArch, 'x86_64');
    assert.equal(spec.fileName, 'demo-1.2.0~rc.1-3.x86_64.rpm');
    const arm = resolve({ version: '1.0.0' }, ['index.js'], { arch: 'arm64' }, rpm);
    assert.equal(arm.fileName, 'demo-1.0.0-1.aarch64.rpm');
    assert.equal(arm.nodeArch, 'arm64');
  });

  test('armhf: armv7hl in rpm, armv7l node, and node\'s libatomic a dependency in either format unless listed', () => {
    const machines = loadMachines();
    const rpm = resolve({ version: '1.0.0' }, ['index.js'], { arch: 'armhf' }, findMachine(machines, 'debian-bookworm-rpm'));
    assert.equal(rpm.fileName, 'demo-1.0.0-1.armv7hl.rpm');
    assert.equal(rpm.nodeArch, 'armv7l');
    assert.deepEqual(rpm.runtimeDeps, ['libatomic']);
    const deb = resolve({ version: '1.0.0' }, ['index.js'], { arch: 'armhf', runtimeDeps: ['@sqlite'] }, findMachine(machines, 'debian-bookworm'));
    assert.equal(deb.fileName, 'demo_1.0.0-1_armhf.deb');
    assert.deepEqual(deb.runtimeDeps, ['libsqlite3-0', 'libatomic1']);
    assert.deepEqual(resolve({ version: '1.0.0' }, ['index.js'], { arch: 'armhf', runtimeDeps: ['libatomic1 (>= 12)'] }, findMachine(machines, 'debian-bookworm')).runtimeDeps, ['libatomic1 (>= 12)']);
    assert.deepEqual(resolve({ version: '1.0.0' }, ['index.js'], { arch: 'arm64' }, findMachine(machines, 'debian-bookworm')).runtimeDeps, []);
    assert.throws(() => resolve({ version: '1.0.0' }, ['index.js'], { arch: 'armhf' }, findMachine(machines, 'ubuntu-noble')), configError('arch', /builds amd64, arm64, not armhf/));
  });

  test('runtimeDeps in RPM syntax, @names from the machine', () => {
    const rpm = findMachine(loadMachines(), 'almalinux-9');
    const spec = resolve({ version: '1.0.0' }, ['index.js'], { runtimeDeps: ['@sqlite', 'glibc (>= 2.34)', 'a (<< 2) | b (>> 1)', 'c (= 1.0)'], buildDeps: ['@sqlite-dev', 'make'] }, rpm);
    assert.deepEqual(spec.runtimeDeps, ['sqlite-libs', 'glibc >= 2.34', '(a < 2 or b > 1)', 'c = 1.0']);
    assert.deepEqual(spec.buildDeps, ['sqlite-devel', 'make']);
  });

  test('on deb machines @names resolve and relations stay Debian ones', () => {
    const spec = resolve({ version: '1.0.0' }, ['index.js'], { runtimeDeps: ['@sqlite | libsqlite3-0 (>= 3.40)'], buildDeps: ['@sqlite-dev'] });
    assert.deepEqual(spec.runtimeDeps, ['libsqlite3-0 | libsqlite3-0 (>= 3.40)']);
    assert.deepEqual(spec.buildDeps, ['libsqlite3-dev']);
  });

  test('an unknown @name is a ConfigError on its field', () => {
    assert.throws(() => resolve({ version: '1.0.0' }, ['index.js'], { runtimeDeps: ['@nope'] }), configError('runtimeDeps[0]', /"@nope" is not defined by machine debian-bookworm/));
  });
});

describe('resolvePackage: runtime', () => {
  test("'shared' depends on the exact runtime package and runs its node", () => {
    const spec = resolve(FULL_PACKAGE, ['bin/demo.js'], { runtime: 'shared', runtimeDeps: ['ca-certificates'] });
    assert.deepEqual(spec.runtimeDeps, ['ca-certificates', 'ndist-node-22.23.3 (= 22.23.3-1)']);
    assert.equal(spec.sharedRuntime, '/opt/ndist/node/22.23.3');
  });

  test("'bundled' (the default) adds no dependency", () => {
    for (const runtime of [undefined, 'bundled'] as const) {
      const spec = resolve(FULL_PACKAGE, ['bin/demo.js'], { runtime });
      assert.deepEqual(spec.runtimeDeps, []);
      assert.equal(spec.sharedRuntime, undefined);
    }
  });

  test("'shared' on an rpm machine Requires the exact runtime package, in RPM syntax", () => {
    const rpm = findMachine(loadMachines(), 'debian-bookworm-rpm');
    const spec = resolve(FULL_PACKAGE, ['bin/demo.js'], { runtime: 'shared', buildMachine: rpm.id }, rpm);
    assert.deepEqual(spec.runtimeDeps, ['ndist-node-22.23.3 = 22.23.3-1']);
    assert.equal(spec.sharedRuntime, '/opt/ndist/node/22.23.3');
  });
});
