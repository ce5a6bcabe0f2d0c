/**
 * End to end: a Node service packaged with `service`, `user`, `configFiles`, `directories` and
 * hooks goes through install, upgrade 1.0 → 1.1 with an edited config file, remove and purge, in
 * containers running systemd as PID 1 (so the unit really is enabled, started, restarted and
 * stopped); the same cycle for the .rpm with Debian's rpm (rpm has no purge); the "systemd is not
 * running" path on a plain debian:bookworm; and lintian on the .deb.
 *
 * The service has a second long-running unit (a worker), a socket-activated one (web) and a timer,
 * and its main unit is Type=notify: version 1.2 never reports ready (deb) or exits before it (rpm),
 * and its upgrade must fail.
 *
 * One test image (debian:bookworm + systemd + rpm), labelled and removed at the end, serves every
 * container. Versions 1.0, 1.1 and 1.2 are built from copies of test/fixtures/service-app that differ
 * only in build-version (what the program prints), the default config file and ready-mode.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Builder, directory } from '../../src/index.ts';
import type { BuildOptions } from '../../src/options/types.ts';
import { TEST_LABEL, TEST_SESSION, cleanHost, ndistContainers } from '../helpers/docker.ts';
import { SYSTEMD_RUN_ARGS, buildHostImage } from '../helpers/test-hosts.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'service-app');
const APP = 'service-app';
const IMAGE = `ndist-test/service-host:${TEST_SESSION}`;
const ORDER_LOG = '/root/maintscript-order.log';
/** Where the socket-activated unit listens. */
const WEB_PORT = 8090;

/**
 * lintian tags kept on the .deb (lintian 2.116, Debian 12), each for a reason. Any other tag fails the test.
 * - dir-or-file-in-opt (E): ndist's design: the app and its own Node runtime live in /opt/<app>
 *   (FHS: add-on application software packages), never clashing with the distro's nodejs.
 * - embedded-library zlib, unstripped-binary-or-object (E), hardening-no-pie,
 *   undeclared-elf-prerequisites (W): the bundled node binary, shipped as the Node.js project
 *   builds it; its libraries are the base system's, which the health check verifies.
 * - missing-dep-for-interpreter (E): the app's entry has a `#!/usr/bin/env node` line, but
 *   /usr/bin/<app> runs it with the bundled runtime; the package must not depend on nodejs.
 * - no-changelog (E), no-manual-page, copyright-without-copyright-notice (W): a generated package
 *   has no Debian changelog and the app no man page; the copyright file names package.json's
 *   licence, the bundled licences are in /opt/<app>/share/licenses.
 * - extended-description-is-empty (E): the description is package.json's, one line.
 * - uses-no-compression-for-{control,data}-tarball (E): this test builds with compression 'none'
 *   to be quick; the default is xz.
 * - non-standard-file-perm (W): the test's contents declare 0640 on purpose (a secret for its group).
 * - unknown-field (W): the test's own X- control field (`fields`); lintian flags every field it does not know.
 * Not kept: missing-dependency-on-libc (the glibc floor is a Depends now, src/package/glibc-floor.ts).
 */
const LINTIAN_ACCEPTED = new Set([
  'dir-or-file-in-opt',
  'embedded-library',
  'unstripped-binary-or-object',
  'hardening-no-pie',
  'undeclared-elf-prerequisites',
  'missing-dep-for-interpreter',
  'no-changelog',
  'no-manual-page',
  'copyright-without-copyright-notice',
  'extended-description-is-empty',
  'uses-no-compression-for-control-tarball',
  'uses-no-compression-for-data-tarball',
  'non-standard-file-perm',
  'unknown-field',
]);

/** A container of the test image with systemd as PID 1; commands through `docker exec`. */
class Host {
  private constructor(readonly id: string) {}

  static start(image: string): Host {
    const args = ['run', '-d', '--label', `${TEST_LABEL}=true`, '--label', `io.ndist.session=${TEST_SESSION}`, ...SYSTEMD_RUN_ARGS, image, '/lib/systemd/systemd'];
    return new Host(execFileSync('docker', args, { encoding: 'utf8' }).trim());
  }

  sh(command: string): { code: number; output: string } {
    const result = spawnSync('docker', ['exec', this.id, 'sh', '-c', `${command} 2>&1`], { encoding: 'utf8' });
    return { code: result.status ?? -1, output: `${result.stdout}${result.stderr}`.trim() };
  }

  /** Run `command`, fail the test with its output unless it exits 0; returns the output. */
  ok(command: string): string {
    const result = this.sh(command);
    assert.equal(result.code, 0, `${command}\n${result.output}`);
    return result.output;
  }

  copy(file: string): void {
    execFileSync('docker', ['cp', file, `${this.id}:/tmp/${path.basename(file)}`]);
  }

