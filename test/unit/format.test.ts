/** Each package format on its own: file names, architectures, relations, unit directories, maintainer-script events. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { FORMATS, formatOf } from '../../src/package/formats.ts';
import { PACKAGERS } from '../../src/package/packagers.ts';
import { PHASES } from '../../src/package/service.ts';

describe('formats', () => {
  test('are registered under their names, each with a native packager that writes it', () => {
    for (const [name, format] of Object.entries(FORMATS)) {
      assert.equal(formatOf(format.name), format, name);
      assert.ok(PACKAGERS[format.nativePackager].formats.includes(format.name));
    }
  });

  test('the file name, for app and runtime packages alike', () => {
    const pkg = { name: 'demo', version: '1.2.0~rc.1', iteration: '2', arch: 'arm64' as const };
    assert.equal(formatOf('deb').fileName(pkg), 'demo_1.2.0~rc.1-2_arm64.deb');
    assert.equal(formatOf('rpm').fileName(pkg), 'demo-1.2.0~rc.1-2.aarch64.rpm');
    assert.equal(formatOf('rpm').fileName({ ...pkg, arch: 'amd64' }), 'demo-1.2.0~rc.1-2.x86_64.rpm');
  });

  test('relations: Debian syntax kept for deb, rewritten for rpm', () => {
    assert.equal(formatOf('deb').relation('a (>= 1) | b'), 'a (>= 1) | b');
    assert.equal(formatOf('rpm').relation('a (>= 1) | b'), '(a >= 1 or b)');
    assert.equal(formatOf('rpm').relation('old (<< 2.0)'), 'old < 2.0');
    assert.equal(formatOf('rpm').relation('x (>> 1)'), 'x > 1');
  });

  test('unit directories', () => {
    assert.equal(formatOf('deb').unitDir({ id: 'debian', versionId: '12' }), '/lib/systemd/system');
    assert.equal(formatOf('deb').unitDir({ id: 'debian', versionId: '13' }), '/usr/lib/systemd/system');
    assert.equal(formatOf('deb').unitDir(undefined), '/lib/systemd/system');
    assert.equal(formatOf('rpm').unitDir(undefined), '/usr/lib/systemd/system');
  });

  test('the event lines of every phase are valid sh; deb refuses an unknown argument', () => {
    for (const format of Object.values(FORMATS)) {
      for (const phase of PHASES) execFileSync('sh', ['-n', '-c', format.phaseEvent(phase).join('\n')]);
    }
    assert.equal(formatOf('deb').phaseEvent('prerm').at(-2), `  *) echo "prerm called with unknown argument '$1'" >&2; exit 1 ;;`);
    assert.deepEqual(formatOf('rpm').phaseEvent('prerm'), ['if [ "$1" -ge 1 ]; then event=upgrade; else event=remove; fi']);
  });
});
