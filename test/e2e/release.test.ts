/**
 * End to end, release channels (issue #8), through bin/ndist.js as a user types it: service-app
 * 1.0 and 1.1 (runtime: 'shared', so the runtime package ndist-node-* goes into the repository too)
 * are published to a signed repository served from 127.0.0.1. A clean Debian host with systemd
 * (no Node) follows the stable channel with apt exactly as INSTALL.md says; 1.1 in testing does
 * not reach it until promoted, then `apt-get upgrade` gets it; after `ndist rollback` the command
 * ndist prints brings 1.0 back with the service running and its config edits kept. Refusals: a
 * published version with other bytes, a tampered Packages file, a repository signed by another key.
 * The yum side as far as this machine allows: repomd.xml's signature and checksums, primary.xml
 * read back, and Debian's dnf reading the repository through its .repo file (and refusing a
 * tampered repomd.xml).
 *
 * One host container serves the whole apt cycle; its image (debian:bookworm + systemd, and sudo
 * and wget, which INSTALL.md's commands use) and a dnf image build while the packages do.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Builder, directory } from '../../src/index.ts';
import type { BuildOptions } from '../../src/options/types.ts';
import { TEST_LABEL, TEST_SESSION, ndistContainers } from '../helpers/docker.ts';
import { serveDirectory, type StaticServer } from '../helpers/static-server.ts';
import { SYSTEMD_RUN_ARGS, buildHostImage } from '../helpers/test-hosts.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SERVICE_APP = path.join(ROOT, 'test', 'fixtures', 'service-app');
const TINY_APP = path.join(ROOT, 'test', 'fixtures', 'tiny-app');
const APP = 'service-app';
const NODE = '22.23.3';
const RUNTIME = `ndist-node-${NODE}`;
const HOST_IMAGE = `ndist-test/release-host:${TEST_SESSION}`;
const DNF_IMAGE = `ndist-test/dnf-host:${TEST_SESSION}`;
/** What `ndist publish` derives from the debian-bookworm-rpm machine (os id + major). */
const RPM_DIST = 'debian12';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `ndist <args>` through bin/ndist.js (over lib/: `npm run build` first), asynchronously: the repository server runs in this process. */
function ndist(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin', 'ndist.js'), ...args], { env: { ...process.env, NDIST_SESSION: TEST_SESSION, CI: 'true', ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A container with host networking (it reaches the server on 127.0.0.1); commands through `docker exec`, never blocking this process. */
class Host {
  private constructor(readonly id: string) {}

  /** `systemd`: run systemd as PID 1 (see SYSTEMD_RUN_ARGS). */
  static start(image: string, systemd: boolean): Host {
    const args = ['run', '-d', '--network', 'host', '--label', `${TEST_LABEL}=true`, '--label', `io.ndist.session=${TEST_SESSION}`];
    if (systemd) {
      args.push(...SYSTEMD_RUN_ARGS, image, '/lib/systemd/systemd');
    } else {
      args.push(image, 'sleep', 'infinity');
    }
    return new Host(execFileSync('docker', args, { encoding: 'utf8' }).trim());
  }

  sh(command: string): Promise<{ code: number; output: string }> {
    return new Promise((resolve) => {
      execFile('docker', ['exec', '-e', 'DEBIAN_FRONTEND=noninteractive', this.id, 'sh', '-c', `${command} 2>&1`], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, output: `${stdout}${stderr}`.trim() });
      });
    });
  }

  /** Run `command`, fail the test with its output unless it exits 0; returns the output. */
  async ok(command: string): Promise<string> {
    const result = await this.sh(command);
    assert.equal(result.code, 0, `${command}\n${result.output}`);
    return result.output;
  }

  copy(file: string, to: string): void {
    execFileSync('docker', ['cp', file, `${this.id}:${to}`]);
  }

  async waitForSystemd(): Promise<void> {
    for (let attempt = 0; attempt < 60; attempt++) {
      const state = (await this.sh('systemctl is-system-running')).output;
      if (state === 'running' || state === 'degraded') return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.fail(`systemd did not come up: ${(await this.sh('systemctl is-system-running; systemctl --failed --no-pager')).output}`);
  }

  remove(): void {
    spawnSync('docker', ['rm', '-f', '-v', this.id], { stdio: 'ignore' });
  }
}

