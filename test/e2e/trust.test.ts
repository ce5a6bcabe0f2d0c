/**
 * End to end, with a small native addon that links the system's libsqlite3:
 * - the health check refuses a package whose addon needs a library no runtimeDep provides, and
 *   passes once the dependency is declared (the package then installs with apt, pulling it in);
 * - hostile text in the fields that are packaged literally executes nothing in the build machine:
 *   had any of it run, it would have created a file in the staging tree, hence in the package.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, BuildsFailedError, directory, type BuildOptions } from '../../src/index.ts';
import { cacheMounts, cacheVolumes } from '../../src/cache/dependency-cache.ts';
import { BuildContainer } from '../../src/machine/docker/container.ts';
import { machineImageTag } from '../../src/machine/docker/image.ts';
import { loadMachines } from '../../src/machine/catalogue.ts';
import { TEST_LABEL, cleanHost, docker, ndistContainers } from '../helpers/docker.ts';

const TOKEN = 'ndist-test-token-5f1c9a77e0';
const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'native-link');

const HOSTILE = [
  '$(touch /ndist/root/opt/pwned-dollar)',
  '`touch /ndist/root/opt/pwned-backtick`',
  "'; touch /ndist/root/opt/pwned-quote; '",
  '"; touch /ndist/root/opt/pwned-dquote; "',
  '; rm -rf /ndist/root/opt ; touch /ndist/root/opt/pwned-semicolon',
  'ünïcødé — ✓ $HOME ${PATH} * ? [a] {b,c} \\ | & > /ndist/root/opt/pwned-redirect',
  // rpm macros: %(…) runs a shell when a spec file is parsed.
  '%(touch /ndist/root/opt/pwned-macro) %{__rm} %%',
];
/** A homepage is one word (rpm's URL tag takes no spaces, so validation refuses them). */
const HOSTILE_URL = 'https://example.invalid/?q=$(touch${IFS}/ndist/root/opt/pwned-url)`id`\'"&x=%(id)|;<>';

