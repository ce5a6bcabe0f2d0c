import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { findMachine, loadMachines, type Machine } from '../../src/machine/catalogue.ts';
import { packInputs } from '../../src/machine/inputs.ts';
import { renderScript, specValue } from '../../src/machine/script.ts';
import { resolvePackage } from '../../src/package/metadata.ts';
import { debControl, dpkgDeb } from '../../src/package/packagers/dpkg-deb.ts';
import { fpm } from '../../src/package/packagers/fpm.ts';
import { rpmFileListScript, rpmbuild } from '../../src/package/packagers/rpmbuild.ts';
import { phaseScript } from '../../src/package/service.ts';
import { checkStagedPaths, stagedFiles, stagedSymlinks } from '../../src/package/staging.ts';
import type { BuildOptions, ContentEntry } from '../../src/options/types.ts';
import { validateBuild } from '../../src/options/validate.ts';

let source: string;
let bookworm: Machine;
let rpmMachine: Machine;
before(() => {
  source = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-contents-'));
  mkdirSync(path.join(source, 'share'));
  mkdirSync(path.join(source, 'config'));
  writeFileSync(path.join(source, 'package.json'), JSON.stringify({ name: 'demo', version: '1.0.0', bin: { demo: 'cli.js' } }));
  writeFileSync(path.join(source, 'cli.js'), '');
  writeFileSync(path.join(source, 'share', 'data.json'), '{}\n');
  writeFileSync(path.join(source, 'config', 'secret.json'), '{ "key": 1 }\n');
  const machines = loadMachines();
  bookworm = findMachine(machines, 'debian-bookworm');
  rpmMachine = findMachine(machines, 'debian-bookworm-rpm');
});
after(() => rmSync(source, { recursive: true, force: true }));

const EVERY_KIND: ContentEntry[] = [
  { type: 'file', source: 'share/data.json', destination: '/usr/share/demo/data.json', mode: '0640', owner: 'demo' },
  { type: 'config', source: 'config/secret.json', destination: '/etc/demo/secret.json', mode: '0640', group: 'demo' },
  { type: 'dir', destination: '/var/cache/demo', mode: '0700' },
  { type: 'symlink', destination: '/usr/lib/demo/cli.js', target: '/opt/demo/app/cli.js' },
  { type: 'ghost', destination: '/var/log/demo/demo.log' },
];

function options(changes: Partial<BuildOptions> = {}): BuildOptions {
  return { name: 'demo', app: 'demo', source: { type: 'directory', path: source }, buildMachine: 'debian-bookworm', node: '22.23.3', user: 'demo', contents: EVERY_KIND, ...changes };
}

function refused(changes: Partial<BuildOptions>, field: string, message: RegExp): void {
  assert.throws(() => validateBuild(options(changes)), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
    assert.equal(error.field, field);
    assert.match(error.message, message);
    return true;
  });
}

