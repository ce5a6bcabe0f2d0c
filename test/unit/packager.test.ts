import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PACKAGERS, detectPackager, nativePackager, packagerNamed, packagerVariables } from '../../src/package/packagers.ts';
import { debControl, dpkgDeb, installedSizeCommand } from '../../src/package/packagers/dpkg-deb.ts';
import { fpm } from '../../src/package/packagers/fpm.ts';
import { RPM_PAYLOAD, rpmFileListScript, rpmbuild } from '../../src/package/packagers/rpmbuild.ts';
import { OUTPUT_DIR, STAGING_DIR, checkStagedPaths, commandLinks, manPageFiles, stagedFiles, wrapperScript } from '../../src/package/staging.ts';
import { gunzipSync } from 'node:zlib';
import { NO_CONTENTS } from '../../src/package/contents.ts';
import type { PackageSpec } from '../../src/package/spec.ts';
import { BuildError, ConfigError } from '../../src/errors.ts';
import type { Machine } from '../../src/machine/catalogue.ts';
import { restorePostrm } from '../../src/package/system-directories.ts';
import { shellQuote } from '../../src/machine/script.ts';

function spec(changes: Partial<PackageSpec> = {}): PackageSpec {
  return {
    app: 'demo',
    version: '1.2.0~rc.1',
    iteration: '2',
    arch: 'amd64',
    nodeArch: 'x64',
    rpmArch: 'x86_64',
    maintainer: 'Jane Doe <jane@example.com>',
    description: 'A demo app',
    license: 'MIT',
    homepage: 'https://demo.example',
    entry: 'bin/demo.js',
    commands: [{ name: 'demo', entry: 'bin/demo.js' }],
    manPages: [],
    runtimeDeps: ['libsqlite3-0 (>= 3.40)', 'ca-certificates | openssl'],
    buildDeps: [],
    compression: 'gzip',
    format: 'deb',
    prefix: '/opt/demo',
    fileName: 'demo_1.2.0~rc.1-2_amd64.deb',
    provides: [],
    conflicts: [],
    replaces: [],
    recommends: [], suggests: [], enhances: [], preDepends: [], breaks: [], fields: {}, contents: NO_CONTENTS,
    ...changes,
  };
}

const fpmCommand = (packageSpec: PackageSpec, fpmArgs: string[]) => fpm.command(packageSpec, 'app', fpmArgs);
const dpkgDebCommand = (packageSpec: PackageSpec) => dpkgDeb.command(packageSpec, 'app', []);
const rpmbuildCommand = (packageSpec: PackageSpec) => rpmbuild.command(packageSpec, 'app', []);

test('staging and output directories', () => {
  assert.equal(STAGING_DIR, '/ndist/root');
  assert.equal(OUTPUT_DIR, '/ndist/out');
});

