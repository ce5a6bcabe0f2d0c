import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ts from 'typescript';
import { collectBuilds } from '../../src/commands/main.ts';
import { CONFIG_FILE, configBuilds, defaultBuildFile, parseConfig, runConfigFile } from '../../src/options/config.ts';
import { SCHEMA_FILE } from '../../src/options/schema.ts';
import { ConfigError } from '../../src/errors.ts';
import { setRunSettings } from '../../src/options/run-settings.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'tiny-app');

/** The property names of an interface in src/options/types.ts, read with the TypeScript compiler. */
function interfaceKeys(name: string): string[] {
  const file = path.join(ROOT, 'src', 'options', 'types.ts');
  const source = ts.createSourceFile(file, ts.sys.readFile(file)!, ts.ScriptTarget.Latest);
  const node = source.statements.find((statement): statement is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(statement) && statement.name.text === name);
  assert.ok(node, `interface ${name} in src/options/types.ts`);
  return node.members.map((member) => (member.name as ts.Identifier).text).sort();
}

const build = { name: 'tiny :: bookworm', app: 'tiny-app', source: { type: 'directory', path: '.' }, buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'none' };

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${error}`);
    return error.message;
  }
  assert.fail('no error');
}

/** The options a README reference table (under `heading`) documents, in its first column. */
async function readmeOptions(heading: string): Promise<string[]> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has the section ${heading}`);
  const section = readme.slice(start + heading.length + 2).split(/\n#{2,4} /)[0]!;
  // A row's first cell names one option or several (`a`, `b`).
  const cells = [...section.matchAll(/^\| (`\w+`(?:, `\w+`)*) \|/gm)].map((match) => match[1]!);
  return cells.flatMap((cell) => [...cell.matchAll(/`(\w+)`/g)].map((name) => name[1]!)).sort();
}

describe("README's configuration reference", () => {
  test('documents every option of new Builder() and of addBuild(), and no option that does not exist', async () => {
    assert.deepEqual(await readmeOptions('### `new Builder(options)`'), interfaceKeys('BuilderOptions'));
    assert.deepEqual(await readmeOptions('### `builder.addBuild(options)`'), interfaceKeys('BuildOptions'));
  });
});

describe('ndist.config.schema.json', () => {
  test('describes every BuildOptions key and nothing else', async () => {
    const schema = JSON.parse(await readFile(SCHEMA_FILE, 'utf8'));
    assert.deepEqual(Object.keys(schema.definitions.build.properties).sort(), interfaceKeys('BuildOptions'));
    const required = interfaceKeys('BuildOptions').filter((key) => !ts.sys.readFile(path.join(ROOT, 'src', 'options', 'types.ts'))!.includes(`  ${key}?:`));
    assert.deepEqual([...schema.definitions.build.required].sort(), required);
  });

  test('describes every BuilderOptions key but the log callback, plus builds', async () => {
    const schema = JSON.parse(await readFile(SCHEMA_FILE, 'utf8'));
    const keys = Object.keys(schema.properties).filter((key) => key !== 'builds' && key !== '$schema').sort();
    assert.deepEqual(keys, interfaceKeys('BuilderOptions').filter((key) => key !== 'log'));
  });

  test('is shipped in the package', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    assert.ok(pkg.files.includes('ndist.config.schema.json'));
  });
});