describe('health check and hostile inputs', { timeout: 20 * 60_000 }, () => {
  let outDir: string;
  const base: BuildOptions = {
    name: 'native-link',
    app: 'native-link',
    source: directory({ path: FIXTURE }),
    buildMachine: 'debian-bookworm',
    node: '22.23.3',
    buildDeps: ['libsqlite3-dev'],
    compression: 'none',
  };

  before(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'ndist-trust-'));
  });
  after(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('fails the health check when the addon needs a library that no runtimeDep provides', async () => {
    const builder = new Builder({ outDir, log: () => {} });
    builder.addBuild({ ...base, runtimeDeps: [] });
    await assert.rejects(builder.build(), (error: unknown) => {
      assert.ok(error instanceof BuildsFailedError);
      const message = String(error.results[0]?.error?.message);
      assert.match(message, /^the health check failed \(set healthCheck: 'warn' to package anyway\):$/m);
      assert.match(
        message,
        /^ {2}\/opt\/native-link\/app\/build\/Release\/sqlite_version\.node needs libsqlite3\.so\.0 \(\/\S+, from package libsqlite3-0\), which is neither in the package nor in runtimeDeps: add 'libsqlite3-0' to runtimeDeps$/m,
      );
      return true;
    });
    assert.deepEqual((await readdir(outDir)).filter((name) => name.endsWith('.deb') || name.includes('partial')), [], 'no artifact');
    assert.deepEqual(await ndistContainers(), []);
  });

  it('refuses a bundled package whose licence allowedLicenses does not list', async () => {
    const builder = new Builder({ outDir, log: () => {} });
    builder.addBuild({ ...base, runtimeDeps: ['libsqlite3-0'], allowedLicenses: ['Apache-2.0', 'ISC'] });
    await assert.rejects(builder.build(), (error: unknown) => {
      assert.ok(error instanceof BuildsFailedError);
      assert.match(String(error.results[0]?.error?.message), /^bundled packages are under licences allowedLicenses does not list:\n {2}ms@2\.1\.3 is under MIT, which allowedLicenses does not list$/);
      return true;
    });
    assert.deepEqual((await readdir(outDir)).filter((name) => name.endsWith('.deb') || name.includes('partial')), [], 'no artifact');
  });

  it('passes once declared, with hostile metadata packaged literally, nothing executed and NPM_TOKEN nowhere', async (t) => {
    const lines: string[] = [];
    const builder = new Builder({ outDir, log: (_build, line) => lines.push(line) });
    process.env.NPM_TOKEN = TOKEN;
    t.after(() => delete process.env.NPM_TOKEN);
    builder.addBuild({
      ...base,
      runtimeDeps: ['libsqlite3-0 (>= 3.40)'],
      allowedLicenses: ['MIT'],
      description: HOSTILE.join(' '),
      maintainer: `${HOSTILE[0]} <x@example.invalid>`,
      homepage: HOSTILE_URL,
      license: HOSTILE[2],
      fpmArgs: HOSTILE,
    });
    const [result] = await builder.build();
    const deb = result!.artifact!;

    // The token reached the build step (the fixture's preinstall says so) and nothing kept it.
    assert.ok(lines.includes('npm token: present'), 'NPM_TOKEN reached npm ci');
    assert.equal(lines.filter((line) => line.includes(TOKEN)).length, 0, 'not in the log');
    for (const file of await readdir(outDir, { recursive: true })) {
      if (!file.includes('.')) continue; // directories (logs/)
      assert.ok(!(await readFile(path.join(outDir, file))).includes(TOKEN), `not in ${file}`);
    }
    const payload = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | cat', 'sh', deb], { maxBuffer: 1 << 30 });
    assert.ok(!payload.includes(TOKEN), 'not in the package');
    const image = await machineImageTag(loadMachines().get('debian-bookworm')!, 'amd64');
    const history = execFileSync('docker', ['history', '--no-trunc', '--format', '{{.CreatedBy}}', image], { encoding: 'utf8' });
    assert.ok(!history.includes(TOKEN), 'not in the machine image');
    // npm downloaded with the token into the shared npm cache volume: packages only, no token.
    const reader = await BuildContainer.start(docker, image, { labels: { [TEST_LABEL]: 'true' }, env: { TOKEN }, mounts: cacheMounts(cacheVolumes()) });
    try {
      const found: string[] = [];
      const code = await reader.exec(['sh', '-c', 'test -n "$(ls -A /ndist/cache/npm)" && ! grep -rlF -- "$TOKEN" /ndist/cache'], { env: { TOKEN }, onLine: (line) => found.push(line) });
      assert.equal(code, 0, `the npm cache is filled and holds no token: ${found.join(', ')}`);
    } finally {
      await reader.remove();
    }

    const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
    assert.doesNotMatch(contents, /pwned/, 'no hostile command ran in the build machine');
    assert.match(contents, /\.\/opt\/native-link\/node\/bin\/node/, 'the package is complete');
    assert.match(contents, /\.\/opt\/native-link\/share\/licenses\/ms@2\.1\.3\/license\.md/, "each package's licence file is bundled");
    assert.match(contents, /\.\/opt\/native-link\/share\/licenses\/node@22\.23\.3\/LICENSE/, "and the runtime's");
    const sbom = JSON.parse(await readFile(result!.sbom!.path, 'utf8')) as { bomFormat: string; components: { name: string; version: string }[] };
    assert.equal(sbom.bomFormat, 'CycloneDX');
    assert.deepEqual(sbom.components.map((component) => `${component.name}@${component.version}`), ['ms@2.1.3']);
    const field = (name: string) => execFileSync('dpkg-deb', ['--field', deb, name], { encoding: 'utf8' }).trimEnd();
    assert.equal(field('Description'), HOSTILE.join(' '));
    assert.equal(field('Maintainer'), `${HOSTILE[0]} <x@example.invalid>`);
    assert.equal(field('Homepage'), HOSTILE_URL);
    // The declared runtimeDeps, then the glibc floor the health check found in the bundled node.
    assert.match(field('Depends'), /^libsqlite3-0 \(>= 3\.40\), libc6 \(>= 2\.\d+\), libstdc\+\+6 \(>= [\d.]+\)$/);

    const host = await cleanHost('debian:bookworm', [deb]);
    t.after(() => host.remove());
    const install = await host.sh(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/${path.basename(deb)}`);
    assert.equal(install.code, 0, install.output);
    const run = await host.sh('native-link');
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /^system sqlite 3\.\d+\.\d+, ms 2000$/m);
    assert.deepEqual(await ndistContainers(), []);
  });

  it('every free-text field hostile at once, in a .deb and an .rpm: packaged literally, nothing executed', async (t) => {
    // tiny-app with its entry script under a hostile file name.
    const app = path.join(outDir, 'hostile-app');
    await cp(path.resolve(import.meta.dirname, '..', 'fixtures', 'tiny-app'), app, { recursive: true });
    // A file name holds no "/": these would run from the build's working directory, in the app.
    const entry = 'bin/$(touch hacked) `touch hacked` \'q\' "d" ; & | %(touch hacked) ü.js';
    await copyFile(path.join(app, 'bin', 'tiny.js'), path.join(app, entry));
    t.after(() => rm(app, { recursive: true, force: true }));
    const fields = {
      description: HOSTILE.join(' '),
      maintainer: `${HOSTILE[1]} <x@example.invalid>`,
      homepage: HOSTILE_URL,
      license: HOSTILE[6]!,
    };
    const lines: string[] = [];
    const builder = new Builder({ outDir, log: (build, line) => lines.push(`${build} | ${line}`) });
    for (const [format, buildMachine] of [['deb', 'debian-bookworm'], ['rpm', 'debian-bookworm-rpm']] as const) {
      builder.addBuild({
        name: `${HOSTILE[0]} ${HOSTILE[4]} :: ${format}`,
        app: 'tiny-app',
        source: directory({ path: app }),
        buildMachine,
        node: '22.23.3',
        compression: 'none',
        entry,
        fpmArgs: HOSTILE,
        ...fields,
      });
    }
    const results = await builder.build().catch((error: unknown) => assert.fail(`${error}\n${lines.slice(-40).join('\n')}`));
    const [deb, rpm] = results.map((result) => result.artifact!);

    const debFiles = execFileSync('dpkg-deb', ['--contents', deb!], { encoding: 'utf8' });
    const rpmFiles = execFileSync('rpm', ['-qlp', rpm!], { encoding: 'utf8' });
    for (const files of [debFiles, rpmFiles]) {
      assert.doesNotMatch(files, /(^|\/)(pwned-[a-z]+|hacked)$/m, 'no hostile command ran in the build machine');
      assert.ok(files.includes(`/opt/tiny-app/app/${entry}`), 'the entry is packaged under its own name');
    }
    const field = (name: string) => execFileSync('dpkg-deb', ['--field', deb!, name], { encoding: 'utf8' }).trimEnd();
    assert.deepEqual([field('Description'), field('Maintainer'), field('Homepage')], [fields.description, fields.maintainer, fields.homepage]);
    const rpmField = (tag: string) => execFileSync('rpm', ['-qp', '--qf', `%{${tag}}`, rpm!], { encoding: 'utf8' });
    assert.deepEqual(
      [rpmField('SUMMARY'), rpmField('DESCRIPTION').trimEnd(), rpmField('PACKAGER'), rpmField('URL'), rpmField('LICENSE')],
      [fields.description, fields.description, fields.maintainer, fields.homepage, fields.license],
    );
    const copyright = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./usr/share/doc/tiny-app/copyright', 'sh', deb!], { encoding: 'utf8' });
    assert.ok(copyright.split('\n').includes(`License: ${fields.license}`), copyright);
    const wrapper = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./usr/bin/tiny-app', 'sh', deb!], { encoding: 'utf8' });
    // The wrapper runs the command's link, which points at the hostile-named entry: a name in a link
    // target, never in a shell line.
    assert.ok(wrapper.includes(`/opt/tiny-app/bin/tiny-app "$@"`), wrapper);
    assert.ok(debFiles.includes(`./opt/tiny-app/bin/tiny-app -> ../app/${entry}\n`), debFiles);

    // Installed, the wrapper runs the hostile-named entry as data.
    const host = await cleanHost('debian:bookworm', [deb!]);
    t.after(() => host.remove());
    const run = await host.sh(`dpkg -i /tmp/${path.basename(deb!)} >/dev/null && tiny-app && ls /opt`);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /^tiny-app 1\.0\.0 on node v22\.23\.3: 3600000\ntiny-app$/);
    assert.deepEqual(await ndistContainers(), []);
  });
});
