/**
 * End to end: `ndist verify` on real clean bookworm containers, with packages broken by hand with
 * dpkg-deb on the host (no build needed), each failing at the step named: a postinst that exits 1,
 * a purge that leaves a file in /etc, a service that does not start, a smoke test whose output
 * does not match, and one that takes /opt away as ndist's packages did before their postrm put it
 * back; an .rpm is not run, and says why; an upgrade from what a repository channel serves passes,
 * and fails when the new version writes over an admin's edit. Packages ndist built are verified in
 * verify-built.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { publish } from '../../src/index.ts';
import { VerifyFailedError } from '../../src/errors.ts';
import type { SmokeTest } from '../../src/options/types.ts';
import { verify } from '../../src/verify/verify.ts';
import { readVerifyRecords } from '../../src/verify/record.ts';
import { docker, verifyContainers } from '../helpers/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BOOKWORM = { id: 'debian', versionId: '12', codename: 'bookworm' };

interface HandMade {
  name: string;
  /** Default 1.0. */
  version?: string;
  postinst?: string;
  prerm?: string;
  postrm?: string;
  smoke?: SmokeTest;
  /** A systemd unit <name>.service, shipped in /lib/systemd/system, enabled and started by postinst. */
  unit?: string;
  files?: Record<string, string>;
  /** Files under /etc listed in DEBIAN/conffiles. */
  conffiles?: Record<string, string>;
}

