import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { changesFileName, debChanges, writeDebChanges } from '../../src/package/changes.ts';
import { NO_CONTENTS } from '../../src/package/contents.ts';
import { openSigner } from '../../src/package/signing.ts';
import { NO_RELATIONS, type PackageSpec } from '../../src/package/spec.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-changes-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** 2024-06-01T12:00:00Z */
const EPOCH = 1717243200;
const SPEC: PackageSpec = {
  app: 'demo', version: '1.1.0', iteration: '2', epoch: 1, arch: 'amd64', nodeArch: 'x64', rpmArch: 'x86_64', maintainer: 'Jane Doe <jane@example.com>',
  description: 'A demo service', entry: 'bin/demo.js', commands: [], manPages: [], runtimeDeps: [], buildDeps: [], compression: 'xz', format: 'deb', prefix: '/opt/demo',
  fileName: 'demo_1.1.0-2_amd64.deb', ...NO_RELATIONS, contents: NO_CONTENTS,
  changelog: [{ version: '1.1.0', date: 1714521600, changes: ['Add a health endpoint', 'Fix 100% CPU when idle'] }, { version: '1.0.0', date: 1711929600, changes: ['First release'] }],
};

/** A real .deb (dpkg-deb) with the spec's name, version and arch. */
function deb(): string {
  const root = mkdtempSync(path.join(work, 'root-'));
  mkdirSync(path.join(root, 'DEBIAN'));
  writeFileSync(path.join(root, 'DEBIAN', 'control'), 'Package: demo\nVersion: 1:1.1.0-2\nArchitecture: amd64\nMaintainer: Jane Doe <jane@example.com>\nDescription: A demo service\n');
  const file = path.join(work, SPEC.fileName);
  execFileSync('dpkg-deb', ['--root-owner-group', '-b', root, file], { stdio: 'ignore' });
  return file;
}

/** The fields of a .changes as dpkg's own parser (Dpkg::Control, type CTRL_FILE_CHANGES) reads them, signature checked off. */
function dpkgFields(file: string): Record<string, string> {
  const json = execFileSync('perl', ['-MDpkg::Control', '-MJSON::PP', '-e', 'my $c = Dpkg::Control->new(type => CTRL_FILE_CHANGES); $c->load($ARGV[0]); print JSON::PP->new->canonical->encode({ %$c })', file], { encoding: 'utf8' });
  return JSON.parse(json) as Record<string, string>;
}

describe('.changes beside a .deb', () => {
  test('exact text: binary-only Format 1.8, the newest changelog entry, sha1/sha256/md5 of the .deb; dpkg\'s parser reads it', () => {
    const file = deb();
    const bytes = readFileSync(file);
    const hash = (algorithm: string) => createHash(algorithm).update(bytes).digest('hex');
    const text = debChanges(SPEC, { name: path.basename(file), content: bytes }, EPOCH);
    assert.equal(text, [
      'Format: 1.8',
      'Date: Wed, 01 May 2024 00:00:00 +0000',
      'Source: demo',
      'Binary: demo',
      'Architecture: amd64',
      'Version: 1:1.1.0-2',
      'Distribution: unstable',
      'Urgency: medium',
      'Maintainer: Jane Doe <jane@example.com>',
      'Changed-By: Jane Doe <jane@example.com>',
      'Description:',
      ' demo - A demo service',
      'Changes:',
      ' demo (1:1.1.0-2) unstable; urgency=medium',
      ' .',
      '   * Add a health endpoint',
      '   * Fix 100% CPU when idle',
      'Checksums-Sha1:',
      ` ${hash('sha1')} ${bytes.length} demo_1.1.0-2_amd64.deb`,
      'Checksums-Sha256:',
      ` ${hash('sha256')} ${bytes.length} demo_1.1.0-2_amd64.deb`,
      'Files:',
      ` ${hash('md5')} ${bytes.length} misc optional demo_1.1.0-2_amd64.deb`,
      '',
    ].join('\n'));
    const changes = path.join(work, changesFileName(path.basename(file)));
    assert.equal(path.basename(changes), 'demo_1.1.0-2_amd64.changes');
    writeFileSync(changes, text);
    const fields = dpkgFields(changes);
    assert.equal(fields.Version, '1:1.1.0-2');
    assert.equal(fields.Files, `\n${hash('md5')} ${bytes.length} misc optional demo_1.1.0-2_amd64.deb`);
    assert.match(fields.Changes!, /^\ndemo \(1:1\.1\.0-2\) unstable; urgency=medium\n\n {2}\* Add a health endpoint/, "dpkg reads \" .\" as an empty line");
  });

  test('no changelog: one entry saying the version, dated SOURCE_DATE_EPOCH; another distribution', () => {
    const text = debChanges({ ...SPEC, changelog: undefined, epoch: undefined }, { name: 'demo_1.1.0-2_amd64.deb', content: Buffer.from('x') }, EPOCH, 'bookworm');
    assert.match(text, /^Date: Sat, 01 Jun 2024 12:00:00 \+0000$/m);
    assert.match(text, /^Distribution: bookworm\nUrgency: medium$/m);
    assert.match(text, /^Changes:\n demo \(1\.1\.0-2\) bookworm; urgency=medium\n \.\n {3}\* Version 1\.1\.0\.\nChecksums-Sha1:$/m);
  });

  test('with signing on, written clearsigned (gpg verifies it, dpkg still reads it); without, plain', async (t) => {
    const home = path.join(work, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    const env = { ...process.env, GNUPGHOME: home };
    execFileSync('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', 'changes test <changes@ndist.invalid>', 'ed25519', 'sign', 'never'], { env, stdio: 'ignore' });
    const keyFile = path.join(work, 'key.asc');
    writeFileSync(keyFile, execFileSync('gpg', ['--batch', '--armor', '--export-secret-keys'], { env }));
    const signer = await openSigner({ keyFile });
    t.after(() => signer.close());
    const file = deb();
    const signed = await writeDebChanges(SPEC, file, EPOCH, signer);
    const text = readFileSync(signed, 'utf8');
    assert.match(text, /^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA\d+\n\nFormat: 1\.8\n/);
    execFileSync('gpg', ['--batch', '--verify', signed], { env, stdio: 'ignore' });
    assert.equal(dpkgFields(signed).Source, 'demo');
    assert.deepEqual(execFileSync('ls', [work], { encoding: 'utf8' }).split('\n').filter((name) => name.includes('.changes')), ['demo_1.1.0-2_amd64.changes'], 'no temporary file left');
    const plain = await writeDebChanges(SPEC, file, EPOCH, undefined);
    assert.match(readFileSync(plain, 'utf8'), /^Format: 1\.8\n/);
  });
});