describe('contents: checked before any container', () => {
  test('every kind together is accepted', () => {
    assert.doesNotThrow(() => validateBuild(options()));
  });

  const cases: [string, ContentEntry, string, RegExp][] = [
    ['a relative destination', { type: 'file', source: 'a', destination: 'usr/share/demo/a' }, 'contents[0].destination', /must be an absolute path/],
    ['a .. escape', { type: 'file', source: 'a', destination: '/usr/share/demo/../../../etc/passwd' }, 'contents[0].destination', /must be an absolute path/],
    ['a system directory as a symlink', { type: 'symlink', destination: '/usr/bin', target: '/tmp' }, 'contents[0].destination', /not a system directory/],
    ['a top-level path', { type: 'symlink', destination: '/demo', target: '/opt/demo' }, 'contents[0].destination', /not a system directory/],
    ['a plain file under /etc', { type: 'file', source: 'a', destination: '/etc/demo/a.json' }, 'contents[0].destination', /use type 'config'/],
    ['a config file outside /etc', { type: 'config', source: 'a', destination: '/usr/share/demo/a.json' }, 'contents[0].destination', /must be below \/etc/],
    ['a directory outside /var, /srv, /etc', { type: 'dir', destination: '/usr/share/demo' }, 'contents[0].destination', /must be below \/var, \/srv, \/etc/],
    ['a shipped file in /var', { type: 'file', source: 'a', destination: '/var/lib/demo/seed.db' }, 'contents[0].destination', /holds state the install script creates/],
    ['a symlink in /srv', { type: 'symlink', destination: '/srv/demo/current', target: '/opt/demo' }, 'contents[0].destination', /holds state the install script creates/],
    ['a ghost as /var/log itself', { type: 'ghost', destination: '/var/log' }, 'contents[0].destination', /not a system directory/],
    ['the app prefix', { type: 'file', source: 'a', destination: '/opt/demo/app/x.js' }, 'contents[0].destination', /a path ndist installs itself/],
    ['the /usr/bin wrapper', { type: 'symlink', destination: '/usr/bin/demo', target: '/bin/true' }, 'contents[0].destination', /a path ndist installs itself/],
    ['the shared runtimes', { type: 'file', source: 'a', destination: '/opt/ndist/node/x' }, 'contents[0].destination', /a path ndist installs itself/],
    ['the copyright', { type: 'file', source: 'a', destination: '/usr/share/doc/demo/copyright' }, 'contents[0].destination', /a path ndist installs itself/],
    ['a source outside the app', { type: 'file', source: '../secret', destination: '/usr/share/demo/a' }, 'contents[0].source', /a path inside the app/],
    ['a file without source', { type: 'file', destination: '/usr/share/demo/a' } as ContentEntry, 'contents[0].source', /is required for type 'file'/],
    ['a symlink without target', { type: 'symlink', destination: '/usr/share/demo/a' } as ContentEntry, 'contents[0].target', /is required for type 'symlink'/],
    ['a mode on a symlink', { type: 'symlink', destination: '/usr/share/demo/a', target: 'b', mode: '0644' } as unknown as ContentEntry, 'contents[0].mode', /not used by an entry of type 'symlink'/],
    ['a target that is only dots', { type: 'symlink', destination: '/usr/share/demo/a', target: '../..' }, 'contents[0].target', /must be a path/],
    ['a target with a space', { type: 'symlink', destination: '/usr/share/demo/a', target: 'a b' }, 'contents[0].target', /must be a path/],
    ['a setuid mode', { type: 'file', source: 'a', destination: '/usr/share/demo/a', mode: '4755' }, 'contents[0].mode', /octal mode/],
    ['an unknown type', { type: 'fifo', destination: '/var/lib/demo/f' } as unknown as ContentEntry, 'contents[0].type', /file, config, dir, symlink, ghost|must be one of/],
  ];
  for (const [name, entry, field, message] of cases) test(`refused: ${name}`, () => refused({ contents: [entry] }, field, message));

  test('refused: the unit of a service, the environment file as anything but config', () => {
    refused({ service: {}, contents: [{ type: 'file', source: 'a', destination: '/usr/lib/systemd/system/demo.service' }] }, 'contents[0].destination', /ndist installs itself/);
    refused({ service: {}, contents: [{ type: 'ghost', destination: '/etc/default/demo' }] }, 'contents[0].destination', /environment file/);
    assert.doesNotThrow(() => validateBuild(options({ service: {}, contents: [{ type: 'config', source: 'a', destination: '/etc/default/demo' }] })));
  });

  test('a destination listed twice, also across the sugar, names both', () => {
    refused(
      { contents: [{ type: 'config', source: 'a', destination: '/etc/demo/a.json' }], configFiles: [{ path: '/etc/demo/a.json', source: 'b' }] },
      'configFiles[0].path',
      /listed twice \(also contents\[0\]\)/,
    );
  });

  test('configFiles and directories are checked as contents, named as written', () => {
    refused({ contents: [], configFiles: [{ path: '/opt/x/a', source: 'a' }] }, 'configFiles[0].path', /must be below \/etc/);
    refused({ contents: [], directories: [{ path: '/opt/demo' }] }, 'directories[0].path', /must be below \/var, \/srv, \/etc/);
  });
});

