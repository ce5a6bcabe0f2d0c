/**
 * Builds the test fixture app (a CLI with a native addon) as a .deb for Debian 12.
 * Run from the repository root: `npm run example` (or `npx ndist build examples/package.ts`).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder, directory } from 'ndist';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'hello-app');

const builder = new Builder({ outDir: 'dist' });
builder.addBuild({
  name: 'hello-app :: bookworm',
  app: 'hello-app',
  source: directory({ path: fixture }),
  buildMachine: 'debian-bookworm',
  node: '22.23.3',
  runtimeDeps: [],
});

for (const result of await builder.build()) {
  console.log(`${result.name}: ${result.artifact} (${((result.size ?? 0) / 1e6).toFixed(1)} MB)`);
}