function serviceBuild(source: string, version: string): BuildOptions {
  return {
    name: `${APP} ${version}`,
    app: APP,
    version,
    source: directory({ path: source }),
    buildMachine: 'debian-bookworm',
    node: NODE,
    runtime: 'shared',
    compression: 'none',
    user: APP,
    service: { command: [`/usr/bin/${APP}`, 'serve'], environment: { SERVICE_APP_MODE: 'production' } },
    configFiles: [{ path: `/etc/${APP}/config.json`, source: 'config/default.json' }],
  };
}

/** A throwaway signing key without passphrase: its armored secret key and its public key (binary). */
function throwawayKey(home: string, uid: string): { secret: string; publicKey: Buffer; keyId: string } {
  mkdirSync(home, { mode: 0o700 });
  const gpg = (args: string[]) => execFileSync('gpg', ['--batch', '--homedir', home, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  gpg(['--passphrase', '', '--quick-gen-key', uid, 'rsa3072', 'sign', 'never']);
  const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(gpg(['--with-colons', '--list-keys']).toString())![1]!;
  return { secret: gpg(['--armor', '--export-secret-keys']).toString(), publicKey: gpg(['--export']), keyId: fingerprint.slice(-16) };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const lastLine = (text: string) => text.split('\n').at(-1) ?? '';

describe('release channels: publish, install from the repository, promote, upgrade, roll back', { timeout: 10 * 60_000 }, () => {
  let work: string;
  let repo: string;
  let server: StaticServer;
  let host: Host;
  const hosts: Host[] = [];
  const images: string[] = [];
  let key: ReturnType<typeof throwawayKey>;
  let wrongKey: ReturnType<typeof throwawayKey>;
  let keyFile: string;
  const out = (name: string) => path.join(work, `out-${name}`);
  const deb = (version: string) => path.join(out(version), `${APP}_${version}-1_amd64.deb`);
  const repoArgs = () => ['--repo', repo];

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-release-'));
    repo = path.join(work, 'repo');
    key = throwawayKey(path.join(work, 'gpg-repo'), 'ndist release test <release@ndist.invalid>');
    wrongKey = throwawayKey(path.join(work, 'gpg-wrong'), 'not the repository key <wrong@ndist.invalid>');
    keyFile = path.join(work, 'repo-key.asc');
    await writeFile(keyFile, key.secret, { mode: 0o600 });
    await writeFile(path.join(work, 'wrong.gpg'), wrongKey.publicKey);

    // 1.0 and 1.1 differ only in what the program reports (build-version); the default config is the same.
    const builders: Builder[] = [];
    for (const version of ['1.0', '1.1']) {
      const source = path.join(work, `src-${version}`);
      await cp(SERVICE_APP, source, { recursive: true });
      await writeFile(path.join(source, 'build-version'), `${version}\n`);
      const builder = new Builder({ outDir: out(version), log: () => {} });
      builder.addBuild(serviceBuild(source, version));
      builders.push(builder);
    }
    const rpm = new Builder({ outDir: out('rpm'), log: () => {} });
    rpm.addBuild({ name: 'tiny-app rpm', app: 'tiny-app', source: directory({ path: TINY_APP }), buildMachine: 'debian-bookworm-rpm', node: NODE, compression: 'none' });
    builders.push(rpm);

    // The test images build while the packages do; the two service builds share one runtime package build.
    const hostImage = buildHostImage(HOST_IMAGE, 'systemd systemd-sysv sudo wget');
    const dnfImage = buildHostImage(DNF_IMAGE, 'dnf');
    images.push(HOST_IMAGE, DNF_IMAGE);
    // Every build and image finishes (and cleans up) before a failure is reported.
    const settled = await Promise.allSettled([...builders.map((builder) => builder.build()), hostImage, dnfImage]);
    for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
    server = await serveDirectory(repo);
  });

  after(async () => {
    for (const each of hosts) each.remove();
    for (const image of images) spawnSync('docker', ['rmi', '-f', image], { stdio: 'ignore' });
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('builds leave no container; publish 1.0 to stable writes signed apt indexes, the key and INSTALL.md', async () => {
    assert.deepEqual(await ndistContainers(), []);
    const publish = await ndist(['publish', out('1.0'), ...repoArgs(), '--channel', 'stable', '--url', server.url, '--key-file', keyFile]);
    assert.equal(publish.code, 0, publish.stderr);

    // The app and the runtime package it depends on, in the pool and in stable's index.
    const pool = (await readdir(path.join(repo, 'apt', 'pool', 'bookworm'), { recursive: true })).filter((file) => file.endsWith('.deb')).sort();
    assert.deepEqual(pool, [`n/${RUNTIME}/${RUNTIME}_${NODE}-1_amd64.deb`, `s/${APP}/${APP}_1.0-1_amd64.deb`]);
    assert.equal(sha256(await readFile(path.join(repo, 'apt', 'pool', 'bookworm', 's', APP, path.basename(deb('1.0'))))), sha256(await readFile(deb('1.0'))), 'the pool holds the built bytes');
    const packages = await readFile(path.join(repo, 'apt', 'dists', 'bookworm', 'stable', 'binary-amd64', 'Packages'), 'utf8');
    assert.match(packages, /^Package: service-app\nArchitecture: amd64\nVersion: 1\.0-1$/m);
    assert.match(packages, new RegExp(`^SHA256: ${sha256(await readFile(deb('1.0')))}\nSHA512: \\S+\nDescription: ndist test fixture: a small service$`, 'm'), 'the index has the checksum of the bytes built');
    assert.match(packages, new RegExp(`^Package: ${RUNTIME}\nArchitecture: amd64\nVersion: ${NODE}-1$`, 'm'));

    // InRelease verifies with the published key alone.
    const verifier = path.join(work, 'gpg-verify');
    mkdirSync(verifier, { mode: 0o700 });
    const inRelease = spawnSync('gpgv', ['--homedir', verifier, '--keyring', path.join(repo, 'keyring.gpg'), path.join(repo, 'apt', 'dists', 'bookworm', 'InRelease')], { encoding: 'utf8' });
    assert.equal(inRelease.status, 0, inRelease.stderr);
    assert.match(inRelease.stderr, /Good signature from "ndist release test <release@ndist\.invalid>"/);
    assert.deepEqual(await readFile(path.join(repo, 'keyring.gpg')), key.publicKey, 'keyring.gpg is the repository key');

    // `repo instructions` prints what INSTALL.md holds; the sources line is the contract's.
    const instructions = await ndist(['repo', 'instructions', ...repoArgs(), '--url', server.url]);
    assert.equal(instructions.code, 0, instructions.stderr);
    assert.equal(instructions.stdout, await readFile(path.join(repo, 'INSTALL.md'), 'utf8'));
    assert.ok(instructions.stdout.includes(`deb [signed-by=/etc/apt/keyrings/ndist.gpg] ${server.url}/apt bookworm stable`), instructions.stdout);
  });

  it('a clean host (no Node) adds the repository as INSTALL.md says and installs the service with apt', async () => {
    host = Host.start(HOST_IMAGE, true);
    hosts.push(host);
    await host.waitForSystemd();
    // Only our repository: the image's own apt sources go.
    await host.ok('rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* && ! command -v node');
    const [install] = aptBlocks(await readFile(path.join(repo, 'INSTALL.md'), 'utf8'));
    await host.ok(`set -e\n${install}`);
    assert.equal(await host.ok('cat /etc/apt/sources.list.d/*.list'), `deb [signed-by=/etc/apt/keyrings/ndist.gpg] ${server.url}/apt bookworm stable`);
    // apt resolved the runtime package from the repository too.
    assert.equal(await host.ok(`dpkg-query -W -f '\${Package} \${Version}\\n' ${APP} ${RUNTIME} | sort`), `${RUNTIME} ${NODE}-1\n${APP} 1.0-1`);
    await assertServiceRuns(host, '1.0', 'hello');
  });

  it('1.1 published to testing does not reach a stable host; promoted to stable, apt-get upgrade gets it', async () => {
    const publish = await ndist(['publish', out('1.1'), ...repoArgs(), '--channel', 'testing', '--key-file', keyFile]);
    assert.equal(publish.code, 0, publish.stderr);
    await host.ok(`sed -i 's/"hello"/"edited by the admin"/' /etc/${APP}/config.json`);
    const upgrade = await host.ok('apt-get update && apt-get upgrade -y');
    assert.match(upgrade, /^0 upgraded, 0 newly installed/m);
    assert.equal(await host.ok(`dpkg-query -W -f '\${Version}' ${APP}`), '1.0-1');

    // The key from the environment this time, as CI would give it.
    const promote = await ndist(['promote', APP, '1.1', ...repoArgs(), '--from', 'testing', '--to', 'stable', '--unverified'], { NDIST_SIGNING_KEY: key.secret });
    assert.equal(promote.code, 0, promote.stderr);
    const pidBefore = await host.ok(`systemctl show -p MainPID --value ${APP}.service`);
    const upgraded = await host.ok('apt-get update && apt-get upgrade -y');
    assert.match(upgraded, /^1 upgraded, 0 newly installed/m);
    assert.equal(await host.ok(`dpkg-query -W -f '\${Version}' ${APP}`), '1.1-1');
    assert.notEqual(await host.ok(`systemctl show -p MainPID --value ${APP}.service`), pidBefore, 'the service was restarted');
    await assertServiceRuns(host, '1.1', 'edited by the admin');
  });

  it('rollback: the downgrade command ndist prints brings 1.0 back; the service runs it with the edited config', async () => {
    const rollback = await ndist(['rollback', APP, ...repoArgs(), '--channel', 'stable'], { NDIST_SIGNING_KEY: key.secret });
    assert.equal(rollback.code, 0, rollback.stderr);
    const command = /((?:sudo )?apt-get update && (?:sudo )?apt-get install -y --allow-downgrades (?:-o Dpkg::Options::=--force-conf(?:def|old) )*service-app=(\S+))\s*$/m.exec(rollback.stdout);
    assert.ok(command, `no apt downgrade command in:\n${rollback.stdout}`);
    assert.equal(command[2], '1.0-1');
    await host.ok(command[1]!);
    assert.equal(await host.ok(`dpkg-query -W -f '\${Version}' ${APP}`), '1.0-1');
    assert.equal(await host.ok(`cat /etc/${APP}/config.json`), '{ "greeting": "edited by the admin" }');
    await assertServiceRuns(host, '1.0', 'edited by the admin');
    assert.match(await host.ok(`apt-cache madison ${APP}`), /^\s*service-app \|\s+1\.0-1 \| http:\/\/127\.0\.0\.1:\d+\/apt bookworm\/stable amd64 Packages$/m);
    assert.doesNotMatch(await host.ok(`apt-cache madison ${APP}`), /1\.1-1/, 'stable no longer offers 1.1');
  });

  it('pinned as INSTALL.md suggests, a host follows a rollback with a plain upgrade; with nothing older left, rollback is refused', async () => {
    // promote puts 1.1 back in stable.
    const promote = await ndist(['promote', APP, '1.1-1', ...repoArgs(), '--from', 'testing', '--to', 'stable', '--key-file', keyFile, '--unverified']);
    assert.equal(promote.code, 0, promote.stderr);
    await host.ok('apt-get update && apt-get upgrade -y');
    assert.equal(await host.ok(`dpkg-query -W -f '\${Version}' ${APP}`), '1.1-1');
    const [, pin] = aptBlocks(await readFile(path.join(repo, 'INSTALL.md'), 'utf8'));
    assert.ok(pin, 'INSTALL.md has the pin');
    await host.ok(`set -e\n${pin}`);

    const rollback = await ndist(['rollback', APP, ...repoArgs(), '--channel', 'stable', '--key-file', keyFile]);
    assert.equal(rollback.code, 0, rollback.stderr);
    await host.ok('apt-get update && apt-get upgrade -y --allow-downgrades');
    assert.equal(await host.ok(`dpkg-query -W -f '\${Version}' ${APP}`), '1.0-1');
    await assertServiceRuns(host, '1.0', 'edited by the admin');

    // Nothing older in stable now: a second rollback is refused.
    const again = await ndist(['rollback', APP, ...repoArgs(), '--channel', 'stable'], { NDIST_SIGNING_KEY: key.secret });
    assert.notEqual(again.code, 0, again.stdout);
    assert.match(again.stderr, /service-app/);
  });

  it('a published version is never rewritten; repo ls shows what each channel holds', async () => {
    const inRelease = path.join(repo, 'apt', 'dists', 'bookworm', 'InRelease');
    const signedBefore = sha256(await readFile(inRelease));
    const same = await ndist(['publish', out('1.0'), ...repoArgs(), '--channel', 'stable', '--key-file', keyFile]);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /^service-app 1\.0-1 \(amd64\) is already in deb\/bookworm\/stable$/m);
    assert.equal(sha256(await readFile(inRelease)), signedBefore, 'nothing changed: the signed index is not rewritten');

    // 1.0 rebuilt with other bytes (the program changed, the version did not).
    const tree = path.join(work, 'rebuilt-tree');
    execFileSync('dpkg-deb', ['-R', deb('1.0'), tree]);
    await writeFile(path.join(tree, 'opt', APP, 'app', 'build-version'), '1.0 rebuilt\n');
    const rebuilt = path.join(work, 'rebuilt', path.basename(deb('1.0')));
    await mkdir(path.dirname(rebuilt));
    execFileSync('dpkg-deb', ['--root-owner-group', '-Znone', '-b', tree, rebuilt], { stdio: 'ignore' });
    const refused = await ndist(['publish', rebuilt, '--dist', 'bookworm', ...repoArgs(), '--channel', 'stable', '--key-file', keyFile]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /service-app/);
    assert.ok(refused.stderr.includes(sha256(await readFile(deb('1.0')))), refused.stderr);
    assert.ok(refused.stderr.includes(sha256(await readFile(rebuilt))), refused.stderr);

    const ls = await ndist(['repo', 'ls', ...repoArgs(), '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    const channels = JSON.parse(ls.stdout) as { channel: string; packages: { name: string; version: string; current: boolean }[] }[];
    const holds = Object.fromEntries(channels.map(({ channel, packages }) => [channel, packages.map((pkg) => `${pkg.name} ${pkg.version}${pkg.current ? ' current' : ''}`)]));
    assert.deepEqual(holds['deb/bookworm/stable'], [`${RUNTIME} ${NODE}-1 current`, `${APP} 1.0-1 current`]);
    assert.deepEqual(holds['deb/bookworm/testing'], [`${RUNTIME} ${NODE}-1 current`, `${APP} 1.1-1 current`]);
    const table = await ndist(['repo', 'ls', ...repoArgs()]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^deb\/bookworm\/stable\s+service-app\s+1\.0-1\s+amd64\s+-\s+current$/m);
    assert.match(table.stdout, /^deb\/bookworm\/testing\s+service-app\s+1\.1-1\s+amd64\s+-\s+current$/m);
  });

  it('apt refuses a tampered Packages file and a repository signed by another key', async () => {
    // Served copy of stable's index tampered, same size (another sha256 for the app); only the
    // uncompressed file served, so apt fetches it and checks it against the signed Release.
    const index = path.join(repo, 'apt', 'dists', 'bookworm', 'stable', 'binary-amd64');
    const saved = path.join(work, 'saved-index');
    await cp(index, saved, { recursive: true });
    try {
      const original = await readFile(path.join(index, 'Packages'), 'utf8');
      const appSum = sha256(await readFile(deb('1.0')));
      assert.ok(original.includes(appSum));
      await writeFile(path.join(index, 'Packages'), original.replace(appSum, [...appSum].reverse().join('')));
      for (const file of await readdir(index)) if (file !== 'Packages') await rm(path.join(index, file));
      const update = await host.sh('rm -rf /var/lib/apt/lists/* && apt-get update');
      assert.equal(update.code, 100, update.output);
      assert.match(update.output, /^Err:\d+ http:\/\/127\.0\.0\.1:\d+\/apt bookworm\/stable amd64 Packages\n\s+Hash Sum mismatch$/m);
    } finally {
      await rm(index, { recursive: true, force: true });
      await rename(saved, index);
    }
    await host.ok('apt-get update');

    // A host that trusts another key for the repository (and has no index from before).
    host.copy(path.join(work, 'wrong.gpg'), '/etc/apt/keyrings/wrong.gpg');
    await host.ok("sed -i 's#/etc/apt/keyrings/ndist.gpg#/etc/apt/keyrings/wrong.gpg#' /etc/apt/sources.list.d/*.list");
    const update = await host.sh('rm -rf /var/lib/apt/lists/* && apt-get update');
    assert.equal(update.code, 100, update.output);
    assert.match(update.output, new RegExp(`NO_PUBKEY ${key.keyId}`));
    assert.match(update.output, /^E: The repository 'http:\/\/127\.0\.0\.1:\d+\/apt bookworm InRelease' is not signed\.$/m);
  });

  it('yum: the repodata is signed and its checksums hold, primary.xml names the package, dnf reads it and refuses a tampered repomd.xml', async () => {
    const publish = await ndist(['publish', out('rpm'), ...repoArgs(), '--channel', 'stable', '--key-file', keyFile]);
    assert.equal(publish.code, 0, publish.stderr);
    const yum = path.join(repo, 'rpm', RPM_DIST, 'stable');
    assert.deepEqual(await readdir(path.join(yum, 'Packages')), ['tiny-app-1.0.0-1.x86_64.rpm']);

    // repomd.xml.asc verifies against keyring.asc alone.
    const verifier = path.join(work, 'gpg-yum');
    mkdirSync(verifier, { mode: 0o700 });
    execFileSync('gpg', ['--batch', '--homedir', verifier, '--import', path.join(repo, 'keyring.asc')], { stdio: 'ignore' });
    const repomd = path.join(yum, 'repodata', 'repomd.xml');
    const verified = spawnSync('gpg', ['--batch', '--homedir', verifier, '--verify', `${repomd}.asc`, repomd], { encoding: 'utf8' });
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stderr, /Good signature from "ndist release test <release@ndist\.invalid>"/);

    // Every file repomd.xml lists has its checksum (and, opened, its open-checksum).
    const entries = [...(await readFile(repomd, 'utf8')).matchAll(/<data type="([^"]+)">([\s\S]*?)<\/data>/g)].map(([, type, body]) => ({
      type: type!,
      checksum: /<checksum type="sha256">([0-9a-f]{64})<\/checksum>/.exec(body!)?.[1],
      openChecksum: /<open-checksum type="sha256">([0-9a-f]{64})<\/open-checksum>/.exec(body!)?.[1],
      href: /<location href="([^"]+)"/.exec(body!)![1]!,
    }));
    assert.ok(entries.some((entry) => entry.type === 'primary'), 'repomd.xml lists primary');
    let primary = '';
    for (const entry of entries) {
      const data = await readFile(path.join(yum, entry.href));
      assert.equal(sha256(data), entry.checksum, `${entry.type}: ${entry.href}`);
      const opened = decompress(entry.href, data);
      if (entry.openChecksum) assert.equal(sha256(opened), entry.openChecksum, `${entry.type}: ${entry.href} opened`);
      if (entry.type === 'primary') primary = opened.toString('utf8');
    }
    assert.match(primary, /<name>tiny-app<\/name>/);
    assert.match(primary, /<arch>x86_64<\/arch>/);
    assert.match(primary, /<version epoch="0" ver="1\.0\.0" rel="1"\/>/);
    const rpmSum = sha256(await readFile(path.join(yum, 'Packages', 'tiny-app-1.0.0-1.x86_64.rpm')));
    assert.match(primary, new RegExp(`<checksum type="sha256" pkgid="YES">${rpmSum}</checksum>`));
    assert.match(primary, /<location href="Packages\/tiny-app-1\.0\.0-1\.x86_64\.rpm"\/>/);

    // Debian's dnf, with the .repo file as published (repo_gpgcheck=1, the key from the repository).
    const repoFile = path.join(repo, 'rpm', RPM_DIST, 'ndist-stable.repo');
    const repoUrl = `${server.url}/rpm/${RPM_DIST}/ndist-stable.repo`;
    assert.ok((await readFile(path.join(repo, 'INSTALL.md'), 'utf8')).includes(`/etc/yum.repos.d/ndist-stable.repo ${repoUrl}`), 'INSTALL.md points at the .repo file');
    const served = await (await fetch(repoUrl)).text();
    assert.equal(served, await readFile(repoFile, 'utf8'));
    assert.match(served, new RegExp(`^baseurl=${server.url}/rpm/${RPM_DIST}/stable$`, 'm'));
    assert.match(served, /^repo_gpgcheck=1$/m);
    const dnf = Host.start(DNF_IMAGE, false);
    hosts.push(dnf);
    await dnf.ok('mkdir -p /etc/yum.repos.d');
    dnf.copy(repoFile, '/etc/yum.repos.d/ndist-stable.repo');
    // Debian's dnf.conf skips an unavailable repository: make a refusal an error.
    const query = `dnf -y --releasever=12 --setopt=skip_if_unavailable=False repoquery --qf '%{name} %{version} %{release} %{arch}' tiny-app`;
    const read = await dnf.ok(query);
    assert.match(read, new RegExp(`^ From +: ${server.url}/keyring\\.asc$`, 'm'), 'the key came from the repository');
    assert.equal(lastLine(read), 'tiny-app 1.0.0 1 x86_64');

    const original = await readFile(repomd);
    try {
      await writeFile(repomd, original.toString('utf8').replace('<revision>', '<revision>9'));
      const refused = await dnf.sh(`dnf clean all >/dev/null; ${query}`);
      assert.equal(refused.code, 1, refused.output);
      assert.match(refused.output, /repomd\.xml GPG signature verification error: Bad GPG signature/);
    } finally {
      await writeFile(repomd, original);
    }
  });
});

