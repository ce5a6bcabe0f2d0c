import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { DEFAULT_BUILDERS_DIR, DEFAULT_TEMPLATES_DIR, PACKAGE_ROOT, findMachine, loadMachines } from '../../src/machines.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let root: string;
let projectCount = 0;
before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-machines-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * A project directory with `catalogue` as templates/build_machines.json (a string is written as
 * it is), the templates in `templates` and a Dockerfile in each of builders/`builders`.
 */
function makeProject(catalogue: unknown, { templates = [] as string[], builders = [] as string[], emptyBuilders = [] as string[] } = {}) {
  const dir = path.join(root, `project-${++projectCount}`);
  mkdirSync(path.join(dir, 'templates'), { recursive: true });
  const file = path.join(dir, 'templates', 'build_machines.json');
  writeFileSync(file, typeof catalogue === 'string' ? catalogue : JSON.stringify(catalogue));
  for (const template of templates) writeFileSync(path.join(dir, 'templates', template), '#!/bin/bash\n');
  for (const builder of builders) {
    mkdirSync(path.join(dir, 'builders', builder), { recursive: true });
    writeFileSync(path.join(dir, 'builders', builder, 'Dockerfile'), 'FROM debian:bookworm\n');
  }
  for (const builder of emptyBuilders) mkdirSync(path.join(dir, 'builders', builder), { recursive: true });
  return { dir, file };
}

describe('loadMachines: the defaults', () => {
  test('the package root is the repository root', () => {
    assert.equal(PACKAGE_ROOT, REPO_ROOT);
    assert.equal(DEFAULT_TEMPLATES_DIR, path.join(REPO_ROOT, 'templates'));
    assert.equal(DEFAULT_BUILDERS_DIR, path.join(REPO_ROOT, 'builders'));
  });

  test('debian-bookworm, with absolute script and dockerfile paths, from ndist', () => {
    const machine = loadMachines().get('debian-bookworm');
    assert.ok(machine);
    assert.equal(machine.id, 'debian-bookworm');
    assert.equal(machine.image, 'ndist/debian-bookworm');
    assert.equal(machine.script, path.join(REPO_ROOT, 'templates', 'debian.sh.hbs'));
    assert.equal(machine.dockerfile, path.join(REPO_ROOT, 'builders', 'debian-bookworm'));
    assert.ok(path.isAbsolute(machine.script) && path.isAbsolute(machine.dockerfile));
    assert.equal(machine.baseImage, 'debian:bookworm');
    assert.equal(machine.format, 'deb');
    assert.ok(machine.arch.includes('amd64'));
    assert.equal(machine.compression, 'xz');
    assert.equal(machine.origin, 'ndist');
  });

  test('a project directory without templates/build_machines.json gives the defaults', () => {
    const empty = path.join(root, 'empty-project');
    mkdirSync(empty);
    assert.deepEqual(loadMachines(empty), loadMachines());
    assert.deepEqual(loadMachines(undefined), loadMachines());
  });
});

describe('loadMachines: a project catalogue', () => {
  test('adds machines and replaces defaults of the same id, with the file as origin', () => {
    const { dir, file } = makeProject(
      {
        $comment: 'keys starting with $ are not machines',
        'custom-arm': { image: 'corp/custom', script: 'custom.sh.hbs', arch: ['amd64', 'arm64'], compression: 'zstd' },
        'debian-bookworm': { description: 'Corporate bookworm', image: 'corp/debian', dockerfile: 'debian-corp', script: 'corp.sh.hbs' },
      },
      { templates: ['custom.sh.hbs', 'corp.sh.hbs'], builders: ['debian-corp'] },
    );
    const machines = loadMachines(dir);
    assert.deepEqual([...machines.keys()].sort(), [...new Set([...loadMachines().keys(), 'custom-arm'])].sort());
    assert.equal(machines.has('$comment'), false);
    assert.deepEqual(machines.get('custom-arm'), {
      id: 'custom-arm',
      description: 'custom-arm',
      image: 'corp/custom',
      dockerfile: undefined,
      baseImage: undefined,
      script: path.join(dir, 'templates', 'custom.sh.hbs'),
      format: 'deb',
      arch: ['amd64', 'arm64'],
      compression: 'zstd',
      origin: file,
    });
    // The project entry replaces the default one whole: nothing of the default is kept.
    assert.deepEqual(machines.get('debian-bookworm'), {
      id: 'debian-bookworm',
      description: 'Corporate bookworm',
      image: 'corp/debian',
      dockerfile: path.join(dir, 'builders', 'debian-corp'),
      baseImage: undefined,
      script: path.join(dir, 'templates', 'corp.sh.hbs'),
      format: 'deb',
      arch: ['amd64'],
      compression: 'xz',
      origin: file,
    });
  });

  test('a script may name a template elsewhere by an absolute path', () => {
    const { dir } = makeProject({ shared: { image: 'x/y', script: path.join(DEFAULT_TEMPLATES_DIR, 'debian.sh.hbs') } });
    assert.equal(loadMachines(dir).get('shared')?.script, path.join(REPO_ROOT, 'templates', 'debian.sh.hbs'));
  });
});

