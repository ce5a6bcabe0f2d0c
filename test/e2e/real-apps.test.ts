/**
 * End to end, the corpus (issue #16): real apps as published on the npm registry, each packed at
 * test time at a pinned version (its tarball's integrity checked), given the lockfile kept in
 * test/corpus/<app>/package-lock.json and built as it is, devDependencies and all, for
 * debian-bookworm in one Builder run. Every package is then installed on one clean Debian 12
 * container with no Node, run for real, and removed.
 *
 * Most apps run on one shared runtime package (Node packaged once for the run) with zstd payloads;
 * the HTTP servers bundle their own Node, with gzip. The shapes: several bins, an HTTP server probed with bash's
 * /dev/tcp, a native addon compiled in the build machine, ESM with a prebuilt binary from an npm
 * package, plain JS, and a tree of hundreds of packages.
 *
 * A lockfile is made on the unpacked tarball, never installed there:
 *   npm pack NAME@VERSION && tar -xzf *.tgz && cd package && npm install --package-lock-only --ignore-scripts
 *
 * Beside them, the team's own fixture for the shape the registry cannot give: test/fixtures/ts-app,
 * TypeScript whose bins are made by its build step (package.json's build script), with
 * devDependencies, a `files` field and tests that must not ship.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Builder, directory } from '../../src/index.ts';
import type { BuildOptions, BuildResult } from '../../src/index.ts';
import { cleanHost, ndistContainers, type CleanHost } from '../helpers/docker.ts';
import { cleanUpOnInterrupt } from '../helpers/interrupt.ts';
import { buildAll } from '../helpers/build-all.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CORPUS = path.join(ROOT, 'test', 'corpus');
const NODE = '22.23.3';
const RUNTIME_DEB = `ndist-node-${NODE}_${NODE}-1_amd64.deb`;
const SHARED_NODE = `/opt/ndist/node/${NODE}/bin/node`;

type Sh = (command: string, expectCode?: number) => Promise<string>;

interface CorpusApp {
  /** Package name, /opt/<app> and /usr/bin/<app>; test/corpus/<app> holds its lockfile. */
  app: string;
  /** name@version: what `npm pack` fetches, pinned, with the sha512 integrity the registry gave for it; or a fixture's. */
  spec: string;
  integrity?: string;
  /** A directory of test/fixtures, copied as it is (with its own lockfile), instead of a packed tarball. */
  fixture?: string;
  /** Files added to the unpacked app that npm pack would not publish: none may be in the package. */
  unpublished?: Record<string, string>;
  shape: string;
  /** Build options beyond the corpus defaults (shared runtime, zstd). */
  options?: Partial<BuildOptions>;
  /** Checks on the built .deb, on the build host. */
  inspect?(deb: string): void;
  /** Runs the installed app on the clean host. */
  smoke(sh: Sh): Promise<void>;
}

const debFiles = (deb: string) => execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });

/**
 * Starts a server in the background on the clean host, waits for its port, GETs `file` through
 * bash's /dev/tcp (the host has no curl), stops it and returns the response and the server's output.
 */
async function httpProbe(sh: Sh, server: { start: string; port: number; file: string }): Promise<string> {
  return sh(`bash -c '
    ${server.start} > /tmp/server.log 2>&1 &
    server=$!
    for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/${server.port}) 2>/dev/null && break; sleep 0.2; done
    exec 3<>/dev/tcp/127.0.0.1/${server.port}
    printf "GET /${server.file} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n" >&3
    timeout 10 cat <&3
    kill $server; wait $server 2>/dev/null; cat /tmp/server.log'`);
}

/** A bundled runtime's only dependencies: the glibc floor the health check found in node. */
const BUNDLED_RUNTIME_DEPENDS = /^libc6 \(>= 2\.\d+\), libstdc\+\+6 \(>= [\d.]+\)$/;