  async waitForSystemd(): Promise<void> {
    for (let attempt = 0; attempt < 60; attempt++) {
      const state = this.sh('systemctl is-system-running').output;
      if (state === 'running' || state === 'degraded') return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.fail(`systemd did not come up: ${this.sh('systemctl is-system-running; systemctl --failed --no-pager').output}`);
  }

  /** A service's main PID, 0 when it is not running. */
  mainPid(unit = `${APP}.service`): number {
    return Number(this.sh(`systemctl show -p MainPID --value ${unit}`).output);
  }

  remove(): void {
    spawnSync('docker', ['rm', '-f', '-v', this.id]);
  }
}

/** Keep a Changelog; each version's source has the entries up to its own. */
const CHANGELOG = `# Changelog

## [1.1] - 2024-05-02
### Fixed
- The greeting is read from [the config file](https://ndist.invalid/docs) again.

## [1.0] - 2024-05-01
### Added
- First release as a service.
`;

/** Every kind of contents entry, placed where a service would have them. */
const CONTENTS: BuildOptions['contents'] = [
  { type: 'file', source: 'build-version', destination: `/usr/share/${APP}/build-version`, mode: '0640', owner: APP },
  { type: 'config', source: 'config/secret.json', destination: `/etc/${APP}/secret.json`, mode: '0640', group: APP },
  { type: 'dir', destination: `/var/cache/${APP}`, mode: '0700' },
  { type: 'symlink', destination: `/usr/lib/${APP}/service.js`, target: `/opt/${APP}/app/bin/service.js` },
  { type: 'ghost', destination: `/var/log/${APP}/${APP}.log` },
];

function buildOptions(name: string, source: string, version: string, buildMachine: string): BuildOptions {
  const deb = buildMachine === 'debian-bookworm';
  // 1.2's rpm restarts on upgrade, so that its failing start is seen.
  const operatorControlled = !deb && version !== '1.2';
  return {
    name,
    app: APP,
    version,
    source: directory({ path: source }),
    buildMachine,
    node: '22.23.3',
    compression: 'none',
    homepage: 'https://ndist.invalid/service-app',
    user: APP,
    // The rpm's service is installed without starting and never restarted by an upgrade: the operator does both.
    service: {
      command: [`/usr/bin/${APP}`, 'serve'],
      environment: { SERVICE_APP_MODE: 'production' },
      // A second unit: a job on a calendar that never comes during the test (so no timer stamp is left), started by hand.
      timers: [{ name: 'tick', command: [`/usr/bin/${APP}`], onCalendar: '2099-01-01 00:00:00' }],
      // The main unit reports ready with sd_notify; a worker beside it; a web process its socket starts.
      type: 'notify',
      startTimeoutSec: 15,
      units: [
        { name: 'worker', command: [`/usr/bin/${APP}`, 'work'] },
        { name: 'web', command: [`/usr/bin/${APP}`, 'web'], socket: { listen: [`127.0.0.1:${WEB_PORT}`] } },
      ],
      ...(operatorControlled ? { start: false, restartOnUpgrade: false } : {}),
    },
    configFiles: [{ path: `/etc/${APP}/config.json`, source: 'config/default.json' }],
    directories: [{ path: `/var/log/${APP}` }],
    provides: ['service-app-api'],
    conflicts: ['service-app-legacy'],
    replaces: ['service-app-legacy'],
    contents: CONTENTS,
    changelog: 'CHANGELOG.md',
    epoch: 1,
    preDepends: ['dpkg (>= 1.19)'],
    recommends: ['curl | wget'],
    suggests: ['rpm (>= 4.0)'],
    enhances: ['systemd'],
    // deb only: rpm has no Breaks and no fields of its own (ndist refuses them there).
    ...(deb ? { breaks: ['service-app-legacy (<< 0.5)'], fields: { 'X-Ndist-Test': 'every relation' } } : {}),
    hooks: { preinst: 'packaging/preinst.sh', postinst: 'packaging/postinst.sh', prerm: 'packaging/prerm.sh', postrm: 'packaging/postrm.sh' },
  };
}

describe('a service package installs, upgrades, is removed and purged like a distro package', { timeout: 25 * 60_000 }, () => {
  let work: string;
  const artifacts: Record<string, string> = {};
  const hosts: Host[] = [];
  const boot = async () => {
    const host = Host.start(IMAGE);
    hosts.push(host);
    await host.waitForSystemd();
    for (const file of Object.values(artifacts)) host.copy(file);
    return host;
  };

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-service-'));
    const sources: Record<string, string> = {};
    for (const [version, readyMode] of [['1.0'], ['1.1'], ['1.2', 'never'], ['1.2', 'exit']]) {
      const dir = path.join(work, `src-${version}${readyMode ? `-${readyMode}` : ''}`);
      await cp(FIXTURE, dir, { recursive: true });
      await writeFile(path.join(dir, 'build-version'), `${version}\n`);
      if (readyMode) await writeFile(path.join(dir, 'ready-mode'), `${readyMode}\n`);
      await writeFile(path.join(dir, 'config', 'default.json'), `{ "greeting": "hello from ${version}" }\n`);
      await writeFile(path.join(dir, 'config', 'secret.json'), '{ "token": "not for everyone" }\n');
      await writeFile(path.join(dir, 'CHANGELOG.md'), CHANGELOG.slice(CHANGELOG.indexOf(`## [${readyMode ? '1.1' : version}]`)));
      sources[readyMode ? `${version}-${readyMode}` : version!] = dir;
    }
    const builder = new Builder({ outDir: path.join(work, 'dist'), concurrency: 2, log: () => {} });
    // 0.9: the same app before it was a service, a plain package.
    builder.addBuild({ name: 'plain deb 0.9', app: APP, version: '0.9', source: directory({ path: sources['1.0']! }), buildMachine: 'debian-bookworm', node: '22.23.3', compression: 'none' });
    for (const version of ['1.0', '1.1']) {
      builder.addBuild(buildOptions(`service deb ${version}`, sources[version]!, version, 'debian-bookworm'));
      builder.addBuild(buildOptions(`service rpm ${version}`, sources[version]!, version, 'debian-bookworm-rpm'));
    }
    // 1.2: the deb's service never reports ready, the rpm's exits before it.
    builder.addBuild(buildOptions('service deb 1.2', sources['1.2-never']!, '1.2', 'debian-bookworm'));
    builder.addBuild(buildOptions('service rpm 1.2', sources['1.2-exit']!, '1.2', 'debian-bookworm-rpm'));
    // The test image builds while the packages do.
    const image = buildHostImage(IMAGE, 'systemd systemd-sysv rpm');
    image.catch(() => {}); // awaited below; a failed build must not leave it unhandled
    const results = await builder.build();
    await image;
    for (const result of results) artifacts[result.name] = result.artifact!;
  });

