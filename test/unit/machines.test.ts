import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { DEFAULT_BUILDERS_DIR, DEFAULT_TEMPLATES_DIR, PACKAGE_ROOT, SCHEMA_FILE, findMachine, loadMachines, resolvePackageName } from '../../src/machine/catalogue.ts';

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
    assert.equal(SCHEMA_FILE, path.join(REPO_ROOT, 'templates', 'build_machines.schema.json'));
  });

  test('the catalogue has the promised machines, each deb or rpm, amd64 and arm64; armhf on the Debian ones', () => {
    const machines = loadMachines();
    assert.deepEqual([...machines.keys()].sort(), [
      'almalinux-9', 'amazonlinux-2023', 'debian-bookworm', 'debian-bookworm-rpm', 'debian-bullseye', 'debian-trixie',
      'fedora', 'rockylinux-8', 'rockylinux-9', 'ubuntu-jammy', 'ubuntu-noble',
    ]);
    for (const machine of machines.values()) {
      // 32-bit ARM where the distro still builds it and ndist can make the base image offline.
      const armhf = machine.id.startsWith('debian-');
      assert.deepEqual(machine.arch, ['amd64', 'arm64', ...(armhf ? ['armhf'] : [])], machine.id);
      assert.ok(machine.dockerfile && machine.arch.every((arch) => machine.baseImage?.[arch]), `${machine.id} builds from a Dockerfile with a base image per arch`);
      if (armhf) assert.match(machine.baseImage!.armhf!, /^arm32v7\/debian:[a-z]+$/);
      assert.ok(machine.os?.id && machine.os.versionId, `${machine.id} has its os-release facts`);
      assert.equal(machine.origin, 'ndist');
      const dockerfile = readFileSync(path.join(machine.dockerfile, 'Dockerfile'), 'utf8');
      assert.match(dockerfile, /^ARG BASE_IMAGE=.*\nFROM \$\{BASE_IMAGE\}$/m, `${machine.id}: the Dockerfile starts FROM its BASE_IMAGE`);
      assert.match(dockerfile, /\bgit\b/, `${machine.id} installs git`);
      assert.match(dockerfile, /python3/, `${machine.id} installs python for node-gyp`);
      assert.match(dockerfile, machine.format === 'rpm' ? /\brpm(-build)?\b/ : /dpkg-dev/, `${machine.id} installs its packaging tool`);
      assert.match(dockerfile, /ARG FPM_VERSION=/, `${machine.id} can add fpm`);
      if (machine.format === 'rpm') assert.equal(machine.specTemplate, path.join(REPO_ROOT, 'templates', 'rpm.spec.hbs'));
      else assert.equal(machine.specTemplate, undefined);
    }
  });

  test('debian-bookworm, with absolute script and dockerfile paths, from ndist', () => {
    const machine = loadMachines().get('debian-bookworm');
    assert.ok(machine);
    assert.equal(machine.image, 'ndist/debian-bookworm');
    assert.equal(machine.script, path.join(REPO_ROOT, 'templates', 'debian.sh.hbs'));
    assert.equal(machine.dockerfile, path.join(REPO_ROOT, 'builders', 'debian'));
    assert.deepEqual(machine.baseImage, { amd64: 'debian:bookworm', arm64: 'arm64v8/debian:bookworm', armhf: 'arm32v7/debian:bookworm' });
    assert.equal(machine.format, 'deb');
    assert.equal(machine.compression, 'xz');
    assert.deepEqual(machine.os, { id: 'debian', versionId: '12', codename: 'bookworm' });
    assert.equal(machine.packages.sqlite, 'libsqlite3-0');
  });

  test('rpm machines use the dnf script, the Debian-based one the apt script', () => {
    const machines = loadMachines();
    for (const id of ['rockylinux-8', 'rockylinux-9', 'almalinux-9', 'fedora', 'amazonlinux-2023']) {
      assert.equal(machines.get(id)?.format, 'rpm');
      assert.equal(machines.get(id)?.script, path.join(REPO_ROOT, 'templates', 'redhat.sh.hbs'));
      assert.equal(machines.get(id)?.packages.sqlite, 'sqlite-libs');
    }
    assert.equal(machines.get('debian-bookworm-rpm')?.script, path.join(REPO_ROOT, 'templates', 'debian.sh.hbs'));
    assert.equal(machines.get('rockylinux-8')?.dockerfile, path.join(REPO_ROOT, 'builders', 'rockylinux-8'));
    assert.equal(machines.get('almalinux-9')?.dockerfile, machines.get('rockylinux-9')?.dockerfile);
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
        $schema: '../node_modules/ndist/templates/build_machines.schema.json',
        $comment: 'keys starting with $ are not machines',
        'custom-arm': { image: 'corp/custom', script: 'custom.sh.hbs', arch: ['amd64', 'arm64'], compression: 'zstd' },
        'debian-bookworm': { description: 'Corporate bookworm', image: 'corp/debian', dockerfile: 'debian-corp', baseImage: 'corp/bookworm', script: 'corp.sh.hbs', format: 'deb' },
      },
      { templates: ['custom.sh.hbs', 'corp.sh.hbs'], builders: ['debian-corp'] },
    );
    const machines = loadMachines(dir);
    assert.deepEqual([...machines.keys()].sort(), [...new Set([...loadMachines().keys(), 'custom-arm'])].sort());
    assert.equal(machines.has('$comment'), false);
    assert.equal(machines.has('$schema'), false);
    assert.deepEqual(machines.get('custom-arm'), {
      id: 'custom-arm',
      description: 'custom-arm',
      image: 'corp/custom',
      dockerfile: undefined,
      baseImage: undefined,
      buildArgs: {},
      script: path.join(dir, 'templates', 'custom.sh.hbs'),
      specTemplate: undefined,
      format: 'deb',
      arch: ['amd64', 'arm64'],
      compression: 'zstd',
      os: undefined,
      packages: {},
      origin: file,
    });
    // The project entry replaces the default one whole: nothing of the default is kept.
    assert.deepEqual(machines.get('debian-bookworm'), {
      id: 'debian-bookworm',
      description: 'Corporate bookworm',
      image: 'corp/debian',
      dockerfile: path.join(dir, 'builders', 'debian-corp'),
      baseImage: { amd64: 'corp/bookworm' },
      buildArgs: {},
      script: path.join(dir, 'templates', 'corp.sh.hbs'),
      specTemplate: undefined,
      format: 'deb',
      arch: ['amd64'],
      compression: 'xz',
      os: undefined,
      packages: {},
      origin: file,
    });
  });

  test("an entry may reuse ndist's script, Dockerfile and spec template, or bring its own", () => {
    const { dir } = makeProject(
      {
        reuse: { image: 'corp/rpm', dockerfile: 'debian-rpm', baseImage: { amd64: 'debian:bookworm' }, script: 'debian.sh.hbs', format: 'rpm', buildArgs: { FPM_VERSION: '1.16.0' } },
        own: { image: 'corp/rpm2', script: 'own.sh.hbs', format: 'rpm', specTemplate: 'own.spec.hbs' },
      },
      { templates: ['own.sh.hbs', 'own.spec.hbs'] },
    );
    const machines = loadMachines(dir);
    assert.equal(machines.get('reuse')?.script, path.join(REPO_ROOT, 'templates', 'debian.sh.hbs'));
    assert.equal(machines.get('reuse')?.dockerfile, path.join(REPO_ROOT, 'builders', 'debian-rpm'));
    assert.equal(machines.get('reuse')?.specTemplate, path.join(REPO_ROOT, 'templates', 'rpm.spec.hbs'));
    assert.deepEqual(machines.get('reuse')?.buildArgs, { FPM_VERSION: '1.16.0' });
    assert.equal(machines.get('own')?.script, path.join(dir, 'templates', 'own.sh.hbs'));
    assert.equal(machines.get('own')?.specTemplate, path.join(dir, 'templates', 'own.spec.hbs'));
  });

  test('a script may name a template elsewhere by an absolute path', () => {
    const { dir } = makeProject({ shared: { image: 'x/y', script: path.join(DEFAULT_TEMPLATES_DIR, 'debian.sh.hbs') } });
    assert.equal(loadMachines(dir).get('shared')?.script, path.join(REPO_ROOT, 'templates', 'debian.sh.hbs'));
  });
});

