/** Reaching an engine (src/machine/docker/connection.ts): host URLs, TLS files, ssh, docker contexts, the default engine. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultConnection, engineConnection } from '../../src/machine/docker/connection.ts';

let dir: string;

/** A docker CLI context as `docker context create` stores it, with TLS files when `tls`. */
async function context(name: string, host: string, tls = false): Promise<void> {
  const digest = createHash('sha256').update(name).digest('hex');
  await mkdir(path.join(dir, 'contexts', 'meta', digest), { recursive: true });
  await writeFile(path.join(dir, 'contexts', 'meta', digest, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
  if (!tls) return;
  const tlsDir = path.join(dir, 'contexts', 'tls', digest, 'docker');
  await mkdir(tlsDir, { recursive: true });
  for (const kind of ['ca', 'cert', 'key']) await writeFile(path.join(tlsDir, `${kind}.pem`), `${kind} of ${name}\n`);
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ndist-connection-test-'));
  await context('remote-tls', 'tcp://build.invalid:2376', true);
  await context('sock', 'unix:///run/other/docker.sock');
});
after(() => rm(dir, { recursive: true, force: true }));

describe('engineConnection', () => {
  const env = () => ({ DOCKER_CONFIG: dir, DOCKER_HOST: 'tcp://from-env.invalid:2375' });

  test('a unix socket, whatever DOCKER_HOST says', () => {
    const connection = engineConnection({ name: 'box', host: 'unix:///tmp/e/docker.sock' }, 'engines[0]', env());
    assert.equal(connection.name, 'box');
    assert.equal(connection.address, 'unix:///tmp/e/docker.sock');
    assert.equal(connection.local, true);
    assert.equal(connection.docker.socketPath, '/tmp/e/docker.sock');
    assert.equal(connection.docker.host, undefined, 'not the host DOCKER_HOST names');
  });

  test('tcp: plain without TLS files, https with them; loopback counts as local', async () => {
    const plain = engineConnection({ name: 't', host: 'tcp://127.0.0.1:23750' }, 'engines[0]', env());
    assert.deepEqual([plain.docker.protocol, plain.docker.host, plain.docker.port, plain.local], ['http', '127.0.0.1', '23750', true]);
    const ca = path.join(dir, 'ca.pem');
    await writeFile(ca, 'the CA\n');
    const secure = engineConnection({ name: 't', host: 'tcp://build.invalid:2376', tls: { ca } }, 'engines[0]', env());
    assert.deepEqual([secure.docker.protocol, secure.docker.host, String(secure.docker.ca), secure.local], ['https', 'build.invalid', 'the CA\n', false]);
  });

  test('ssh: user, host and port for docker-modem', () => {
    const connection = engineConnection({ name: 'arm', host: 'ssh://builder@arm.invalid:2222' }, 'engines[0]', env());
    assert.deepEqual([connection.docker.protocol, connection.docker.host, connection.docker.port, connection.docker.username], ['ssh', 'arm.invalid', '2222', 'builder']);
  });

  test('a docker context: its endpoint and TLS files from $DOCKER_CONFIG; a missing one names the field', () => {
    const tls = engineConnection({ name: 'r', context: 'remote-tls' }, 'engines[1]', env());
    assert.equal(tls.address, 'tcp://build.invalid:2376 (context remote-tls)');
    assert.deepEqual([tls.docker.protocol, String(tls.docker.cert), String(tls.docker.key)], ['https', 'cert of remote-tls\n', 'key of remote-tls\n']);
    const sock = engineConnection({ name: 's', context: 'sock' }, 'engines[1]', env());
    assert.equal(sock.docker.socketPath, '/run/other/docker.sock');
    assert.throws(() => engineConnection({ name: 'n', context: 'nowhere' }, 'engines[2]', env()), /^ConfigError: engines\[2\]\.context: docker context "nowhere" does not exist/);
  });
});

describe('defaultConnection', () => {
  test('DOCKER_HOST first, as docker-modem reads it', () => {
    const connection = defaultConnection({ env: { DOCKER_HOST: 'tcp://from-env.invalid:2375', DOCKER_CONTEXT: 'sock' }, configDir: dir });
    assert.deepEqual([connection.name, connection.address, connection.local], ['default', 'tcp://from-env.invalid:2375', false]);
  });

  test('then DOCKER_CONTEXT, then the current context of config.json, else the default socket', async () => {
    assert.equal(defaultConnection({ env: { DOCKER_CONTEXT: 'sock' }, configDir: dir }).docker.socketPath, '/run/other/docker.sock');
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ currentContext: 'remote-tls' }));
    const current = defaultConnection({ env: {}, configDir: dir });
    assert.deepEqual([current.name, current.docker.host], ['remote-tls', 'build.invalid']);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ currentContext: 'default' }));
    assert.equal(defaultConnection({ env: {}, configDir: dir }).docker.socketPath, '/var/run/docker.sock');
  });
});
