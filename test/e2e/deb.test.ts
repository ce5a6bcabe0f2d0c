/**
 * End to end: the README's example (examples/package.ts, through the ndist CLI) builds the fixture
 * app, which has a native addon, in the debian-bookworm build machine; the .deb is installed on a
 * clean Debian 12 container with no Node and no compiler, run, and removed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanHost, ndistContainers } from '../helpers/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
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

  it('`ndist build examples/package.ts` writes the .deb to dist/ and leaves no container', async () => {
    const { code, output } = await runCli(['build', path.join(ROOT, 'examples', 'package.ts')], work);
    assert.equal(code, 0, `ndist build failed:\n${output.slice(-3000)}`);
    // Beside the package: the build's log and the run's report.
    assert.deepEqual((await readdir(path.join(work, 'dist'))).sort(), ['hello-app_1.0.0-1_amd64.deb', 'logs', 'ndist-report.json']);
    const files = ['hello-app_1.0.0-1_amd64.deb'];
    deb = path.join(work, 'dist', files[0]!);
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

    const files = await host.sh('dpkg -L hello-app | grep -E "^/(usr/bin/hello-app|opt/hello-app/node/bin/node)$"');
    assert.equal(files.output.split('\n').length, 2, files.output);

    const remove = await host.sh('dpkg -r hello-app && test ! -e /opt/hello-app && test ! -e /usr/bin/hello-app && echo gone');
    assert.equal(remove.code, 0, remove.output);
    assert.match(remove.output, /^gone$/m);
  });
});