  after(async () => {
    for (const host of hosts) host.remove();
    spawnSync('docker', ['rmi', '-f', IMAGE]);
    await rm(work, { recursive: true, force: true });
  });

  it('builds leave no container; the .deb has exactly the conffiles, the unit, the scripts and the relations', async () => {
    assert.deepEqual(await ndistContainers(), []);
    const deb = artifacts['service deb 1.0']!;
    const control = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' });
    assert.match(control, /^Provides: service-app-api$/m);
    assert.match(control, /^Conflicts: service-app-legacy$/m);
    assert.match(control, /^Replaces: service-app-legacy$/m);
    assert.match(control, /^Version: 1:1\.0-1$/m);
    assert.match(control, /^Pre-Depends: dpkg \(>= 1\.19\)$/m);
    assert.match(control, /^Recommends: curl \| wget$/m);
    assert.match(control, /^Suggests: rpm \(>= 4\.0\)$/m);
    assert.match(control, /^Enhances: systemd$/m);
    assert.match(control, /^Breaks: service-app-legacy \(<< 0\.5\)$/m);
    assert.match(control, /^X-Ndist-Test: every relation$/m);
    const conffiles = execFileSync('dpkg-deb', ['--info', deb, 'conffiles'], { encoding: 'utf8' });
    assert.equal(conffiles, `/etc/${APP}/secret.json\n/etc/${APP}/config.json\n/etc/default/${APP}\n`);
    const files = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    for (const unit of ['', '-worker', '-web', '-tick']) assert.match(files, new RegExp(`\\./lib/systemd/system/${APP}${unit}\\.service$`, 'm'));
    assert.match(files, new RegExp(`\\./lib/systemd/system/${APP}-web\\.socket$`, 'm'));
    assert.match(files, new RegExp(`^-rw-r----- root/root .* \\./usr/share/${APP}/build-version$`, 'm'), 'shipped as root: postinst gives it to its owner');
    assert.match(files, new RegExp(`^lrwxrwxrwx root/root .* \\./usr/lib/${APP}/service\\.js -> /opt/${APP}/app/bin/service\\.js$`, 'm'));
    assert.doesNotMatch(files, /\.\/var\//, 'no /var path in the package: directories and ghosts are made by postinst');
    // The changelog as dpkg's own parser reads it.
    const changelog = path.join(work, 'changelog.Debian');
    await writeFile(changelog, execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/share/doc/${APP}/changelog.Debian.gz | gzip -dc`, 'sh', artifacts['service deb 1.1']!]));
    const parsed = execFileSync('dpkg-parsechangelog', ['-l', changelog, '--format', 'rfc822', '--all'], { encoding: 'utf8' });
    assert.deepEqual([...parsed.matchAll(/^Version: (.*)$/gm)].map((match) => match[1]), ['1:1.1-1', '1:1.0-1']);
    assert.match(parsed, /^ {3}\* Fixed: The greeting is read from the config file again\.$/m);
  });

  it('lintian finds nothing but the tags kept for a reason', () => {
    const lint = spawnSync('lintian', ['--tag-display-limit', '0', artifacts['service deb 1.1']!], { encoding: 'utf8' });
    process.stderr.write(`lintian:\n${lint.stdout}${lint.stderr}\n`);
    const tags = [...lint.stdout.matchAll(/^[EW]: \S+: (\S+)/gm)].map((match) => match[1]!);
    const unexpected = [...new Set(tags.filter((tag) => !LINTIAN_ACCEPTED.has(tag)))];
    assert.deepEqual(unexpected, [], `unexpected lintian tags:\n${lint.stdout}`);
  });

  it('deb: install creates the account, enables and starts the unit; upgrade keeps the edited config and restarts; remove keeps config and data; purge removes them', async () => {
    const host = await boot();
    const install = host.ok(`dpkg -i /tmp/${path.basename(artifacts['service deb 1.0']!)}`);
    assert.match(install, /service-app: created system user service-app/);

    // Account, unit, directories.
    assert.match(host.ok(`getent passwd ${APP}`), /^service-app:x:\d+:\d+:service-app service \(created by package service-app with group service-app\):\/var\/lib\/service-app:\/usr\/sbin\/nologin$/);
    host.ok(`getent group ${APP}`);
    host.ok(`systemd-analyze verify /lib/systemd/system/${APP}.service`);
    assert.equal(host.ok(`systemctl is-enabled ${APP}.service`), 'enabled');
    // Type=notify: dpkg returned once the service had sent READY=1.
    assert.equal(host.ok(`systemctl show -p Type --value ${APP}.service`), 'notify');
    assert.equal(host.ok(`systemctl is-active ${APP}.service`), 'active');
    // The worker runs beside it; the web socket listens, and its first connection starts the web service.
    host.ok(`systemd-analyze verify /lib/systemd/system/${APP}-worker.service /lib/systemd/system/${APP}-web.service /lib/systemd/system/${APP}-web.socket`);
    assert.equal(host.ok(`systemctl is-enabled ${APP}-worker.service ${APP}-web.socket`), 'enabled\nenabled');
    assert.equal(host.ok(`systemctl is-active ${APP}-worker.service ${APP}-web.socket`), 'active\nactive');
    assert.equal(host.ok(`systemctl show -p Listen --value ${APP}-web.socket`), `127.0.0.1:${WEB_PORT} (Stream)`);
    assert.equal(host.sh(`systemctl is-active ${APP}-web.service`).output, 'inactive', 'no connection yet');
    assert.equal(host.ok(`stat -c '%U:%G %a' /var/lib/${APP} /var/log/${APP}`), `${APP}:${APP} 750\n${APP}:${APP} 750`);
    // The service runs as its user, with /etc/default/<app> in its environment.
    const uid = host.ok(`id -u ${APP}`);
    await waitFor(() => host.sh(`cat /var/lib/${APP}/started.log`).output, `service-app build=1.0 greeting=hello from 1.0 mode=production uid=${uid}`);
    // The unit's hardening is in force: no new privileges, / read-only and a private /tmp in its mount namespace.
    const pid = host.mainPid();
    assert.match(host.ok(`grep NoNewPrivs /proc/${pid}/status`), /^NoNewPrivs:\s+1$/);
    assert.match(host.ok(`awk '$5 == "/" { print $6 }' /proc/${pid}/mountinfo`), /^ro,/, 'ProtectSystem=strict');
    assert.match(host.ok(`awk '$5 == "/tmp" { print "private" }' /proc/${pid}/mountinfo`), /^private$/, 'PrivateTmp=yes');
    assert.equal(webGet(host), `service-app build=1.0 greeting=hello from 1.0 mode=production uid=${uid}`);
    assert.equal(host.ok(`systemctl is-active ${APP}-web.service`), 'active');
    // The wrapper reads /etc/default/<app> too.
    assert.equal(host.ok(APP), 'service-app build=1.0 greeting=hello from 1.0 mode=production uid=0');
    assertContents(host);
    assert.match(host.ok(`dpkg -s ${APP}`), /^Version: 1:1\.0-1$/m);
    assert.equal(host.ok(`gzip -dc /usr/share/doc/${APP}/changelog.Debian.gz | head -n 1`), 'service-app (1:1.0-1) unstable; urgency=medium');
    // The timer: enabled and waiting; its oneshot job runs as the service's user with its environment.
    host.ok(`systemd-analyze verify /lib/systemd/system/${APP}-tick.service /lib/systemd/system/${APP}-tick.timer`);
    assert.equal(host.ok(`systemctl is-enabled ${APP}-tick.timer`), 'enabled');
    assert.equal(host.ok(`systemctl is-active ${APP}-tick.timer`), 'active');
    host.ok(`systemctl start ${APP}-tick.service`);
    assert.equal(host.ok(`systemctl show -p Result --value ${APP}-tick.service`), 'success');
    await waitFor(() => host.sh(`journalctl -u ${APP}-tick.service -o cat --no-pager`).output, `service-app build=1.0 greeting=hello from 1.0 mode=production uid=${host.ok(`id -u ${APP}`)}`);
    assert.match(host.sh(`dpkg -S /var/log/${APP}/${APP}.log`).output, /no path found/, 'a deb ghost is no file of the package');

    // Upgrade after editing the config file.
    host.ok(`sed -i 's/hello from 1.0/edited by the admin/' /etc/${APP}/config.json && : > ${ORDER_LOG}`);
    const pidBefore = host.mainPid();
    const workerBefore = host.mainPid(`${APP}-worker.service`);
    host.ok(`dpkg -i --force-confdef --force-confold /tmp/${path.basename(artifacts['service deb 1.1']!)}`);
    assert.equal(host.ok(`cat /etc/${APP}/config.json`), '{ "greeting": "edited by the admin" }');
    assert.equal(host.ok(`cat /etc/${APP}/config.json.dpkg-dist`), '{ "greeting": "hello from 1.1" }');
    assert.equal(host.ok(APP), 'service-app build=1.1 greeting=edited by the admin mode=production uid=0');
    const order = host.ok(`cat ${ORDER_LOG}`);
    process.stderr.write(`deb upgrade 1.0 → 1.1, maintainer scripts in order:\n${order}\n`);
    assert.equal(order, ['prerm upgrade 1.0-1', 'preinst upgrade 1.1-1', 'postrm upgrade 1.0-1', 'postinst upgrade 1.1-1'].join('\n'));
    assert.notEqual(host.mainPid(), pidBefore, 'the service was restarted');
    assert.notEqual(host.mainPid(`${APP}-worker.service`), workerBefore, 'the worker was restarted');
    // Restarting the socket restarted the web service it had started (Requires=): the new version answers.
    assert.equal(webGet(host), `service-app build=1.1 greeting=edited by the admin mode=production uid=${uid}`);
    await waitFor(() => host.sh(`tail -n 1 /var/lib/${APP}/started.log`).output, `service-app build=1.1 greeting=edited by the admin mode=production uid=${uid}`);
    // dpkg unpacked the new files as root: postinst gave them back to their owner.
    assertContents(host);

    // Remove: stopped and disabled, program gone; config, data and the account kept.
    host.ok(`: > ${ORDER_LOG} && dpkg -r ${APP}`);
    assert.equal(host.ok(`cat ${ORDER_LOG}`), 'prerm remove 1.1-1\npostrm remove 1.1-1');
    assert.equal(host.sh(`systemctl is-active ${APP}.service ${APP}-worker.service ${APP}-web.socket ${APP}-web.service`).output, 'inactive\ninactive\ninactive\ninactive');
    assert.equal(host.mainPid(), 0);
    assert.notEqual(host.sh(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/${WEB_PORT}'`).code, 0, 'nothing listens any more');
    host.ok(`test ! -e /opt/${APP} && test ! -e /usr/bin/${APP} && test ! -e /lib/systemd/system/${APP}.service && test ! -e /etc/systemd/system/multi-user.target.wants/${APP}.service`);
    host.ok(`test ! -e /etc/systemd/system/timers.target.wants/${APP}-tick.timer && ! systemctl is-active --quiet ${APP}-tick.timer`);
    host.ok(`test ! -e /lib/systemd/system/${APP}-web.socket && test ! -e /etc/systemd/system/sockets.target.wants/${APP}-web.socket && test ! -e /etc/systemd/system/multi-user.target.wants/${APP}-worker.service`);
    host.ok(`test -f /etc/${APP}/config.json && test -f /etc/default/${APP} && test -f /var/lib/${APP}/started.log && test -d /var/log/${APP} && getent passwd ${APP}`);

    // Installed again after the removal (dpkg calls postinst configure <old-version>, as for an
    // upgrade): enabled and started again, the kept config in use.
    host.ok(`dpkg -i /tmp/${path.basename(artifacts['service deb 1.1']!)}`);
    assert.equal(host.ok(`systemctl is-enabled ${APP}.service`), 'enabled');
    assert.equal(host.ok(`systemctl is-active ${APP}.service`), 'active');
    host.ok(`dpkg -r ${APP}`);

    // Purge: config, data and the account go; nothing of the package is left.
    host.ok(`dpkg -P ${APP}`);
    assert.equal(host.sh(`getent passwd ${APP} || getent group ${APP} || echo none`).output, 'none');
    assert.equal(host.sh(`find / -xdev \\( -path /proc -o -path /var/tmp -o -path /tmp -o -path /var/log/journal \\) -prune -o -name '*${APP}*' -print`).output, '');
  });

