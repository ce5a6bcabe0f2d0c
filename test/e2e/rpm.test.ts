/**
 * End to end: the fixture app (native addon included) as an .rpm from the Debian-based rpm machine
 * (rpmbuild and ndist's spec: there is no fpm here), inspected with rpm and rpmlint, installed with
 * rpm on a fresh Debian 12 container, run, and removed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, directory } from '../../src/index.ts';
import { sha256File } from '../../src/build/checksums.ts';
import { openSigner } from '../../src/package/signing.ts';
import { cleanHost, ndistContainers, type CleanHost } from '../helpers/docker.ts';

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'hello-app');
const RPM = 'hello-app-1.0.0-1.x86_64.rpm';

/**
 * rpmlint findings that are expected of a self-contained Node package, each kept for a reason. Any
 * other finding fails the test; `standard-dir-owned-by-package` (owning /usr, /opt…) above all.
 * - dir-or-file-in-opt: /opt/<app> is where a self-contained add-on package belongs (FHS).
 * - no-signature: signing is the publisher's step, after the build.
 * - unstripped-binary-or-object, position-independent-executable-suggested,
 *   shared-library-without-dependency-information, static-library-without-debuginfo: the node
 *   binary as Node.js ships it and better-sqlite3's build output as node-gyp leaves it, unchanged.
 * - cross-directory-hard-link: node-gyp links build/Release/<addon>.node to obj.target/ as a hard link.
 * - binary-or-shlib-calls-gethostbyname: the node binary, as Node.js ships it.
 * - devel-file-in-non-devel-package: C headers inside node_modules (better-sqlite3's sqlite3.h).
 * - zero-length, hidden-file-or-dir, files-duplicate, files-duplicated-waste, script-without-shebang,
 *   env-script-interpreter: node_modules as npm installs it (#!/usr/bin/env node is how npm bins run).
 * - no-manual-page-for-binary, summary-not-capitalized: hello-app-version has no man page (and
 *   rpmlint looks for hello-app's as .bz2), and the fixture's description is lowercase.
 * - manpage-not-compressed: Debian's rpmlint configuration wants man pages in .bz2; Fedora, RHEL
 *   and rpm's own brp-compress gzip them, as ndist does.
 * - invalid-license: rpmlint's list is Fedora's; package.json licenses are SPDX ids such as MIT.
 * - no-changelogname-tag: ndist writes no %changelog.
 * - no-dependency-on: rpmlint's guess that a package with /usr/share/locale-like files needs a
 *   "locales-<name>" package, which no distro has.
 */
const ACCEPTED = new Set([
  'dir-or-file-in-opt', 'no-signature', 'unstripped-binary-or-object', 'position-independent-executable-suggested',
  'shared-library-without-dependency-information', 'static-library-without-debuginfo', 'zero-length', 'hidden-file-or-dir',
  'files-duplicate', 'files-duplicated-waste', 'script-without-shebang', 'env-script-interpreter', 'no-manual-page-for-binary',
  'summary-not-capitalized', 'invalid-license', 'no-changelogname-tag', 'no-dependency-on',
  'cross-directory-hard-link', 'binary-or-shlib-calls-gethostbyname', 'devel-file-in-non-devel-package', 'manpage-not-compressed',
]);

