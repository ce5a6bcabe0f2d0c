/**
 * The runtime volumes: names keyed by the archive's checksum, and the shell that checks and
 * completes a volume, run here for real with sh against a temporary directory standing for the
 * volume (the same commands the build and populating containers run).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  RUNTIME_VOLUME_MARKER,
  completeVolumeCommand,
  ensureRuntimeVolumes,
  incompleteVolumesCommand,
  runtimeMounts,
  runtimeVolumeName,
  runtimeVolumes,
  type RuntimeVolume,
} from '../../src/cache/runtime-volume.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'ndist-runtime-volume-'));
after(() => rmSync(work, { recursive: true, force: true }));

const archive = { file: '/cache/node-v22.tar.xz', root: 'node-v22-linux-x64', checksum: 'sha512-AAAA' };
const sh = (command: string) => execFileSync('sh', ['-c', command], { encoding: 'utf8' });

/** A directory standing for a volume, with what an extraction of the archive left in `partial`. */
function extracted(name: string, partial: string): string {
  const mount = path.join(work, name);
  mkdirSync(path.join(mount, partial, archive.root, 'bin'), { recursive: true });
  writeFileSync(path.join(mount, partial, archive.root, 'bin', 'node'), 'the runtime');
  return mount;
}

describe('runtime volume names', () => {
  it('derive from the checksum and the volume prefix: another archive is another volume', () => {
    const name = runtimeVolumeName('sha512-AAAA', {});
    assert.match(name, /^ndist-runtime-[0-9a-f]{32}$/);
    assert.equal(runtimeVolumeName('sha512-AAAA', {}), name);
    assert.notEqual(runtimeVolumeName('sha512-AAAB', {}), name);
    assert.match(runtimeVolumeName('sha512-AAAA', { NDIST_VOLUME_PREFIX: 'ndist-test-1' }), /^ndist-test-1-runtime-/);
  });

  it('are mounted read-only where the plan expects each archive', () => {
    const volumes = runtimeVolumes([{ archive, dir: '/ndist/runtime' }], {});
    assert.deepEqual(runtimeMounts(volumes), [{ volume: runtimeVolumeName(archive.checksum, {}), target: '/ndist/runtime', readOnly: true }]);
  });
});

describe('completing a runtime volume', () => {
  it('moves the extracted root into place and writes the marker last; the check then finds it complete', () => {
    const mount = extracted('fresh', '.partial-a');
    const volume: RuntimeVolume = { volume: 'v', target: mount, archive };
    assert.equal(sh(incompleteVolumesCommand([volume])).trim(), mount, 'an empty volume is incomplete');
    sh(completeVolumeCommand(mount, '.partial-a', archive));
    assert.equal(readFileSync(path.join(mount, archive.root, 'bin', 'node'), 'utf8'), 'the runtime');
    assert.equal(readFileSync(path.join(mount, RUNTIME_VOLUME_MARKER), 'utf8'), archive.checksum);
    assert.ok(!existsSync(path.join(mount, '.partial-a')), 'the extraction directory is gone');
    assert.equal(sh(incompleteVolumesCommand([volume])), '', 'complete');
  });

  it('never trusts a tree without the marker: a population cut short is replaced', () => {
    const mount = extracted('cut-short', '.partial-b');
    // A populator died after moving its root, before writing the marker, leaving a half tree.
    mkdirSync(path.join(mount, archive.root));
    writeFileSync(path.join(mount, archive.root, 'half'), '');
    const volume: RuntimeVolume = { volume: 'v', target: mount, archive };
    assert.equal(sh(incompleteVolumesCommand([volume])).trim(), mount);
    sh(completeVolumeCommand(mount, '.partial-b', archive));
    assert.ok(!existsSync(path.join(mount, archive.root, 'half')));
    assert.ok(existsSync(path.join(mount, archive.root, 'bin', 'node')));
  });

  it('keeps a complete volume when a second populator finishes later, and a marker of another checksum is incomplete', () => {
    const mount = extracted('twice', '.partial-c');
    sh(completeVolumeCommand(mount, '.partial-c', archive));
    mkdirSync(path.join(mount, '.partial-d', archive.root), { recursive: true });
    writeFileSync(path.join(mount, '.partial-d', archive.root, 'second'), '');
    sh(completeVolumeCommand(mount, '.partial-d', archive));
    assert.ok(!existsSync(path.join(mount, archive.root, 'second')), 'the complete tree stayed');
    assert.ok(!existsSync(path.join(mount, '.partial-d')));
    writeFileSync(path.join(mount, RUNTIME_VOLUME_MARKER), 'sha512-other');
    assert.equal(sh(incompleteVolumesCommand([{ volume: 'v', target: mount, archive }])).trim(), mount);
  });

  it('ensureRuntimeVolumes populates only the incomplete ones', async () => {
    const complete = extracted('done', '.partial-e');
    sh(completeVolumeCommand(complete, '.partial-e', archive));
    const missing = path.join(work, 'missing');
    mkdirSync(missing);
    const npm = { file: '/cache/npm.tgz', root: 'package', checksum: 'sha512-BBBB' };
    const volumes: RuntimeVolume[] = [{ volume: 'node', target: complete, archive }, { volume: 'npm', target: missing, archive: npm }];
    const populated: string[] = [];
    const container = {
      exec: async (command: string[], options: { onLine?: (line: string) => void } = {}) => {
        for (const line of execFileSync(command[0]!, command.slice(1), { encoding: 'utf8' }).split('\n').filter(Boolean)) options.onLine?.(line);
        return 0;
      },
    };
    await ensureRuntimeVolumes({ populateRuntimeVolume: async (volume) => void populated.push(volume.volume) }, container, volumes, 'image', {}, () => {});
    assert.deepEqual(populated, ['npm']);
  });
});