  it('deb: an upgrade from a version that was no service enables and starts the unit', async () => {
    const host = await boot();
    host.ok(`dpkg -i /tmp/${path.basename(artifacts['plain deb 0.9']!)}`);
    assert.equal(host.sh(`systemctl is-enabled ${APP}.service`).output, 'Failed to get unit file state for service-app.service: No such file or directory');
    host.ok(`dpkg -i /tmp/${path.basename(artifacts['service deb 1.0']!)}`);
    assert.equal(host.ok(`systemctl is-enabled ${APP}.service`), 'enabled');
    assert.equal(host.ok(`systemctl is-active ${APP}.service`), 'active');
    assert.equal(host.ok(`cat ${ORDER_LOG}`), 'preinst upgrade 1.0-1\npostinst install 1.0-1', 'the new postinst ran as an install');
    assert.equal(host.ok(`systemctl is-active ${APP}-worker.service ${APP}-web.socket ${APP}-tick.timer`), 'active\nactive\nactive', 'every unit, not only the main one');
    assert.equal(host.ok(`ls -A /var/lib/${APP} | grep -c enable-unit || true`), '0', 'no marker left');
  });

  it('deb: Type=notify: an upgrade whose service never reports ready fails, and leaves the new files half-configured with no process running; installing the old version again recovers', async () => {
    const host = await boot();
    host.ok(`dpkg -i /tmp/${path.basename(artifacts['service deb 1.1']!)}`);
    const oldPid = host.mainPid();
    const started = Date.now();
    const upgrade = host.sh(`dpkg -i /tmp/${path.basename(artifacts['service deb 1.2']!)}`);
    const waited = Date.now() - started;
    process.stderr.write(`deb upgrade to a service that never reports ready (TimeoutStartSec=15): dpkg exited ${upgrade.code} after ${waited} ms\n${upgrade.output}\n`);
    assert.notEqual(upgrade.code, 0, upgrade.output);
    assert.match(upgrade.output, /^service-app: not ready: service-app\.service \(no READY=1 within TimeoutStartSec, or it exited\): the upgrade fails/m);
    assert.match(upgrade.output, /installed service-app package post-installation script subprocess returned error exit status 1/);
    assert.ok(waited >= 15_000, 'systemctl waited for TimeoutStartSec');
    assert.match(host.ok(`journalctl -u ${APP}.service --no-pager -o cat`), /start operation timed out/);
    // What is left: 1.2's files, the package half-configured, the old process stopped by the restart.
    const status = host.ok(`dpkg -s ${APP}`);
    assert.match(status, /^Status: install ok half-configured$/m);
    assert.match(status, /^Version: 1:1\.2-1$/m);
    assert.match(host.ok(APP), /^service-app build=1\.2 /);
    assert.notEqual(host.sh(`kill -0 ${oldPid}`).code, 0, 'the 1.1 process is gone');
    assert.notEqual(host.sh(`systemctl is-active ${APP}.service`).output, 'active');
    // The other units were restarted on 1.2 and run.
    assert.equal(host.ok(`systemctl is-active ${APP}-worker.service ${APP}-web.socket`), 'active\nactive');
    // Recovery: the previous version installed again (a downgrade) is configured and runs.
    host.ok(`dpkg -i /tmp/${path.basename(artifacts['service deb 1.1']!)}`);
    assert.match(host.ok(`dpkg -s ${APP}`), /^Status: install ok installed$/m);
    assert.equal(host.ok(`systemctl is-active ${APP}.service`), 'active');
    assert.match(host.ok(APP), /^service-app build=1\.1 /);
  });

