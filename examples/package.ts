/**
 * A realistic release, as a CI job builds it: two apps, several targets.
 *   - hello-app, a CLI with a native addon: .deb for two Debian releases, amd64 and arm64 (arm64 runs
 *     under QEMU on an amd64 host: slow), and an .rpm from the Debian-based rpm machine (no registry
 *     needed);
 *   - service-app, a systemd service with its own system user, a config file kept across upgrades and
 *     a log directory: .deb and .rpm;
 *   - every artifact signed when the CI secret NDIST_SIGNING_KEY is set.
 * One target, the README's `npm run example`:
 *   ndist build examples/package.ts --only 'hello-app :: debian-bookworm :: amd64'
 * A CI shard: `ndist build examples/package.ts --only '*arm64*'`. List the builds with
 * `ndist list examples/package.ts`; check them all without building with `--dry-run`.
 * The versions come from each app's package.json; `SOURCE_DATE_EPOCH` makes rebuilds byte-identical.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder, directory, type Arch } from 'ndist';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');

const builder = new Builder({
  outDir: 'dist',
  ...(process.env.NDIST_SIGNING_KEY ? { sign: true } : {}),
});

// The revision tells the Debian releases apart (hello-app_1.0.0-1deb12_amd64.deb), as distros do.
const targets: { machine: string; arches: Arch[]; iteration: string }[] = [
  { machine: 'debian-bookworm', arches: ['amd64', 'arm64'], iteration: '1deb12' },
  { machine: 'debian-trixie', arches: ['amd64'], iteration: '1deb13' },
  { machine: 'debian-bookworm-rpm', arches: ['amd64'], iteration: '1' },
];

for (const { machine, arches, iteration } of targets) {
  for (const arch of arches) {
    builder.addBuild({
      name: `hello-app :: ${machine} :: ${arch}`,
      app: 'hello-app',
      source: directory({ path: path.join(fixtures, 'hello-app') }),
      buildMachine: machine,
      arch,
      iteration,
      node: '22.23.3',
      // better-sqlite3 bundles its own sqlite: nothing to install on the target.
      runtimeDeps: [],
      allowedLicenses: ['MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause'],
    });
  }
}

for (const machine of ['debian-bookworm', 'debian-bookworm-rpm']) {
  builder.addBuild({
    name: `service-app :: ${machine} :: amd64`,
    app: 'service-app',
    source: directory({ path: path.join(fixtures, 'service-app') }),
    buildMachine: machine,
    node: '22.23.3',
    // Created on install (home /var/lib/service-app); the service runs as it.
    user: 'service-app',
    service: { command: ['/usr/bin/service-app', 'serve'], environment: { SERVICE_APP_MODE: 'production' }, restart: 'on-failure' },
    // A conffile / %config(noreplace): an admin's edits survive upgrades.
    configFiles: [{ path: '/etc/service-app/config.json', source: 'config/default.json' }],
    directories: [{ path: '/var/log/service-app' }],
  });
}

const results = await builder.build();
for (const result of results) {
  console.log(`${result.name}: ${result.artifact ?? result.status} (${((result.size ?? 0) / 1e6).toFixed(1)} MB)`);
}