describe('installedSizeCommand', () => {
  test('counts KiB per file rounded up and 1 per directory or link, leaving DEBIAN out, as dpkg-gencontrol does', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-size-'));
    try {
      mkdirSync(path.join(root, 'DEBIAN'));
      writeFileSync(path.join(root, 'DEBIAN', 'control'), 'Package: x\n');
      writeFileSync(path.join(root, 'DEBIAN', 'big'), Buffer.alloc(10_000));
      mkdirSync(path.join(root, 'opt'));
      writeFileSync(path.join(root, 'opt', 'one-byte'), 'x');
      writeFileSync(path.join(root, 'opt', 'just-over-1k'), Buffer.alloc(1025));
      symlinkSync('one-byte', path.join(root, 'opt', 'link'));
      execFileSync('bash', ['-c', installedSizeCommand('"$1"'), 'size', root]);
      // opt (1) + one-byte (1) + just-over-1k (2) + link (1)
      assert.equal(readFileSync(path.join(root, 'DEBIAN', 'control'), 'utf8'), 'Package: x\nInstalled-Size: 5\n');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('fpmCommand', () => {
  test('is the whole fpm command line, fpmArgs just before -C', () => {
    assert.deepEqual(fpmCommand(spec(), ['--deb-priority', 'extra', '--vendor', 'Me & Co']), [
      'fpm', '-s', 'dir', '-t', 'deb',
      '-n', 'demo',
      '-v', '1.2.0~rc.1',
      '--iteration', '2',
      '-a', 'amd64',
      '-m', 'Jane Doe <jane@example.com>',
      '--description', 'A demo app',
      '--license', 'MIT',
      '--url', 'https://demo.example',
      '-d', 'libsqlite3-0 (>= 3.40)',
      '-d', 'ca-certificates | openssl',
      // the glibc floor the health check writes in the machine (src/package/glibc-floor.ts)
      '--fpm-options-file', '/ndist/floor/app.fpm',
      '--deb-no-default-config-files',
      '--deb-compression', 'gz',
      // the postrm that puts back /opt (src/package/system-directories.ts)
      '--after-remove', '/ndist/scripts/restore-postrm',
      '-p', '/ndist/out/demo_1.2.0~rc.1-2_amd64.deb',
      '--deb-priority', 'extra', '--vendor', 'Me & Co',
      '-C', '/ndist/root',
      '.',
    ]);
  });

  test('leaves out --license, --url and -d when there are none', () => {
    assert.deepEqual(fpmCommand(spec({ license: undefined, homepage: undefined, runtimeDeps: [], compression: 'xz' }), []), [
      'fpm', '-s', 'dir', '-t', 'deb',
      '-n', 'demo',
      '-v', '1.2.0~rc.1',
      '--iteration', '2',
      '-a', 'amd64',
      '-m', 'Jane Doe <jane@example.com>',
      '--description', 'A demo app',
      '--fpm-options-file', '/ndist/floor/app.fpm',
      '--deb-no-default-config-files',
      '--deb-compression', 'xz',
      '--after-remove', '/ndist/scripts/restore-postrm',
      '-p', '/ndist/out/demo_1.2.0~rc.1-2_amd64.deb',
      '-C', '/ndist/root',
      '.',
    ]);
  });

  test('maps every compression to the name fpm knows', () => {
    const compressionFlag = (compression: PackageSpec['compression']) => {
      const command = fpmCommand(spec({ compression }), []);
      return command[command.indexOf('--deb-compression') + 1];
    };
    assert.deepEqual(
      (['xz', 'gzip', 'zstd', 'none'] as const).map(compressionFlag),
      ['xz', 'gz', 'zst', 'none'],
    );
  });
});

describe('dpkgDebCommand', () => {
  test('builds the staging dir as root-owned, with the compression', () => {
    assert.deepEqual(dpkgDebCommand(spec()), ['dpkg-deb', '--root-owner-group', '-Zgzip', '--build', '/ndist/root', '/ndist/out/demo_1.2.0~rc.1-2_amd64.deb']);
    assert.deepEqual(dpkgDebCommand(spec({ compression: 'zstd' })).slice(0, 3), ['dpkg-deb', '--root-owner-group', '-Zzstd']);
  });

  test('ignores fpmArgs; the runtime package is built from its own staging root', () => {
    assert.deepEqual(dpkgDeb.command(spec(), 'app', ['--ignored']), dpkgDebCommand(spec()));
    assert.equal(dpkgDeb.command(spec(), 'runtime', [])[4], '/ndist/root-runtime');
  });
});

describe('debControl', () => {
  test('is the control file, Depends joined with ", "', () => {
    assert.equal(
      debControl(spec()),
      'Package: demo\n' +
        'Version: 1.2.0~rc.1-2\n' +
        'Architecture: amd64\n' +
        'Maintainer: Jane Doe <jane@example.com>\n' +
        'Depends: libsqlite3-0 (>= 3.40), ca-certificates | openssl\n' +
        'Section: misc\n' +
        'Priority: optional\n' +
        'Homepage: https://demo.example\n' +
        'Description: A demo app\n',
    );
  });

  test('leaves out Depends without runtime deps and Homepage without homepage', () => {
    assert.equal(
      debControl(spec({ runtimeDeps: [], homepage: undefined, arch: 'arm64', nodeArch: 'arm64' })),
      'Package: demo\n' +
        'Version: 1.2.0~rc.1-2\n' +
        'Architecture: arm64\n' +
        'Maintainer: Jane Doe <jane@example.com>\n' +
        'Section: misc\n' +
        'Priority: optional\n' +
        'Description: A demo app\n',
    );
  });
});

describe('stagedFiles', () => {
  const copyright =
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n' +
    'Upstream-Name: demo\n' +
    '\n' +
    'Files: *\n' +
    'License: MIT\n';

  test('dpkg-deb: wrapper, copyright and DEBIAN/control', () => {
    assert.deepEqual(stagedFiles(spec(), dpkgDeb), [
      { path: 'usr/bin/demo', mode: 0o755, content: wrapperScript(spec()) },
      { path: 'usr/share/doc/demo/copyright', mode: 0o644, content: copyright },
      { path: 'DEBIAN/control', mode: 0o644, content: debControl(spec()) },
      { path: 'DEBIAN/postrm', mode: 0o755, content: restorePostrm('deb') },
    ]);
  });

  test('fpm: no DEBIAN/control, fpm writes its own', () => {
    assert.deepEqual(
      stagedFiles(spec(), fpm).map((file) => file.path),
      ['usr/bin/demo', 'usr/share/doc/demo/copyright'],
    );
  });

  test('one wrapper per command, each running its own script', () => {
    const commands = [{ name: 'demo', entry: 'bin/demo.js' }, { name: 'demo-server', entry: 'bin/server.js' }];
    const files = stagedFiles(spec({ commands }), fpm);
    assert.deepEqual(files.map((file) => file.path), ['usr/bin/demo', 'usr/bin/demo-server', 'usr/share/doc/demo/copyright']);
    assert.match(String(files[1]!.content), /^exec \/opt\/demo\/node\/bin\/node \/opt\/demo\/bin\/demo-server "\$@"$/m);
    assert.deepEqual(commandLinks(spec({ commands })), [{ name: 'demo', target: '../app/bin/demo.js' }, { name: 'demo-server', target: '../app/bin/server.js' }]);
  });

  test('a command clashing with another file of the package is a ConfigError naming it', () => {
    const commands = [{ name: 'demo', entry: 'bin/demo.js' }, { name: 'demo', entry: 'bin/other.js' }];
    assert.throws(() => checkStagedPaths(stagedFiles(spec({ commands }), fpm), []), (error: unknown) => error instanceof ConfigError && /\/usr\/bin\/demo would be written twice/.test(error.message));
  });

  test('man pages are gzipped reproducibly (no name, no time), a .gz page kept as it is', () => {
    const source = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-man-'));
    try {
      mkdirSync(path.join(source, 'man'));
      writeFileSync(path.join(source, 'man', 'demo.1'), '.TH DEMO 1\n');
      writeFileSync(path.join(source, 'man', 'demo.conf.5.gz'), 'already gzipped');
      const pages = manPageFiles(spec({ manPages: [{ source: 'man/demo.1', path: '/usr/share/man/man1/demo.1.gz' }, { source: 'man/demo.conf.5.gz', path: '/usr/share/man/man5/demo.conf.5.gz' }] }), source);
      assert.deepEqual(pages.map((page) => [page.path, page.mode]), [['usr/share/man/man1/demo.1.gz', 0o644], ['usr/share/man/man5/demo.conf.5.gz', 0o644]]);
      const gz = pages[0]!.content as Buffer;
      assert.equal(gunzipSync(gz).toString(), '.TH DEMO 1\n');
      assert.equal(gz.readUInt32LE(4), 0, 'no modification time');
      assert.equal(gz[3]! & 0x08, 0, 'no file name');
      assert.equal(String(pages[1]!.content), 'already gzipped');
    } finally {
      rmSync(source, { recursive: true, force: true });
    }
  });

  test('the copyright says UNKNOWN without a license', () => {
    const file = stagedFiles(spec({ license: undefined }), fpm).find((staged) => staged.path.endsWith('copyright'));
    assert.match(String(file!.content), /^License: UNKNOWN$/m);
  });
});

describe('wrapperScript', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-packager-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('is exactly this script', () => {
    assert.equal(
      wrapperScript(spec()),
      '#!/bin/sh\n' +
        '# Generated by ndist: runs demo with the Node.js runtime bundled in its package.\n' +
        'exec /opt/demo/node/bin/node /opt/demo/bin/demo "$@"\n',
    );
  });

  test('with a shared runtime, runs the node of the runtime package', () => {
    assert.equal(
      wrapperScript(spec({ sharedRuntime: '/opt/ndist/node/22.23.3' })),
      '#!/bin/sh\n' +
        '# Generated by ndist: runs demo with the shared Node.js runtime its package depends on.\n' +
        'exec /opt/ndist/node/22.23.3/bin/node /opt/demo/bin/demo "$@"\n',
    );
  });

  test('runs the command\'s link, whatever its script is called', () => {
    assert.equal(
      wrapperScript(spec({ entry: 'my bin/cli.js' }), { name: 'demo-tool', entry: 'my bin/cli.js' }).split('\n')[2],
      'exec /opt/demo/node/bin/node /opt/demo/bin/demo-tool "$@"',
    );
  });

  /** Install a fake prefix whose node prints its arguments, run the wrapper of `name` with sh, and return them. */
  function runWrapper(name: string, args: string[]): string[] {
    const prefix = mkdtempSync(path.join(dir, 'opt-'));
    mkdirSync(path.join(prefix, 'node/bin'), { recursive: true });
    const node = path.join(prefix, 'node/bin/node');
    writeFileSync(node, '#!/bin/sh\nfor arg do printf \'%s\\0\' "$arg"; done\n');
    chmodSync(node, 0o755);
    const wrapper = path.join(prefix, 'wrapper');
    writeFileSync(wrapper, wrapperScript(spec({ prefix }), { name, entry: 'bin/cli.js' }));
    const out = execFileSync('/bin/sh', [wrapper, ...args], { cwd: dir, encoding: 'utf8' });
    return out.slice(0, -1).split('\0');
  }

  test('run with sh, it calls the bundled node with the command\'s link (argv[1] names the command) and passes every argument as it is', () => {
    const args = ['plain', 'with space', "it's", '$(touch pwned)', '', '*'];
    const [script, ...passed] = runWrapper('demo-think', args);
    assert.match(script!, /\/opt-[^/]+\/bin\/demo-think$/);
    assert.deepEqual(passed, args);
    assert.equal(existsSync(path.join(dir, 'pwned')), false);
  });

  test('a command name with shell syntax in it stays a file name', () => {
    const [script] = runWrapper("$(touch pwned)`touch pwned`'x", []);
    assert.ok(script!.endsWith("/bin/$(touch pwned)`touch pwned`'x"), script);
    assert.equal(existsSync(path.join(dir, 'pwned')), false);
  });
});

describe('a package built from the staged files with the host dpkg-deb', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-dpkg-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const hasDpkgDeb = (() => {
    try {
      execFileSync('dpkg-deb', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  test('has the control fields ndist wrote', { skip: hasDpkgDeb ? false : 'dpkg-deb is not installed' }, () => {
    const packageSpec = spec();
    const root = path.join(dir, 'root');
    for (const file of stagedFiles(packageSpec, dpkgDeb)) {
      const target = path.join(root, file.path);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, file.content);
      chmodSync(target, file.mode);
    }
    // The same command, with the container's directories moved to the temp dir.
    const command = dpkgDebCommand(packageSpec).map((arg) => arg.replace(STAGING_DIR, root).replace(OUTPUT_DIR, dir));
    execFileSync(command[0]!, command.slice(1), { stdio: 'pipe' });
    const deb = path.join(dir, packageSpec.fileName);
    const field = (name: string) => execFileSync('dpkg-deb', ['-f', deb, name], { encoding: 'utf8' }).trim();
    assert.equal(field('Package'), 'demo');
    assert.equal(field('Version'), '1.2.0~rc.1-2');
    assert.equal(field('Depends'), 'libsqlite3-0 (>= 3.40), ca-certificates | openssl');
    assert.equal(field('Homepage'), 'https://demo.example');
    const contents = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    assert.match(contents, /^-rwxr-xr-x root\/root .* \.\/usr\/bin\/demo$/m);
    assert.match(contents, /^-rw-r--r-- root\/root .* \.\/usr\/share\/doc\/demo\/copyright$/m);
  });
});

function rpmSpec(changes: Partial<PackageSpec> = {}): PackageSpec {
  return spec({ format: 'rpm', runtimeDeps: ['sqlite-libs >= 3.34', '(ca-certificates or openssl)'], compression: 'xz', fileName: 'demo-1.2.0~rc.1-2.x86_64.rpm', ...changes });
}

describe('rpm: fpm', () => {
  test('is the whole fpm command line: rpm arch, sha256 digests, owned directories', () => {
    assert.deepEqual(fpmCommand(rpmSpec(), ['--rpm-user', 'root']), [
      'fpm', '-s', 'dir', '-t', 'rpm',
      '-n', 'demo',
      '-v', '1.2.0~rc.1',
      '--iteration', '2',
      '-a', 'x86_64',
      '-m', 'Jane Doe <jane@example.com>',
      '--description', 'A demo app',
      '--license', 'MIT',
      '--url', 'https://demo.example',
      '-d', 'sqlite-libs >= 3.34',
      '-d', '(ca-certificates or openssl)',
      '--fpm-options-file', '/ndist/floor/app.fpm',
      '--rpm-digest', 'sha256',
      '--rpm-compression', 'xz',
      '--rpm-os', 'linux',
      '--directories', '/opt/demo',
      '--directories', '/usr/share/doc/demo',
      '-p', '/ndist/out/demo-1.2.0~rc.1-2.x86_64.rpm',
      '--rpm-user', 'root',
      '-C', '/ndist/root',
      '.',
    ]);
  });

  test('aarch64, gzip and none; zstd is refused since fpm cannot write it', () => {
    const command = fpmCommand(rpmSpec({ arch: 'arm64', rpmArch: 'aarch64', compression: 'gzip' }), []);
    assert.equal(command[command.indexOf('-a') + 1], 'aarch64');
    assert.equal(command[command.indexOf('--rpm-compression') + 1], 'gzip');
    assert.ok(!command.some((arg) => arg.startsWith('--deb-')));
    assert.equal(fpmCommand(rpmSpec({ compression: 'none' }), []).at(fpmCommand(rpmSpec({ compression: 'none' }), []).indexOf('--rpm-compression') + 1), 'none');
    assert.throws(() => fpmCommand(rpmSpec({ compression: 'zstd' }), []), (error: unknown) => error instanceof ConfigError && /fpm cannot write zstd rpm payloads/.test(error.message));
  });
});

describe('rpm: rpmbuild', () => {
  test('builds the spec for the target arch straight into the output directory', () => {
    assert.deepEqual(rpmbuildCommand(rpmSpec({ arch: 'arm64', rpmArch: 'aarch64', fileName: 'demo-1.0.0-1.aarch64.rpm' })), [
      'rpmbuild', '-bb',
      '--target', 'aarch64-linux',
      '--define', '_topdir /ndist/rpm/top',
      '--define', '_rpmdir /ndist/out',
      '--define', '_build_name_fmt demo-1.0.0-1.aarch64.rpm',
      '/ndist/rpm/demo.spec',
    ]);
    assert.deepEqual(rpmbuild.command(rpmSpec(), 'app', ['--ignored']), rpmbuildCommand(rpmSpec()));
  });

  test('payload compression macros', () => {
    assert.deepEqual(RPM_PAYLOAD, { xz: 'w6.xzdio', gzip: 'w9.gzdio', zstd: 'w19.zstdio', none: 'w0.ufdio' });
  });

  test('stagedFiles: wrapper and copyright, no DEBIAN/control', () => {
    assert.deepEqual(stagedFiles(rpmSpec(), rpmbuild).map((file) => file.path), ['usr/bin/demo', 'usr/share/doc/demo/copyright']);
  });
});

describe('rpm: the %files list script', () => {
  let tree: string;
  before(() => {
    tree = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-rpmfiles-'));
    for (const dir of ['opt/demo/app/node_modules/x', 'opt/demo/node/bin', 'usr/bin', 'usr/share/doc/demo', 'etc/demo/conf.d', 'etc/default', 'usr/lib/systemd/system', 'opt/other-empty']) {
      mkdirSync(path.join(tree, dir), { recursive: true });
    }
    for (const file of ['opt/demo/app/[id].js', 'opt/demo/node/bin/node', 'usr/bin/demo', 'usr/share/doc/demo/copyright', 'etc/demo/conf.d/a.conf', 'etc/default/demo', 'usr/lib/systemd/system/demo.service', 'usr/bin/100%']) {
      writeFileSync(path.join(tree, file), 'x');
    }
  });
  after(() => rmSync(tree, { recursive: true, force: true }));

  function fileList(packageSpec: PackageSpec): string[] {
    const script = path.join(tree, '..', `files-${process.pid}.sh`);
    writeFileSync(script, rpmFileListScript(packageSpec));
    try {
      return execFileSync('sh', [script, tree], { encoding: 'utf8' }).trim().split('\n').sort();
    } finally {
      rmSync(script);
    }
  }

  test('lists the package\'s own directories once and other files one by one, never a system directory', () => {
    assert.deepEqual(fileList(spec({ format: 'rpm' })), [
      '"/etc/default/demo"',
      '"/etc/demo/conf.d/a.conf"',
      '"/opt/demo"',
      '"/usr/bin/100%%"',
      '"/usr/bin/demo"',
      '"/usr/lib/systemd/system/demo.service"',
      '"/usr/share/doc/demo"',
      '%dir "/etc/demo"',
    ]);
  });

  test('exactly the config files are %config(noreplace): nothing else under /etc is marked by accident', () => {
    const lifecycle = { app: 'demo', version: '1.0-1', configFiles: [{ path: '/etc/default/demo', mode: 0o644, content: '', owner: 'root', group: 'root', config: true }], directories: [], ghosts: [], ownedFiles: [], timers: [], hooks: {} };
    const list = fileList(spec({ format: 'rpm', lifecycle }));
    assert.ok(list.includes('%config(noreplace) "/etc/default/demo"'), list.join('\n'));
    assert.ok(list.includes('"/etc/demo/conf.d/a.conf"'), list.join('\n'));
    assert.equal(list.filter((line) => line.startsWith('%config')).length, 1);
  });
});

describe('the packager registry', () => {
  const machine = (format: 'deb' | 'rpm') => ({ id: `m-${format}`, format }) as Machine;
  const has = (present: string[]) => {
    const asked: string[] = [];
    return { asked, check: async (command: string) => (asked.push(command), present.some((name) => command === `command -v ${name}`)) };
  };

  test('each packager is registered under its name and writes the formats it says', () => {
    for (const [name, packager] of Object.entries(PACKAGERS)) assert.equal(packagerNamed(packager.name), packager, name);
    assert.deepEqual(Object.fromEntries(Object.values(PACKAGERS).map((packager) => [packager.name, packager.formats])), { 'dpkg-deb': ['deb'], rpmbuild: ['rpm'], fpm: ['deb', 'rpm'] });
  });

  test('fpm where the machine has it, else the native packager, looked for only when it may be missing', async () => {
    const debWithFpm = has(['fpm']);
    assert.equal((await detectPackager(machine('deb'), debWithFpm.check)).name, 'fpm');
    const deb = has([]);
    assert.equal((await detectPackager(machine('deb'), deb.check)).name, 'dpkg-deb');
    assert.deepEqual(deb.asked, ['command -v fpm']);
    const rpm = has(['rpmbuild']);
    assert.equal((await detectPackager(machine('rpm'), rpm.check)).name, 'rpmbuild');
    assert.deepEqual(rpm.asked, ['command -v fpm', 'command -v rpmbuild']);
    await assert.rejects(detectPackager(machine('rpm'), has([]).check), (error: unknown) =>
      error instanceof BuildError && error.message === 'machine m-rpm makes .rpm packages but has neither fpm nor rpmbuild: install rpm-build (dnf/yum) or rpm (Debian, Ubuntu) in its Dockerfile');
    assert.equal(nativePackager(machine('rpm')).name, 'rpmbuild');
  });

  test('every template gets every packager\'s variables, the active one flagged', () => {
    const variables = packagerVariables(fpm, spec(), 'app');
    assert.deepEqual(Object.keys(variables).sort(), ['fileList', 'fileListScript', 'glibcFloorCommand', 'glibcFloorSpec', 'installedSizeCommand', 'packager', 'payload', 'rpmScriptlets', 'specFile', 'usesDpkgDeb', 'usesRpmbuild']);
    assert.equal(variables.packager, 'fpm');
    assert.equal(variables.usesDpkgDeb, false);
    assert.equal(packagerVariables(dpkgDeb, spec(), 'app').usesDpkgDeb, true);
    assert.equal(packagerVariables(rpmbuild, spec(), 'runtime').fileListScript, '/ndist/rpm/runtime-files.sh');
  });

  test('the runtime package gets its control files by script: dpkg-deb writes them, the others remove DEBIAN', () => {
    assert.match(dpkgDeb.scriptedControl(spec(), 'root')[0]!, /^printf '%s' 'Package: demo\n[\s\S]*' > "\$root\/DEBIAN\/control"$/);
    assert.deepEqual(dpkgDeb.scriptedControl(spec(), 'root').slice(1), [`printf '%s' ${shellQuote(restorePostrm('deb')!)} > "$root/DEBIAN/postrm"`, 'chmod 0755 "$root/DEBIAN/postrm"', installedSizeCommand('"$root"')]);
    assert.deepEqual(fpm.scriptedControl(spec(), 'root'), ['rm -rf "$root/DEBIAN"']);
    assert.deepEqual(rpmbuild.scriptedControl(spec(), 'root'), ['rm -rf "$root/DEBIAN"']);
  });

  test('rpmbuild streams its spec and %files script per package; fpm its maintainer scripts; dpkg-deb nothing beside the tree', () => {
    // Each with the (empty) file the glibc floor is written into: rpmbuild's %include, fpm's options file.
    assert.deepEqual(rpmbuild.machineFiles(rpmSpec(), 'runtime', 'Name: x\n').map((entry) => entry.name), ['ndist/rpm', 'ndist/rpm/demo.spec', 'ndist/rpm/runtime-files.sh', 'ndist/rpm/runtime-files-floor.spec']);
    assert.deepEqual(fpm.machineFiles(spec(), 'app', undefined).map((entry) => entry.name), ['ndist/floor/app.fpm', 'ndist/scripts/restore-postrm']);
    assert.deepEqual(fpm.machineFiles(rpmSpec(), 'runtime', undefined).map((entry) => entry.name), ['ndist/floor/runtime.fpm']);
    assert.deepEqual(dpkgDeb.machineFiles(spec(), 'app', undefined), []);
  });
});

describe('the glibc floor written into the package (each packager\'s floorCommand, run with sh)', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-floor-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** The packager's lines, with the machine's /ndist/ under a temp dir; `relations` as the health check writes them (undefined: no file). */
  function runFloor(lines: string[], relations: string | undefined): void {
    rmSync(path.join(root, 'ndist'), { recursive: true, force: true });
    mkdirSync(path.join(root, 'ndist', 'floor'), { recursive: true });
    mkdirSync(path.join(root, 'ndist', 'root', 'DEBIAN'), { recursive: true });
    mkdirSync(path.join(root, 'ndist', 'rpm'), { recursive: true });
    if (relations !== undefined) writeFileSync(path.join(root, 'ndist', 'floor', 'app'), relations);
    return void execFileSync('sh', ['-eu', '-c', lines.join('\n').replaceAll('/ndist/', `${root}/ndist/`)], { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
  }
  const control = () => readFileSync(path.join(root, 'ndist', 'root', 'DEBIAN', 'control'), 'utf8');

  test('dpkg-deb: added to Depends after the runtimeDeps, the file kept at SOURCE_DATE_EPOCH', () => {
    const packageSpec = spec({ preDepends: ['adduser'] });
    const lines = dpkgDeb.floorCommand(packageSpec, 'app');
    const before = debControl(packageSpec);
    runFloor([`printf '%s' ${shellQuote(before)} > /ndist/root/DEBIAN/control`, ...lines], 'libc6 (>= 2.28)\nlibstdc++6 (>= 5.2)\n');
    assert.equal(control(), before.replace('Depends: libsqlite3-0 (>= 3.40), ca-certificates | openssl\n', 'Depends: libsqlite3-0 (>= 3.40), ca-certificates | openssl, libc6 (>= 2.28), libstdc++6 (>= 5.2)\n'));
    assert.equal(Math.floor(statSync(path.join(root, 'ndist', 'root', 'DEBIAN', 'control')).mtimeMs / 1000), 1700000000);
  });

  test('dpkg-deb: a package without runtimeDeps gets a Depends where debControl puts it; no floor file leaves the control as it is', () => {
    const packageSpec = spec({ runtimeDeps: [], preDepends: ['adduser'] });
    const before = debControl(packageSpec);
    runFloor([`printf '%s' ${shellQuote(before)} > /ndist/root/DEBIAN/control`, ...dpkgDeb.floorCommand(packageSpec, 'app')], 'libc6 (>= 2.28)\n');
    assert.match(control(), /^Maintainer: Jane Doe <jane@example\.com>\nPre-Depends: adduser\nDepends: libc6 \(>= 2\.28\)\nSection: misc\n/m);
    runFloor([`printf '%s' ${shellQuote(before)} > /ndist/root/DEBIAN/control`, ...dpkgDeb.floorCommand(packageSpec, 'app')], undefined);
    assert.equal(control(), before);
    runFloor([`printf '%s' ${shellQuote(before)} > /ndist/root/DEBIAN/control`, ...dpkgDeb.floorCommand(packageSpec, 'app')], '');
    assert.equal(control(), before, 'an empty floor (no ELF file) adds nothing');
  });

  test('rpmbuild: Requires: lines in the file the spec includes; fpm: --depends in its options file, one shell word each', () => {
    runFloor(rpmbuild.floorCommand(rpmSpec(), 'app'), 'libc.so.6(GLIBC_2.28)(64bit)\nlibstdc++.so.6(GLIBCXX_3.4.21)(64bit)\n');
    assert.equal(readFileSync(path.join(root, 'ndist', 'rpm', 'files-floor.spec'), 'utf8'), 'Requires: libc.so.6(GLIBC_2.28)(64bit)\nRequires: libstdc++.so.6(GLIBCXX_3.4.21)(64bit)\n');
    runFloor(fpm.floorCommand(spec(), 'app'), 'libc6 (>= 2.28)\nlibstdc++6 (>= 5.2)\n');
    const options = readFileSync(path.join(root, 'ndist', 'floor', 'app.fpm'), 'utf8');
    assert.equal(options, "--depends 'libc6 (>= 2.28)'\n--depends 'libstdc++6 (>= 5.2)'\n");
    // fpm splits the file as a shell does (Shellwords): the same words as the flags on a command line.
    const words = execFileSync('sh', ['-c', `eval "set -- $(cat ${shellQuote(path.join(root, 'ndist', 'floor', 'app.fpm'))} | tr '\\n' ' ')"; printf '%s\\n' "$@"`], { encoding: 'utf8' });
    assert.deepEqual(words.trim().split('\n'), ['--depends', 'libc6 (>= 2.28)', '--depends', 'libstdc++6 (>= 5.2)']);
    runFloor(fpm.floorCommand(spec(), 'app'), undefined);
    assert.ok(!existsSync(path.join(root, 'ndist', 'floor', 'app.fpm')), 'no floor: the (empty) options file of the inputs stays as it is');
  });
});