describe('loadMachines: bad catalogues', () => {
  /** Assert loading a project with `catalogue` fails with a ConfigError on machine "bad", `field`. */
  function refuses(entry: unknown, field: string | undefined, message: RegExp, files: Parameters<typeof makeProject>[1] = {}) {
    const { dir, file } = makeProject({ good: { image: 'x/y', script: 'debian.sh.hbs' }, bad: entry }, files);
    assert.throws(
      () => loadMachines(dir),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
        assert.equal(error.field, field ? `${file}: machine "bad" field "${field}"` : `${file}: machine "bad"`);
        assert.match(error.message, message);
        return true;
      },
    );
  }

  const base = { image: 'x/y', script: 'ok.sh.hbs' };
  const withScript = { templates: ['ok.sh.hbs'] };

  test('an unknown format', () => {
    refuses({ ...base, format: 'apk' }, 'format', /: is "apk"; allowed: deb, rpm$/, withScript);
  });

  test('an unknown compression', () => {
    refuses({ ...base, compression: 'lz4' }, 'compression', /: is "lz4"; allowed: xz, gzip, zstd, none$/, withScript);
  });

  test('arch that is not a non-empty list of known arches', () => {
    refuses({ ...base, arch: 'amd64' }, 'arch', /: must be array, got "amd64"$/, withScript);
    refuses({ ...base, arch: [] }, 'arch', /: must NOT have fewer than 1 items$/, withScript);
    refuses({ ...base, arch: ['i386'] }, 'arch[0]', /: is "i386"; allowed: amd64, arm64, armhf$/, withScript);
    refuses({ ...base, arch: ['amd64', 'amd64'] }, 'arch', /must NOT have duplicate items/, withScript);
  });

  test('a misspelt field is named', () => {
    refuses({ ...base, fromat: 'rpm' }, 'fromat', /: is not a known option$/, withScript);
    refuses({ ...base, os: { id: 'debian', version: '12' } }, 'os.versionId', /: is required/, withScript);
  });

  test('a missing script file, or none named', () => {
    refuses({ ...base, script: 'missing.sh.hbs' }, 'script', /names missing\.sh\.hbs, which is in none of \/.*\/templates, \/.*\/templates$/);
    refuses({ image: 'x/y' }, 'script', /: is required$/);
  });

  test('a missing image', () => {
    refuses({ script: 'ok.sh.hbs' }, 'image', /: is required$/, withScript);
    refuses({ ...base, image: ' ' }, 'image', /: must match pattern/, withScript);
  });

  test('a dockerfile directory without a Dockerfile', () => {
    refuses({ ...base, dockerfile: 'empty' }, 'dockerfile', /names empty, which holds no Dockerfile in any of \/.*\/builders, /, { ...withScript, emptyBuilders: ['empty'] });
    refuses({ ...base, dockerfile: 'absent' }, 'dockerfile', /names absent, which holds no Dockerfile/, withScript);
  });

  test('a base image per arch must cover every arch, and needs a dockerfile', () => {
    refuses({ ...base, dockerfile: 'd', arch: ['amd64', 'arm64'], baseImage: { amd64: 'debian:bookworm' } }, 'baseImage', /names no image for arm64, which the machine builds/, { ...withScript, builders: ['d'] });
    refuses({ ...base, baseImage: 'debian:bookworm' }, 'baseImage', /only applies with dockerfile/, withScript);
    refuses({ ...base, dockerfile: 'd', baseImage: { i386: 'x' } }, 'baseImage', /must be string|is not a known option/, { ...withScript, builders: ['d'] });
  });

  test('a spec template only for rpm, and it must exist', () => {
    refuses({ ...base, specTemplate: 'x.spec.hbs' }, 'specTemplate', /only applies to machines of format rpm/, withScript);
    refuses({ ...base, format: 'rpm', specTemplate: 'x.spec.hbs' }, 'specTemplate', /names x\.spec\.hbs, which is in none of/, withScript);
  });

  test('an invalid machine id', () => {
    const { dir } = makeProject({ 'Bad Id': base }, withScript);
    assert.throws(() => loadMachines(dir), (error: unknown) => error instanceof ConfigError && /machine "Bad Id": is not an allowed name; give a machine id/.test(error.message));
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

  test('an entry that is null is a ConfigError naming the machine', () => {
    refuses(null, undefined, /: must be object, got null$/);
  });
});

describe('resolvePackageName', () => {
  test('@names are the machine\'s distro packages; others are kept', () => {
    const machines = loadMachines();
    assert.equal(resolvePackageName(machines.get('debian-bullseye')!, '@ssl', 'runtimeDeps[0]'), 'libssl1.1');
    assert.equal(resolvePackageName(machines.get('ubuntu-noble')!, '@ssl', 'runtimeDeps[0]'), 'libssl3t64');
    assert.equal(resolvePackageName(machines.get('rockylinux-9')!, '@sqlite-dev', 'buildDeps[0]'), 'sqlite-devel');
    assert.equal(resolvePackageName(machines.get('rockylinux-9')!, 'gcc', 'buildDeps[0]'), 'gcc');
  });

  test('an unknown @name is a ConfigError naming the field and the machine', () => {
    assert.throws(
      () => resolvePackageName(loadMachines().get('debian-bookworm')!, '@nope', 'buildDeps[1]'),
      (error: unknown) => error instanceof ConfigError && error.field === 'buildDeps[1]' && /"@nope" is not defined by machine debian-bookworm \(its "packages": @sqlite, /.test(error.message),
    );
  });
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
      () => findMachine(machines, 'debian-sid'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.field, 'buildMachine');
        assert.equal(error.message, `buildMachine: unknown build machine "debian-sid"; known machines: ${known}`);
        return true;
      },
    );
    assert.throws(() => findMachine(machines, 'nope', 'build "x": buildMachine'), (error: unknown) => error instanceof ConfigError && error.field === 'build "x": buildMachine');
  });
});
