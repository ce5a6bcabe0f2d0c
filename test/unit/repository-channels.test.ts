import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  emptyState, listChannels, packageId, promotePackages, publishPackages, referencedFiles, rollbackChannel, type PublishedPackage, type RepositoryState,
} from '../../src/repository/channels.ts';

function pkg(name: string, version: string, options: { arch?: string; dist?: string; format?: 'deb' | 'rpm'; sha256?: string; runtime?: PublishedPackage; verified?: boolean } = {}): PublishedPackage {
  const { arch = 'amd64', dist = 'bookworm', format = 'deb' } = options;
  return {
    id: packageId(format, dist, name, version, arch),
    format, dist, name, version, arch,
    sha256: options.sha256 ?? `${name}-${version}-${arch}-${dist}`,
    size: 1,
    file: `apt/pool/${dist}/${name}_${version}_${arch}.deb`,
    signed: false,
    ...(options.runtime ? { runtime: options.runtime.id } : {}),
    ...(options.verified ? { verified: true } : {}),
    publishedAt: '2026-11-24T00:00:00.000Z',
  };
}

const held = (state: RepositoryState, key: string) => (state.channels[key] ?? []).map((id) => id.split('/').at(-1)).sort();

describe('repository channels', () => {
  it('publishes to a channel; the same version and bytes again changes nothing', () => {
    const state = emptyState('acme');
    publishPackages(state, [pkg('app', '1.0.0-1')], 'stable', 5);
    const again = publishPackages(state, [pkg('app', '1.0.0-1')], 'stable', 5);
    assert.deepEqual(again, ['app 1.0.0-1 (amd64) is already in deb/bookworm/stable']);
    assert.deepEqual(held(state, 'deb/bookworm/stable'), ['app_1.0.0-1_amd64']);
  });

  it('refuses a published version with other bytes, changing nothing, even after it left every channel', () => {
    const state = emptyState('acme');
    publishPackages(state, [pkg('app', '1.0.0-1'), pkg('app', '1.1.0-1')], 'stable', 1);
    assert.deepEqual(held(state, 'deb/bookworm/stable'), ['app_1.1.0-1_amd64']);
    const before = structuredClone(state);
    assert.throws(
      () => publishPackages(state, [pkg('app', '1.2.0-1'), pkg('app', '1.0.0-1', { sha256: 'other' })], 'testing', 5),
      /app 1\.0\.0-1 \(amd64\) for bookworm is already published with other bytes \(published sha256 app-1\.0\.0-1-amd64-bookworm, this file other\)/,
    );
    assert.deepEqual(state, before);
    // Two different files under one version in the same publish: refused too.
    assert.throws(() => publishPackages(state, [pkg('app', '2.0.0-1'), pkg('app', '2.0.0-1', { sha256: 'another build' })], 'stable', 5), /two files of this publish are app 2\.0\.0-1 \(amd64\) for bookworm, with other bytes \(sha256 app-2\.0\.0-1-amd64-bookworm and another build\)/);
    assert.deepEqual(state, before);
  });

  it('a version is per target release: the same version for trixie is another package', () => {
    const state = emptyState('acme');
    publishPackages(state, [pkg('app', '1.0.0-1'), pkg('app', '1.0.0-1', { dist: 'trixie', sha256: 'trixie build' })], 'stable', 5);
    assert.deepEqual(Object.keys(state.channels).sort(), ['deb/bookworm/stable', 'deb/trixie/stable']);
  });

  it('keeps the newest N versions per app and arch, by version order rather than publish order', () => {
    const state = emptyState('acme');
    publishPackages(state, [pkg('app', '1.10.0-1'), pkg('app', '1.9.0-1'), pkg('app', '1.9.0-1', { arch: 'arm64' })], 'stable', 5);
    publishPackages(state, [pkg('app', '1.2.0-1')], 'stable', 2);
    assert.deepEqual(held(state, 'deb/bookworm/stable'), ['app_1.10.0-1_amd64', 'app_1.9.0-1_amd64', 'app_1.9.0-1_arm64']);
  });

  it('promotes a version with its runtime package, matching the upstream or the full version', () => {
    const state = emptyState('acme');
    const runtime = pkg('ndist-node-22.23.3', '22.23.3-1');
    publishPackages(state, [runtime, pkg('app', '1.1.0-1deb12', { runtime, verified: true })], 'testing', 5);
    assert.throws(() => promotePackages(state, 'app', '1.2.0', 'testing', 'stable', 5), /testing holds no app 1\.2\.0; it holds app 1\.1\.0-1deb12/);
    promotePackages(state, 'app', '1.1.0', 'testing', 'stable', 5);
    assert.deepEqual(held(state, 'deb/bookworm/stable'), ['app_1.1.0-1deb12_amd64', 'ndist-node-22.23.3_22.23.3-1_amd64']);
    assert.doesNotThrow(() => promotePackages(state, 'app', '1.1.0-1deb12', 'testing', 'stable', 5));
    assert.throws(() => promotePackages(state, 'app', '1.1.0', 'nightly', 'stable', 5), /there is no channel nightly/);
  });

  it('refuses to promote bytes with no passing verify record, naming the command; --unverified goes ahead and is recorded; publishing the same bytes verified brings the record', () => {
    const state = emptyState('acme');
    publishPackages(state, [pkg('app', '1.0.0-1')], 'testing', 5);
    const before = structuredClone(state);
    assert.throws(() => promotePackages(state, 'app', '1.0.0', 'testing', 'stable', 5), /app 1\.0\.0-1 \(amd64\) for bookworm has no passing verify record: run `ndist verify <outDir>`.*or promote with --unverified/);
    assert.deepEqual(state, before);
    const changes = promotePackages(state, 'app', '1.0.0', 'testing', 'stable', 5, undefined, { unverified: true });
    assert.ok(changes.includes('app 1.0.0-1 (amd64) for bookworm promoted to stable unverified (--unverified)'));
    assert.deepEqual(state.packages['deb/bookworm/app_1.0.0-1_amd64']!.unverifiedPromotions, ['stable']);
    assert.deepEqual(publishPackages(state, [pkg('app', '1.0.0-1', { verified: true })], 'testing', 5).filter((change) => change.endsWith('verified')), ['app 1.0.0-1 (amd64) for bookworm: verified']);
    assert.doesNotThrow(() => promotePackages(state, 'app', '1.0.0', 'testing', 'beta', 5));
  });

  it('rolls back to the version before, per arch; refuses when there is none; the runtime nobody uses leaves', () => {
    const state = emptyState('acme');
    const oldRuntime = pkg('ndist-node-22.22.2', '22.22.2-1');
    const newRuntime = pkg('ndist-node-22.23.3', '22.23.3-1');
    publishPackages(state, [oldRuntime, pkg('app', '1.0.0-1', { runtime: oldRuntime })], 'stable', 5);
    publishPackages(state, [newRuntime, pkg('app', '1.1.0-1', { runtime: newRuntime })], 'stable', 5);
    const { rolledBack, changes } = rollbackChannel(state, 'app', 'stable');
    assert.deepEqual(rolledBack, [{ channel: 'deb/bookworm/stable', format: 'deb', dist: 'bookworm', arch: 'amd64', removed: '1.1.0-1', current: '1.0.0-1' }]);
    assert.ok(changes.includes('ndist-node-22.23.3 22.23.3-1 (amd64) leaves deb/bookworm/stable: no app in it runs on it any more'));
    assert.deepEqual(held(state, 'deb/bookworm/stable'), ['app_1.0.0-1_amd64', 'ndist-node-22.22.2_22.22.2-1_amd64']);
    const before = structuredClone(state);
    assert.throws(() => rollbackChannel(state, 'app', 'stable'), /holds only app 1\.0\.0-1 \(amd64\); there is no earlier version/);
    assert.deepEqual(state, before);
    assert.throws(() => rollbackChannel(state, 'other', 'stable'), /holds no other/);
    // Both stay published: promote can put 1.1.0 back.
    assert.ok(state.packages[packageId('deb', 'bookworm', 'app', '1.1.0-1', 'amd64')]);
  });

  it('lists channels newest first and marks what a host gets; pool files of versions no channel holds are unreferenced', () => {
    const state = emptyState('acme');
    publishPackages(state, [pkg('app', '1.0.0-1'), pkg('app', '1.1.0-1'), pkg('tool', '2.0-1', { format: 'rpm', dist: 'el9', arch: 'x86_64' })], 'stable', 5);
    const listing = listChannels(state);
    assert.deepEqual(listing.map((channel) => channel.channel), ['deb/bookworm/stable', 'rpm/el9/stable']);
    assert.deepEqual(listing[0]!.packages.map((p) => [p.version, p.current]), [['1.1.0-1', true], ['1.0.0-1', false]]);
    rollbackChannel(state, 'app', 'stable');
    assert.ok(!referencedFiles(state).has('apt/pool/bookworm/app_1.1.0-1_amd64.deb'));
    assert.ok(referencedFiles(state).has('apt/pool/bookworm/app_1.0.0-1_amd64.deb'));
  });
});