describe('contents: resolved on the host', () => {
  test('files read from the source with mode and owner; defaults for directories and ghosts from the account', () => {
    const spec = resolvePackage(options(), bookworm, source);
    const [file, config] = spec.contents.files;
    assert.deepEqual({ ...file, content: String(file!.content) }, { path: '/usr/share/demo/data.json', mode: 0o640, content: '{}\n', owner: 'demo', group: 'demo', config: false });
    assert.deepEqual({ ...config, content: String(config!.content) }, { path: '/etc/demo/secret.json', mode: 0o640, content: '{ "key": 1 }\n', owner: 'root', group: 'demo', config: true });
    assert.deepEqual(spec.contents.symlinks, [{ path: '/usr/lib/demo/cli.js', target: '/opt/demo/app/cli.js' }]);
    assert.deepEqual(spec.contents.directories, [{ path: '/var/cache/demo', mode: '0700', owner: 'demo', group: 'demo' }]);
    assert.deepEqual(spec.contents.ghosts, [{ path: '/var/log/demo/demo.log', mode: '0640', owner: 'demo', group: 'demo' }]);
    assert.deepEqual(spec.lifecycle!.configFiles.map((entry) => entry.path), ['/etc/demo/secret.json']);
    assert.deepEqual(spec.lifecycle!.ownedFiles.map((entry) => entry.path), ['/usr/share/demo/data.json', '/etc/demo/secret.json']);
  });

  test('a missing source file names its entry', () => {
    assert.throws(() => resolvePackage(options({ contents: [{ type: 'file', source: 'nope.txt', destination: '/usr/share/demo/x' }] }), bookworm, source), (error: unknown) => error instanceof ConfigError && error.field === 'contents[0].source');
  });

  test('root-owned files and symlinks need no maintainer scripts', () => {
    const spec = resolvePackage(options({ user: undefined, contents: [EVERY_KIND[3]!, { type: 'file', source: 'share/data.json', destination: '/usr/share/demo/data.json' }] }), bookworm, source);
    assert.equal(spec.lifecycle, undefined);
  });

  test('staged: shipped files with their mode, config files once, symlinks as tar symlinks; ghosts and directories not shipped', async () => {
    const spec = resolvePackage(options(), bookworm, source);
    const files = stagedFiles(spec, dpkgDeb);
    assert.deepEqual(files.filter((file) => !file.path.startsWith('DEBIAN/')).map((file) => [file.path, file.mode.toString(8)]), [
      ['usr/bin/demo', '755'], ['usr/share/doc/demo/copyright', '644'], ['usr/share/demo/data.json', '640'], ['etc/demo/secret.json', '640'],
    ]);
    assert.equal(String(files.find((file) => file.path === 'DEBIAN/conffiles')!.content), '/etc/demo/secret.json\n');
    const links = stagedSymlinks(spec);
    assert.deepEqual(links, [
      { kind: 'symlink', name: 'ndist/root/opt/demo/bin/demo', target: `../app/${spec.commands[0]!.entry}` },
      { kind: 'symlink', name: 'ndist/root/usr/lib/demo/cli.js', target: '/opt/demo/app/cli.js' },
    ]);
    // Unpacked with tar as the engine does: a real symlink.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-symlink-'));
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of packInputs(links)) chunks.push(chunk as Buffer);
      execFileSync('tar', ['-x', '-C', dir], { input: Buffer.concat(chunks) });
      assert.equal(execFileSync('readlink', [path.join(dir, 'ndist/root/usr/lib/demo/cli.js')], { encoding: 'utf8' }).trim(), '/opt/demo/app/cli.js');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a symlink clashing with a file of the package is refused', () => {
    const spec = resolvePackage(options({ contents: [{ type: 'symlink', destination: '/usr/share/man/man1/demo.1.gz', target: 'x' }] }), bookworm, source);
    const files = [...stagedFiles(spec, dpkgDeb), { path: 'usr/share/man/man1/demo.1.gz', mode: 0o644, content: '' }];
    assert.throws(() => checkStagedPaths(files, spec.contents.symlinks), /\/usr\/share\/man\/man1\/demo\.1\.gz would be written twice/);
  });

  test('postinst creates directories, then ghosts, then gives shipped files to their owner', () => {
    const spec = resolvePackage(options(), bookworm, source);
    const script = phaseScript(spec.lifecycle!, 'postinst', 'deb');
    const lines = script.split('\n').map((line) => line.trim());
    const dir = lines.indexOf("[ -d /var/cache/demo ] || install -d -o demo -g demo -m 0700 /var/cache/demo");
    const ghost = lines.indexOf("[ -e /var/log/demo/demo.log ] || { mkdir -p /var/log/demo; install -m 0640 -o demo -g demo /dev/null /var/log/demo/demo.log; }");
    const chown = lines.indexOf('chown demo:demo /usr/share/demo/data.json');
    assert.ok(dir > 0 && ghost > dir && chown > ghost, script);
    assert.ok(lines.includes('chown root:demo /etc/demo/secret.json'), script);
    const postrm = phaseScript(spec.lifecycle!, 'postrm', 'deb');
    assert.match(postrm, /rm -rf \/var\/cache\/demo\n\s+rm -f \/var\/log\/demo\/demo\.log\n/);
  });
});

