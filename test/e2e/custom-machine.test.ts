/**
 * End to end: a project's own templates/build_machines.json adds a machine that reuses ndist's
 * Debian Dockerfile but brings its own script template; `ndist machines` lists it with where it
 * came from, a build uses it, and the .deb it makes installs and runs. The app is a tiny one with
 * no dependencies, so the test stays quick.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, directory } from '../../src/index.ts';
import { cleanHost, ndistContainers } from '../helpers/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

const SCRIPT = `#!/bin/bash
# A project's own build script: no npm ci (the app has no dependencies), a marker file, gzip.
set -euo pipefail
echo "==> custom machine "{{buildMachine}}" on "{{os.id}}" "{{os.codename}}
mkdir -p {{stagingDir}}{{prefix}}/node/bin
cp -a /ndist/src {{stagingDir}}{{prefix}}/app
install -m 0755 {{runtimeDir}}/bin/node {{stagingDir}}{{prefix}}/node/bin/node
echo {{os.codename}} > {{stagingDir}}{{prefix}}/built-on
{{#if usesDpkgDeb}}
echo "Installed-Size: $(du -sk --exclude=DEBIAN {{stagingDir}} | cut -f1)" >> {{stagingDir}}/DEBIAN/control
{{/if}}
mkdir -p {{outputDir}}
{{packageCommand}}
`;

describe('a custom build machine from a project build_machines.json', { timeout: 20 * 60_000 }, () => {
  let project: string;
  let deb: string | undefined;

  before(async () => {
    project = await mkdtemp(path.join(os.tmpdir(), 'ndist-custom-'));
    await mkdir(path.join(project, 'templates'));
    await mkdir(path.join(project, 'app', 'bin'), { recursive: true });
    await writeFile(
      path.join(project, 'templates', 'build_machines.json'),
      JSON.stringify({
        $schema: path.join(ROOT, 'templates', 'build_machines.schema.json'),
        'corp-bookworm': {
          description: 'Corporate Debian 12, own script',
          image: 'ndist/debian-bookworm',
          dockerfile: 'debian',
          baseImage: { amd64: 'debian:bookworm' },
          script: 'corp.sh.hbs',
          format: 'deb',
          arch: ['amd64'],
          compression: 'gzip',
          os: { id: 'debian', versionId: '12', codename: 'bookworm' },
        },
      }),
    );
    await writeFile(path.join(project, 'templates', 'corp.sh.hbs'), SCRIPT);
    await writeFile(path.join(project, 'app', 'package.json'), JSON.stringify({ name: 'tiny', version: '0.3.0', description: 'tiny app', bin: { tiny: 'bin/tiny.js' } }));
    // Builds refuse a source without a lockfile, whatever the machine's script does with it.
    await writeFile(path.join(project, 'app', 'package-lock.json'), JSON.stringify({ name: 'tiny', version: '0.3.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'tiny', version: '0.3.0' } } }));
    await writeFile(path.join(project, 'app', 'bin', 'tiny.js'), "console.log(`tiny on ${process.version}: ${require('fs').readFileSync('/opt/tiny/built-on', 'utf8').trim()}`);\n");
  });
  after(async () => {
    await rm(project, { recursive: true, force: true });
  });

  it('`ndist machines` lists it beside the defaults, with the file it came from', () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'ndist.js'), 'machines'], { cwd: project, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const line = result.stdout.split('\n').find((row) => row.startsWith('corp-bookworm '));
    assert.ok(line, result.stdout);
    assert.match(line, /ndist\/debian-bookworm\s+deb\s+amd64\s+.*templates\/build_machines\.json/);
    assert.match(result.stdout, /^rockylinux-9\s+ndist\/rockylinux-9\s+rpm\s+amd64,arm64\s+ndist$/m);
  });

  it('a build on it runs the project script', async () => {
    const lines: string[] = [];
    const builder = new Builder({ outDir: path.join(project, 'dist'), machinesDir: project, log: (build, line) => { lines.push(line); process.stderr.write(`${build} | ${line}\n`); } });
    builder.addBuild({ name: 'tiny :: corp', app: 'tiny', source: directory({ path: path.join(project, 'app') }), buildMachine: 'corp-bookworm', node: '22.23.3' });
    const started = Date.now();
    const [result] = await builder.build();
    process.stderr.write(`custom machine build took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    assert.ok(lines.includes('==> custom machine corp-bookworm on debian bookworm'), 'the project script ran');
    assert.equal(path.basename(result!.artifact!), 'tiny_0.3.0-1_amd64.deb');
    deb = result!.artifact!;
    assert.deepEqual(await ndistContainers(), []);
  });

  it('the package installs and runs on a clean host', async (t) => {
    assert.ok(deb);
    const host = await cleanHost('debian:bookworm', [deb]);
    t.after(() => host.remove());
    assert.ok((await readFile(deb)).includes('data.tar.gz'), 'the machine\'s gzip compression is used');
    const run = await host.sh(`dpkg -i /tmp/${path.basename(deb)} >/dev/null && tiny`);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /^tiny on v22\.23\.3: bookworm$/m);
  });
});
