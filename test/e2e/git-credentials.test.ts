/**
 * End to end: an app whose package-lock pins git dependencies on a private git server (basic auth,
 * served by this test on the Docker bridge), one by its http URL and one by an ssh URL that
 * NDIST_GIT_URL rewrites. Without NDIST_GIT_TOKEN the build fails saying so; with it the
 * dependencies are in the package, and the token is in no log, report, package, image layer or
 * container configuration.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Builder, BuildsFailedError, directory, type BuildOptions } from '../../src/index.ts';
import { machineImageTag } from '../../src/machine/docker/image.ts';
import { loadMachines } from '../../src/machine/catalogue.ts';
import { gitCredentialEnvironment } from '../../src/build/secrets.ts';
import { cleanHost, docker, ndistContainers } from '../helpers/docker.ts';
import { startGitServer, type GitServer } from '../helpers/git-http.ts';

const TOKEN = 'ndist-git-token-3b9e0c41d7';
const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd, stdio: 'pipe' });

/** A bare repository `<root>/<name>.git` holding one commit of a tiny CommonJS package. */
async function privatePackage(root: string, name: string): Promise<void> {
  const work = path.join(root, `${name}-work`);
  await mkdir(work, { recursive: true });
  await writeFile(path.join(work, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js', license: 'MIT' }));
  await writeFile(path.join(work, 'index.js'), `module.exports = '${name} 1.0.0';\n`);
  git(work, 'init', '-q', '-b', 'main');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'private package');
  git(root, 'clone', '-q', '--bare', work, `${name}.git`);
  await rm(work, { recursive: true });
}

describe('git dependencies from a private server', { timeout: 10 * 60_000 }, () => {
  let tmp: string;
  let server: GitServer;
  let app: string;
  let outDir: string;
  let build: BuildOptions;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ndist-git-creds-'));
    const repos = path.join(tmp, 'repos');
    await mkdir(repos);
    await privatePackage(repos, 'private-dep');
    await privatePackage(repos, 'private-ssh-dep');
    server = await startGitServer(repos, TOKEN);
    const host = new URL(server.url).host;

    app = path.join(tmp, 'app');
    await mkdir(path.join(app, 'bin'), { recursive: true });
    await writeFile(path.join(app, 'bin', 'cli.js'), "#!/usr/bin/env node\nconsole.log(require('private-dep'), '+', require('private-ssh-dep'));\n");
    await writeFile(
      path.join(app, 'package.json'),
      JSON.stringify({
        name: 'git-dep-app',
        version: '1.0.0',
        license: 'MIT',
        bin: { 'git-dep-app': 'bin/cli.js' },
        dependencies: { 'private-dep': `git+${server.url}/private-dep.git`, 'private-ssh-dep': `git+ssh://git@${host}/private-ssh-dep.git` },
      }),
    );
    // The lockfile depends on the server's address, so it is made here, by the host's npm with the
    // same credentials (and ssh rewrite) the build machine gets.
    // Asynchronously: the server answering it runs in this process.
    await promisify(execFile)('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: app,
      env: { ...process.env, ...gitCredentialEnvironment({ NDIST_GIT_TOKEN: TOKEN, NDIST_GIT_URL: server.url }) },
    });
    assert.ok(!(await readFile(path.join(app, 'package-lock.json'), 'utf8')).includes(TOKEN), 'the lockfile holds no token');
    outDir = path.join(tmp, 'dist');
    build = { name: 'git-dep-app', app: 'git-dep-app', source: directory({ path: app }), buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'none' };
  });
  after(async () => {
    await server?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('without NDIST_GIT_TOKEN, fails naming the repository and the variable to set', async () => {
    delete process.env.NDIST_GIT_TOKEN;
    const lines: string[] = [];
    const builder = new Builder({ outDir, log: (_build, line) => lines.push(line) });
    builder.addBuild(build);
    await assert.rejects(builder.build(), (error: unknown) => {
      assert.ok(error instanceof BuildsFailedError, lines.join('\n'));
      assert.match(
        String(error.results[0]?.error?.message),
        /^the build script failed with exit code \d+: git could not fetch the git dependency (http|ssh):\/\/\S+\/private-(ssh-)?dep\.git\/?: set NDIST_GIT_TOKEN to a token for it, and NDIST_GIT_URL to its host \(ssh URLs are then fetched over it\)$/,
      );
      return true;
    });
    assert.ok(lines.some((line) => line.includes('private-dep.git') || line.includes('private-ssh-dep.git')), 'npm tried the private server');
    assert.deepEqual(await ndistContainers(), []);
  });

  it('with a wrong NDIST_GIT_TOKEN, the server refuses it and the message says so', async (t) => {
    process.env.NDIST_GIT_TOKEN = 'not-the-token';
    process.env.NDIST_GIT_URL = server.url;
    t.after(() => {
      delete process.env.NDIST_GIT_TOKEN;
      delete process.env.NDIST_GIT_URL;
    });
    const refused = server.counts.refused;
    const builder = new Builder({ outDir, log: () => {} });
    builder.addBuild(build);
    await assert.rejects(builder.build(), (error: unknown) => {
      assert.ok(error instanceof BuildsFailedError);
      assert.match(
        String(error.results[0]?.error?.message),
        /^the build script failed with exit code \d+: git could not fetch the git dependency (http|ssh):\/\/\S+\/private-(ssh-)?dep\.git\/?: NDIST_GIT_TOKEN did not open it \(check the token, NDIST_GIT_USERNAME, and NDIST_GIT_URL, which ssh URLs need\)$/,
      );
      return true;
    });
    assert.ok(server.counts.refused > refused, 'the server refused the build machine');
    assert.deepEqual(await ndistContainers(), []);
  });

  it('with NDIST_GIT_TOKEN, the dependencies are packaged and the token is nowhere', async (t) => {
    process.env.NDIST_GIT_TOKEN = TOKEN;
    process.env.NDIST_GIT_URL = server.url;
    t.after(() => {
      delete process.env.NDIST_GIT_TOKEN;
      delete process.env.NDIST_GIT_URL;
    });
    const lines: string[] = [];
    const inspections: Promise<unknown>[] = [];
    const builder = new Builder({
      outDir,
      log: (_build, line) => {
        lines.push(line);
        // The build container's configuration, read while it runs.
        const id = /^container: ([0-9a-f]{12}) /.exec(line)?.[1];
        if (id) inspections.push(docker.getContainer(id).inspect());
      },
    });
    const authorised = server.counts.authorised;
    builder.addBuild(build);
    const [result] = await builder.build();
    const deb = result!.artifact!;
    assert.ok(server.counts.authorised > authorised, 'the build machine fetched with the token');

    const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
    assert.match(contents, /\.\/opt\/git-dep-app\/app\/node_modules\/private-dep\/index\.js/);
    assert.match(contents, /\.\/opt\/git-dep-app\/app\/node_modules\/private-ssh-dep\/index\.js/);

    assert.equal(inspections.length, 1, 'the container was inspected');
    assert.ok(!JSON.stringify(await inspections[0]).includes(TOKEN), 'not in the container configuration');
    assert.equal(lines.filter((line) => line.includes(TOKEN)).length, 0, 'not in the log');
    for (const file of await readdir(outDir, { recursive: true })) {
      if (!file.includes('.')) continue; // directories (logs/)
      assert.ok(!(await readFile(path.join(outDir, file))).includes(TOKEN), `not in ${file}`);
    }
    const payload = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | cat; dpkg-deb --ctrl-tarfile "$1"', 'sh', deb], { maxBuffer: 1 << 30 });
    assert.ok(!payload.includes(TOKEN), 'not in the package');
    const image = await machineImageTag(loadMachines().get('debian-bookworm')!, 'amd64');
    const history = execFileSync('docker', ['history', '--no-trunc', '--format', '{{.CreatedBy}}', image], { encoding: 'utf8' });
    assert.ok(!history.includes(TOKEN), 'not in the machine image');

    const host = await cleanHost('debian:bookworm', [deb]);
    t.after(() => host.remove());
    const run = await host.sh(`dpkg -i /tmp/${path.basename(deb)} >/dev/null && git-dep-app`);
    assert.equal(run.code, 0, run.output);
    assert.equal(run.output.trim(), 'private-dep 1.0.0 + private-ssh-dep 1.0.0');
    assert.deepEqual(await ndistContainers(), []);
  });
});
