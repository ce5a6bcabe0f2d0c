import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ConfigError } from '../../src/errors.ts';
import { debianChangelog, debianChangelogGz, parseChangelog, rpmChangelog } from '../../src/package/changelog.ts';
import { gitChangelog } from '../../src/package/git-changelog.ts';

const KEEP_A_CHANGELOG = `# Changelog
All notable changes to this project will be documented in this file.

## [Unreleased]
- not released yet

## [1.1.0] - 2024-05-01
### Added
- A [link](https://example.com) to **the docs**, with a long line that goes on and on so that it has to be folded at eighty characters.
### Fixed
- 100% CPU when idle
  on some hosts

## [1.0.0-rc.1] - 2024-04-02
- First release candidate

[1.1.0]: https://example.com/compare/v1.0.0...v1.1.0
`;

const CHANGESETS = `# service-app

## 1.1.0

### Minor Changes

- 3f2a1b9: Add a health endpoint

### Patch Changes

- Updated dependencies

## 1.0.0

### Major Changes

- abcdef1234567: First stable release
`;

const PKG = { app: 'demo', version: '1.1.0', iteration: '2', epoch: 1, maintainer: 'Jane Doe <jane@example.com>' };
/** 2024-06-01T12:00:00Z */
const EPOCH = 1717243200;

describe('changelog: parsing', () => {
  test('Keep a Changelog: releases with dates, sections as prefixes, links and emphasis reduced, continuation lines joined, Unreleased and references left out', () => {
    assert.deepEqual(parseChangelog(KEEP_A_CHANGELOG, 'changelog'), [
      { version: '1.1.0', date: 1714521600, changes: ['Added: A link to the docs, with a long line that goes on and on so that it has to be folded at eighty characters.', 'Fixed: 100% CPU when idle on some hosts'] },
      { version: '1.0.0~rc.1', date: 1712016000, changes: ['First release candidate'] },
    ]);
  });

  test('changesets: no dates, "Changes" dropped from sections, commit hashes dropped', () => {
    assert.deepEqual(parseChangelog(CHANGESETS, 'changelog'), [
      { version: '1.1.0', changes: ['Minor: Add a health endpoint', 'Patch: Updated dependencies'] },
      { version: '1.0.0', changes: ['Major: First stable release'] },
    ]);
  });

  test('a file without release headings is a ConfigError naming the option', () => {
    assert.throws(() => parseChangelog('# Notes\n\nnothing here\n', 'changelog'), (error: unknown) => error instanceof ConfigError && error.field === 'changelog' && /no release headings/.test(error.message));
  });
});

