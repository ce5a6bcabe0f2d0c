import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import type { BuildOptions } from '../../src/options/types.ts';
import { checkEntry, checkPackageVersion, toPackageVersion, validateBuild } from '../../src/options/validate.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-validate-'));
  writeFileSync(path.join(dir, 'a-file'), '');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const SHA = '0123456789abcdef0123456789abcdef01234567';

function good(): BuildOptions {
  return { name: 'hello', app: 'hello-app', source: { type: 'directory', path: dir }, buildMachine: 'debian-bookworm', node: '22.23.3' };
}

/** Options that are `good()` with `changes` applied; `undefined` values are kept as set. */
function withChanges(changes: Record<string, unknown>): BuildOptions {
  return { ...good(), ...changes } as BuildOptions;
}

/** Assert that validateBuild refuses `changes` with a ConfigError on `field` whose message matches `message`. */
function rejects(changes: Record<string, unknown>, field: string, message: RegExp): void {
  assert.throws(
    () => validateBuild(withChanges(changes)),
    (error: unknown) => {
      const context = `for ${JSON.stringify(changes)}`;
      assert.ok(error instanceof ConfigError, `expected a ConfigError ${context}, got ${String(error)}`);
      assert.equal(error.field, field, context);
      assert.ok(error.message.startsWith(`${field}: `), `${error.message} ${context}`);
      assert.match(error.message, message, context);
      return true;
    },
    `${JSON.stringify(changes)} should be refused`,
  );
}

function accepts(changes: Record<string, unknown>): void {
  assert.doesNotThrow(() => validateBuild(withChanges(changes)), `${JSON.stringify(changes)} should be accepted`);
}

describe('validateBuild: a good build', () => {
  test('accepts the minimal build', () => {
    assert.equal(validateBuild(good()), undefined);
  });

  test('accepts a build that sets every option', () => {
    accepts({
      version: '1.2.0-rc.1',
      iteration: '2',
      source: { type: 'git', uri: 'https://example.com/app.git', tag: 'v1.2.0' },
      arch: 'arm64',
      buildDeps: ['libsqlite3-dev', 'python3', 'g++', 'gcc:arm64', 'libfoo=1.2-3'],
      runtimeDeps: ['libsqlite3-0 (>= 3.40)', 'mailx | bsd-mailx', 'libc6 (>= 2.36) | libc6-compat', 'foo (= 1:2.3-4)', 'bar:any'],
      npm: '10.9.9',
      fpmArgs: ['--deb-priority', 'optional'],
      maintainer: 'Jane <jane@example.com>',
      description: 'An app',
      license: 'MIT',
      homepage: 'https://example.com',
      entry: './bin/cli.js',
      compression: 'zstd',
      buildFromSource: false,
    });
  });
});

describe('validateBuild: name', () => {
  test('must be one non-empty line of at most 200 characters', () => {
    rejects({ name: 'two\nlines' }, 'name', /"two\\nlines" is not a single line without control characters/);
    rejects({ name: 'tab\there' }, 'name', /single line/);
    rejects({ name: '' }, 'name', /"" is not a non-empty string/);
    rejects({ name: '   ' }, 'name', /non-empty string/);
    rejects({ name: 42 }, 'name', /42 is not a non-empty string/);
    rejects({ name: 'x'.repeat(201) }, 'name', /is 201 characters long; at most 200/);
    accepts({ name: 'x'.repeat(200) });
  });
});

describe('validateBuild: app', () => {
  test('refuses names that are not package names, saying what is allowed', () => {
    for (const app of ['Hello', 'my app', '$(x)', 'a', '-app', '.app', 'app_name', 'app/x', 'ümlaut']) {
      rejects({ app }, 'app', new RegExp(`"${app.replace(/[$()./]/g, '\\$&')}" is not a package name: lowercase letters, digits, \\+ - \\. \\(at least 2 characters\\), e.g. "my-service"`));
    }
  });

  test('refuses a missing app and a multiline one', () => {
    rejects({ app: undefined }, 'app', /is required/);
    rejects({ app: 'my-app\nx' }, 'app', /single line/);
  });

  test('accepts package names', () => {
    for (const app of ['my-service', 'a1', '0ad', 'g++', 'lib.foo+bar-2']) accepts({ app });
  });
});