describe('config files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ndist-config-test-'));
    await cp(FIXTURE, dir, { recursive: true });
  });
  after(async () => {
    setRunSettings(undefined);
    await rm(dir, { recursive: true, force: true });
  });

  test('schema errors name the file, the build and the field', () => {
    const message = configError(() => parseConfig({ builds: [{ ...build, compression: 'lzma', colour: 'red' }] }, 'ndist.config.json'));
    assert.match(message, /build "tiny :: bookworm" field "compression": is "lzma"; allowed: xz, gzip, zstd, none/);
    assert.match(message, /build "tiny :: bookworm" field "colour": is not a known option/);
    assert.match(configError(() => parseConfig({ builds: [{ app: 'x' }] }, 'f.json')), /f\.json: does not match ndist\.config\.schema\.json:\n  build #1 field "name": is required/);
    assert.match(configError(() => parseConfig({ outDir: 3, builds: [build] }, 'f.json')), /:\n  field "outDir": must be string, got 3/);
    assert.match(configError(() => parseConfig({ builds: [{ ...build, source: { type: 'directory' } }] }, 'f.json')), /field "source.path": is required/);
  });

  test('service options are accepted as data; a wrong one is named', () => {
    const service = {
      ...build,
      user: 'tiny',
      service: { command: ['/usr/bin/tiny-app', 'serve'], environment: { PORT: '8080' }, hardening: { protectSystem: 'full' } },
      configFiles: [{ path: '/etc/tiny-app/config.json', source: 'package.json' }],
      directories: [{ path: '/var/log/tiny-app', mode: '0750' }],
      provides: ['tiny-api'],
      hooks: { postinst: 'bin/tiny.js' },
    };
    assert.doesNotThrow(() => parseConfig({ builds: [service] }, 'f.json'));
    const message = configError(() => parseConfig({ builds: [{ ...service, service: { restart: 'sometimes' } }] }, 'f.json'));
    assert.match(message, /build "tiny :: bookworm" field "service\.restart": is "sometimes"; allowed: no, on-success/);
  });

  test("addBuild's own checks name the build too", async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ builds: [{ ...build, group: 'tiny' }] }));
    setRunSettings({ mode: 'list' });
    await assert.rejects(runConfigFile(file), /bad\.json: build "tiny :: bookworm" field group: needs a user/);
  });

  test('relative paths are relative to the file', async () => {
    const file = path.join(dir, CONFIG_FILE);
    await writeFile(file, JSON.stringify({ outDir: 'out', builds: [build] }));
    const { builder, builds } = configBuilds(file);
    assert.equal(builder.outDir, path.join(dir, 'out'));
    assert.equal(builder.machinesDir, dir);
    assert.deepEqual(builds[0]!.source, { type: 'directory', path: dir });
  });

  test('engines: a wrong field is named with what would be right; TLS files are relative to the file', async () => {
    const message = configError(() => parseConfig({ engines: [{ name: 'arm box', host: 'docker.example:2375', arch: ['arm'] }], builds: [build] }, 'f.json'));
    assert.match(message, /field "engines\[0\]\.name": "arm box" is not a name of letters, digits and \. _ - like "arm-box"/);
    assert.match(message, /field "engines\[0\]\.host": "docker\.example:2375" is not unix:\/\/\/path\/to\/docker\.sock, tcp:\/\/host:port or ssh:\/\/user@host/);
    assert.match(message, /field "engines\[0\]\.arch\[0\]": is "arm"; allowed: amd64, arm64, armhf/);
    const file = path.join(dir, 'engines.json');
    await writeFile(file, JSON.stringify({ engines: [{ name: 'server', host: 'tcp://build.invalid:2376', tls: { ca: 'certs/ca.pem' } }, { name: 'local' }], builds: [build] }));
    assert.deepEqual(configBuilds(file).builder.engines, [{ name: 'server', host: 'tcp://build.invalid:2376', tls: { ca: path.join(dir, 'certs', 'ca.pem') } }, { name: 'local' }]);
    await assert.rejects(runConfigFile(file), /engines\.json: field engines\[0\]\.tls\.ca: ".*certs\/ca\.pem" is not a file; give the path of the PEM file/);
  });

  test('package.json "ndist" block', async () => {
    const pkgFile = path.join(dir, 'package.json');
    const pkg = JSON.parse(await readFile(pkgFile, 'utf8'));
    await writeFile(pkgFile, JSON.stringify({ ...pkg, ndist: { builds: [build] } }));
    assert.deepEqual(configBuilds(pkgFile).builds.map((b) => b.name), ['tiny :: bookworm']);
    await writeFile(pkgFile, JSON.stringify({ ...pkg, ndist: { builds: [] } }));
    assert.match(configError(() => configBuilds(pkgFile)), /package\.json "ndist": does not match ndist\.config\.schema\.json:\n  field "builds": must NOT have fewer than 1 items/);
    await writeFile(pkgFile, JSON.stringify(pkg));
  });

  test('no file: package.ts, else ndist.config.json, else package.json with an "ndist" block', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'ndist-config-default-'));
    try {
      assert.match(configError(() => defaultBuildFile(empty)), /no package\.ts, no ndist\.config\.json.*ndist init/);
      await writeFile(path.join(empty, 'package.json'), JSON.stringify({ name: 'x', ndist: { builds: [] } }));
      assert.equal(defaultBuildFile(empty), path.join(empty, 'package.json'));
      await writeFile(path.join(empty, CONFIG_FILE), '{}');
      assert.equal(defaultBuildFile(empty), path.join(empty, CONFIG_FILE));
      await writeFile(path.join(empty, 'package.ts'), '');
      assert.equal(defaultBuildFile(empty), path.join(empty, 'package.ts'));
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  test('a config file gives the Builder the same options as the equivalent package.ts', async () => {
    const second = { ...build, name: 'tiny :: gzip', compression: 'gzip', runtimeDeps: ['libc6'], fpmArgs: ['--deb-priority', 'optional'] };
    await writeFile(path.join(dir, CONFIG_FILE), JSON.stringify({ outDir: 'dist', concurrency: 2, builds: [build, second] }));
    const packageTs = path.join(dir, 'equivalent.mts');
    await writeFile(
      packageTs,
      `import { Builder, directory } from ${JSON.stringify(path.join(ROOT, 'src', 'index.ts'))};
const builder = new Builder({ outDir: ${JSON.stringify(path.join(dir, 'dist'))}, concurrency: 2, machinesDir: ${JSON.stringify(dir)} });
builder.addBuild({ name: 'tiny :: bookworm', app: 'tiny-app', source: directory({ path: ${JSON.stringify(dir)} }), buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'none' });
builder.addBuild({ name: 'tiny :: gzip', app: 'tiny-app', source: directory({ path: ${JSON.stringify(dir)} }), buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'gzip', runtimeDeps: ['libc6'], fpmArgs: ['--deb-priority', 'optional'] });
await builder.build();
`,
    );
    const fromConfig = await collectBuilds(path.join(dir, CONFIG_FILE));
    const fromCode = await collectBuilds(packageTs);
    assert.deepEqual(fromConfig, fromCode);
    assert.deepEqual(fromConfig[0]!.builds.map((b) => b.name), ['tiny :: bookworm', 'tiny :: gzip']);
    // --only selects among a config file's builds as among a package.ts's.
    assert.deepEqual((await collectBuilds(path.join(dir, CONFIG_FILE), ['*gzip']))[0]!.builds.map((b) => b.name), ['tiny :: gzip']);
  });
});
