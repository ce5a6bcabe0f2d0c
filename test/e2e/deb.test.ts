/**
 * End to end: the README's example (one target of examples/package.ts, through the ndist CLI, as
 * `npm run example` runs it) builds the fixture app, which has a native addon, in the debian-bookworm build machine; the .deb is installed on a
 * clean Debian 12 container with no Node and no compiler, run, and removed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, directory } from '../../src/index.ts';
import { cleanHost, ndistContainers } from '../helpers/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The one target of examples/package.ts that `npm run example` builds, read from package.json so the two cannot drift. */
function exampleTarget(): string {
  const script = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.example!;
  const match = /--only '([^']+)'/.exec(script);
  assert.ok(match, `npm run example builds one target: ${script}`);
  return match[1]!;
}
const NODE_VERSION = '22.23.3';

function runCli(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'ndist.js'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk;
      process.stderr.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the example builds a .deb that installs and runs on a clean host', { timeout: 30 * 60_000 }, () => {
  let work: string;
  let deb: string;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('`ndist build examples/package.ts --only <one target>` writes the .deb to dist/ and leaves no container', async () => {
    const { code, output } = await runCli(['build', path.join(ROOT, 'examples', 'package.ts'), '--only', exampleTarget()], work);
    assert.equal(code, 0, `ndist build failed:\n${output.slice(-3000)}`);
    // Beside the package: its SBOM, SHA256SUMS, the build's log and the run's report.
    const files = await readdir(path.join(work, 'dist'));
    assert.deepEqual(files.sort(), ['SHA256SUMS', 'hello-app_1.0.0-1deb12_amd64.deb', 'hello-app_1.0.0-1deb12_amd64.deb.cdx.json', 'logs', 'ndist-report.json']);
    deb = path.join(work, 'dist', 'hello-app_1.0.0-1deb12_amd64.deb');
    assert.match(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: path.join(work, 'dist'), encoding: 'utf8' }), /^hello-app_1\.0\.0-1deb12_amd64\.deb: OK\nhello-app_1\.0\.0-1deb12_amd64\.deb\.cdx\.json: OK$/m);
    const sbom = JSON.parse(await readFile(`${deb}.cdx.json`, 'utf8')) as { components: { name: string }[] };
    assert.ok(['better-sqlite3', 'ms'].every((name) => sbom.components.some((component) => component.name === name)), 'the SBOM lists the bundled dependencies');
    // The fixture has a devDependency: it is neither in the package nor in its SBOM, which lists exactly what ships.
    const shipped = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).split('\n')
      .flatMap((line) => /\/app\/(?:node_modules\/(?:@[^/]+\/)?[^/]+\/)*node_modules\/((?:@[^/]+\/)?[^/]+)\/package\.json$/.exec(line)?.[1] ?? []);
    assert.ok(!shipped.includes('is-number'), 'the devDependency is not in the package');
    assert.deepEqual(sbom.components.map((component) => component.name).sort(), shipped.sort());
    assert.match(output, /runtime: node 22\.23\.3 .*from/);
    assert.deepEqual(await ndistContainers(), []);
  });

  it('installs on plain debian:bookworm, runs with the bundled node and native addon, and removes cleanly', async (t) => {
    assert.ok(deb, 'the build step produced a package');
    const host = await cleanHost('debian:bookworm', [deb]);
    t.after(() => host.remove());

    const before = await host.sh('command -v node || command -v cc || command -v gcc || echo clean');
    assert.equal(before.output.trim(), 'clean', 'the target host has no Node and no compiler');

    const install = await host.sh(`dpkg -i /tmp/${path.basename(deb)}`);
    assert.equal(install.code, 0, install.output);

    const run = await host.sh("hello-app one 'two words'");
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, new RegExp(`^hello-app 1\\.0\\.0 on node v${NODE_VERSION.replaceAll('.', '\\.')} \\(x64\\)$`, 'm'));
    assert.match(run.output, /^sqlite 3\.\d+\.\d+: hello from sqlite$/m);
    assert.match(run.output, /^ms: 3600000$/m);
    assert.match(run.output, /^args: \["one","two words"\]$/m);

    // Every bin of package.json is a command, and its man page is installed gzipped.
    const version = await host.sh('hello-app-version');
    assert.equal(version.code, 0, version.output);
    assert.equal(version.output.trim(), '1.0.0');
    const man = await host.sh('gzip -dc /usr/share/man/man1/hello-app.1.gz | head -1');
    assert.equal(man.output.trim(), '.TH HELLO-APP 1 "" "hello-app 1.0.0" "User Commands"');

    const files = await host.sh('dpkg -L hello-app | grep -E "^/(usr/bin/hello-app|usr/bin/hello-app-version|usr/share/man/man1/hello-app\\.1\\.gz|opt/hello-app/node/bin/node|opt/hello-app/share/licenses/(better-sqlite3@[0-9.]+/LICENSE|node@22\\.23\\.3/LICENSE))$"');
    assert.equal(files.output.split('\n').length, 6, files.output);

    const remove = await host.sh('dpkg -r hello-app && test ! -e /opt/hello-app && test ! -e /usr/bin/hello-app && test ! -e /usr/bin/hello-app-version && test ! -e /usr/share/man/man1/hello-app.1.gz && echo gone');
    assert.equal(remove.code, 0, remove.output);
    assert.match(remove.output, /^gone$/m);
  });

  it('is reproducible: building the same source again gives a byte-identical .deb', async () => {
    assert.ok(deb, 'the build step produced a package');
    const again = path.join(work, 'again');
    const builder = new Builder({ outDir: again, log: () => {} });
    builder.addBuild({
      name: 'hello-app :: bookworm (again)',
      app: 'hello-app',
      source: directory({ path: path.join(ROOT, 'test', 'fixtures', 'hello-app') }),
      buildMachine: 'debian-bookworm',
      iteration: '1deb12',
      node: NODE_VERSION,
    });
    const [result] = await builder.build();
    const first = createHash('sha256').update(await readFile(deb)).digest('hex');
    assert.equal(result?.sha256, first);
    process.stderr.write(`reproducible: both builds ${first}\n`);
  });
});
