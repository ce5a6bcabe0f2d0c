import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyse, compareVersions, dependencyNames, floorRelations, parseNeeded, parseVersionNeeds, parseVersions, symbolsMinimum, type Analysis, type ElfFacts } from '../../src/in-machine/health-check.ts';

const READELF_DYNAMIC = `
Dynamic section at offset 0x2dd8 contains 27 entries:
  Tag        Type                         Name/Value
 0x0000000000000001 (NEEDED)             Shared library: [libsqlite3.so.0]
 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]
 0x000000000000000e (SONAME)             Library soname: [sqlite_version.node]
`;

const READELF_VERSIONS = `
Version needs section '.gnu.version_r' contains 2 entries:
 Addr: 0x0000000000000568  Offset: 0x000568  Link: 4 (.dynstr)
  000000: Version: 1  File: libstdc++.so.6  Cnt: 2
  0x0010:   Name: GLIBCXX_3.4.30  Flags: none  Version: 5
  0x0020:   Name: CXXABI_1.3  Flags: none  Version: 4
  0x0030: Version: 1  File: libc.so.6  Cnt: 3
  0x0040:   Name: GLIBC_2.34  Flags: none  Version: 3
  0x0050:   Name: GLIBC_2.2.5  Flags: none  Version: 2
  0x0060:   Name: GLIBC_2.34  Flags: none  Version: 6
`;

describe('health check parsing', () => {
  test('NEEDED libraries from readelf -d', () => {
    assert.deepEqual(parseNeeded(READELF_DYNAMIC), ['libsqlite3.so.0', 'libc.so.6']);
  });
  test('required symbol versions from readelf -V, each once', () => {
    assert.deepEqual(parseVersions(READELF_VERSIONS), ['GLIBCXX_3.4.30', 'CXXABI_1.3', 'GLIBC_2.34', 'GLIBC_2.2.5']);
  });
  test('package names from Depends relations', () => {
    assert.deepEqual([...dependencyNames(['libsqlite3-0 (>= 3.40) | libsqlite3', 'zlib1g:amd64', 'libssl3'])], ['libsqlite3-0', 'libsqlite3', 'zlib1g', 'libssl3']);
  });
  test('versions compare numerically', () => {
    assert.ok(compareVersions('2.10', '2.9') > 0);
    assert.ok(compareVersions('2.2.5', '2.34') < 0);
    assert.equal(compareVersions('3.4', '3.4.0'), 0);
  });
});

describe('health check analysis', () => {
  const addon = '/opt/app/app/build/Release/addon.node';
  const facts = (changes: Partial<Analysis> = {}): Analysis => ({
    elves: [{ file: addon, needed: ['libsqlite3.so.0', 'libc.so.6', 'libstdc++.so.6', 'libbundled.so.1', 'libz.so.1'], versions: ['GLIBC_2.34', 'GLIBCXX_3.4.30'] }],
    packaged: new Set(['libbundled.so.1', 'addon.node']),
    owners: new Map([
      ['libsqlite3.so.0', { path: '/usr/lib/x86_64-linux-gnu/libsqlite3.so.0', package: 'libsqlite3-0', base: false }],
      ['libz.so.1', { path: '/lib/x86_64-linux-gnu/libz.so.1', package: 'zlib1g', base: true }],
    ]),
    runtimeDeps: [],
    machine: { glibc: '2.36', glibcxx: '3.4.30' },
    machineId: 'debian-bookworm',
    ...changes,
  });

  test('a library from an undeclared package is named with the file and the fix', () => {
    assert.deepEqual(analyse(facts()), [
      { file: addon, message: "needs libsqlite3.so.0 (/usr/lib/x86_64-linux-gnu/libsqlite3.so.0, from package libsqlite3-0), which is neither in the package nor in runtimeDeps: add 'libsqlite3-0' to runtimeDeps" },
    ]);
  });
  test('declared (even as an alternative), bundled, base-system and libc libraries pass', () => {
    assert.deepEqual(analyse(facts({ runtimeDeps: ['libfoo | libsqlite3-0 (>= 3.40)'] })), []);
  });
  test('a library nowhere on the machine says to add buildDeps and runtimeDeps', () => {
    const [problem] = analyse(facts({ runtimeDeps: ['libsqlite3-0'], elves: [{ file: addon, needed: ['libmissing.so.2'], versions: [] }] }));
    assert.match(problem!.message, /needs libmissing\.so\.2, which is not in the package and not installed on the build machine: add the package that provides it to runtimeDeps \(and its -dev package to buildDeps\)/);
  });
  test('a library no package owns says to bundle it or depend on a package', () => {
    const owners = new Map([['libvendor.so.1', { path: '/usr/local/lib/libvendor.so.1' }]]);
    const [problem] = analyse(facts({ runtimeDeps: ['libsqlite3-0'], owners, elves: [{ file: addon, needed: ['libvendor.so.1'], versions: [] }] }));
    assert.equal(problem!.message, 'needs libvendor.so.1 (/usr/local/lib/libvendor.so.1), which no distro package owns: bundle it in the package, or install it from a package listed in runtimeDeps');
  });
  test('glibc and libstdc++ symbol versions newer than the machine provides are refused', () => {
    const problems = analyse(facts({ runtimeDeps: ['libsqlite3-0'], machine: { glibc: '2.31', glibcxx: '3.4.28' }, machineId: 'debian-bullseye' }));
    assert.deepEqual(problems.map((problem) => problem.message), [
      'needs GLIBC_2.34, newer than glibc 2.31 of debian-bullseye: build it on that machine from source, or target a newer distro',
      "needs GLIBCXX_3.4.30, newer than GLIBCXX_3.4.28 of debian-bullseye's libstdc++: build it on that machine from source, or target a newer distro",
    ]);
  });
});