describe('contents: the rpm %files list', () => {
  let tree: string;
  before(() => {
    tree = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-contents-rpm-'));
    for (const dir of ['opt/demo/app', 'usr/share/demo', 'usr/lib/demo', 'etc/demo', 'usr/bin']) mkdirSync(path.join(tree, dir), { recursive: true });
    for (const file of ['opt/demo/app/cli.js', 'usr/share/demo/data.json', 'etc/demo/secret.json', 'usr/bin/demo']) writeFileSync(path.join(tree, file), 'x');
    execFileSync('ln', ['-s', '/opt/demo/app/cli.js', path.join(tree, 'usr/lib/demo/cli.js')]);
  });
  after(() => rmSync(tree, { recursive: true, force: true }));

  test('%ghost with its attributes (created in the build root), %attr for files of an account, the contents\' directories %dir %attr, a holder under /var not owned', () => {
    const spec = resolvePackage(options({ buildMachine: 'debian-bookworm-rpm' }), rpmMachine, source);
    const script = path.join(tree, '..', `files-contents-${process.pid}.sh`);
    writeFileSync(script, rpmFileListScript(spec));
    try {
      const list = execFileSync('sh', [script, tree], { encoding: 'utf8' }).trim().split('\n').sort();
      assert.deepEqual(list, [
        '"/opt/demo"',
        '"/usr/bin/demo"',
        '"/usr/lib/demo"',
        '%config(noreplace) %attr(-,root,demo) "/etc/demo/secret.json"',
        '%dir "/etc/demo"',
        '%dir "/usr/share/demo"',
        '%dir %attr(0700,demo,demo) "/var/cache/demo"',
        '%attr(-,demo,demo) "/usr/share/demo/data.json"',
        '%ghost %attr(0640,demo,demo) "/var/log/demo/demo.log"',
      ].sort());
      assert.equal(readFileSync(path.join(tree, 'var/log/demo/demo.log'), 'utf8'), '');
    } finally {
      rmSync(script);
    }
  });
});

const RELATIONS: Partial<BuildOptions> = {
  contents: [],
  user: undefined,
  preDepends: ['adduser'],
  recommends: ['demo-plugins (>= 2.0) | demo-extras'],
  suggests: ['demo-docs'],
  enhances: ['other-app'],
  epoch: 2,
};

