/**
 * End to end: a signed run. The .deb carries a debsigs origin signature and SHA256SUMS a detached
 * signature; both verify with only the public key, and a tampered file does not.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, directory } from '../../src/index.ts';
import { ndistContainers } from '../helpers/docker.ts';

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'native-link');
const TINY = path.resolve(import.meta.dirname, '..', 'fixtures', 'tiny-app');

function gpg(home: string, args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync('gpg', ['--batch', '--homedir', home, ...args], { input, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('signed artifacts', { timeout: 15 * 60_000 }, () => {
  let work: string;
  let keyFile: string;
  let verifier: string;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-sign-'));
    const signerHome = path.join(work, 'signer');
    verifier = path.join(work, 'verifier');
    execFileSync('mkdir', ['-m', '700', signerHome, verifier]);
    assert.equal(gpg(signerHome, ['--passphrase', 'test passphrase', '--quick-gen-key', 'ndist test <test@ndist.invalid>', 'rsa3072', 'sign', 'never']).status, 0);
    keyFile = path.join(work, 'secret.asc');
    await writeFile(keyFile, execFileSync('gpg', ['--batch', '--homedir', signerHome, '--pinentry-mode', 'loopback', '--passphrase', 'test passphrase', '--armor', '--export-secret-keys']));
    const publicKey = execFileSync('gpg', ['--batch', '--homedir', signerHome, '--armor', '--export']).toString();
    assert.equal(gpg(verifier, ['--import'], publicKey).status, 0);
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('signs the .deb (debsigs) and SHA256SUMS, verifiable with the public key only', async () => {
    const outDir = path.join(work, 'dist');
    const lines: string[] = [];
    const builder = new Builder({ outDir, log: (_build, line) => lines.push(line), sign: { keyFile, passphrase: 'test passphrase' } });
    builder.addBuild({ name: 'signed', app: 'native-link', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', node: '22.23.3', buildDeps: ['libsqlite3-dev'], runtimeDeps: ['libsqlite3-0'], compression: 'none' });
    const [result] = await builder.build();
    const deb = result!.artifact!;

    assert.deepEqual((await readdir(outDir)).sort(), ['SHA256SUMS', 'SHA256SUMS.asc', 'logs', 'ndist-report.json', path.basename(deb), `${path.basename(deb)}.cdx.json`].sort());
    const report = JSON.parse(await readFile(path.join(outDir, 'ndist-report.json'), 'utf8')) as { builds: { artifact?: { sha256: string } }[] };
    assert.equal(report.builds[0]?.artifact?.sha256, result!.sha256, 'the report has the signed package\'s sha256');
    assert.match(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: outDir, encoding: 'utf8' }), new RegExp(`^${path.basename(deb)}: OK$`, 'm'), 'SHA256SUMS lists the signed package');
    const sums = gpg(verifier, ['--verify', path.join(outDir, 'SHA256SUMS.asc'), path.join(outDir, 'SHA256SUMS')]);
    assert.equal(sums.status, 0, sums.output);
    assert.match(sums.output, /Good signature from "ndist test <test@ndist\.invalid>"/);

    // debsigs signs the concatenation of the package's members; the signature is the _gpgorigin member.
    const members = execFileSync('ar', ['t', deb], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(members.filter((member) => member !== '_gpgorigin').length, 3);
    assert.ok(members.includes('_gpgorigin'), members.join(','));
    const signed = Buffer.concat(members.filter((member) => member !== '_gpgorigin').map((member) => execFileSync('ar', ['p', deb, member], { maxBuffer: 1 << 30 })));
    await writeFile(path.join(work, 'origin.sig'), execFileSync('ar', ['p', deb, '_gpgorigin']));
    await writeFile(path.join(work, 'signed-data'), signed);
    const origin = gpg(verifier, ['--verify', path.join(work, 'origin.sig'), path.join(work, 'signed-data')]);
    assert.equal(origin.status, 0, origin.output);

    const tampered = path.join(work, 'SHA256SUMS.tampered');
    await writeFile(tampered, (await readFile(path.join(outDir, 'SHA256SUMS'), 'utf8')).replace(/^./, (c) => (c === '0' ? '1' : '0')));
    assert.notEqual(gpg(verifier, ['--verify', path.join(outDir, 'SHA256SUMS.asc'), tampered]).status, 0, 'a tampered SHA256SUMS does not verify');

    const keyLine = (await readFile(keyFile, 'utf8')).split('\n')[5]!;
    assert.ok(!lines.some((line) => line.includes(keyLine) || line.includes('test passphrase')), 'neither key nor passphrase is logged');
    assert.deepEqual(await ndistContainers(), []);
  });

  it('signs the shared runtime package beside the app, and SHA256SUMS and the report have its signed bytes', async () => {
    const outDir = path.join(work, 'dist-shared');
    const builder = new Builder({ outDir, cacheDir: path.join(work, 'cache'), sign: { keyFile, passphrase: 'test passphrase' } });
    builder.addBuild({ name: 'shared', app: 'tiny-app', source: directory({ path: TINY }), buildMachine: 'debian-bookworm', node: '22.23.3', runtime: 'shared', compression: 'none' });
    const [result] = await builder.build();
    const runtimeDeb = result!.runtimePackage!.path;
    assert.equal(path.basename(runtimeDeb), 'ndist-node-22.23.3_22.23.3-1_amd64.deb');
    for (const deb of [result!.artifact!, runtimeDeb]) assert.ok(execFileSync('ar', ['t', deb], { encoding: 'utf8' }).split('\n').includes('_gpgorigin'), `${deb} is signed`);
    assert.match(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: outDir, encoding: 'utf8' }), /^ndist-node-22\.23\.3_22\.23\.3-1_amd64\.deb: OK$/m);
    const report = JSON.parse(await readFile(path.join(outDir, 'ndist-report.json'), 'utf8')) as { builds: { runtimePackage?: { sha256: string } }[] };
    assert.equal(report.builds[0]?.runtimePackage?.sha256, execFileSync('sha256sum', [runtimeDeb], { encoding: 'utf8' }).split(' ')[0]);
    assert.deepEqual(await ndistContainers(), []);
  });

  it('refuses an unreadable key before any container starts', async () => {
    const builder = new Builder({ outDir: path.join(work, 'none'), log: () => {}, sign: { keyFile: path.join(work, 'missing.asc') } });
    builder.addBuild({ name: 'unsigned', app: 'native-link', source: directory({ path: FIXTURE }), buildMachine: 'debian-bookworm', node: '22.23.3' });
    await assert.rejects(builder.build(), /sign\.keyFile: cannot read .*missing\.asc/);
    assert.deepEqual(await ndistContainers(), []);
  });
});