/** A .deb made with dpkg-deb on the host: /opt/<name>/bin/<name> printing "<name> 1.0", /usr/bin link, maintainer scripts as given. */
function handMadeDeb(dir: string, spec: HandMade): string {
  const version = spec.version ?? '1.0';
  const root = path.join(dir, `root-${spec.name}-${version}`);
  mkdirSync(path.join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(path.join(root, 'opt', spec.name, 'bin'), { recursive: true });
  const program = path.join(root, 'opt', spec.name, 'bin', spec.name);
  writeFileSync(program, `#!/bin/sh\necho "${spec.name} ${version}"\n`);
  chmodSync(program, 0o755);
  for (const [file, content] of Object.entries({ ...spec.files, ...spec.conffiles })) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  if (spec.conffiles) writeFileSync(path.join(root, 'DEBIAN', 'conffiles'), Object.keys(spec.conffiles).map((file) => `${file}\n`).join(''));
  writeFileSync(path.join(root, 'DEBIAN', 'control'), `Package: ${spec.name}\nVersion: ${version}-1\nArchitecture: all\nMaintainer: ndist tests <tests@ndist.invalid>\nDescription: hand-made package for the verify e2e\n`);
  const unitScripts = spec.unit
    ? { postinst: `systemctl daemon-reload\nsystemctl enable ${spec.name}.service\nsystemctl restart ${spec.name}.service || true`, prerm: `systemctl disable --now ${spec.name}.service || true`, postrm: 'systemctl daemon-reload || true' }
    : undefined;
  if (spec.unit) {
    mkdirSync(path.join(root, 'lib', 'systemd', 'system'), { recursive: true });
    writeFileSync(path.join(root, 'lib', 'systemd', 'system', `${spec.name}.service`), spec.unit);
  }
  const scripts = [['postinst', [unitScripts?.postinst, spec.postinst]], ['prerm', [unitScripts?.prerm, spec.prerm]], ['postrm', [unitScripts?.postrm, spec.postrm]]] as const;
  for (const [script, parts] of scripts) {
    const body = parts.filter(Boolean).join('\n');
    if (!body) continue;
    writeFileSync(path.join(root, 'DEBIAN', script), `#!/bin/sh\nset -e\n${body}\n`);
    chmodSync(path.join(root, 'DEBIAN', script), 0o755);
  }
  const file = path.join(dir, `${spec.name}_${version}-1_all.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, file], { stdio: 'ignore' });
  return file;
}

/** An outDir whose ndist-report.json lists `deb` as a successful debian-bookworm build, as `ndist build` writes it. */
function reportFor(dir: string, deb: string, spec: HandMade): string {
  const outDir = path.join(dir, `out-${spec.name}`);
  mkdirSync(outDir, { recursive: true });
  const file = path.basename(deb);
  writeFileSync(path.join(outDir, file), readFileSync(deb));
  const sha256 = createHash('sha256').update(readFileSync(deb)).digest('hex');
  const build = {
    name: spec.name,
    status: 'succeeded',
    inputs: { app: spec.name, ...(spec.smoke ? { smoke: spec.smoke } : {}), ...(spec.unit ? { service: { command: ['/bin/sh'] } } : {}) },
    machine: { id: 'debian-bookworm', format: 'deb', os: BOOKWORM },
    artifact: { file, size: 0, sha256 },
  };
  writeFileSync(path.join(outDir, 'ndist-report.json'), JSON.stringify({ builds: [build] }));
  return outDir;
}

/** Containers verify left behind: none, whatever happened. */
describe('ndist verify', { timeout: 25 * 60_000 }, () => {
  let work: string;
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ndist-e2e-verify-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** A signed repository (its key made once per run) whose channel stable serves `deb` for bookworm. */
  let keyFile: string | undefined;
  async function servedByStable(name: string, deb: string): Promise<string> {
    if (!keyFile) {
      const gpgHome = path.join(work, 'gpg');
      mkdirSync(gpgHome, { mode: 0o700 });
      const gpg = (args: string[]) => execFileSync('gpg', ['--batch', '--homedir', gpgHome, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      gpg(['--passphrase', '', '--quick-gen-key', 'ndist verify test <verify@ndist.invalid>', 'rsa3072', 'sign', 'never']);
      keyFile = path.join(work, 'repo-key.asc');
      writeFileSync(keyFile, gpg(['--armor', '--export-secret-keys']));
    }
    const repo = path.join(work, name);
    await publish([deb], { repo, sign: { keyFile }, channel: 'stable', dist: 'bookworm', log: () => {} });
    return repo;
  }

  /** Verify a hand-made package; returns the step it failed at and the lines printed. */
  async function failingStep(spec: HandMade): Promise<{ step: string | undefined; output: string }> {
    const outDir = reportFor(work, handMadeDeb(work, spec), spec);
    lines.length = 0;
    // lintian is left to the package ndist built: these fail before it, and CI time is shared.
    await assert.rejects(verify({ target: outDir, projectDir: ROOT, lint: false, log }), VerifyFailedError);
    assert.deepEqual(await verifyContainers(), []);
    const record = Object.values(readVerifyRecords(path.join(outDir, 'ndist-verify.json')).artifacts)[0]!.releases.bookworm!;
    assert.equal(record.ok, false);
    return { step: record.failure?.step, output: lines.join('\n') };
  }

  it('fails at install when the postinst exits 1, showing its output', async () => {
    const { step, output } = await failingStep({ name: 'broken-postinst', postinst: 'echo "postinst: cannot configure" >&2; exit 1' });
    assert.equal(step, 'install');
    assert.match(output, /step "install" failed: apt-get install failed/);
    assert.match(output, /postinst: cannot configure/);
  });

  it('a service under systemd as PID 1: active, smoke-tested, still active; then fails at leftovers when purge leaves a file in /etc', async () => {
    const { step, output } = await failingStep({
      name: 'leaves-etc',
      unit: '[Unit]\nDescription=verify e2e service\n[Service]\nExecStart=/bin/sh -c "while :; do sleep 1; done"\n[Install]\nWantedBy=multi-user.target\n',
      postinst: 'echo x > /etc/leaves-etc.state',
      postrm: '[ -d /opt ] || mkdir -m 0755 /opt',
      smoke: ['systemctl', 'is-active', 'leaves-etc.service'],
    });
    assert.equal(step, 'leftovers');
    assert.match(output, /^leaves-etc \| service: ok/m);
    assert.match(output, /^leaves-etc \| smoke: ok/m);
    assert.match(output, /^leaves-etc \| service after smoke: ok/m);
    assert.match(output, /left after purge: \/etc\/leaves-etc\.state/);
  });

  it('fails at service when the unit does not start, with its journal', async () => {
    const { step, output } = await failingStep({
      name: 'dead-service',
      unit: '[Unit]\nDescription=verify e2e dead service\n[Service]\nExecStart=/bin/sh -c "echo dead-service cannot bind >&2; exit 3"\n[Install]\nWantedBy=multi-user.target\n',
      postrm: '[ -d /opt ] || mkdir -m 0755 /opt',
    });
    assert.equal(step, 'service');
    assert.match(output, /step "service" failed: dead-service\.service is (failed|activating)/);
    assert.match(output, /journal of the service:[\s\S]*dead-service cannot bind/);
  });

  it('fails at leftovers when removing the package takes /opt away (no postrm putting it back)', async () => {
    const { step, output } = await failingStep({ name: 'takes-opt' });
    assert.equal(step, 'leftovers');
    assert.match(output, /gone after purge \(it was there before install\): \/opt$/m);
  });

  it('fails at smoke when the output does not match', async () => {
    const { step, output } = await failingStep({
      name: 'wrong-output',
      postrm: '[ -d /opt ] || mkdir -m 0755 /opt',
      smoke: { command: ['/opt/wrong-output/bin/wrong-output'], output: '^wrong-output 2\\.' },
    });
    assert.equal(step, 'smoke');
    assert.match(output, /does not match \/\^wrong-output 2\\\.\//);
    assert.match(output, /wrong-output 1\.0/);
  });

  it('does not run an .rpm, and says why: NOT RUN, not verified, no container started', async () => {
    const outDir = path.join(work, 'out-rpm');
    mkdirSync(outDir, { recursive: true });
    const file = 'app-1.0.0-1.x86_64.rpm';
    writeFileSync(path.join(outDir, file), 'not looked at: verify stops before any host');
    const sha256 = createHash('sha256').update(readFileSync(path.join(outDir, file))).digest('hex');
    const build = { name: 'app rpm', status: 'succeeded', inputs: { app: 'app' }, machine: { id: 'rockylinux-9', format: 'rpm', os: { id: 'rocky', versionId: '9' } }, artifact: { file, size: 0, sha256 } };
    writeFileSync(path.join(outDir, 'ndist-report.json'), JSON.stringify({ builds: [build] }));
    lines.length = 0;
    await assert.rejects(verify({ target: outDir, projectDir: ROOT, log }), VerifyFailedError);
    const output = lines.join('\n');
    assert.match(output, /^app rpm \| step "prepare" failed: cannot verify app-1\.0\.0-1\.x86_64\.rpm on el9: ndist verify runs its cycle with apt on Debian-family hosts only; an \.rpm needs a clean Red Hat-family host with dnf/m);
    assert.match(output, /^app rpm\s+el9\s+NOT RUN\s/m);
    assert.equal(readVerifyRecords(path.join(outDir, 'ndist-verify.json')).artifacts[sha256]!.releases.el9!.ok, false);
  });

  it('upgrades from what a repository channel serves (the service restarted), rolls back to it, upgrades again, and purges clean', async () => {
    const spec = (version: string): HandMade => ({
      name: 'upgrades',
      version,
      unit: '[Unit]\nDescription=verify e2e upgrade\n[Service]\nExecStart=/bin/sh -c "while :; do sleep 1; done"\n[Install]\nWantedBy=multi-user.target\n',
      postrm: '[ -d /opt ] || mkdir -m 0755 /opt',
      smoke: { command: ['/opt/upgrades/bin/upgrades'], output: '^upgrades 1\\.1$' },
      // Changed in the new version too: dpkg keeps the admin's edit (confold), the new file beside it.
      conffiles: { '/etc/upgrades/upgrades.conf': `version=${version}\n` },
    });
    const repo = await servedByStable('repo', handMadeDeb(work, spec('1.0')));
    const outDir = reportFor(work, handMadeDeb(work, spec('1.1')), spec('1.1'));
    lines.length = 0;
    const outcomes = await verify({ target: outDir, projectDir: ROOT, fromRepo: repo, channel: 'stable', lint: false, log }).catch((error: unknown) => assert.fail(`${error}\n${lines.join('\n')}`));
    assert.deepEqual(outcomes[0]!.result.steps.map((step) => step.step), ['prepare', 'snapshot', 'install previous', 'upgrade', 'libraries', 'smoke', 'service after smoke', 'rollback', 'upgrade again', 'remove', 'purge', 'leftovers']);
    assert.match(lines.join('\n'), /^upgrades \| upgrade from 1\.0-1 \(stable\)$/m);
    assert.match(lines.join('\n'), /^upgrades \| upgrade: the edits to \/etc\/upgrades\/upgrades\.conf were kept$/m);
    assert.deepEqual(await verifyContainers(), []);
  });

  it("fails at upgrade when the new version's postinst writes over an admin's edit to a config file", async () => {
    const spec = (version: string): HandMade => ({
      name: 'clobbers',
      version,
      postrm: '[ -d /opt ] || mkdir -m 0755 /opt',
      conffiles: { '/etc/clobbers.conf': 'level=1\n' },
      // What a careless hook does: the default written again on every configure.
      ...(version === '1.1' ? { postinst: 'echo level=1 > /etc/clobbers.conf' } : {}),
    });
    const repo = await servedByStable('repo-clobbers', handMadeDeb(work, spec('1.0')));
    const outDir = reportFor(work, handMadeDeb(work, spec('1.1')), spec('1.1'));
    lines.length = 0;
    await assert.rejects(verify({ target: outDir, projectDir: ROOT, fromRepo: repo, channel: 'stable', lint: false, log }), VerifyFailedError);
    assert.match(lines.join('\n'), /^clobbers \| step "upgrade" failed: an edit to a config file did not survive the upgrade from 1\.0-1/m);
    assert.deepEqual(await verifyContainers(), []);
  });
});
