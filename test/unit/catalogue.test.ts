/**
 * Every default build machine validates and renders: its script for each packager it can use and
 * each architecture, and for rpm machines the spec. Only the Debian ones can be built on a machine
 * with no image registry; this is what checks the others.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { loadMachines } from '../../src/machine/catalogue.ts';
import { resolvePackage } from '../../src/package/metadata.ts';
import type { PackagerName } from '../../src/package/packager.ts';
import { packagerNamed } from '../../src/package/packagers.ts';
import { planBuild } from '../../src/build/plan.ts';
import type { RuntimeArchive } from '../../src/build/runtime.ts';
import { renderScript, specValue } from '../../src/machine/script.ts';
import type { Arch, BuildOptions } from '../../src/options/types.ts';
import { ARCH_NAMES } from '../../src/util/arch.ts';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hello-app');
const npm: RuntimeArchive = { kind: 'npm', version: '10.9.9', source: 'npm', file: '/cache/npm.tgz', root: 'package', checksum: 'sha512-00' };
const runtimeFor = (arch: Arch): RuntimeArchive => {
  const nodeArch = ARCH_NAMES[arch].node;
  return { kind: 'node', version: '22.23.3', source: 'npm', file: `/cache/node-${nodeArch}.tgz`, root: 'package', checksum: 'sha512-00' };
};
const hasRpmspec = (() => {
  try {
    execFileSync('rpmspec', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-catalogue-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function render(id: string, arch: Arch, packager: PackagerName, changes: Partial<BuildOptions> = {}) {
  const machine = loadMachines().get(id)!;
  const options: BuildOptions = {
    name: `hello ${id}`, app: 'hello-app', source: { type: 'directory', path: FIXTURE }, buildMachine: id, node: '22.23.3', arch,
    buildDeps: ['@sqlite-dev'].filter(() => Object.keys(machine.packages).length > 0), runtimeDeps: ['@sqlite'].filter(() => Object.keys(machine.packages).length > 0), ...changes,
  };
  const spec = resolvePackage(options, machine, FIXTURE);
  const plan = planBuild(options, machine, spec, {
    sourceDir: FIXTURE, sourceDateEpoch: 1700000000, runtime: runtimeFor(arch), npm, registry: 'https://registry.example/', caBundle: '/etc/ca.crt', npmToken: false, packager: packagerNamed(packager),
  });
  return { machine, spec, script: plan.script, rpmSpec: plan.specText, command: plan.packageCommand };
}

describe('every default machine renders', () => {
  for (const machine of loadMachines().values()) {
    const packagers: PackagerName[] = machine.format === 'rpm' ? ['rpmbuild', 'fpm'] : ['dpkg-deb', 'fpm'];
    for (const arch of machine.arch) {
      for (const packager of packagers) {
        test(`${machine.id} ${arch} with ${packager}: valid bash ending with the packager command`, () => {
          const { script, spec } = render(machine.id, arch, packager);
          const file = path.join(dir, `${machine.id}-${arch}-${packager}.sh`);
          writeFileSync(file, script);
          execFileSync('bash', ['-n', file]);
          const last = script.trimEnd().split('\n').at(-1)!;
          assert.ok(last.startsWith(packager === 'fpm' ? 'fpm -s dir -t ' + machine.format : packager), last);
          if (Object.keys(machine.packages).length > 0) assert.match(script, machine.script.endsWith('redhat.sh.hbs') ? /^dnf install .* (libsqlite3-dev|sqlite-devel)$/m : /apt-get install .* (libsqlite3-dev|sqlite-devel)$/m);
          assert.equal(spec.fileName, machine.format === 'rpm' ? `hello-app-1.0.0-1.${{ amd64: 'x86_64', arm64: 'aarch64', armhf: 'armv7hl' }[arch]}.rpm` : `hello-app_1.0.0-1_${arch}.deb`);
          if (machine.format === 'rpm' && packager === 'fpm') assert.match(last, / --rpm-digest sha256 /);
        });
      }
    }
  }
});

describe('the rpm spec template', () => {
  test('rockylinux-9: sha256 digests, no auto requires, Requires from runtimeDeps, files from the list', () => {
    const { rpmSpec } = render('rockylinux-9', 'amd64', 'rpmbuild', { runtimeDeps: ['@sqlite', 'glibc (>= 2.34)'], description: '100% useful' });
    assert.ok(rpmSpec);
    assert.match(rpmSpec, /^%define _binary_filedigest_algorithm 8$/m);
    assert.match(rpmSpec, /^%define _source_filedigest_algorithm 8$/m);
    assert.match(rpmSpec, /^%define _binary_payload w6\.xzdio$/m);
    assert.match(rpmSpec, /^AutoReqProv: no$/m);
    assert.match(rpmSpec, /^Name: hello-app\nVersion: 1\.0\.0\nRelease: 1\nSummary: 100%% useful\nGroup: Applications\/System\nLicense: MIT\nURL: https:\/\/ndist\.invalid\/hello-app\nPackager: ndist tests <tests@ndist\.invalid>\nRequires: sqlite-libs\nRequires: glibc >= 2\.34$/m);
    assert.match(rpmSpec, /^%install\ncp -a \/ndist\/root\/\. %\{buildroot\}\/\nsh \/ndist\/rpm\/files\.sh %\{buildroot\} > \/ndist\/rpm\/files\.list$/m);
    assert.match(rpmSpec, /^%files -f \/ndist\/rpm\/files\.list$/m);
  });

  test('a pre-release keeps its ~ version; the arch comes from rpmbuild --target, not the spec', () => {
    const { rpmSpec, command } = render('fedora', 'arm64', 'rpmbuild', { version: '2.0.0-rc.1' });
    assert.match(rpmSpec!, /^Version: 2\.0\.0~rc\.1$/m);
    assert.doesNotMatch(rpmSpec!, /BuildArch/);
    assert.deepEqual(command.slice(0, 4), ['rpmbuild', '-bb', '--target', 'aarch64-linux']);
  });

  test('parses with rpmspec where rpm is installed', { skip: hasRpmspec ? false : 'rpmspec is not installed' }, () => {
    const { rpmSpec } = render('debian-bookworm-rpm', 'amd64', 'rpmbuild', { runtimeDeps: ['sqlite-libs'] });
    // The glibc floor the health check writes in the machine, included where the spec says.
    assert.match(rpmSpec!, /^%include \/ndist\/rpm\/files-floor\.spec$/m);
    const floor = path.join(dir, 'files-floor.spec');
    writeFileSync(floor, 'Requires: libc.so.6(GLIBC_2.28)(64bit)\nRequires: libstdc++.so.6(GLIBCXX_3.4.21)(64bit)\n');
    const file = path.join(dir, 'hello.spec');
    writeFileSync(file, rpmSpec!.replace('/ndist/rpm/files-floor.spec', floor));
    const parsed = execFileSync('rpmspec', ['-q', '--qf', '%{name}-%{version}-%{release}\n', file], { encoding: 'utf8' });
    assert.equal(parsed.trim(), 'hello-app-1.0.0-1');
    const requires = execFileSync('rpmspec', ['-q', '--requires', file], { encoding: 'utf8' });
    assert.deepEqual(requires.trim().split('\n'), ['libc.so.6(GLIBC_2.28)(64bit)', 'libstdc++.so.6(GLIBCXX_3.4.21)(64bit)', 'sqlite-libs']);
  });

  test('a service build: rpmspec reads the scriptlets with % kept literal, the relations and no macro from the hook', { skip: hasRpmspec ? false : 'rpmspec is not installed' }, () => {
    const { rpmSpec } = render('debian-bookworm-rpm', 'amd64', 'rpmbuild', {
      user: 'hello',
      service: { environment: { RATE: '100%' } },
      configFiles: [{ path: '/etc/hello-app/config.json', source: 'package.json' }],
      provides: ['hello-api'],
      replaces: ['hello-old (<< 2.0)'],
      hooks: { postinst: 'bin/hello.js' },
    });
    const file = path.join(dir, 'hello-service.spec');
    // No floor (the health check off, or no ELF file): the included file stays empty.
    const floor = path.join(dir, 'empty-floor.spec');
    writeFileSync(floor, '');
    writeFileSync(file, rpmSpec!.replace('/ndist/rpm/files-floor.spec', floor));
    const parsed = execFileSync('rpmspec', ['-P', file], { encoding: 'utf8' });
    for (const section of ['%pre', '%post', '%preun', '%postun']) assert.match(parsed, new RegExp(`^${section}$`, 'm'));
    assert.match(parsed, /^Provides: hello-api$/m);
    assert.match(parsed, /^Obsoletes: hello-old < 2\.0$/m);
    assert.match(parsed, /if \[ "\$1" -ge 2 \]; then event=upgrade; else event=install; fi/);
  });

  test('a line break in a value is a ConfigError, % is doubled', () => {
    assert.equal(specValue('50% off %{x}'), '50%% off %%{x}');
    assert.equal(specValue(['a >= 1', 'b']), 'a >= 1, b');
    assert.throws(() => renderScript('Summary: {{x}}\n', { x: 'a\nb' }, 'rpm.spec.hbs', specValue), (error: unknown) => error instanceof ConfigError && /line break/.test(error.message));
  });
});
