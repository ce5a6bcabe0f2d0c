/** The pure parts of `ndist verify`: snapshot comparison, smoke judgement, lintian counting, the record. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { judgeLintian } from '../../src/verify/lint.ts';
import { addRun, passedReleases, type VerifyRun } from '../../src/verify/record.ts';
import { checkSmoke, judgeSmoke, smokeCheck } from '../../src/verify/smoke.ts';
import { SNAPSHOT_COMMAND, describeDiff, diffSnapshots, parseSnapshot } from '../../src/verify/snapshot.ts';
import { validateBuild } from '../../src/options/validate.ts';
import { directory } from '../../src/build/source.ts';
import { floorLine, glibcFloor } from '../../src/in-machine/health-check.ts';
import { loadMachines } from '../../src/machine/catalogue.ts';
import { floorFromLog, releasesFitting } from '../../src/verify/glibc-floor.ts';
import { explainFailure, rpmNotVerified, verifyTable } from '../../src/verify/verify.ts';
import { explainMissingLibraries, missingLibrariesCommand, parseMissingLibraries } from '../../src/verify/libraries.ts';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('snapshots', () => {
  const before = parseSnapshot(['P d 755 root root /opt', 'P d 755 root root /etc', 'P f 644 root root /etc/hosts', 'P f 644 root root /etc/passwd-', 'U root', 'G root', ''].join('\n'));

  test('the same host: no difference, and side-effect files (shadow backups, ld.so.cache) are not compared', () => {
    const after = parseSnapshot(['P d 755 root root /opt', 'P d 755 root root /etc', 'P f 644 root root /etc/hosts', 'P f 600 root root /etc/ld.so.cache', 'U root', 'G root'].join('\n'));
    assert.deepEqual(diffSnapshots(before, after), { left: [], missing: [], changed: [] });
  });

  test('what purge left, what it took away, what it changed: paths, users and groups', () => {
    const after = parseSnapshot(['P d 755 root root /etc', 'P f 600 root root /etc/hosts', 'P f 644 root root /etc/app.conf', 'P f 644 root root /etc/with space', 'U root', 'U app', 'G app'].join('\n'));
    const diff = diffSnapshots(before, after);
    assert.deepEqual(diff, {
      left: ['/etc/app.conf', '/etc/with space', 'group app', 'user app'],
      missing: ['/opt', 'group root'],
      changed: ['/etc/hosts: f 644 root root → f 600 root root'],
    });
    assert.deepEqual(describeDiff(diff).slice(0, 1), ['left after purge: /etc/app.conf']);
    assert.ok(describeDiff(diff).includes('gone after purge (it was there before install): /opt'));
  });

  test('the snapshot command is valid sh and leaves out the package managers\' state', () => {
    execFileSync('sh', ['-n', '-c', SNAPSHOT_COMMAND]);
    for (const dir of ['/proc', '/var/lib/dpkg', '/var/lib/apt', '/var/log']) assert.ok(SNAPSHOT_COMMAND.includes(`-path ${dir}`));
  });
});

describe('smoke tests', () => {
  test('a command must exit 0; its words are shell-quoted', () => {
    const check = smokeCheck(['my app', '--version']);
    assert.equal(check.command, "'my app' --version");
    assert.equal(judgeSmoke(check, { code: 0, output: '' }), undefined);
    assert.equal(judgeSmoke(check, { code: 3, output: '' }), '`my app --version` exited 3, expected 0');
  });

  test('an exit code and an output pattern', () => {
    const check = smokeCheck({ command: ['app', 'check'], exitCode: 2, output: '^app 1\\.' });
    assert.equal(judgeSmoke(check, { code: 2, output: 'starting\napp 1.4.0' }), undefined);
    assert.match(judgeSmoke(check, { code: 2, output: 'app 2.0.0' })!, /does not match \/\^app 1\\\.\//);
    assert.match(judgeSmoke(check, { code: 0, output: 'app 1.0' })!, /exited 0, expected 2/);
  });

  test('an HTTP probe is bash /dev/tcp to the URL\'s host and port, judged by its status line', () => {
    const check = smokeCheck({ http: 'http://127.0.0.1:8080/health?full=1' });
    assert.match(check.command, /^bash -c '/);
    assert.match(check.command, /\/dev\/tcp\/127\.0\.0\.1\/8080/);
    assert.match(check.command, /GET \/health\?full=1 HTTP\/1\.0/);
    execFileSync('sh', ['-n', '-c', check.command]);
  });

  test('an output pattern that is no regular expression is a ConfigError naming smoke.output; the schema refuses an HTTP URL off the host', () => {
    assert.throws(() => checkSmoke({ command: ['app'], output: '(' }), (error: unknown) => error instanceof ConfigError && /^smoke\.output: "\(" is not a regular expression/.test(error.message));
    const build = { name: 'x', app: 'demo', source: directory({ path: '.' }), buildMachine: 'debian-bookworm', node: '22.23.3' };
    assert.throws(() => validateBuild({ ...build, smoke: { http: 'http://example.com/' } }), /smoke/);
    assert.throws(() => validateBuild({ ...build, smoke: [] as string[] }), /smoke/);
    validateBuild({ ...build, smoke: { http: 'http://localhost:3000/health' } });
    validateBuild({ ...build, smoke: ['x', '--version'] });
  });
});

describe('lintian', () => {
  test('tags are counted; a tag outside the allow-list is refused; informational lines are not judged', () => {
    const result = judgeLintian([
      'E: app: dir-or-file-in-opt [opt/app/]',
      'E: app: dir-or-file-in-opt [opt/app/bin/]',
      'W: app: no-manual-page [usr/bin/app]',
      'E: app: maintainer-script-calls-systemctl [postinst:12]',
      'I: app: some-info',
      'N: note',
    ].join('\n'));
    assert.deepEqual(result.tags, { 'dir-or-file-in-opt': 2, 'no-manual-page': 1, 'maintainer-script-calls-systemctl': 1 });
    assert.deepEqual(result.refused, ['E: app: maintainer-script-calls-systemctl [postinst:12]']);
  });
});

describe('the verify record', () => {
  const run = (ok: boolean): VerifyRun => ({ ok, steps: [], image: 'debian:bookworm', at: '2026-01-01T00:00:00Z', ndist: '0.1.0', durationMs: 1 });

  test('keyed by sha256 then release; a later run on the same release replaces the earlier', () => {
    let records = addRun({ artifacts: {} }, { sha256: 'aa', file: 'app.deb', build: 'deb' }, 'bookworm', run(false));
    assert.deepEqual(passedReleases(records, 'aa'), []);
    records = addRun(records, { sha256: 'aa', file: 'app.deb', build: 'deb' }, 'bookworm', run(true));
    records = addRun(records, { sha256: 'aa', file: 'app.deb', build: 'deb' }, 'trixie', run(false));
    assert.deepEqual(passedReleases(records, 'aa'), ['bookworm']);
    assert.deepEqual(passedReleases(records, 'bb'), []);
    assert.deepEqual(Object.keys(records.artifacts.aa!.releases), ['bookworm', 'trixie']);
  });
});

describe('the glibc floor', () => {
  test('the newest GLIBC_ and GLIBCXX_ over every ELF file, with the file that sets each, as the build log states it', () => {
    const floor = glibcFloor([
      { file: '/opt/app/node/bin/node', needed: [], versions: ['GLIBC_2.2.5', 'GLIBC_2.28', 'GLIBCXX_3.4.21', 'CXXABI_1.3'] },
      { file: '/opt/app/app/node_modules/x/build/x.node', needed: [], versions: ['GLIBC_2.34', 'GLIBCXX_3.4.9'] },
      { file: '/opt/app/bin/static', needed: [], versions: [] },
    ]);
    assert.deepEqual(floor, { glibc: '2.34', glibcFile: '/opt/app/app/node_modules/x/build/x.node', glibcxx: '3.4.21', glibcxxFile: '/opt/app/node/bin/node' });
    const line = floorLine(floor)!;
    assert.equal(line, 'health check: needs glibc >= 2.34 (/opt/app/app/node_modules/x/build/x.node), libstdc++ with GLIBCXX_3.4.21 (/opt/app/node/bin/node)');
    assert.equal(floorFromLog(['==> health check', line, 'health check: 3 ELF files']), '2.34');
    assert.equal(floorLine(glibcFloor([])), undefined);
  });

  test('the catalogue releases a floor fits, oldest glibc first, per format', () => {
    const machines = loadMachines();
    assert.deepEqual(releasesFitting('2.28', 'deb', machines.values()), ['bullseye', 'jammy', 'bookworm', 'noble', 'trixie']);
    assert.deepEqual(releasesFitting('2.36', 'deb', machines.values()), ['bookworm', 'noble', 'trixie']);
    assert.deepEqual(releasesFitting('2.50', 'deb', machines.values()), []);
    assert.ok(releasesFitting('2.28', 'rpm', machines.values()).includes('el8'));
    assert.ok(!releasesFitting('2.30', 'rpm', machines.values()).includes('el8'));
  });
});

describe('verify output', () => {
  test('a failure is explained: step, message, command, last output lines, journal; the table says where it failed', () => {
    const result = {
      ok: false,
      steps: [{ step: 'prepare' as const, ok: true, durationMs: 1 }, { step: 'service' as const, ok: false, durationMs: 0 }],
      failure: { step: 'service' as const, message: 'app.service is failed', command: 'systemctl is-active app.service', output: ['failed'], journal: ['app[12]: cannot bind'] },
    };
    assert.deepEqual(explainFailure(result), [
      'step "service" failed: app.service is failed',
      '  command: systemctl is-active app.service',
      '  output (last lines):',
      '    failed',
      '  journal of the service:',
      '    app[12]: cannot bind',
    ]);
    assert.deepEqual(explainFailure({ ok: true, steps: [] }), []);
    const table = verifyTable([
      { build: 'app deb', file: 'a.deb', sha256: 'aa', release: 'bookworm', ok: false, result, durationMs: 12_000 },
      { build: 'app deb', file: 'a.deb', sha256: 'aa', release: 'trixie', ok: true, result: { ok: true, steps: [], lint: { tags: { 'no-changelog': 1, 'dir-or-file-in-opt': 3 }, refused: [] } }, durationMs: 30_000 },
    ]);
    assert.deepEqual(table.map((line) => line.replace(/\s+/g, ' ')), ['BUILD RELEASE RESULT LINT TAGS TIME', 'app deb bookworm FAILED at service 12.0 s', 'app deb trixie verified 4 30.0 s']);
  });

  test('an .rpm is not run, and says why: not a pass, not a failure of the package', () => {
    const message = rpmNotVerified('app-1.0-1.x86_64.rpm', 'el9');
    assert.equal(
      message,
      'cannot verify app-1.0-1.x86_64.rpm on el9: ndist verify runs its cycle with apt on Debian-family hosts only; an .rpm needs a clean Red Hat-family host with dnf, which verify does not drive yet. The package is not verified: check it on such a host yourself, then promote it with --unverified',
    );
    const result = { ok: false, steps: [], failure: { step: 'prepare' as const, message } };
    const table = verifyTable([{ build: 'app rpm', file: 'a.rpm', sha256: 'bb', release: 'el9', ok: false, result, durationMs: 0 }]);
    assert.match(table[1]!, /^app rpm\s+el9\s+NOT RUN\s/);
  });
});

describe('unresolved libraries on the verify host', () => {
  test('the host command finds the ELF files of the packages whose libraries ldd cannot resolve (run here on a fake dpkg)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-libraries-'));
    try {
      // A copy of this host's `ls` renamed as an addon, patched to need a library no host has; a script and a plain file beside it.
      const addon = path.join(dir, 'opt', 'app', 'addon.node');
      mkdirSync(path.dirname(addon), { recursive: true });
      copyFileSync(execFileSync('sh', ['-c', 'command -v ls'], { encoding: 'utf8' }).trim(), addon);
      const elf = execFileSync('cat', [addon]);
      const index = elf.indexOf(Buffer.from('libc.so.6\0'));
      assert.ok(index > 0);
      Buffer.from('libq.so.6\0').copy(elf, index);
      writeFileSync(addon, elf);
      writeFileSync(path.join(dir, 'opt', 'app', 'run.sh'), '#!/bin/sh\n');
      chmodSync(path.join(dir, 'opt', 'app', 'run.sh'), 0o755);
      writeFileSync(path.join(dir, 'opt', 'app', 'data.txt'), 'ELF?');
      const bin = path.join(dir, 'bin');
      mkdirSync(bin);
      writeFileSync(path.join(bin, 'dpkg'), `#!/bin/sh\nprintf '%s\\n' /opt/app /opt/app/addon.node /opt/app/run.sh /opt/app/data.txt | sed 's|^|${dir}|'\n`);
      chmodSync(path.join(bin, 'dpkg'), 0o755);
      const output = execFileSync('sh', ['-c', missingLibrariesCommand(['app', "it's"])], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      assert.deepEqual(parseMissingLibraries(output), [{ file: addon, library: 'libq.so.6' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("each missing library is explained with the package the build's health check found it in, or what to look for", () => {
    const log = ["health check warning: /opt/app/app/build/Release/x.node needs libsqlite3.so.0 (/lib/x86_64-linux-gnu/libsqlite3.so.0, from package libsqlite3-0), which is neither in the package nor in runtimeDeps: add 'libsqlite3-0' to runtimeDeps"];
    assert.deepEqual(explainMissingLibraries([{ file: '/opt/app/app/build/Release/x.node', library: 'libsqlite3.so.0' }, { file: '/opt/app/bin/tool', library: 'libfoo.so.1' }], log), [
      "/opt/app/app/build/Release/x.node needs libsqlite3.so.0, which no package installed here provides: add 'libsqlite3-0' to runtimeDeps (the build's health check found libsqlite3.so.0 in that package on the build machine)",
      '/opt/app/bin/tool needs libfoo.so.1, which no package installed here provides: add the package that provides libfoo.so.1 to runtimeDeps',
    ]);
    assert.deepEqual(parseMissingLibraries(''), []);
  });
});