  it('deb without systemd running (plain debian:bookworm): every phase succeeds and says what it did not do', async (t) => {
    const host = await cleanHost('debian:bookworm', [artifacts['service deb 1.0']!, artifacts['service deb 1.1']!]);
    t.after(() => host.remove());
    const install = await host.sh(`dpkg -i /tmp/${path.basename(artifacts['service deb 1.0']!)}`);
    assert.equal(install.code, 0, install.output);
    assert.match(install.output, /service-app: systemctl not found: service-app\.service not enabled/);
    assert.match(install.output, /service-app: systemd is not running \(container or chroot\?\): service-app\.service not started/);
    const upgrade = await host.sh(`dpkg -i /tmp/${path.basename(artifacts['service deb 1.1']!)}`);
    assert.equal(upgrade.code, 0, upgrade.output);
    assert.match(upgrade.output, /service-app\.service not restarted/);
    const run = await host.sh(APP);
    assert.equal(run.output, 'service-app build=1.1 greeting=hello from 1.1 mode=production uid=0');
    const purge = await host.sh(`dpkg -P ${APP} && (getent passwd ${APP} || echo no user) && test ! -e /var/lib/${APP} && test ! -e /etc/${APP} && echo purged`);
    assert.equal(purge.code, 0, purge.output);
    assert.match(purge.output, /^no user$/m);
    assert.match(purge.output, /^purged$/m);
  });