describe('an .rpm from the Debian-based rpm machine', { timeout: 30 * 60_000 }, () => {
  let outDir: string;
  let rpm: string | undefined;
  let host: CleanHost | undefined;

  before(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'ndist-rpm-'));
  });
  after(async () => {
    await host?.remove();
    await rm(outDir, { recursive: true, force: true });
  });

  it('builds hello-app with rpmbuild on debian-bookworm-rpm', async () => {
    const lines: string[] = [];
    const builder = new Builder({ outDir, log: (build, line) => { lines.push(line); process.stderr.write(`${build} | ${line}\n`); } });
    builder.addBuild({ name: 'hello-app :: rpm', app: 'hello-app', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm-rpm', node: '22.23.3' });
    const started = Date.now();
    const [result] = await builder.build();
    process.stderr.write(`rpm build took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    assert.equal(path.basename(result!.artifact!), RPM);
    assert.ok(lines.some((line) => /packager: rpmbuild/.test(line)));
    rpm = result!.artifact!;
    assert.deepEqual(await ndistContainers(), []);
  });

  it('is reproducible: a second build of the same source is byte-identical', async () => {
    assert.ok(rpm, 'the first build produced a package');
    const again = path.join(outDir, 'again');
    const builder = new Builder({ outDir: again, log: () => {} });
    builder.addBuild({ name: 'hello-app :: rpm (again)', app: 'hello-app', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm-rpm', node: '22.23.3' });
    const [result] = await builder.build();
    assert.equal(result!.sha256, await sha256File(rpm));
    assert.equal(execFileSync('rpm', ['-qp', '--qf', '%{BUILDHOST}', rpm], { encoding: 'utf8' }), 'ndist');
  });

  it('signs with rpmsign: rpm -K verifies with the public key, and only with it', async () => {
    assert.ok(rpm, 'the first build produced a package');
    const home = path.join(outDir, 'gnupg');
    execFileSync('mkdir', ['-m', '700', home]);
    execFileSync('gpg', ['--batch', '--homedir', home, '--passphrase', '', '--quick-gen-key', 'ndist rpm test <rpm@ndist.invalid>', 'rsa3072', 'sign', 'never']);
    const keyFile = path.join(outDir, 'secret.asc');
    execFileSync('sh', ['-c', 'gpg --batch --homedir "$1" --pinentry-mode loopback --passphrase "" --armor --export-secret-keys > "$2"', 'sh', home, keyFile]);
    const publicKey = path.join(outDir, 'public.asc');
    execFileSync('sh', ['-c', 'gpg --batch --homedir "$1" --armor --export > "$2"', 'sh', home, publicKey]);
    const signed = path.join(outDir, 'signed.rpm');
    await copyFile(rpm, signed);
    const signer = await openSigner({ keyFile, passphrase: '' });
    try {
      await signer.signPackage(signed);
    } finally {
      await signer.close();
    }
    const rpmdb = path.join(outDir, 'rpmdb');
    const check = () => spawnSync('rpm', ['--dbpath', rpmdb, '-K', signed], { encoding: 'utf8' });
    assert.notEqual(check().status, 0, 'unknown key: rpm -K fails');
    execFileSync('rpm', ['--dbpath', rpmdb, '--import', publicKey]);
    const verified = check();
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /digests signatures OK/);
  });

  it('has the metadata, files, digests and lint results promised', async () => {
    assert.ok(rpm, 'the build step produced a package');
    host = await cleanHost('debian:bookworm', [rpm]);
    const tools = await host.sh('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rpm rpmlint >/dev/null && echo ready');
    assert.match(tools.output, /^ready$/m, tools.output);
    const file = `/tmp/${RPM}`;

    const info = await host.sh(`rpm -qip ${file}`);
    assert.equal(info.code, 0, info.output);
    for (const field of [/^Name\s+: hello-app$/m, /^Version\s+: 1\.0\.0$/m, /^Release\s+: 1$/m, /^Architecture: x86_64$/m, /^License\s+: MIT$/m, /^URL\s+: https:\/\/ndist\.invalid\/hello-app$/m, /^Summary\s+: ndist test fixture/m]) {
      assert.match(info.output, field);
    }

    const list = (await host.sh(`rpm -qlp ${file}`)).output.split('\n');
    for (const wanted of ['/opt/hello-app', '/opt/hello-app/node/bin/node', '/opt/hello-app/app/bin/hello.js', '/usr/bin/hello-app', '/usr/bin/hello-app-version', '/usr/share/man/man1/hello-app.1.gz', '/usr/share/doc/hello-app/copyright']) {
      assert.ok(list.includes(wanted), `${wanted} is in the package`);
    }
    assert.ok(list.some((entry) => /^\/opt\/hello-app\/app\/node_modules\/better-sqlite3\/build\/Release\/better_sqlite3\.node$/.test(entry)), 'the native addon is in the package');
    for (const system of ['/', '/opt', '/usr', '/usr/bin', '/usr/share', '/usr/share/doc', '/usr/share/man', '/usr/share/man/man1']) assert.ok(!list.includes(system), `the package does not own ${system}`);

    const scripts = await host.sh(`rpm -qp --scripts ${file}`);
    assert.equal(scripts.code, 0, scripts.output);
    assert.equal(scripts.output.trim(), '', 'no install scripts');

    const requires = await host.sh(`rpm -qp --requires ${file} | grep -v '^rpmlib(' || true`);
    // AutoReqProv: no, so the only Requires are the glibc floor the health check wrote, one per
    // library in the style of rpm's own generator (none of rpm's automatic file or interpreter ones).
    const floor = requires.output.trim().split('\n');
    assert.ok(floor.includes('libc.so.6(GLIBC_2.34)(64bit)') || floor.some((line) => /^libc\.so\.6\(GLIBC_2\.\d+\)\(64bit\)$/.test(line)), requires.output);
    for (const line of floor) assert.match(line, /^[\w.+-]+\.so\.\d+\((GLIBC|GLIBCXX|CXXABI)_[\d.]+\)\(64bit\)$/, `only the glibc floor is required: ${requires.output}`);

    const digests = await host.sh(`rpm -qp --qf '%{FILEDIGESTALGO}\\n' ${file} && rpm -K ${file}`);
    assert.equal(digests.code, 0, digests.output);
    assert.match(digests.output, /^8$/m, 'file digests are sha256 (algorithm 8)');
    assert.match(digests.output, /: digests OK$/m);

    const lint = await host.sh(`rpmlint ${file}`);
    process.stderr.write(`rpmlint:\n${lint.output}\n`);
    const findings = [...lint.output.matchAll(/^\S+: [EW]: (\S+)/gm)].map((match) => match[1]!);
    const unexpected = [...new Set(findings.filter((finding) => !ACCEPTED.has(finding)))];
    assert.deepEqual(unexpected, [], `unexpected rpmlint findings:\n${lint.output}`);
  });

  it('installs with rpm on a fresh root, runs, and is removed', async () => {
    assert.ok(host, 'the inspection step made the host');
    assert.equal((await host.sh('command -v node || command -v cc || echo clean')).output.trim(), 'clean');
    const install = await host.sh(`rpm -i --nodeps /tmp/${RPM}`);
    assert.equal(install.code, 0, install.output);
    const run = await host.sh("hello-app 'an rpm'");
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /^hello-app 1\.0\.0 on node v22\.23\.3 \(x64\)$/m);
    assert.match(run.output, /^sqlite 3\.\d+\.\d+: hello from sqlite$/m);
    assert.match(run.output, /^args: \["an rpm"\]$/m);
    assert.equal((await host.sh('hello-app-version')).output.trim(), '1.0.0');
    // --nodeps: this Debian root's libc is not in its rpm database, so the floor's Requires are unmet there.
    const verify = await host.sh('rpm -V --nodeps hello-app && echo verified');
    assert.match(verify.output, /^verified$/m, verify.output);
    const remove = await host.sh('rpm -e --nodeps hello-app && test ! -e /opt/hello-app && test ! -e /usr/bin/hello-app && test ! -e /usr/bin/hello-app-version && test -d /usr/bin && test -d /opt && echo gone');
    assert.match(remove.output, /^gone$/m, remove.output);
  });
});
