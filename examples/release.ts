/**
 * A realistic release: one app, several targets, as a CI job would build it.
 *   - two Debian releases (.deb), amd64 and arm64 (arm64 runs under QEMU on an amd64 host: slow),
 *   - an .rpm for Fedora-class hosts from the Debian-based rpm machine (no registry needed),
 *   - every build signed when the CI secret NDIST_SIGNING_KEY is set,
 *   - builds selectable per CI shard: `ndist build examples/release.ts --only '*arm64*'`.
 * The version comes from the app's package.json; `SOURCE_DATE_EPOCH` makes rebuilds byte-identical.
 * List the builds: `ndist list examples/release.ts`; check them without building:
 * `ndist build examples/release.ts --dry-run`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder, directory, type Arch } from 'ndist';

const app = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'hello-app');

const builder = new Builder({
  outDir: 'dist/release',
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
      source: directory({ path: app }),
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

await builder.build();