/** As Debian 12's /var/lib/dpkg/info/libstdc++6:amd64.symbols says it (abridged). */
const LIBSTDCXX_SYMBOLS = `libstdc++.so.6 libstdc++6 #MINVER#
 GLIBCXX_3.4.20@GLIBCXX_3.4.20 4.9
 GLIBCXX_3.4.21@GLIBCXX_3.4.21 5.2
 GLIBCXX_3.4.30@GLIBCXX_3.4.30 12
 GLIBCXX_3.4@GLIBCXX_3.4 4.1.1
`;

describe('the glibc floor as dependencies', () => {
  const fromReadelf = (file: string, readelf: string): ElfFacts => ({ file, needed: [], versions: parseVersions(readelf), needs: parseVersionNeeds(readelf) });
  const node = fromReadelf('/opt/app/node/bin/node', `
Version needs section '.gnu.version_r' contains 4 entries:
 Addr: 0x0000000000b6b018  Offset: 0x0076b018  Link: 6 (.dynstr)
  000000: Version: 1  File: ld-linux-x86-64.so.2  Cnt: 1
  0x0010:   Name: GLIBC_2.2.5  Flags: none  Version: 38
  0x0020: Version: 1  File: libgcc_s.so.1  Cnt: 1
  0x0030:   Name: GCC_3.4  Flags: none  Version: 35
  0x0070: Version: 1  File: libm.so.6  Cnt: 2
  0x0080:   Name: GLIBC_2.27  Flags: none  Version: 28
  0x0090:   Name: GLIBC_2.2.5  Flags: none  Version: 6
  0x00a0: Version: 1  File: libstdc++.so.6  Cnt: 2
  0x00b0:   Name: GLIBCXX_3.4.21  Flags: none  Version: 29
  0x00c0:   Name: CXXABI_1.3.9  Flags: none  Version: 27
  0x0170: Version: 1  File: libc.so.6  Cnt: 2
  0x0180:   Name: GLIBC_2.28  Flags: none  Version: 36
  0x0190:   Name: GLIBC_2.3.4  Flags: none  Version: 32

Version definition section '.gnu.version_d' contains 1 entry:
  000000: Rev: 1  Flags: BASE  Index: 1  Cnt: 1  Name: node
`);
  const addon = fromReadelf('/opt/app/app/build/Release/addon.node', READELF_VERSIONS);
  const bundled = fromReadelf('/opt/app/app/lib/tool', `
Version needs section '.gnu.version_r' contains 1 entry:
  000000: Version: 1  File: libbundled.so.1  Cnt: 1
  0x0010:   Name: GLIBC_2.99  Flags: none  Version: 2
`);

  test('readelf -V: required versions per library, definitions left out', () => {
    assert.deepEqual(node.needs, {
      'ld-linux-x86-64.so.2': ['GLIBC_2.2.5'],
      'libgcc_s.so.1': ['GCC_3.4'],
      'libm.so.6': ['GLIBC_2.27', 'GLIBC_2.2.5'],
      'libstdc++.so.6': ['GLIBCXX_3.4.21', 'CXXABI_1.3.9'],
      'libc.so.6': ['GLIBC_2.28', 'GLIBC_2.3.4'],
    });
    assert.deepEqual(parseVersionNeeds('no version information'), {});
  });

  test('deb: libc6 at the newest glibc version, libstdc++6 at what the symbols file maps the newest GLIBCXX version to', () => {
    const minimum = (version: string) => symbolsMinimum(LIBSTDCXX_SYMBOLS, version);
    assert.equal(minimum('GLIBCXX_3.4.21'), '5.2');
    assert.equal(minimum('GLIBCXX_3.4'), '4.1.1', 'no prefix match: 3.4 is not 3.4.21');
    assert.deepEqual(floorRelations([node], 'deb', new Set(), minimum), ['libc6 (>= 2.28)', 'libstdc++6 (>= 5.2)']);
    assert.deepEqual(floorRelations([node, addon], 'deb', new Set(), minimum), ['libc6 (>= 2.34)', 'libstdc++6 (>= 12)']);
    assert.deepEqual(floorRelations([node], 'deb', new Set(), () => undefined), ['libc6 (>= 2.28)', 'libstdc++6'], 'no symbols file: unversioned');
    assert.deepEqual(floorRelations([], 'deb', new Set(), minimum), []);
  });

  test("rpm: each library's newest glibc/libstdc++ version as rpm's generator writes it; libraries in the package left out", () => {
    assert.deepEqual(floorRelations([node, addon, bundled], 'rpm', new Set(['libbundled.so.1']), () => undefined), [
      'ld-linux-x86-64.so.2(GLIBC_2.2.5)(64bit)',
      'libc.so.6(GLIBC_2.34)(64bit)',
      'libm.so.6(GLIBC_2.27)(64bit)',
      'libstdc++.so.6(GLIBCXX_3.4.30)(64bit)',
    ]);
  });
});
