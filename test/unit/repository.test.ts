/**
 * The repository on the host, with the real tools (dpkg-deb, rpmbuild, apt-ftparchive,
 * createrepo_c, gpg) and small packages made here; the apt and dnf clients reading it are in
 * test/e2e/release.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { ConfigError, RepositoryError } from '../../src/errors.ts';
import { distOf, listRepository, promote, publish, repositoryInstructions, rollback, STATE_FILE } from '../../src/repository/repository.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'ndist-repo-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A throwaway signing key; returns its armored secret key file. */
function makeKey(name: string): string {
  const home = path.join(work, `gnupg-${name}`);
  mkdirSync(home, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', `${name} <${name}@ndist.invalid>`, 'ed25519', 'sign', 'never'], { env, stdio: 'ignore' });
  const file = path.join(work, `${name}.asc`);
  writeFileSync(file, execFileSync('gpg', ['--batch', '--armor', '--export-secret-keys'], { env }));
  return file;
}

function deb(name: string, version: string, options: { depends?: string; description?: string } = {}): string {
  const root = mkdtempSync(path.join(work, 'deb-'));
  mkdirSync(path.join(root, 'DEBIAN'));
  const fields = [`Package: ${name}`, `Version: ${version}`, 'Architecture: amd64', 'Maintainer: ndist test <test@ndist.invalid>', `Description: ${options.description ?? 'test package'}`];
  if (options.depends) fields.push(`Depends: ${options.depends}`);
  writeFileSync(path.join(root, 'DEBIAN', 'control'), `${fields.join('\n')}\n`);
  const file = path.join(work, `${name}_${version}_amd64${options.description ? '.other' : ''}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-b', root, file], { stdio: 'ignore' });
  return file;
}

function rpm(name: string, version: string): string {
  const top = path.join(work, 'rpmbuild');
  const spec = path.join(work, `${name}.spec`);
  writeFileSync(spec, `Name: ${name}\nVersion: ${version}\nRelease: 1\nSummary: test\nLicense: MIT\nBuildArch: x86_64\n%description\ntest\n%files\n`);
  execFileSync('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, spec], { stdio: 'ignore' });
  return path.join(top, 'RPMS', 'x86_64', `${name}-${version}-1.x86_64.rpm`);
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Every file of the repository with its hash: what a web server would serve. */
function snapshot(repo: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(repo, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files[path.relative(repo, path.join(entry.parentPath, entry.name))] = sha256(path.join(entry.parentPath, entry.name));
  }
  return files;
}

describe('repository: publish, promote, rollback on the host', () => {
  let keyFile: string;
  let otherKeyFile: string;
  const repo = path.join(work, 'repo');
  const options = () => ({ repo, sign: { keyFile }, url: 'http://127.0.0.1:8080/acme/' });
  let v1: string;
  let v2: string;

  before(() => {
    keyFile = makeKey('repo');
    otherKeyFile = makeKey('other');
    v1 = deb('acme', '1.0.0-1deb12', { depends: 'ndist-node-22.23.3 (= 22.23.3-1)' });
    v2 = deb('acme', '1.1.0-1deb12', { depends: 'ndist-node-22.23.3 (= 22.23.3-1)' });
  });

  it('refuses bad names, keep, URL and loose files without a target release before touching anything', async () => {
    const refused = (promise: Promise<unknown>, field: string, pattern: RegExp) => assert.rejects(promise, (error: Error) => error instanceof ConfigError && error.field === field && pattern.test(error.message));
    await refused(publish([v1], { ...options(), channel: 'Stable!', dist: 'bookworm' }), 'channel', /lower-case letters, digits/);
    await refused(publish([v1], { ...options(), channel: 'stable', dist: '../etc' }), 'dist', /e\.g\. bookworm/);
    await refused(publish([v1], { ...options(), channel: 'stable', dist: 'bookworm', keep: 0 }), 'keep', /from 1 to 1000/);
    await refused(publish([v1], { ...options(), channel: 'stable', dist: 'bookworm', url: 'https://user:pw@example.com/' }), 'url', /without credentials/);
    await refused(publish([v1], { ...options(), channel: 'stable' }), 'dist', /give the target release it was built for with --dist/);
    await refused(publish([path.join(work, 'missing.deb')], { ...options(), channel: 'stable', dist: 'bookworm' }), 'publish', /does not exist/);
    assert.ok(!existsSync(repo));
  });

  it('an app that runs on a shared runtime needs that runtime published with it', async () => {
    await assert.rejects(publish([v1], { ...options(), channel: 'stable', dist: 'bookworm' }), (error: Error) => error instanceof RepositoryError && /runs on ndist-node-22\.23\.3, which is not published for bookworm/.test(error.message));
  });

  it("publishes an outDir's packages under the release its report names, signed, with install instructions", async () => {
    const outDir = path.join(work, 'out-1.0');
    mkdirSync(outDir);
    const runtime = deb('ndist-node-22.23.3', '22.23.3-1');
    for (const file of [v1, runtime]) writeFileSync(path.join(outDir, path.basename(file)), readFileSync(file));
    const report = {
      builds: [{
        name: 'acme :: debian-bookworm :: amd64',
        status: 'succeeded',
        machine: { id: 'debian-bookworm', format: 'deb', os: { id: 'debian', versionId: '12', codename: 'bookworm' } },
        artifact: { file: path.basename(v1), sha256: sha256(v1) },
        runtimePackage: { file: path.basename(runtime), sha256: sha256(runtime) },
      }],
    };
    writeFileSync(path.join(outDir, 'ndist-report.json'), JSON.stringify(report));
    const { changes } = await publish([outDir], { ...options(), channel: 'stable', name: 'acme' });
    assert.deepEqual(changes, ['ndist-node-22.23.3 22.23.3-1 (amd64) → deb/bookworm/stable', 'acme 1.0.0-1deb12 (amd64) → deb/bookworm/stable']);

    const suite = path.join(repo, 'apt', 'dists', 'bookworm');
    const packages = readFileSync(path.join(suite, 'stable', 'binary-amd64', 'Packages'), 'utf8');
    assert.match(packages, /^Package: acme\n(.+\n)*Version: 1\.0\.0-1deb12\n(.+\n)*Filename: pool\/bookworm\/a\/acme\/acme_1\.0\.0-1deb12_amd64\.deb\n/m);
    assert.match(packages, new RegExp(`SHA256: ${sha256(v1)}`));
    assert.ok(existsSync(path.join(repo, 'apt', 'pool', 'bookworm', 'a', 'acme', path.basename(v1))));
    // Release names every index with its hash, and InRelease and Release.gpg verify with the exported keyring alone.
    const release = readFileSync(path.join(suite, 'Release'), 'utf8');
    assert.match(release, /^Origin: acme$/m);
    assert.match(release, /^Components: stable$/m);
    assert.match(release, new RegExp(` ${sha256(path.join(suite, 'stable', 'binary-amd64', 'Packages'))} +\\d+ stable/binary-amd64/Packages\\n`));
    const gpgv = (...args: string[]) => spawnSync('gpgv', ['--keyring', path.join(repo, 'keyring.gpg'), ...args], { encoding: 'utf8' });
    assert.equal(gpgv(path.join(suite, 'InRelease')).status, 0);
    assert.equal(gpgv(path.join(suite, 'Release.gpg'), path.join(suite, 'Release')).status, 0);
    // The state refuses the same report changed after the build.
    writeFileSync(path.join(outDir, path.basename(v1)), readFileSync(v2));
    await assert.rejects(publish([outDir], { ...options(), channel: 'stable' }), /changed since build "acme :: debian-bookworm :: amd64" made it/);

    const install = readFileSync(path.join(repo, 'INSTALL.md'), 'utf8');
    assert.match(install, /deb \[signed-by=\/etc\/apt\/keyrings\/acme\.gpg\] http:\/\/127\.0\.0\.1:8080\/acme\/apt bookworm stable/);
    assert.equal(await repositoryInstructions(repo), install);
  });

  it('refuses to publish a version again with other bytes, leaving every served file as it was', async () => {
    const before = snapshot(repo);
    const rebuilt = deb('acme', '1.0.0-1deb12', { depends: 'ndist-node-22.23.3 (= 22.23.3-1)', description: 'rebuilt' });
    await assert.rejects(publish([rebuilt], { ...options(), channel: 'stable', dist: 'bookworm' }), /acme 1\.0\.0-1deb12 \(amd64\) for bookworm is already published with other bytes/);
    assert.deepEqual(snapshot(repo), before);
  });

  it('refuses another key than the one hosts trust, and a repository another process is changing', async () => {
    await assert.rejects(publish([v2], { ...options(), sign: { keyFile: otherKeyFile }, channel: 'testing', dist: 'bookworm' }), /the repository is signed with key [0-9A-F]+, and this key is [0-9A-F]+/);
    writeFileSync(path.join(repo, '.ndist-repo.lock'), `${os.hostname()} ${process.pid}\n`);
    await assert.rejects(publish([v2], { ...options(), channel: 'testing', dist: 'bookworm' }), /is being changed by another ndist/);
    // A lock whose process is gone is taken over.
    const gone = spawnSync('true').pid!;
    writeFileSync(path.join(repo, '.ndist-repo.lock'), `${os.hostname()} ${gone}\n`);
    await publish([v2], { ...options(), channel: 'testing', dist: 'bookworm' });
    assert.ok(!existsSync(path.join(repo, '.ndist-repo.lock')));
    assert.deepEqual(readdirSync(path.join(repo, 'apt')).sort(), ['dists', 'pool'], 'no staging directory left');
  });

  it('promotes testing to stable, rolls back, and drops pool files no channel holds', async () => {
    // 1.1.0 was published as a loose file, with no verify record: refused, then forced and recorded.
    await assert.rejects(promote('acme', '1.1.0', { ...options(), from: 'testing', to: 'stable' }), /has no passing verify record: run `ndist verify <outDir>`/);
    await promote('acme', '1.1.0', { ...options(), from: 'testing', to: 'stable', unverified: true });
    assert.deepEqual((await listRepository(repo)).state.packages['deb/bookworm/acme_1.1.0-1deb12_amd64']!.unverifiedPromotions, ['stable']);
    let stable = (await listRepository(repo)).channels.find((listing) => listing.channel === 'deb/bookworm/stable')!;
    assert.deepEqual(stable.packages.filter((p) => p.name === 'acme').map((p) => [p.version, p.current]), [['1.1.0-1deb12', true], ['1.0.0-1deb12', false]]);
    const { rolledBack } = await rollback('acme', { ...options(), channel: 'stable' });
    assert.deepEqual(rolledBack.map((step) => [step.removed, step.current, step.downgrade]), [['1.1.0-1deb12', '1.0.0-1deb12', 'sudo apt-get update && sudo apt-get install -y --allow-downgrades -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold acme=1.0.0-1deb12']]);
    stable = (await listRepository(repo)).channels.find((listing) => listing.channel === 'deb/bookworm/stable')!;
    assert.deepEqual(stable.packages.map((p) => p.version), ['1.0.0-1deb12', '22.23.3-1']);
    assert.doesNotMatch(readFileSync(path.join(repo, 'apt', 'dists', 'bookworm', 'stable', 'binary-amd64', 'Packages'), 'utf8'), /1\.1\.0-1deb12/);
    // With keep 1, publishing 1.2.0 to stable takes 1.0.0 out of it, the last channel holding it.
    const v3 = deb('acme', '1.2.0-1deb12');
    await publish([v3], { ...options(), channel: 'stable', dist: 'bookworm', keep: 1 });
    assert.ok(!existsSync(path.join(repo, 'apt', 'pool', 'bookworm', 'a', 'acme', path.basename(v1))), 'the pool file of 1.0.0 is gone');
    assert.ok(existsSync(path.join(repo, 'apt', 'pool', 'bookworm', 'a', 'acme', path.basename(v2))), '1.1.0 stays: testing holds it');
    assert.ok(existsSync(path.join(repo, 'apt', 'pool', 'bookworm', 'n', 'ndist-node-22.23.3')), 'the runtime stays: 1.1.0 in testing runs on it');
    assert.deepEqual((await listRepository(repo)).channels.find((listing) => listing.channel === 'deb/bookworm/stable')!.packages.map((p) => p.version), ['1.2.0-1deb12'], 'and it left stable with the last app there that ran on it');
    const state = JSON.parse(readFileSync(path.join(repo, STATE_FILE), 'utf8')) as { packages: Record<string, unknown> };
    assert.ok(state.packages['deb/bookworm/acme_1.0.0-1deb12_amd64'], 'the ledger remembers 1.0.0, so other bytes under its version stay refused');
  });

  it('publishes .rpm packages as a signed yum repository per channel, with a .repo file', async () => {
    const file = rpm('acme-tool', '2.0.0');
    await publish([file], { ...options(), channel: 'stable', dist: 'el9' });
    const dir = path.join(repo, 'rpm', 'el9', 'stable');
    assert.ok(statSync(path.join(dir, 'Packages', path.basename(file))).isFile());
    const repomd = path.join(dir, 'repodata', 'repomd.xml');
    assert.equal(spawnSync('gpgv', ['--keyring', path.join(repo, 'keyring.gpg'), `${repomd}.asc`, repomd]).status, 0);
    const primaryHref = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(readFileSync(repomd, 'utf8'))![1]!;
    const primary = gunzipSync(readFileSync(path.join(dir, primaryHref))).toString();
    assert.match(primary, /<name>acme-tool<\/name>/);
    assert.match(primary, /<version epoch="0" ver="2\.0\.0" rel="1"\/>/);
    assert.match(primary, new RegExp(`<checksum type="sha256" pkgid="YES">${sha256(file)}</checksum>`));
    const repoFile = readFileSync(path.join(repo, 'rpm', 'el9', 'acme-stable.repo'), 'utf8');
    assert.match(repoFile, /^\[acme-stable\]\nname=acme stable \(el9\)\nbaseurl=http:\/\/127\.0\.0\.1:8080\/acme\/rpm\/el9\/stable\nenabled=1\nrepo_gpgcheck=1\ngpgcheck=0\ngpgkey=http:\/\/127\.0\.0\.1:8080\/acme\/keyring\.asc\n$/);
  });
});

describe('distOf: the release a machine builds for', () => {
  it('is the codename for .deb and the usual rpm dist tag for .rpm', () => {
    assert.equal(distOf('deb', { id: 'debian', versionId: '12', codename: 'bookworm' }), 'bookworm');
    assert.equal(distOf('deb', { id: 'ubuntu', versionId: '24.04', codename: 'noble', like: ['debian'] }), 'noble');
    assert.equal(distOf('rpm', { id: 'rocky', versionId: '9', like: ['rhel', 'centos', 'fedora'] }), 'el9');
    assert.equal(distOf('rpm', { id: 'almalinux', versionId: '9.4', like: ['rhel'] }), 'el9');
    assert.equal(distOf('rpm', { id: 'fedora', versionId: '43' }), 'fc43');
    assert.equal(distOf('rpm', { id: 'amzn', versionId: '2023', like: ['fedora'] }), 'amzn2023');
    assert.equal(distOf('rpm', { id: 'debian', versionId: '12', codename: 'bookworm' }), 'debian12');
  });
});
