/**
 * types.ts holds only types. These tests keep the runtime checks in step with them: every value a
 * type allows is accepted where it is checked at run time, and the type checker (`npm run
 * typecheck`) refuses what the types refuse.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fpm } from '../../src/package/packagers/fpm.ts';
import { NO_CONTENTS } from '../../src/package/contents.ts';
import type { PackageSpec } from '../../src/package/spec.ts';
import { directory, git, gitDirectory } from '../../src/build/source.ts';
import type { Arch, BuildOptions, BuildResult, Compression, SourceSpec } from '../../src/options/types.ts';
import { validateBuild } from '../../src/options/validate.ts';

// `satisfies Record<T, true>` fails to compile when a member of the union is missing or extra.
const ARCHES = Object.keys({ amd64: true, arm64: true, armhf: true } satisfies Record<Arch, true>) as Arch[];
const COMPRESSIONS = Object.keys({ xz: true, gzip: true, zstd: true, none: true } satisfies Record<Compression, true>) as Compression[];
const SOURCE_TYPES = Object.keys({ git: true, gitDirectory: true, directory: true } satisfies Record<SourceSpec['type'], true>);

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-types-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function build(changes: Partial<BuildOptions> = {}): BuildOptions {
  return { name: 'b', app: 'demo', source: directory({ path: dir }), buildMachine: 'debian-bookworm', node: '22.23.3', ...changes };
}

describe('types', () => {
  test('every Arch is accepted by validateBuild', () => {
    assert.deepEqual(ARCHES, ['amd64', 'arm64', 'armhf']);
    for (const arch of ARCHES) assert.doesNotThrow(() => validateBuild(build({ arch })));
  });

  test('every Compression is accepted by validateBuild and known to fpm', () => {
    for (const compression of COMPRESSIONS) {
      assert.doesNotThrow(() => validateBuild(build({ compression })));
      const command = fpm.command({ format: 'deb', compression, runtimeDeps: [], provides: [], conflicts: [], replaces: [], recommends: [], suggests: [], enhances: [], preDepends: [], breaks: [], fields: {}, contents: NO_CONTENTS } as unknown as PackageSpec, 'app', []);
      assert.equal(typeof command[command.indexOf('--deb-compression') + 1], 'string', compression);
    }
  });

  test('every SourceSpec type is made by a constructor and accepted by validateBuild', () => {
    const specs: SourceSpec[] = [git({ uri: 'https://example.com/a.git' }), gitDirectory({ path: dir }), directory({ path: dir })];
    assert.deepEqual(specs.map((spec) => spec.type), SOURCE_TYPES);
    for (const source of specs) assert.doesNotThrow(() => validateBuild(build({ source })));
  });

  test('a BuildResult of a failed build carries the error', () => {
    const result: BuildResult = { name: 'b', ok: false, status: 'failed', error: new Error('x'), durationMs: 1 };
    assert.equal(result.artifact, undefined);
  });
});

/** Never called: it only has to compile, each `@ts-expect-error` proving the types refuse a mistake. */
export function typeLevelChecks(): void {
  // @ts-expect-error -- 'i386' is no Arch
  const arch: Arch = 'i386';
  // @ts-expect-error -- 'bzip2' is no Compression
  const compression: Compression = 'bzip2';
  // @ts-expect-error -- a git source needs a uri
  const source: SourceSpec = { type: 'git', branch: 'main' };
  // @ts-expect-error -- node is required
  const options: BuildOptions = { name: 'b', app: 'a', source: directory({ path: '.' }), buildMachine: 'm' };
  void [arch, compression, source, options];
}
