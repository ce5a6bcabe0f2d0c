import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { BuildError } from '../../src/errors.ts';
import { describeSource, directory, fetchSource, git, gitDirectory, type FetchedSource } from '../../src/build/source.ts';

/** Run git in `cwd` with a fixed identity and no signing, whatever the host's configuration. */
function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.email=tests@ndist.invalid', '-c', 'user.name=ndist tests', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', '-c', 'init.defaultBranch=main', ...args],
    { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  ).trim();
}

function commitFile(repo: string, content: string, message: string): string {
  writeFileSync(path.join(repo, 'VERSION'), content);
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', message);
  return gitIn(repo, 'rev-parse', 'HEAD');
}

let root: string;
/** Where fetchSource makes its temporary clones: TMPDIR points there during these tests. */
let clones: string;
let repo: string;
let savedTmpdir: string | undefined;
/** Commits: `one` (tagged v1.0.0 and v1.0.0-annotated), `two` (main), `feature` (branch feature, from one). */
const sha = { one: '', two: '', feature: '' };
const fetched: FetchedSource[] = [];
const lines: string[] = [];
const log = (line: string) => lines.push(line);

before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-source-'));
  clones = path.join(root, 'tmp');
  mkdirSync(clones);
  savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = clones;
  assert.equal(os.tmpdir(), clones);

  repo = path.join(root, 'repo');
  mkdirSync(repo);
  gitIn(repo, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(repo, 'package.json'), '{"name":"demo","version":"1.0.0"}\n');
  sha.one = commitFile(repo, 'one', 'one');
  gitIn(repo, 'tag', 'v1.0.0');
  gitIn(repo, 'tag', '-a', '-m', 'annotated', 'v1.0.0-annotated');
  gitIn(repo, 'checkout', '-q', '-b', 'feature');
  sha.feature = commitFile(repo, 'feature', 'feature');
  gitIn(repo, 'checkout', '-q', 'main');
  sha.two = commitFile(repo, 'two', 'two');
});

afterEach(async () => {
  for (const source of fetched.splice(0)) await source.cleanup();
  lines.length = 0;
});

after(() => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  rmSync(root, { recursive: true, force: true });
});

async function fetch(spec: Parameters<typeof fetchSource>[0]): Promise<FetchedSource> {
  const source = await fetchSource(spec, log);
  fetched.push(source);
  return source;
}

const versionIn = (dir: string) => readFileSync(path.join(dir, 'VERSION'), 'utf8');
const uri = () => `file://${repo}`;

describe('source constructors', () => {
  test('git, gitDirectory and directory build the specs', () => {
    assert.deepEqual(git({ uri: 'https://x/y.git', branch: 'main' }), { type: 'git', uri: 'https://x/y.git', branch: 'main' });
    assert.deepEqual(gitDirectory({ path: '/src', ref: 'v1' }), { type: 'gitDirectory', path: '/src', ref: 'v1' });
    assert.deepEqual(directory({ path: '/src' }), { type: 'directory', path: '/src' });
  });

  test('describeSource', () => {
    assert.equal(describeSource(git({ uri: 'https://x/y.git' })), 'git https://x/y.git (default branch)');
    assert.equal(describeSource(git({ uri: 'https://x/y.git', branch: 'dev' })), 'git https://x/y.git dev');
    assert.equal(describeSource(git({ uri: 'https://x/y.git', tag: 'v1' })), 'git https://x/y.git v1');
    assert.equal(describeSource(git({ uri: 'https://x/y.git', commit: 'abc1234' })), 'git https://x/y.git abc1234');
    assert.equal(describeSource(gitDirectory({ path: '/src' })), 'git repository /src at HEAD');
    assert.equal(describeSource(gitDirectory({ path: '/src', ref: 'v1' })), 'git repository /src at v1');
    assert.equal(describeSource(directory({ path: '/src' })), 'directory /src');
  });
});

describe('fetchSource: git', () => {
  test('a branch: a shallow clone of its head in a temporary directory, removed by cleanup', async () => {
    const source = await fetch(git({ uri: uri(), branch: 'main' }));
    assert.equal(path.dirname(source.dir), clones);
    assert.match(path.basename(source.dir), /^ndist-source-/);
    assert.equal(source.commit, sha.two);
    assert.equal(versionIn(source.dir), 'two');
    assert.equal(gitIn(source.dir, 'rev-list', '--count', 'HEAD'), '1', 'the clone is shallow');
    assert.deepEqual(lines, [`source: git ${uri()} main → commit ${sha.two}`]);
    await source.cleanup();
    assert.equal(existsSync(source.dir), false);
    assert.equal(existsSync(repo), true);
  });

  test('another branch', async () => {
    const source = await fetch(git({ uri: uri(), branch: 'feature' }));
    assert.equal(source.commit, sha.feature);
    assert.equal(versionIn(source.dir), 'feature');
  });

  test('no ref: the default branch', async () => {
    const source = await fetch(git({ uri: uri() }));
    assert.equal(source.commit, sha.two);
  });

  test('a lightweight tag and an annotated tag give the tagged commit', async () => {
    const light = await fetch(git({ uri: uri(), tag: 'v1.0.0' }));
    assert.equal(light.commit, sha.one);
    assert.equal(versionIn(light.dir), 'one');
    const annotated = await fetch(git({ uri: uri(), tag: 'v1.0.0-annotated' }));
    assert.equal(annotated.commit, sha.one);
  });

  test('a full commit hash', async () => {
    const source = await fetch(git({ uri: uri(), commit: sha.one }));
    assert.equal(source.commit, sha.one);
    assert.equal(versionIn(source.dir), 'one');
    assert.equal(gitIn(source.dir, 'status', '--porcelain'), '', 'the work tree is clean');
  });

  test('an abbreviated commit hash, which validateBuild accepts', async () => {
    const source = await fetch(git({ uri: uri(), commit: sha.feature.slice(0, 8) }));
    assert.equal(source.commit, sha.feature);
    assert.equal(versionIn(source.dir), 'feature');
  });

  test('a missing repository is a BuildError naming the uri, and leaves no temporary directory', async () => {
    const missing = `file://${path.join(root, 'no-such-repo')}`;
    await assert.rejects(fetchSource(git({ uri: missing, branch: 'main' }), log), (error: unknown) => {
      assert.ok(error instanceof BuildError, String(error));
      assert.ok(error.message.startsWith(`cannot get the source (git ${missing} main): `), error.message);
      assert.equal(error.details.stage, 'source');
      assert.ok(error.details.cause);
      return true;
    });
    assert.deepEqual(readdirSync(clones), []);
  });

  test('a missing branch or commit is a BuildError, and leaves no temporary directory', async () => {
    await assert.rejects(fetchSource(git({ uri: uri(), branch: 'no-such-branch' }), log), (error: unknown) => {
      assert.ok(error instanceof BuildError);
      assert.match(error.message, new RegExp(`^cannot get the source \\(git ${uri()} no-such-branch\\): .*no-such-branch`, 's'));
      return true;
    });
    await assert.rejects(fetchSource(git({ uri: uri(), commit: 'deadbeef'.repeat(5) }), log), BuildError);
    assert.deepEqual(readdirSync(clones), []);
  });
});