describe('validateBuild: version and iteration', () => {
  test('accepts semver, a leading v, pre-releases and build metadata', () => {
    for (const version of ['1.2.0', 'v1.2.0', '1.2.0-rc.1', '1.2.0+build.5', '1.2.0-rc.1+build.5', '2024.1', '1.0~beta']) accepts({ version });
  });

  test('refuses what is no package version, naming the allowed form', () => {
    for (const version of ['latest', 'x1.0', '1.0.0 beta', '1.0.0_1', '1.2.0-rc_1', '1.2-3', '1.0/2']) {
      rejects({ version }, 'version', /is not a package version; use digits, letters and \. \+ ~ starting with a digit, e\.g\. 1\.2\.0 or 1\.2\.0-rc\.1/);
    }
    rejects({ version: '' }, 'version', /non-empty string/);
    rejects({ version: '1.0\n' }, 'version', /single line/);
  });

  test('iteration: digits, letters, . + ~', () => {
    for (const iteration of ['1', '2ubuntu1', '1.1', '0~1']) accepts({ iteration });
    for (const iteration of ['', '1-2', 'a b', '1;x']) {
      rejects({ iteration }, 'iteration', /is not a package revision: digits, letters, \. \+ ~ \(e\.g\. "1"\)/);
    }
  });
});

describe('toPackageVersion / checkPackageVersion', () => {
  test('turns the semver pre-release dash into ~ and keeps the rest', () => {
    assert.equal(toPackageVersion('1.2.0-rc.1'), '1.2.0~rc.1');
    assert.equal(toPackageVersion('1.2.0'), '1.2.0');
    assert.equal(toPackageVersion('1.2.0+build.5'), '1.2.0+build.5');
    assert.equal(toPackageVersion('1.2.0-rc.1+build.5'), '1.2.0~rc.1+build.5');
    assert.equal(toPackageVersion('v1.2.0-beta'), '1.2.0~beta');
    assert.equal(toPackageVersion('1.2-3'), '1.2-3', 'only a full x.y.z is semver');
  });

  test(
    'a semver pre-release with a hyphen inside is accepted too',
    () => {
      for (const version of ['1.0.0-beta-2', '2.0.0-rc.1-hotfix']) {
        const converted = checkPackageVersion('version', version);
        assert.ok(converted.startsWith(`${version.slice(0, 5)}~`), converted);
      }
    },
  );

  test('checkPackageVersion returns the converted version or throws a ConfigError on the given field', () => {
    assert.equal(checkPackageVersion('version', '1.2.0-rc.1'), '1.2.0~rc.1');
    assert.throws(() => checkPackageVersion('package.json version', 'next'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.field, 'package.json version');
      assert.match(error.message, /^package\.json version: "next" is not a package version/);
      return true;
    });
  });
});