describe('loadMachines: bad catalogues', () => {
  /** Assert loading a project with `catalogue` fails with a ConfigError on machine "bad", `field`. */
  function refuses(entry: unknown, field: string, message: RegExp, files: Parameters<typeof makeProject>[1] = {}) {
    const { dir, file } = makeProject({ bad: entry }, files);
    assert.throws(
      () => loadMachines(dir),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
        assert.equal(error.field, `${file}: machine "bad" field "${field}"`);
        assert.match(error.message, message);
        return true;
      },
    );
  }

  const base = { image: 'x/y', script: 'ok.sh.hbs' };
  const withScript = { templates: ['ok.sh.hbs'] };

  test('an unknown format', () => {
    refuses({ ...base, format: 'rpm' }, 'format', /is "rpm"; allowed: deb$/, withScript);
  });

  test('an unknown compression', () => {
    refuses({ ...base, compression: 'lz4' }, 'compression', /is "lz4"; allowed: xz, gzip, zstd, none$/, withScript);
  });

  test('arch that is not a non-empty list of known arches', () => {
    refuses({ ...base, arch: 'amd64' }, 'arch', /is "amd64"; a non-empty list of: amd64, arm64$/, withScript);
    refuses({ ...base, arch: [] }, 'arch', /is \[\]; a non-empty list of: amd64, arm64$/, withScript);
    refuses({ ...base, arch: ['i386'] }, 'arch', /is \["i386"\]; a non-empty list/, withScript);
  });

  test('a missing script file, or none named', () => {
    refuses({ ...base, script: 'missing.sh.hbs' }, 'script', /names \/.*\/templates\/missing\.sh\.hbs, which does not exist$/);
    refuses({ image: 'x/y' }, 'script', /must be a non-empty string$/);
  });

  test('a missing image', () => {
    refuses({ script: 'ok.sh.hbs' }, 'image', /must be a non-empty string$/, withScript);
    refuses({ ...base, image: ' ' }, 'image', /must be a non-empty string$/, withScript);
  });

  test('a dockerfile directory without a Dockerfile', () => {
    refuses({ ...base, dockerfile: 'empty' }, 'dockerfile', /names \/.*\/builders\/empty, which holds no Dockerfile$/, { ...withScript, emptyBuilders: ['empty'] });
    refuses({ ...base, dockerfile: 'absent' }, 'dockerfile', /builders\/absent, which holds no Dockerfile$/, withScript);
  });

  test('invalid JSON, and JSON that is not an object, name the file', () => {
    for (const [catalogue, message] of [
      ['{ "bad": ', /is not valid JSON/],
      ['[]', /must be an object mapping machine ids to entries/],
      ['"text"', /must be an object mapping machine ids to entries/],
    ] as const) {
      const { dir, file } = makeProject(catalogue);
      assert.throws(
        () => loadMachines(dir),
        (error: unknown) => error instanceof ConfigError && error.field === file && message.test(error.message),
      );
    }
  });

  test(
    'an entry that is null is a ConfigError naming the machine',
    () => {
      const { dir } = makeProject({ bad: null });
      assert.throws(() => loadMachines(dir), (error: unknown) => error instanceof ConfigError && /machine "bad"/.test(error.message));
    },
  );
});

describe('findMachine', () => {
  test('returns the machine of that id', () => {
    const machines = loadMachines();
    assert.equal(findMachine(machines, 'debian-bookworm'), machines.get('debian-bookworm'));
  });

  test('an unknown id is a ConfigError listing the known ids, sorted', () => {
    const { dir } = makeProject({ 'a-first': { image: 'x/y', script: 'ok.sh.hbs' }, 'zz-last': { image: 'x/y', script: 'ok.sh.hbs' } }, { templates: ['ok.sh.hbs'] });
    const machines = loadMachines(dir);
    const known = [...machines.keys()].sort().join(', ');
    assert.ok(known.startsWith('a-first, ') && known.endsWith(', zz-last') && known.includes('debian-bookworm'));
    assert.throws(
      () => findMachine(machines, 'debian-trixie'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.field, 'buildMachine');
        assert.equal(error.message, `buildMachine: unknown build machine "debian-trixie"; known machines: ${known}`);
        return true;
      },
    );
    assert.throws(() => findMachine(machines, 'nope', 'build "x": buildMachine'), (error: unknown) => error instanceof ConfigError && error.field === 'build "x": buildMachine');
  });
});