describe('fetchSource: gitDirectory', () => {
  test('at an older commit: that commit\'s content, in a temporary work tree', async () => {
    const source = await fetch(gitDirectory({ path: repo, ref: sha.one }));
    assert.notEqual(source.dir, repo);
    assert.equal(path.dirname(source.dir), clones);
    assert.equal(source.commit, sha.one);
    assert.equal(versionIn(source.dir), 'one');
    assert.equal(versionIn(repo), 'two', 'the repository is not touched');
    assert.deepEqual(lines, [`source: git repository ${repo} at ${sha.one} → commit ${sha.one}`]);
  });

  test('at a branch, a tag, and HEAD by default', async () => {
    assert.equal((await fetch(gitDirectory({ path: repo, ref: 'feature' }))).commit, sha.feature);
    assert.equal((await fetch(gitDirectory({ path: repo, ref: 'v1.0.0-annotated' }))).commit, sha.one);
    const head = await fetch(gitDirectory({ path: repo }));
    assert.equal(head.commit, sha.two);
    assert.equal(versionIn(head.dir), 'two');
  });

  test('a detached HEAD with a commit on no branch (as CI checkouts have it)', async () => {
    const checkout = path.join(root, 'detached');
    gitIn(root, 'clone', '-q', '--depth', '1', `file://${repo}`, checkout);
    gitIn(checkout, 'checkout', '-q', '--detach');
    const detached = commitFile(checkout, 'detached', 'on no branch');
    const source = await fetch(gitDirectory({ path: checkout }));
    assert.equal(source.commit, detached);
    assert.equal(versionIn(source.dir), 'detached');
  });

  test('uncommitted changes are not part of the source', async () => {
    writeFileSync(path.join(repo, 'VERSION'), 'uncommitted');
    writeFileSync(path.join(repo, 'untracked.txt'), 'x');
    try {
      const source = await fetch(gitDirectory({ path: repo }));
      assert.equal(versionIn(source.dir), 'two');
      assert.equal(existsSync(path.join(source.dir, 'untracked.txt')), false);
    } finally {
      gitIn(repo, 'checkout', '--', 'VERSION');
      rmSync(path.join(repo, 'untracked.txt'));
    }
  });

  test('cleanup removes the work tree and leaves the repository', async () => {
    const source = await fetch(gitDirectory({ path: repo, ref: 'main' }));
    await source.cleanup();
    assert.equal(existsSync(source.dir), false);
    assert.equal(gitIn(repo, 'rev-parse', 'HEAD'), sha.two);
    assert.equal(gitIn(repo, 'status', '--porcelain'), '');
  });

  test('an unknown ref is a BuildError naming the repository and ref, and leaves no temporary directory', async () => {
    await assert.rejects(fetchSource(gitDirectory({ path: repo, ref: 'no-such-ref' }), log), (error: unknown) => {
      assert.ok(error instanceof BuildError);
      assert.ok(error.message.startsWith(`cannot get the source (git repository ${repo} at no-such-ref): `), error.message);
      return true;
    });
    assert.deepEqual(readdirSync(clones), []);
  });

  test('a directory that is no repository is a BuildError', async () => {
    const plain = mkdtempSync(path.join(root, 'plain-'));
    await assert.rejects(fetchSource(gitDirectory({ path: plain }), log), BuildError);
    assert.deepEqual(readdirSync(clones), []);
  });
});

describe('fetchSource: directory', () => {
  test('is the directory itself, with no commit, and cleanup leaves it', async () => {
    const source = await fetch(directory({ path: repo }));
    assert.equal(source.dir, repo);
    assert.equal(source.commit, undefined);
    assert.deepEqual(lines, [`source: directory ${repo}`]);
    await source.cleanup();
    assert.equal(existsSync(path.join(repo, 'VERSION')), true);
    assert.deepEqual(readdirSync(clones), []);
  });

  test('a relative path is resolved', async () => {
    const relative = path.relative(process.cwd(), repo);
    const source = await fetch(directory({ path: relative }));
    assert.equal(source.dir, repo);
  });
});