describe('validateBuild: source', () => {
  const gitSource = (extra: Record<string, unknown>) => ({ source: { type: 'git', uri: 'https://example.com/app.git', ...extra } });

  test('accepts git sources with one branch, tag or commit', () => {
    accepts(gitSource({}));
    for (const branch of ['main', 'release/1.x', 'feature-x_y', 'v1.2.0', 'a.b']) accepts(gitSource({ branch }));
    accepts(gitSource({ tag: 'v1.2.0' }));
    accepts(gitSource({ commit: SHA }));
    accepts(gitSource({ commit: 'abc1234' }));
    accepts(gitSource({ commit: 'a'.repeat(64) }));
  });

  test('refuses a git uri starting with "-"', () => {
    rejects({ source: { type: 'git', uri: '--upload-pack=touch /tmp/x' } }, 'source.uri', /"--upload-pack=touch \/tmp\/x" must not start with "-"/);
    rejects({ source: { type: 'git', uri: '' } }, 'source.uri', /non-empty string/);
    rejects({ source: { type: 'git', uri: 'https://x\n-y' } }, 'source.uri', /single line/);
  });

  test('refuses refs git would not accept or could read as an option', () => {
    const bad = ['a..b', '..', 'my branch', '-b', '--upload-pack=x', 'x.lock', 'a/', '/a', 'a//b', 'a@{1}', 'a:b', 'a~1', 'a^', 'a?', 'a*', 'a[b', 'a\\b', 'end.'];
    for (const branch of bad) rejects(gitSource({ branch }), 'source.branch', /is not a valid git branch, tag or commit name/);
    rejects(gitSource({ branch: 'tab\tx' }), 'source.branch', /is not a single line without control characters/);
    rejects(gitSource({ tag: 'v1..2' }), 'source.tag', /"v1\.\.2" is not a valid git branch, tag or commit name/);
    rejects(gitSource({ branch: 'x'.repeat(256) }), 'source.branch', /is 256 characters long; at most 255/);
  });

  test('refuses two of branch, tag and commit', () => {
    rejects(gitSource({ branch: 'main', tag: 'v1' }), 'source', /give one of branch, tag or commit, not branch and tag/);
    rejects(gitSource({ branch: 'main', commit: SHA }), 'source', /not branch and commit/);
    rejects(gitSource({ branch: 'main', tag: 'v1', commit: SHA }), 'source', /not branch and tag and commit/);
  });

  test('refuses a commit that is not a hash', () => {
    for (const commit of ['abc123', 'xyz1234', 'HEAD', 'main', 'a'.repeat(65)]) {
      rejects(gitSource({ commit }), 'source.commit', /is not a commit hash \(7 to 64 hex digits\)/);
    }
    rejects(gitSource({ commit: '-abcdef1' }), 'source.commit', /is not a commit hash/);
  });

  test('gitDirectory and directory need an existing directory', () => {
    accepts({ source: { type: 'gitDirectory', path: dir } });
    accepts({ source: { type: 'gitDirectory', path: dir, ref: 'v1.0.0' } });
    const missing = path.join(dir, 'missing');
    rejects({ source: { type: 'directory', path: missing } }, 'source.path', new RegExp(`"${missing}" is not a directory`));
    rejects({ source: { type: 'gitDirectory', path: missing } }, 'source.path', /is not a directory/);
    rejects({ source: { type: 'directory', path: path.join(dir, 'a-file') } }, 'source.path', /is not a directory/);
    rejects({ source: { type: 'directory', path: '' } }, 'source.path', /non-empty string/);
  });

  test('gitDirectory refs are checked like branches', () => {
    rejects({ source: { type: 'gitDirectory', path: dir, ref: 'a..b' } }, 'source.ref', /"a\.\.b" is not a valid git branch, tag or commit name/);
    rejects({ source: { type: 'gitDirectory', path: dir, ref: '--output=/tmp/x' } }, 'source.ref', /not a valid git/);
  });

  test('refuses a missing source or an unknown type', () => {
    rejects({ source: undefined }, 'source', /is required; give a source: git\(\{ uri, branch \}\), gitDirectory\(\{ path, ref \}\) or directory\(\{ path \}\)/);
    rejects({ source: 'https://example.com/app.git' }, 'source', /"https:\/\/example\.com\/app\.git" is not a source: git/);
    rejects({ source: { type: 'svn', path: dir } }, 'source.type', /is "svn"; allowed: git, gitDirectory, directory/);
  });
});

describe('validateBuild: buildMachine and arch', () => {
  test('buildMachine is required', () => {
    rejects({ buildMachine: undefined }, 'buildMachine', /is required/);
  });

  test('arch is amd64, arm64 or armhf', () => {
    accepts({ arch: 'amd64' });
    rejects({ arch: 'i386' }, 'arch', /is "i386"; allowed: amd64, arm64, armhf/);
    rejects({ arch: 'x64' }, 'arch', /allowed: amd64, arm64, armhf/);
  });
});

describe('validateBuild: buildDeps and runtimeDeps', () => {
  test('buildDeps entries are apt-get install arguments', () => {
    rejects({ buildDeps: ['foo; rm'] }, 'buildDeps[0]', /"foo; rm" is not a valid package name or relation, e\.g\. "libsqlite3-dev"/);
    rejects({ buildDeps: ['python3', 'Foo'] }, 'buildDeps[1]', /"Foo" is not a valid package name/);
    for (const dep of ['-y', '--allow-unauthenticated', 'a', 'foo bar', '$(x)', 'foo (>= 1)', '', 'foo\n']) {
      rejects({ buildDeps: [dep] }, 'buildDeps[0]', /is not a valid package name or relation/);
    }
    rejects({ buildDeps: [3] }, 'buildDeps[0]', /3 is not a valid package name/);
    rejects({ buildDeps: 'libsqlite3-dev' }, 'buildDeps', /is not a list of strings, e\.g\. \["libsqlite3-dev"\]/);
  });

  test('runtimeDeps entries are Depends relations, with alternatives', () => {
    accepts({ runtimeDeps: ['libsqlite3-0 (>= 3.40)'] });
    accepts({ runtimeDeps: ['aa | bb'] });
    accepts({ runtimeDeps: ['mailx | bsd-mailx (>= 8.1) | s-nail'] });
    accepts({ runtimeDeps: ['libc6 (<< 3)', 'libc6 (<= 3)', 'libc6 (= 3)', 'libc6 (>> 2)'] });
    rejects({ runtimeDeps: ['foo; rm'] }, 'runtimeDeps[0]', /"foo; rm" is not a valid package name or relation, e\.g\. "libsqlite3-0 \(>= 3\.40\)"/);
    rejects({ runtimeDeps: ['libc6', 'Foo'] }, 'runtimeDeps[1]', /"Foo" is not a valid/);
    const bad = ['a, b', 'libc6 (>= 2.36', 'libc6 (~ 1)', 'libc6 (>=2.36)', 'libc6 | ', 'libc6||libc7', 'libc6\nDepends: evil', 'libc6 (>= 1) extra'];
    for (const dep of bad) rejects({ runtimeDeps: [dep] }, 'runtimeDeps[0]', /is not a valid package name or relation/);
    rejects({ runtimeDeps: {} }, 'runtimeDeps', /is not a list of strings/);
  });

  test('a one-letter package name is refused, also as an alternative (Debian names have at least 2 characters)', () => {
    rejects({ runtimeDeps: ['a | b'] }, 'runtimeDeps[0]', /"a \| b" is not a valid package name or relation/);
  });
});