  it('rpm (Debian\'s rpm, scriptlets run by /bin/sh): install enables but does not start (start: false), upgrade keeps the edit and does not restart (restartOnUpgrade: false), erase stops and keeps config, data and user', async () => {
    const host = await boot();
    const rpm = (version: string) => `/tmp/${path.basename(artifacts[`service rpm ${version}`]!)}`;
    // --nodeps: Debian's rpm database knows none of the Debian packages; --force-debian: its rpm refuses to install otherwise.
    const flags = '--nodeps --force-debian';
    const list = host.ok(`rpm -qlp ${rpm('1.0')} && rpm -qp --configfiles ${rpm('1.0')} | sed 's/^/config: /'`).split('\n');
    assert.deepEqual(list.filter((line) => line.startsWith('config: ')).sort(), [`config: /etc/default/${APP}`, `config: /etc/${APP}/config.json`, `config: /etc/${APP}/secret.json`]);
    for (const system of ['/etc', '/etc/default', '/usr/lib/systemd/system', '/var', '/var/lib', '/usr/bin']) assert.ok(!list.includes(system), `the package does not own ${system}`);
    assert.match(host.ok(`rpm -qp --provides --conflicts --obsoletes ${rpm('1.0')}`), /service-app-api[\s\S]*service-app-legacy[\s\S]*service-app-legacy/);

    // Relations, epoch, and the contents as rpm records them: %ghost, %attr, %dir, %config.
    const relations = host.ok(`rpm -qp --qf '%{EPOCH}\\n[pre %{REQUIREFLAGS:deptype} %{REQUIRENAME} %{REQUIREFLAGS:depflags} %{REQUIREVERSION}\\n]' ${rpm('1.0')}`).split('\n');
    assert.equal(relations[0], '1');
    assert.ok(relations.some((line) => /^pre (\S+,)?pre(,\S+)? dpkg\s*>=\s*1\.19$/.test(line)), relations.join('\n'));
    assert.equal(host.ok(`rpm -qp --recommends ${rpm('1.0')}`), '(curl or wget)');
    assert.equal(host.ok(`rpm -qp --suggests ${rpm('1.0')}`), 'rpm >= 4.0');
    assert.equal(host.ok(`rpm -qp --enhances ${rpm('1.0')}`), 'systemd');
    const recorded = host.ok(`rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEMODES:perms} %{FILENAMES}\\n]' ${rpm('1.0')}`).split('\n');
    for (const line of [
      `g ${APP}:${APP} -rw-r----- /var/log/${APP}/${APP}.log`,
      ` ${APP}:${APP} -rw-r----- /usr/share/${APP}/build-version`,
      `cn root:${APP} -rw-r----- /etc/${APP}/secret.json`,
      ` ${APP}:${APP} drwx------ /var/cache/${APP}`,
      ` ${APP}:${APP} drwxr-x--- /var/log/${APP}`,
      ` root:root lrwxrwxrwx /usr/lib/${APP}/service.js`,
    ]) assert.ok(recorded.includes(line), `${line} in\n${recorded.join('\n')}`);

    const install = host.ok(`rpm -i ${flags} ${rpm('1.0')}`);
    assert.equal(host.ok(`cat ${ORDER_LOG}`), 'preinst install 1.0-1\npostinst install 1.0-1');
    assertContents(host);
    host.ok(`rpm -V --nodeps ${APP}`);
    host.ok(`systemd-analyze verify /usr/lib/systemd/system/${APP}.service`);
    // service.start false: enabled (it starts at boot) but not started by the install; its timer alike.
    assert.equal(host.ok(`systemctl is-enabled ${APP}.service ${APP}-tick.timer`), 'enabled\nenabled');
    assert.equal(host.sh(`systemctl is-active ${APP}-tick.timer`).output, 'inactive');
    assert.match(install, /service-app\.service not started \(service\.start is false\)/);
    assert.equal(host.sh(`systemctl is-active ${APP}.service`).output, 'inactive');
    host.ok(`systemctl start ${APP}.service`);
    assert.equal(host.ok(`systemctl is-active ${APP}.service`), 'active');
    const uid = host.ok(`id -u ${APP}`);
    await waitFor(() => host.sh(`cat /var/lib/${APP}/started.log`).output, `service-app build=1.0 greeting=hello from 1.0 mode=production uid=${uid}`);

    host.ok(`sed -i 's/hello from 1.0/edited by the admin/' /etc/${APP}/config.json && : > ${ORDER_LOG}`);
    const pidBefore = host.mainPid();
    const upgrade = host.ok(`rpm -U ${flags} ${rpm('1.1')}`);
    assert.equal(host.ok(`cat /etc/${APP}/config.json`), '{ "greeting": "edited by the admin" }');
    assert.equal(host.ok(`cat /etc/${APP}/config.json.rpmnew`), '{ "greeting": "hello from 1.1" }');
    const order = host.ok(`cat ${ORDER_LOG}`);
    process.stderr.write(`rpm upgrade 1.0 → 1.1, scriptlets in order:\n${order}\n`);
    assert.equal(order, ['preinst upgrade 1.1-1', 'postinst upgrade 1.1-1', 'prerm upgrade 1.0-1', 'postrm upgrade 1.0-1'].join('\n'));
    // service.restartOnUpgrade false: the old process goes on until the operator restarts it.
    assert.match(upgrade, /service-app\.service not restarted \(service\.restartOnUpgrade is false\)/);
    assert.equal(host.mainPid(), pidBefore, 'the service was not restarted');
    host.ok(`systemctl restart ${APP}.service`);
    await waitFor(() => host.sh(`tail -n 1 /var/lib/${APP}/started.log`).output, `service-app build=1.1 greeting=edited by the admin mode=production uid=${uid}`);
    assert.equal(host.ok(APP), 'service-app build=1.1 greeting=edited by the admin mode=production uid=0');
    assert.equal(
      host.ok(`rpm -q --changelog ${APP}`),
      [
        '* Thu May 02 2024 ndist tests <tests@ndist.invalid> - 1:1.1-1',
        '- Fixed: The greeting is read from the config file again.',
        '',
        '* Wed May 01 2024 ndist tests <tests@ndist.invalid> - 1:1.0-1',
        '- Added: First release as a service.',
      ].join('\n'),
    );

    host.ok(`: > ${ORDER_LOG} && rpm -e ${flags.split(' ')[0]} ${APP}`);
    assert.equal(host.ok(`cat ${ORDER_LOG}`), 'prerm remove 1.1-1\npostrm remove 1.1-1');
    assert.equal(host.sh(`systemctl is-active ${APP}.service`).output, 'inactive');
    host.ok(`test ! -e /opt/${APP} && test ! -e /usr/bin/${APP} && test ! -e /usr/lib/systemd/system/${APP}.service && test ! -e /etc/systemd/system/multi-user.target.wants/${APP}.service`);
    // rpm keeps an edited %config file as .rpmsave; the account and data stay (Fedora's policy: no userdel).
    assert.equal(host.ok(`cat /etc/${APP}/config.json.rpmsave`), '{ "greeting": "edited by the admin" }');
    host.ok(`getent passwd ${APP} && test -f /var/lib/${APP}/started.log`);
    // The contents' directories and the ghost are rpm's: erase removes them (a directory only when empty).
    host.ok(`test ! -e /var/log/${APP} && test ! -e /var/cache/${APP} && test ! -e /usr/lib/${APP}`);
    assert.equal(host.sh(`systemctl is-active ${APP}-worker.service ${APP}-web.socket ${APP}-web.service`).output, 'inactive\ninactive\ninactive');
    host.ok(`test ! -e /usr/lib/systemd/system/${APP}-web.socket && test ! -e /etc/systemd/system/sockets.target.wants/${APP}-web.socket`);
  });

