/**
 * The CLI as a user runs it (bin/ndist.js over lib/: `npm run build` first): init, list, render,
 * --dry-run and config files start no container; one quick real build from an ndist.config.json.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ndistContainers, TEST_SESSION } from '../helpers/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'tiny-app');
/** In Dockerfile.dev, host paths are not this container's: bind mounts cannot work there. */
const DEV_CONTAINER = process.env.NDIST_DEV_CONTAINER ? 'bind-mounts a path of this container, which the host engine does not have (runs on the host)' : false;

function ndist(args: string[], cwd: string, timeout = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin', 'ndist.js'), ...args], { cwd, timeout, env: { ...process.env, NDIST_SESSION: TEST_SESSION, CI: 'true' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A copy of tiny-app in which `import … from 'ndist'` finds this checkout. */
async function project(parent: string, name: string): Promise<string> {
  const dir = path.join(parent, name);
  await cp(FIXTURE, dir, { recursive: true });
  await mkdir(path.join(dir, 'node_modules'), { recursive: true });
  await symlink(ROOT, path.join(dir, 'node_modules', 'ndist'));
  return dir;
}

describe('ndist CLI', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ndist-cli-e2e-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('--version, and --help on every command', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    assert.equal((await ndist(['--version'], tmp)).stdout.trim(), pkg.version);
    for (const command of ['build', 'list', 'render', 'init', 'shell', 'machines', 'bootstrap-image', 'publish', 'promote', 'rollback', 'repo', 'verify']) {
      const { code, stdout } = await ndist([command, '--help'], tmp);
      assert.equal(code, 0, command);
      assert.match(stdout, new RegExp(`^Usage: ndist ${command}`), command);
    }
    assert.match((await ndist(['build', '--help'], tmp)).stdout, /--dry-run[\s\S]*--verbose/);
    const bootstrap = await ndist(['bootstrap-image', 'ubuntu:noble'], tmp);
    assert.equal(bootstrap.code, 2, 'a configuration error');
    assert.match(bootstrap.stderr, /"ubuntu:noble" is not supported; use debian:<suite>, arm64v8\/debian:<suite> or arm32v7\/debian:<suite>/);
  });

  it('init in a CommonJS project, then list, render and a dry run work on it', async () => {
    const dir = await project(tmp, 'init');
    const first = await ndist(['init', '--node', '22.23.3'], dir);
    assert.equal(first.code, 0, first.stderr);
    const again = await ndist(['init'], dir);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; not overwriting it/);

    const list = await ndist(['list'], dir);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, 'tiny-app :: bookworm\n');

    const render = await ndist(['render', 'tiny-app :: bookworm'], dir);
    assert.equal(render.code, 0, render.stderr);
    assert.match(render.stdout, /^# package:  tiny-app 1\.0\.0-1 amd64 → tiny-app_1\.0\.0-1_amd64\.deb$/m);
    assert.match(render.stdout, /^# prefix:   \/opt\/tiny-app$/m);
    assert.match(render.stdout, /^# packager: dpkg-deb --root-owner-group -Zxz --build \/ndist\/root \/ndist\/out\/tiny-app_1\.0\.0-1_amd64\.deb$/m);
    assert.match(render.stdout, /^#!\/bin\/bash$/m);
    const scriptOnly = await ndist(['render', 'tiny-app :: bookworm', '--script-only'], dir);
    assert.equal(scriptOnly.code, 0, scriptOnly.stderr);
    assert.equal(scriptOnly.stdout.split('\n')[0], '#!/bin/bash', 'the script alone, no # header');
    const fpm = await ndist(['render', 'tiny-app :: bookworm', '--packager', 'fpm'], dir);
    assert.equal(fpm.code, 0, fpm.stderr);
    assert.match(fpm.stdout, /^# packager: fpm -s dir -t deb /m);

    const dry = await ndist(['build', '--dry-run'], dir);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /artifact: .*\/dist\/tiny-app_1\.0\.0-1_amd64\.deb\ndry run: nothing was built/);
    assert.deepEqual(await ndistContainers(), [], 'no container was started');
    // The hidden ESM copy of package.ts is gone.
    assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.mts')), []);
    assert.equal((await readdir(dir)).includes('dist'), false, 'nothing was written to dist');
  });

  it('examples/package.ts: its multi-target release (two apps, a service) lists and passes a dry run, starting no container', async () => {
    const release = path.join(ROOT, 'examples', 'package.ts');
    const listed = await ndist(['list', release], tmp);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.stdout.trim().split('\n'), [
      'hello-app :: debian-bookworm :: amd64',
      'hello-app :: debian-bookworm :: arm64',
      'hello-app :: debian-trixie :: amd64',
      'hello-app :: debian-bookworm-rpm :: amd64',
      'service-app :: debian-bookworm :: amd64',
      'service-app :: debian-bookworm-rpm :: amd64',
    ]);
    const dry = await ndist(['build', release, '--dry-run'], tmp);
    assert.equal(dry.code, 0, dry.stderr);
    for (const file of ['hello-app_1.0.0-1deb12_amd64.deb', 'hello-app_1.0.0-1deb12_arm64.deb', 'hello-app_1.0.0-1deb13_amd64.deb', 'hello-app-1.0.0-1.x86_64.rpm', 'service-app_1.0.0-1_amd64.deb', 'service-app-1.0.0-1.x86_64.rpm']) assert.match(dry.stdout, new RegExp(file.replaceAll('.', '\\.')));
    assert.deepEqual(await ndistContainers(), []);
  });

  it('installed from its npm pack tarball as the README says (npm install --save-dev), npx ndist runs with its templates and machines', { timeout: 300_000 }, async () => {
    const dir = path.join(tmp, 'installed');
    await cp(FIXTURE, dir, { recursive: true });
    const run = promisify(execFile);
    const { stdout: packed } = await run('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: ROOT, maxBuffer: 1 << 26 });
    const tarball = path.join(tmp, packed.trim().split('\n').pop()!);
    await run('npm', ['install', '--save-dev', '--no-audit', '--no-fund', tarball], { cwd: dir, maxBuffer: 1 << 26 });
    const npx = (...args: string[]) => run('npx', ['--no-install', 'ndist', ...args], { cwd: dir, env: { ...process.env, NDIST_SESSION: TEST_SESSION } });
    assert.equal((await npx('--version')).stdout.trim(), JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).version);
    assert.match((await npx('machines')).stdout, /^debian-bookworm\s/m, 'templates/build_machines.json is in the package');
    // The README's setup step runs node_modules/ndist/scripts/setup.sh: it ships (syntax-checked here; CI runs it from the checkout).
    await run('bash', ['-n', path.join(dir, 'node_modules', 'ndist', 'scripts', 'setup.sh')]);
    // Only what runs from an installed package ships: scripts/bench.ts imports ../src, which does not.
    assert.deepEqual(await readdir(path.join(dir, 'node_modules', 'ndist', 'scripts')), ['setup.sh']);
    await npx('init', '--node', '22.23.3');
    const render = await npx('render', 'tiny-app :: bookworm', '--script-only');
    assert.equal(render.stdout.split('\n')[0], '#!/bin/bash', 'the templates are in the package');
    assert.match((await npx('build', '--dry-run')).stdout, /dry run: nothing was built/);
  });

  it('render of an unknown build names the builds', async () => {
    const { code, stderr } = await ndist(['render', 'nope', '--file', path.join(tmp, 'init', 'package.ts')], tmp);
    assert.equal(code, 2);
    assert.match(stderr, /no build is named "nope"; builds: "tiny-app :: bookworm"/);
  });

  it('ndist.config.json and package.json "ndist" list the same builds as a package.ts', async () => {
    const dir = await project(tmp, 'config');
    const builds = [
      { name: 'tiny :: bookworm', app: 'tiny-app', source: { type: 'directory', path: '.' }, buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'none' },
      { name: 'tiny :: gzip', app: 'tiny-app', source: { type: 'directory', path: '.' }, buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'gzip' },
    ];
    const code = `import { Builder, directory } from 'ndist';
const builder = new Builder({ outDir: 'dist' });
${builds.map((build) => `builder.addBuild({ ...${JSON.stringify({ ...build, source: undefined })}, source: directory({ path: import.meta.dirname }) });`).join('\n')}
await builder.build();
`;
    await writeFile(path.join(dir, 'code.ts'), code);
    await writeFile(path.join(dir, 'ndist.config.json'), JSON.stringify({ outDir: 'dist', builds }, null, 2));
    const fromCode = await ndist(['list', 'code.ts'], dir);
    const fromConfig = await ndist(['list'], dir);
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.equal(fromConfig.stdout, 'tiny :: bookworm\ntiny :: gzip\n');
    assert.equal(fromConfig.stdout, fromCode.stdout);

    const pkgFile = path.join(dir, 'package.json');
    await rm(path.join(dir, 'ndist.config.json'));
    await writeFile(pkgFile, JSON.stringify({ ...JSON.parse(await readFile(pkgFile, 'utf8')), ndist: { builds } }, null, 2));
    assert.equal((await ndist(['list'], dir)).stdout, fromCode.stdout);
    assert.equal((await ndist(['list', '--only', '*gzip'], dir)).stdout, 'tiny :: gzip\n');

    await writeFile(pkgFile, JSON.stringify({ ...JSON.parse(await readFile(pkgFile, 'utf8')), ndist: { builds: [{ ...builds[0], node: 22 }] } }, null, 2));
    const bad = await ndist(['list'], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /build "tiny :: bookworm" field "node": 22 is not an exact version like "22\.23\.3"/);
  });

  // The whole build, xz included, runs in the shell: as long as a build may take beside another e2e file.
  it('shell runs a command in the build machine with source, runtime and script in place, then removes it', { timeout: 600_000 }, async () => {
    const dir = path.join(tmp, 'init');
    // As the README says, `bash /ndist/build.sh` in the shell runs the whole build: everything it needs was streamed in.
    const command = 'ls /ndist/src; node --version; head -1 /ndist/build.sh; pwd; bash /ndist/build.sh > /tmp/build.log 2>&1 || cat /tmp/build.log; ls /ndist/out; exit 7';
    const { code, stdout, stderr } = await ndist(['shell', 'tiny-app :: bookworm', '--', 'sh', '-c', command], dir, 590_000);
    assert.equal(code, 7, `the command's exit code\n${stderr}`);
    assert.deepEqual(stdout.trim().split('\n'), [
      'bin', 'package-lock.json', 'package.json', 'package.ts', 'v22.23.3', '#!/bin/bash', '/ndist/src', 'tiny-app_1.0.0-1_amd64.deb', 'tiny-app_1.0.0-1_amd64.deb.cdx.json',
    ]);
    assert.match(stderr, /source in \/ndist\/src, node 22\.23\.3 in \/ndist\/runtime\/package \(on PATH\)/);
    assert.deepEqual(await ndistContainers(), [], 'the container was removed');
  });

  it('shell killed with SIGTERM while its command runs: exit 143, its container removed', { timeout: 300_000 }, async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'ndist.js'), 'shell', 'tiny-app :: bookworm', '--', 'sleep', '600'], {
      cwd: path.join(tmp, 'init'),
      env: { ...process.env, NDIST_SESSION: TEST_SESSION, CI: 'true' },
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/removed on exit/.test(stderr)) resolve();
      });
      void exited.then(() => reject(new Error(`ndist shell exited before its command ran\n${stderr}`)));
    });
    assert.equal((await ndistContainers()).length, 1, 'the shell container runs');
    child.kill('SIGTERM');
    assert.equal(await exited, 143, stderr);
    assert.match(stderr, /SIGTERM received, removing containers/);
    assert.deepEqual(await ndistContainers(), [], 'the container was removed');
  });

  it('builds a package from an ndist.config.json (no package.ts), leaving no container', { timeout: 600_000 }, async () => {
    const dir = await project(tmp, 'real');
    await writeFile(
      path.join(dir, 'ndist.config.json'),
      JSON.stringify({ outDir: 'out', builds: [{ name: 'tiny :: bookworm', app: 'tiny-app', source: { type: 'directory', path: '.' }, buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'none' }] }),
    );
    const { code, stdout, stderr } = await ndist(['build', '--verbose'], dir, 600_000);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /tiny :: bookworm \| ==> package/, '--verbose shows container output');
    assert.ok((await readdir(path.join(dir, 'out'))).includes('tiny-app_1.0.0-1_amd64.deb'));
    assert.deepEqual(await ndistContainers(), []);
  });

  it("the README's install check on that package: docker run with dist/ bind-mounted, dpkg -i, run, dpkg -r", { skip: DEV_CONTAINER }, async () => {
    // The user's own docker command, not ndist's (ndist never bind-mounts): the path must be the host's.
    const { stdout } = await promisify(execFile)('sh', ['-c', 'docker run --rm --label io.ndist.test=true -v "$PWD/out:/dist" debian:bookworm sh -c \'dpkg -i /dist/tiny-app_*.deb >/dev/null && tiny-app && dpkg -r tiny-app >/dev/null && ! test -e /usr/bin/tiny-app\''], { cwd: path.join(tmp, 'real') });
    assert.match(stdout, /^tiny-app 1\.0\.0 on node v22\.23\.3: 3600000$/m);
  });
});