describe('relations, epoch and fields', () => {
  test('deb control: each relation in its field, the epoch in Version, X- fields before Description', () => {
    const spec = resolvePackage(options({ ...RELATIONS, breaks: ['demo-old (<< 1.0)'], fields: { 'X-Team': 'payments' } }), bookworm, source);
    assert.equal(
      debControl(spec),
      [
        'Package: demo',
        'Version: 2:1.0.0-1',
        'Architecture: amd64',
        'Maintainer: demo maintainers <root@localhost>',
        'Pre-Depends: adduser',
        'Recommends: demo-plugins (>= 2.0) | demo-extras',
        'Suggests: demo-docs',
        'Enhances: other-app',
        'Breaks: demo-old (<< 1.0)',
        'Section: misc',
        'Priority: optional',
        'X-Team: payments',
        'Description: demo',
        '',
      ].join('\n'),
    );
  });

  test('fpm, deb: its own flags, Enhances, Breaks and X- fields as --deb-field, --epoch', () => {
    const spec = resolvePackage(options({ ...RELATIONS, breaks: ['demo-old (<< 1.0)'], fields: { 'X-Team': 'payments' } }), bookworm, source);
    const command = fpm.command(spec, 'app', []);
    const at = command.indexOf('--deb-pre-depends');
    assert.deepEqual(command.slice(at, at + 12), [
      '--deb-pre-depends', 'adduser',
      '--deb-recommends', 'demo-plugins (>= 2.0) | demo-extras',
      '--deb-suggests', 'demo-docs',
      '--deb-field', 'Enhances: other-app',
      '--deb-field', 'Breaks: demo-old (<< 1.0)',
      '--deb-field', 'X-Team: payments',
    ]);
    assert.deepEqual(command.slice(command.indexOf('--epoch'), command.indexOf('--epoch') + 2), ['--epoch', '2']);
  });

  test('rpm spec: Epoch, Requires(pre), Recommends, Suggests, Enhances in rpm syntax', () => {
    const spec = resolvePackage(options({ ...RELATIONS, buildMachine: 'debian-bookworm-rpm' }), rpmMachine, source);
    const template = readFileSync(rpmMachine.specTemplate!, 'utf8');
    const variables = {
      ...rpmbuild.templateVariables(spec, 'app', true), app: spec.app, version: spec.version, iteration: spec.iteration, description: spec.description, license: '', homepage: '', maintainer: spec.maintainer,
      runtimeDeps: [], provides: [], conflicts: [], replaces: [], recommends: spec.recommends, suggests: spec.suggests, enhances: spec.enhances, preDepends: spec.preDepends, epoch: spec.epoch, rpmChangelog: '', stagingDir: '/ndist/root',
    };
    const text = renderScript(template, variables, 'rpm.spec.hbs', specValue);
    for (const line of ['Epoch: 2', 'Requires(pre): adduser', 'Recommends: (demo-plugins >= 2.0 or demo-extras)', 'Suggests: demo-docs', 'Enhances: other-app']) {
      assert.ok(text.split('\n').includes(line), `${line} in\n${text}`);
    }
  });

  test('refused for a format without them, naming field and format', () => {
    assert.throws(() => resolvePackage(options({ contents: [], buildMachine: 'debian-bookworm-rpm', breaks: ['x'] }), rpmMachine, source), (error: unknown) => error instanceof ConfigError && error.field === 'breaks' && /\.rpm package .*rpm has no Breaks; use conflicts/.test(error.message));
    assert.throws(() => resolvePackage(options({ contents: [], buildMachine: 'debian-bookworm-rpm', fields: { 'X-A': 'b' } }), rpmMachine, source), (error: unknown) => error instanceof ConfigError && error.field === 'fields' && /\.rpm/.test(error.message));
    assert.throws(() => resolvePackage(options({ contents: [], buildMachine: 'debian-bookworm-rpm', changes: true }), rpmMachine, source), (error: unknown) => error instanceof ConfigError && error.field === 'changes' && /\.changes file describes a Debian upload/.test(error.message));
    assert.equal(resolvePackage(options({ contents: [], buildMachine: 'debian-bookworm-rpm', changes: false }), rpmMachine, source).format, 'rpm', 'false is no request');
  });

  test('fpm refuses what it cannot write into an .rpm: weak relations, Requires(pre), %ghost', () => {
    const rpm = (changes: Partial<BuildOptions>) => resolvePackage(options({ contents: [], user: undefined, buildMachine: 'debian-bookworm-rpm', ...changes }), rpmMachine, source);
    assert.throws(() => fpm.command(rpm({ recommends: ['x'] }), 'app', []), (error: unknown) => error instanceof ConfigError && error.field === 'recommends' && /fpm cannot write rpm recommends/.test(error.message));
    assert.throws(() => fpm.command(rpm({ preDepends: ['x'] }), 'app', []), (error: unknown) => error instanceof ConfigError && error.field === 'preDepends' && /Requires\(pre\)/.test(error.message));
    assert.throws(() => fpm.command(rpm({ contents: [{ type: 'ghost', destination: '/var/log/demo/a.log' }] }), 'app', []), (error: unknown) => error instanceof ConfigError && error.field === 'contents' && /%ghost/.test(error.message));
    assert.doesNotThrow(() => fpm.command(rpm({ epoch: 1 }), 'app', []));
  });

  test('schema: relations, epoch and field names', () => {
    refused({ recommends: ['Bad Name'] }, 'recommends[0]', /package name or relation/);
    refused({ epoch: -1 } as Partial<BuildOptions>, 'epoch', /whole number|>= 0/);
    refused({ fields: { Team: 'x' } }, 'fields.Team', /not an allowed name.*X-/);
    refused({ fields: { 'X-Team': 'a\nb' } }, 'fields.X-Team', /single line/);
  });
});