/** The shell blocks of INSTALL.md's apt section: adding the repository and installing, then the optional pin. */
function aptBlocks(install: string): string[] {
  const section = install.split(/^## /m).find((part) => part.startsWith('apt'));
  assert.ok(section, `INSTALL.md has no apt section:\n${install}`);
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
  assert.ok(blocks.length > 0, `INSTALL.md's apt section has no sh block:\n${section}`);
  return blocks;
}

/** The unit is active and its process runs `version` with `greeting` from the config file. */
async function assertServiceRuns(host: Host, version: string, greeting: string): Promise<void> {
  assert.equal(await host.ok(`systemctl is-active ${APP}.service`), 'active');
  const uid = await host.ok(`id -u ${APP}`);
  const expected = `service-app build=${version} greeting=${greeting} mode=production uid=${uid}`;
  let last = '';
  for (let attempt = 0; attempt < 40 && last !== expected; attempt++) {
    if (attempt) await new Promise((resolve) => setTimeout(resolve, 250));
    last = lastLine((await host.sh(`cat /var/lib/${APP}/started.log`)).output);
  }
  assert.equal(last, expected, 'the service (re)started on this version');
  assert.equal(await host.ok(APP), `service-app build=${version} greeting=${greeting} mode=production uid=0`);
}

/** repodata files as createrepo_c writes them: .gz, .bz2, .xz or .zst, or plain. */
function decompress(file: string, data: Buffer): Buffer {
  if (file.endsWith('.gz')) return gunzipSync(data);
  const tool = file.endsWith('.bz2') ? 'bzip2' : file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : undefined;
  return tool ? execFileSync(tool, ['-dc'], { input: data, maxBuffer: 256 * 1024 * 1024 }) : data;
}