describe('changelog: Debian format', () => {
  test('exact text: the package version with epoch and iteration, older ones with revision 1, lines folded at 80', () => {
    assert.equal(
      debianChangelog(PKG, parseChangelog(KEEP_A_CHANGELOG, 'changelog'), EPOCH),
      `demo (1:1.1.0-2) unstable; urgency=medium

  * Added: A link to the docs, with a long line that goes on and on so that it
    has to be folded at eighty characters.
  * Fixed: 100% CPU when idle on some hosts

 -- Jane Doe <jane@example.com>  Wed, 01 May 2024 00:00:00 +0000

demo (1:1.0.0~rc.1-1) unstable; urgency=medium

  * First release candidate

 -- Jane Doe <jane@example.com>  Tue, 02 Apr 2024 00:00:00 +0000
`,
    );
  });

  test('undated releases take SOURCE_DATE_EPOCH; a missing entry for the package version is added on top', () => {
    const text = debianChangelog({ ...PKG, version: '1.2.0', epoch: undefined }, parseChangelog(CHANGESETS, 'changelog'), EPOCH);
    assert.match(text, /^demo \(1\.2\.0-2\) unstable; urgency=medium\n\n {2}\* Version 1\.2\.0\.\n\n -- Jane Doe <jane@example\.com> {2}Sat, 01 Jun 2024 12:00:00 \+0000\n\ndemo \(1\.1\.0-1\)/);
    assert.equal([...text.matchAll(/Sat, 01 Jun 2024 12:00:00/g)].length, 3);
  });

  test('dpkg-parsechangelog reads every entry of the gzipped file, which is reproducible', (t) => {
    const gz = debianChangelogGz(PKG, parseChangelog(KEEP_A_CHANGELOG, 'changelog'), EPOCH);
    assert.deepEqual(gz, debianChangelogGz(PKG, parseChangelog(KEEP_A_CHANGELOG, 'changelog'), EPOCH));
    assert.equal(gz.readUInt32LE(4), 0, 'no time in the gzip header');
    try {
      execFileSync('dpkg-parsechangelog', ['--version'], { stdio: 'ignore' });
    } catch {
      t.skip('dpkg-parsechangelog is not installed (dpkg-dev)');
      return;
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-changelog-'));
    try {
      writeFileSync(path.join(dir, 'changelog'), gunzipSync(gz));
      const parsed = execFileSync('dpkg-parsechangelog', ['-l', path.join(dir, 'changelog'), '--format', 'rfc822', '--all'], { encoding: 'utf8' }).split('\n').filter((line) => line.startsWith('Version: ')).map((line) => line.slice(9)).join('\n');
      assert.equal(parsed.trim(), '1:1.1.0-2\n1:1.0.0~rc.1-1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('changelog: rpm %changelog', () => {
  test('exact text, % doubled, entries newest first and never newer than the one above', () => {
    const entries = [
      { version: '1.1.0', changes: ['100% faster'] },
      { version: '1.0.0', date: EPOCH + 86400, changes: ['dated after the build: clamped'] },
    ];
    assert.equal(
      rpmChangelog(PKG, entries, EPOCH),
      `* Sat Jun 01 2024 Jane Doe <jane@example.com> - 1:1.1.0-2
- 100%% faster

* Sat Jun 01 2024 Jane Doe <jane@example.com> - 1:1.0.0-1
- dated after the build: clamped`,
    );
  });
});

describe('changelog: from git tags', () => {
  /** A repository with commits at fixed times, tagged as releases are (lightweight and annotated, v and bare, a changesets name@). */
  function repository(t: { after: (fn: () => void) => void }): { dir: string; commit: (subject: string, at: number, file?: string) => void; git: (...args: string[]) => string } {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-git-changelog-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    let time = 0;
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'tag.gpgSign=false', '-c', 'commit.gpgSign=false', ...args], {
        cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_COMMITTER_DATE: `@${time} +0000`, GIT_AUTHOR_DATE: `@${time} +0000` },
      });
    git('init', '-q', '-b', 'main');
    const commit = (subject: string, at: number, file = 'app.js') => {
      time = at;
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), subject);
      git('add', '-A');
      git('commit', '-q', '-m', subject);
    };
    return { dir, commit, git };
  }
  const DAY = 86400;

  test('one entry per version tag with the subjects since the tag before, dated by the tagged commit; other tags, merges and other directories left out', (t) => {
    const repo = repository(t);
    repo.commit('Initial import', 1000 * DAY);
    repo.commit('Add the server', 1001 * DAY);
    repo.git('tag', 'v1.0.0');
    repo.commit('Fix 100% CPU when idle', 1002 * DAY);
    repo.git('tag', 'not-a-release');
    repo.commit('Touch only the docs of another package', 1003 * DAY, 'other/readme.md');
    repo.commit('Add a health endpoint', 1004 * DAY);
    repo.git('tag', '-a', '-m', 'release', '1.1.0-rc.1');
    repo.commit('Add metrics', 1005 * DAY);
    repo.git('tag', 'demo@1.1.0');
    repo.git('tag', 'elsewhere@9.0.0');
    // Only the commits touching the app's directory count: the app is the repository root here, so a subdirectory stands in.
    const entries = gitChangelog(repo.dir, 'demo', '1.1.0', 'changelog');
    assert.deepEqual(entries, [
      { version: '1.1.0', date: 1005 * DAY, changes: ['Add metrics'] },
      { version: '1.1.0~rc.1', date: 1004 * DAY, changes: ['Add a health endpoint', 'Touch only the docs of another package', 'Fix 100% CPU when idle'] },
      { version: '1.0.0', date: 1001 * DAY, changes: ['Add the server', 'Initial import'] },
    ]);
    assert.deepEqual(gitChangelog(path.join(repo.dir, 'other'), 'demo', '1.1.0', 'changelog').map((entry) => entry.changes), [[], ['Touch only the docs of another package'], []]);
    // Written like a CHANGELOG.md's entries, which dpkg's parser reads back.
    const text = debianChangelog({ ...PKG, version: '1.1.0', iteration: '1', epoch: undefined }, entries, EPOCH);
    assert.match(text, /^demo \(1\.1\.0~rc\.1-1\) unstable; urgency=medium\n\n {2}\* Add a health endpoint\n/m);
    assert.match(rpmChangelog(PKG, entries, EPOCH), /^- Fix 100%% CPU when idle$/m);
  });

  test('commits after the newest tag are the package version\'s entry (or join the newest release when the version is not bumped)', (t) => {
    const repo = repository(t);
    repo.commit('First', 10 * DAY);
    repo.git('tag', 'v1.0.0');
    repo.commit('Second', 11 * DAY);
    assert.deepEqual(gitChangelog(repo.dir, undefined, '1.1.0', 'changelog'), [{ version: '1.1.0', changes: ['Second'] }, { version: '1.0.0', date: 10 * DAY, changes: ['First'] }]);
    assert.deepEqual(gitChangelog(repo.dir, undefined, '1.0.0', 'changelog'), [{ version: '1.0.0', date: 10 * DAY, changes: ['Second', 'First'] }]);
  });

  test('a shallow clone is deepened first; no repository or no version tag is a ConfigError naming the option', (t) => {
    const repo = repository(t);
    repo.commit('First', 10 * DAY);
    repo.git('tag', 'v1.0.0');
    repo.commit('Second', 11 * DAY);
    repo.git('tag', 'v1.1.0');
    const clone = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-git-clone-'));
    t.after(() => rmSync(clone, { recursive: true, force: true }));
    execFileSync('git', ['clone', '-q', '--depth', '1', '--single-branch', '--branch', 'v1.1.0', `file://${repo.dir}`, clone], { stdio: 'ignore' });
    assert.deepEqual(gitChangelog(clone, undefined, '1.1.0', 'changelog').map((entry) => entry.version), ['1.1.0', '1.0.0']);
    const plain = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-no-git-'));
    t.after(() => rmSync(plain, { recursive: true, force: true }));
    assert.throws(() => gitChangelog(plain, undefined, '1.0.0', 'changelog'), (error: unknown) => error instanceof ConfigError && /changelog: asks for the git log, but the source .* is not in a git repository/.test(error.message));
    repo.git('tag', '-d', 'v1.0.0');
    repo.git('tag', '-d', 'v1.1.0');
    assert.throws(() => gitChangelog(repo.dir, undefined, '1.0.0', 'changelog'), /no tag on the source's history names a version/);
  });
});