describe('validateBuild: node and npm', () => {
  test('node must be an exact x.y.z version', () => {
    for (const node of ['22', '22.1', '^22.1.0', '~22.1.0', 'v22.1.0', '22.1.0-rc.1', 'lts', ' 22.1.0']) {
      rejects({ node }, 'node', new RegExp(`${JSON.stringify(node).replace(/[.^$]/g, '\\$&')} is not an exact version like "22\\.23\\.3"`));
    }
    rejects({ node: undefined }, 'node', /is required; give an exact version like "22\.23\.3"/);
    rejects({ node: 22 }, 'node', /: 22 is not an exact version/);
  });

  test('npm, when given, must be exact too', () => {
    accepts({ npm: '11.0.0' });
    rejects({ npm: '10' }, 'npm', /"10" is not an exact version like "10\.9\.9"/);
    rejects({ npm: 'latest' }, 'npm', /exact version/);
  });
});

describe('validateBuild: fpmArgs, metadata, entry, compression', () => {
  test('fpmArgs must be a list of strings', () => {
    accepts({ fpmArgs: [] });
    rejects({ fpmArgs: [1] }, 'fpmArgs[0]', /1 is not a string/);
    rejects({ fpmArgs: ['--x', null] }, 'fpmArgs[1]', /null is not a string/);
    rejects({ fpmArgs: '--deb-priority optional' }, 'fpmArgs', /is not a list of strings, e\.g\. \["--deb-priority", "optional"\]/);
  });

  test('metadata fields are single lines of bounded length', () => {
    rejects({ maintainer: 'Jane <j@x>\nDepends: evil' }, 'maintainer', /single line/);
    rejects({ description: 'line one\nline two' }, 'description', /single line/);
    rejects({ homepage: 'https://x\r\nX: y' }, 'homepage', /single line/);
    rejects({ license: '' }, 'license', /non-empty string/);
    rejects({ maintainer: 'x'.repeat(201) }, 'maintainer', /at most 200/);
    rejects({ description: 'x'.repeat(2001) }, 'description', /at most 2000/);
    rejects({ homepage: 'x'.repeat(501) }, 'homepage', /at most 500/);
    rejects({ homepage: 'https://example.com/a b' }, 'homepage', /is not a URL without spaces \(rpm's URL field is one word\)/);
  });

  test('entry must be a relative path inside the app', () => {
    for (const entry of ['bin/cli.js', './bin/cli.js', 'index.js', 'dist/a..b.js']) accepts({ entry });
    for (const entry of ['../x.js', '/abs/x.js', 'bin/../../x.js', '..', './/etc/passwd', './../x']) {
      rejects({ entry }, 'entry', /must be a path inside the app, like "bin\/cli\.js"/);
    }
    rejects({ entry: '' }, 'entry', /non-empty string/);
  });

  test('checkEntry returns the entry without a leading ./', () => {
    assert.equal(checkEntry('entry', './bin/cli.js'), 'bin/cli.js');
    assert.equal(checkEntry('entry', 'bin/cli.js'), 'bin/cli.js');
  });

  test('compression is xz, gzip, zstd or none', () => {
    for (const compression of ['xz', 'gzip', 'zstd', 'none']) accepts({ compression });
    for (const compression of ['gz', 'bzip2', 'XZ', '']) rejects({ compression }, 'compression', /allowed: xz, gzip, zstd, none/);
  });

  test('runtime is bundled or shared', () => {
    for (const runtime of ['bundled', 'shared']) accepts({ runtime });
    for (const runtime of ['system', 'Shared', '', true]) rejects({ runtime }, 'runtime', /allowed: bundled, shared/);
  });
});