  it('rpm: several units (worker, socket-activated web, timer) enabled on install; Type=notify: an upgrade whose service exits before ready fails its %post (rpm warns, and still exits 0)', async () => {
    const host = await boot();
    const rpm = (version: string) => `/tmp/${path.basename(artifacts[`service rpm ${version}`]!)}`;
    const flags = '--nodeps --force-debian';
    host.ok(`rpm -i ${flags} ${rpm('1.1')}`);
    assert.equal(host.ok(`systemctl is-enabled ${APP}.service ${APP}-worker.service ${APP}-web.socket ${APP}-tick.timer`), 'enabled\nenabled\nenabled\nenabled');
    host.ok(`systemctl start ${APP}.service ${APP}-worker.service ${APP}-web.socket`);
    const uid = host.ok(`id -u ${APP}`);
    assert.equal(webGet(host), `service-app build=1.1 greeting=hello from 1.1 mode=production uid=${uid}`);
    const oldPid = host.mainPid();
    const upgrade = host.sh(`rpm -U ${flags} ${rpm('1.2')}`);
    process.stderr.write(`rpm upgrade to a service that exits before ready: rpm exited ${upgrade.code}\n${upgrade.output}\n`);
    // rpm treats a failed %post as a warning: the transaction stands and rpm exits 0 (measured with
    // Debian's rpm 4.18; dnf likewise reports "Error in POSTIN scriptlet" and completes).
    assert.equal(upgrade.code, 0, upgrade.output);
    assert.match(upgrade.output, /^service-app: not ready: service-app\.service \(no READY=1 within TimeoutStartSec, or it exited\): the upgrade fails/m);
    assert.match(upgrade.output, /^warning: %post\(service-app-1:1\.2-1\.x86_64\) scriptlet failed, exit status 1$/m);
    assert.match(host.ok(`journalctl -u ${APP}.service --no-pager -o cat`), /status=3/);
    // rpm does not undo a transaction: 1.2 is what is installed, the old process was stopped by the restart.
    assert.equal(host.ok(`rpm -q --qf '%{VERSION}-%{RELEASE}\\n' ${APP}`), '1.2-1');
    assert.notEqual(host.sh(`kill -0 ${oldPid}`).code, 0);
    assert.equal(webGet(host), `service-app build=1.2 greeting=hello from 1.2 mode=production uid=${uid}`);
  });
});