const APPS: CorpusApp[] = [
  {
    app: 'yarn',
    spec: 'yarn@1.22.22',
    integrity: 'sha512-prL3kGtyG7o9Z9Sv8IPfBNrWTDmXB4Qbes8A9rEzt6wkJV8mUvoirjU0Mp3GGAU06Y0XQyA3/2/RQFVuK7MTfg==',
    shape: 'CLI with two bins (yarn, yarnpkg), one bundled plain-JS file, a harmless `preinstall` script',
    // Its package.json names yarn@1.22.17 (the manager of its own repository); the corpus keeps an
    // npm lockfile, so the build says npm installs it.
    options: { packageManager: 'npm@10.9.9' },
    inspect(deb) {
      assert.match(debFiles(deb), /\/opt\/yarn\/app\/lib\/cli\.js$/m);
    },
    async smoke(sh) {
      assert.equal((await sh('yarn --version')).trim(), '1.22.22');
      // Offline work: a project made and a script run by yarn (through sh, as yarn does).
      await sh(`mkdir -p /tmp/yp && cd /tmp/yp && yarn init --yes --silent && ${SHARED_NODE} -e 'const f="package.json",p=JSON.parse(require("fs").readFileSync(f));p.scripts={hello:"echo hello from yarn run"};require("fs").writeFileSync(f,JSON.stringify(p))'`);
      assert.match(await sh('cd /tmp/yp && yarn run --silent hello'), /^hello from yarn run$/m);
      // Every bin has its /usr/bin wrapper.
      assert.equal((await sh('yarnpkg --version')).trim(), '1.22.22');
    },
  },
  {
    app: 'sirv-cli',
    spec: 'sirv-cli@3.0.1',
    integrity: 'sha512-ICXaF2u6IQhLZ0EXF6nqUF4YODfSQSt+mGykt4qqO5rY+oIiwdg7B8w2PVDBJlQulaS2a3J8666CUoDoAuCGvg==',
    shape: 'HTTP static file server (bin "sirv"), plain JS, 12 dependencies; Node bundled, gzip',
    options: { runtime: 'bundled', compression: 'gzip' },
    inspect(deb) {
      assert.match(debFiles(deb), /\/opt\/sirv-cli\/node\/bin\/node$/m);
      assert.match(execFileSync('dpkg-deb', ['-f', deb, 'Depends'], { encoding: 'utf8' }).trim(), BUNDLED_RUNTIME_DEPENDS, 'a bundled runtime: only its glibc floor');
    },
    async smoke(sh) {
      await sh('mkdir -p /tmp/www && echo "served by sirv" > /tmp/www/hello.txt');
      const output = await httpProbe(sh, { start: 'sirv-cli /tmp/www --host 127.0.0.1 --port 8080', port: 8080, file: 'hello.txt' });
      assert.match(output, /^HTTP\/1\.[01] 200 OK\r?$/m);
      assert.match(output, /^served by sirv$/m);
    },
  },
  {
    app: 'sass',
    spec: 'sass@1.93.2',
    integrity: 'sha512-t+YPtOQHpGW1QWsh1CHQ5cPIr9lbbGZLZnbihP/D/qZj/yuV68m8qarcV17nvkOX81BCrvzAlq2klCQFZghyTg==',
    shape: 'CLI (dart2js) whose optional @parcel/watcher is a C++ addon, compiled in the build machine',
    inspect(deb) {
      // Compiled from source (buildFromSource, the default), its build intermediates pruned.
      const files = debFiles(deb);
      assert.match(files, /\/opt\/sass\/app\/node_modules\/@parcel\/watcher\/build\/Release\/watcher\.node$/m);
      assert.doesNotMatch(files, /@parcel\/watcher\/build\/Release\/obj\.target\//);
    },
    async smoke(sh) {
      assert.match(await sh('sass --version'), /^1\.93\.2 compiled with dart2js /);
      await sh(`printf '$accent: #336699;\\n.a { .b { color: $accent; } }\\n' > /tmp/in.scss`);
      assert.equal((await sh('sass --no-source-map --style=compressed /tmp/in.scss')).trim(), '.a .b{color:#369}');
      // The addon the build compiled loads with the packaged runtime, and watches for real (inotify).
      const watched = await sh(`mkdir -p /tmp/watched && timeout 30 ${SHARED_NODE} -e '
        const watcher = require("/opt/sass/app/node_modules/@parcel/watcher");
        (async () => {
          const subscription = await watcher.subscribe("/tmp/watched", (error, events) => {
            const event = events.find((candidate) => candidate.path === "/tmp/watched/touched");
            if (event) { console.log("event: " + event.type); void subscription.unsubscribe(); }
          });
          require("node:fs").writeFileSync("/tmp/watched/touched", "x");
        })();'`);
      assert.match(watched, /^event: create$/m);
    },
  },
  {
    app: 'tsx',
    spec: 'tsx@4.20.6',
    integrity: 'sha512-ytQKuwgmrrkDTFP4LjR0ToE2nqgy886GpvRSpU0JAnrdBYppuY5rLkRUYPU1yCryb24SsKBTL/hlDQAEFVwtZg==',
    shape: 'ESM CLI (bin dist/cli.mjs) running esbuild, a Go binary from an npm optional dependency',
    inspect(deb) {
      const files = debFiles(deb);
      assert.match(files, /\/opt\/tsx\/app\/node_modules\/@esbuild\/linux-x64\/bin\/esbuild$/m);
      assert.doesNotMatch(files, /@esbuild\/(darwin|win32|linux-arm64)/, 'only the platform\'s binary is installed');
    },
    async smoke(sh) {
      assert.match(await sh('tsx --version'), /^tsx v4\.20\.6$/m);
      await sh(`printf 'enum Greeting { Hello = "hello" }\\nconst who: string = "tsx";\\nconsole.log(Greeting.Hello + " " + who);\\n' > /tmp/tsx-hello.ts`);
      assert.equal((await sh('tsx /tmp/tsx-hello.ts')).trim(), 'hello tsx');
    },
  },
  {
    app: 'jest',
    spec: 'jest@29.7.0',
    integrity: 'sha512-NIy3oAFp9shda19hy4HK0HRTWKtPJmGdnvywu01nOqNC2vZg+Z+fvJDxpMQA88eb2I9EcafcdjYgsDthnYTvGw==',
    shape: 'CLI with a tree of 266 packages',
    inspect(deb) {
      const modules = debFiles(deb).split('\n').filter((line) => /\/app\/node_modules\/(@[^/]+\/)?[^/]+\/package\.json$/.test(line));
      assert.ok(modules.length > 200, `a large tree: ${modules.length} top-level packages`);
    },
    async smoke(sh) {
      assert.equal((await sh('jest --version')).trim(), '29.7.0');
      await sh(`mkdir -p /tmp/jt && cd /tmp/jt && echo '{"name":"jt","private":true}' > package.json && printf 'test("adds", () => { expect(1 + 2).toBe(3); });\\n' > sum.test.js`);
      assert.match(await sh('cd /tmp/jt && jest --ci --runInBand 2>&1'), /^Tests: +1 passed, 1 total$/m);
    },
  },
  {
    app: 'http-server',
    spec: 'http-server@14.1.1',
    integrity: 'sha512-+cbxadF40UXd9T01zUHgA+rlo2Bg1Srer4+B4NwIHdaGxAGGv59nYRnGGDJ9LBk7alpS0US+J+bLLdQOOkJq4A==',
    shape: 'HTTP server, 50 dependencies',
    async smoke(sh) {
      await sh('mkdir -p /tmp/hs && echo "served by http-server" > /tmp/hs/hello.txt');
      const output = await httpProbe(sh, { start: 'http-server /tmp/hs -p 8081 -a 127.0.0.1 --silent', port: 8081, file: 'hello.txt' });
      assert.match(output, /^HTTP\/1\.[01] 200 OK\r?$/m);
      assert.match(output, /^served by http-server$/m);
    },
  },
  {
    app: 'concurrently',
    spec: 'concurrently@9.2.1',
    integrity: 'sha512-fsfrO0MxV64Znoy8/l1vVIjjHa29SZyyqPgQBwhiDcaW8wJc2W3XWVOGx4M3oJBnv/zdUZIIp1gDeS98GzP8Ng==',
    shape: 'CLI with two bins (concurrently, conc), 31 dependencies',
    async smoke(sh) {
      assert.equal((await sh('concurrently --version')).trim(), '9.2.1');
      assert.equal((await sh('conc --version')).trim(), '9.2.1');
      const output = await sh(`concurrently --raw 'echo one' 'echo two'`);
      assert.match(output, /^one$/m);
      assert.match(output, /^two$/m);
    },
  },
  {
    app: 'tsc',
    spec: 'typescript@5.9.3',
    integrity: 'sha512-jl1vZzPDinLr9eUt3J/t7V6FgNEw9QjvBPdysz9KfQDD41fQrC2Y4vKQdiaUpFT4bXlb1RHhLpp8wtm6M5TgSw==',
    shape: 'CLI with two bins (tsc, tsserver), plain JS, no dependencies, 23 MB unpacked',
    inspect(deb) {
      // Named `tsc`, the package's /usr/bin/tsc runs bin/tsc; tsserver, the other bin, has its own wrapper.
      assert.match(debFiles(deb), /\/opt\/tsc\/app\/bin\/tsserver$/m);
      assert.match(debFiles(deb), /\/usr\/bin\/tsserver$/m);
    },
    async smoke(sh) {
      assert.equal((await sh('tsc --version')).trim(), 'Version 5.9.3');
      await sh(`printf 'const greet = (name: string): string => "hello " + name;\\nconsole.log(greet("tsc"));\\n' > /tmp/tsc-hello.ts`);
      await sh('tsc --strict --target es2022 --outDir /tmp/tsc-out /tmp/tsc-hello.ts');
      assert.match(await sh('cat /tmp/tsc-out/tsc-hello.js'), /const greet = \(name\) => "hello " \+ name;/);
      assert.equal((await sh(`${SHARED_NODE} /tmp/tsc-out/tsc-hello.js`)).trim(), 'hello tsc');
      // A type error is reported with tsc's exit code 2.
      await sh(`printf 'const n: number = "one";\\n' > /tmp/tsc-bad.ts`);
      assert.match(await sh('tsc --noEmit /tmp/tsc-bad.ts', 2), /error TS2322/);
    },
  },
  {
    app: 'node-static',
    spec: 'node-static@0.7.11',
    integrity: 'sha512-zfWC/gICcqb74D9ndyvxZWaI1jzcoHmf4UTHWQchBNuNMxdBLJMDiUgZ1tjGLEIe/BMhj2DxKD8HOuc2062pDQ==',
    shape: 'HTTP file server (bin "static"), plain JS, 5 dependencies; Node bundled, gzip',
    options: { runtime: 'bundled', compression: 'gzip' },
    inspect(deb) {
      assert.match(debFiles(deb), /\/opt\/node-static\/node\/bin\/node$/m);
      assert.match(execFileSync('dpkg-deb', ['-f', deb, 'Depends'], { encoding: 'utf8' }).trim(), BUNDLED_RUNTIME_DEPENDS, 'a bundled runtime: only its glibc floor');
    },
    async smoke(sh) {
      await sh('mkdir -p /tmp/www && echo "served by node-static" > /tmp/www/hello.txt');
      const output = await httpProbe(sh, { start: 'node-static /tmp/www -p 8080', port: 8080, file: 'hello.txt' });
      assert.match(output, /^HTTP\/1\.[01] 200 OK\r?$/m);
      assert.match(output, /^served by node-static$/m);
      assert.match(output, /serving "\/tmp\/www" at http:\/\/127\.0\.0\.1:8080/);
    },
  },
  {
    app: 'cowsay',
    spec: 'cowsay@1.6.0',
    integrity: 'sha512-8C4H1jdrgNusTQr3Yu4SCm+ZKsAlDFbpa0KS0Z3im8ueag+9pGOf3CrioruvmeaW/A5oqg9L0ar6qeftAh03jw==',
    shape: 'CLI with two bins (cowsay, cowthink), 40 dependencies, a `prepare` script, a `files` field',
    // Not in package.json `files`: npm pack leaves them out, and so does the package.
    unpublished: { 'test/cow.test.js': 'test("moo", () => {});\n', '.github/workflows/ci.yml': 'on: push\n', 'src/cow.ts': 'export {};\n' },
    inspect(deb) {
      const files = debFiles(deb);
      assert.match(files, /\/opt\/cowsay\/app\/cows\/default\.cow$/m, 'the files field\'s directories ship');
      assert.doesNotMatch(files, /\/opt\/cowsay\/app\/(test\/|\.github\/|src\/|package-lock\.json)/, 'what npm pack leaves out does not ship');
    },
    async smoke(sh) {
      assert.match(await sh('cowsay moo'), /< moo >/);
      // cowsay chooses think mode by the name in argv[1]: the wrapper runs cli.js through a link named cowthink.
      assert.match(await sh('cowthink moo'), /\( moo \)/);
    },
  },
  {
    app: 'ts-app',
    spec: 'ts-app@1.2.0',
    fixture: 'ts-app',
    shape: 'TypeScript (fixture): bins in dist/, made by the build step (package.json build script, tsc from devDependencies), a `files` field, tests that do not ship',
    inspect(deb) {
      const files = debFiles(deb);
      assert.match(files, /\/opt\/ts-app\/app\/dist\/cli\.js$/m, 'the build output ships');
      assert.match(files, /\/opt\/ts-app\/app\/node_modules\/ms\/index\.js$/m, 'the production dependency ships');
      assert.match(files, /\/opt\/ts-app\/bin\/ts-app-shout -> \.\.\/app\/dist\/cli\.js$/m, 'each command runs through a link named after it');
      assert.doesNotMatch(files, /\/opt\/ts-app\/app\/(tests\/|src\/|tsconfig\.json|package-lock\.json)/, 'tests, TypeScript sources and configuration do not ship');
      assert.doesNotMatch(files, /\/node_modules\/typescript\//, 'the devDependency is pruned');
    },
    async smoke(sh) {
      assert.equal((await sh('ts-app --version')).trim(), '1.2.0');
      assert.equal((await sh('ts-app you')).trim(), 'hello you, built 2 minutes ago');
      // The second bin is the same script, which shouts when argv[1] names it.
      assert.equal((await sh('ts-app-shout you')).trim(), 'HELLO YOU, BUILT 2 MINUTES AGO');
    },
  },
];


describe('real published apps: packed, built, installed on a clean host, run and removed', { timeout: 40 * 60_000 }, () => {
  let work: string;
  let host: CleanHost | undefined;
  const results = new Map<string, BuildResult>();

  let stopCleanUpOnInterrupt: (() => void) | undefined;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-corpus-'));
    // Ctrl-C: the temp dir, the containers and the cache volumes go, whatever the test was doing.
    stopCleanUpOnInterrupt = cleanUpOnInterrupt(() => [work]);
    await mkdir(path.join(work, 'tarballs'));
    // Packed at test time, in parallel; npm checks each tarball against the registry's integrity.
    await Promise.all(APPS.map(async (entry) => {
      const dir = path.join(work, 'apps', entry.app);
      if (entry.fixture) {
        await cp(path.join(ROOT, 'test', 'fixtures', entry.fixture), dir, { recursive: true, filter: (file) => !/\/(node_modules|dist)$/.test(file) });
        return;
      }
      const { stdout } = await run('npm', ['pack', entry.spec, '--json', '--pack-destination', path.join(work, 'tarballs')], { cwd: work });
      const [packed] = JSON.parse(stdout) as { filename: string; integrity: string }[];
      assert.equal(packed?.integrity, entry.integrity!, `${entry.spec}: the tarball is the one pinned`);
      await mkdir(dir, { recursive: true });
      await run('tar', ['-xzf', path.join(work, 'tarballs', packed.filename), '-C', dir, '--strip-components=1']);
      await copyFile(path.join(CORPUS, entry.app, 'package-lock.json'), path.join(dir, 'package-lock.json'));
      const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
      const lock = JSON.parse(await readFile(path.join(dir, 'package-lock.json'), 'utf8')) as { name: string; version: string };
      assert.equal(`${lock.name}@${lock.version}`, `${pkg.name}@${pkg.version}`, `test/corpus/${entry.app}/package-lock.json is ${entry.spec}'s`);
      assert.equal(`${pkg.name}@${pkg.version}`, entry.spec);
      for (const [file, content] of Object.entries(entry.unpublished ?? {})) {
        await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
        await writeFile(path.join(dir, file), content);
      }
    }));
  });
  after(async () => {
    await host?.remove();
    await rm(work, { recursive: true, force: true });
    stopCleanUpOnInterrupt?.();
  });

  it('builds every app in one run, with its devDependencies in package.json, and leaves no container', async (t) => {
    const builder = new Builder({ outDir: path.join(work, 'out'), concurrency: 2, progress: 'silent' });
    for (const entry of APPS) {
      builder.addBuild({
        name: entry.app,
        app: entry.app,
        source: directory({ path: path.join(work, 'apps', entry.app) }),
        buildMachine: 'debian-bookworm',
        node: NODE,
        runtime: 'shared',
        compression: 'zstd',
        ...entry.options,
      });
    }
    const started = Date.now();
    for (const [name, result] of await buildAll(builder, 40)) results.set(name, result);
    t.diagnostic(`build run: ${((Date.now() - started) / 1000).toFixed(0)} s for ${APPS.length} apps, concurrency 2`);
    for (const [name, result] of results) {
      t.diagnostic(`${name}: ${(result.size! / 1e6).toFixed(1)} MB in ${(result.durationMs / 1000).toFixed(0)} s (stages ${JSON.stringify(result.stages)})`);
    }
    assert.deepEqual(await ndistContainers(), []);
  });

  it('each package has what its app needs', async () => {
    for (const entry of APPS) {
      const result = results.get(entry.app);
      assert.ok(result?.artifact, `${entry.app} was built`);
      assert.equal(path.basename(result.artifact), `${entry.app}_${entry.spec.split('@').pop()}-1_amd64.deb`);
      if ((entry.options?.runtime ?? 'shared') === 'shared') {
        // The runtime package, then the glibc floor of the app's own native binaries, if it has any.
        const runtime = `ndist-node-${NODE} \\(= ${NODE}-1\\)`.replaceAll('.', '\\.');
        assert.match(execFileSync('dpkg-deb', ['-f', result.artifact, 'Depends'], { encoding: 'utf8' }).trim(), new RegExp(`^${runtime}(, libc6 \\(>= 2\\.\\d+\\)(, libstdc\\+\\+6 \\(>= [\\d.]+\\))?)?$`));
        assert.equal(path.basename(result.runtimePackage!.path), RUNTIME_DEB);
      }
      entry.inspect?.(result.artifact);
      // Where the megabytes go, largest first, in the result (and the report).
      const largest = result.largestDirectories ?? [];
      assert.ok(largest.length > 0 && largest.every((dir, i) => dir.path.startsWith(`/opt/${entry.app}/`) && (i === 0 || largest[i - 1]!.size >= dir.size)), `${entry.app}: ${JSON.stringify(largest)}`);
    }
  });

  it('installs every package on one clean Debian 12 host with no Node, runs each app, and removes each', async (t) => {
    const debs = [...new Set(APPS.flatMap((entry) => {
      const result = results.get(entry.app)!;
      return [result.artifact!, ...(result.runtimePackage ? [result.runtimePackage.path] : [])];
    }))];
    const started = Date.now();
    host = await cleanHost('debian:bookworm', debs);
    const sh: Sh = async (command, expectCode = 0) => {
      const result = await host!.sh(command);
      assert.equal(result.code, expectCode, `${command}:\n${result.output}`);
      return result.output;
    };
    assert.equal((await sh('command -v node || echo none')).trim(), 'none', 'the host has no Node');
    await sh(`dpkg -i ${debs.map((deb) => `/tmp/${path.basename(deb)}`).join(' ')}`);
    for (const entry of APPS) {
      await t.test(`${entry.app} (${entry.spec}): ${entry.shape}`, async () => {
        assert.equal((await sh(`command -v ${entry.app}`)).trim(), `/usr/bin/${entry.app}`);
        await entry.smoke(sh);
      });
    }
    // Purged, not only removed: every ndist .deb has a postrm (it puts back /opt), so dpkg keeps a
    // removed one as "config-files" until it is purged.
    for (const entry of APPS) {
      await sh(`dpkg -P ${entry.app}`);
      await sh(`dpkg -s ${entry.app}`, 1);
      assert.equal((await sh(`ls /opt/${entry.app} /usr/bin/${entry.app} 2>&1 || true`)).match(/No such file/g)?.length, 2, `/opt/${entry.app} and /usr/bin/${entry.app} are gone`);
    }
    if (APPS.some((entry) => (entry.options?.runtime ?? 'shared') === 'shared')) {
      await sh(`dpkg -P ndist-node-${NODE}`);
      await sh(`dpkg -s ndist-node-${NODE}`, 1);
    }
    // No package of the base system owns /opt: dpkg removes it with the last package listing it, and
    // that package's postrm puts it back, empty, as the system had it.
    assert.equal((await sh('ls -A /opt')).trim(), '', 'no app and no runtime left under /opt, and /opt still there');
    t.diagnostic(`install, run and remove: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });
});