/** Every contents entry installed as declared: owners and modes, the symlink resolving, the ghost present and empty. */
function assertContents(host: Host): void {
  assert.equal(
    host.ok(`stat -c '%U:%G %a %n' /usr/share/${APP}/build-version /etc/${APP}/secret.json /var/cache/${APP} /var/log/${APP}/${APP}.log`),
    [`${APP}:${APP} 640 /usr/share/${APP}/build-version`, `root:${APP} 640 /etc/${APP}/secret.json`, `${APP}:${APP} 700 /var/cache/${APP}`, `${APP}:${APP} 640 /var/log/${APP}/${APP}.log`].join('\n'),
  );
  assert.equal(host.ok(`readlink -f /usr/lib/${APP}/service.js && test -s /usr/lib/${APP}/service.js && test ! -s /var/log/${APP}/${APP}.log && echo ok`), `/opt/${APP}/app/bin/service.js\nok`);
}

/** The last line of what the socket-activated web unit answers to GET / (bash's /dev/tcp: the test image has no HTTP client). */
function webGet(host: Host): string {
  return host.ok(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/${WEB_PORT} && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3' | tail -n 1`);
}

async function waitFor(read: () => string, expected: string): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < 40; attempt++) {
    last = read();
    if (last.split('\n').includes(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.fail(`expected a line "${expected}", got:\n${last}`);
}
