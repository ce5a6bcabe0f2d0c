import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { buildSecrets, gitAuthFailure, gitCredentialEnvironment } from '../../src/build/secrets.ts';

const TOKEN = 'unit-token-7c2e';

describe('build secrets', () => {
  test('nothing without tokens', () => {
    assert.deepEqual(buildSecrets({}), {});
    assert.deepEqual(gitCredentialEnvironment({ NDIST_GIT_URL: 'https://git.example.invalid' }), {});
  });

  test('NPM_TOKEN and the git token, the helper naming the variables, not their values', () => {
    const env = buildSecrets({ NPM_TOKEN: 'npm-1', NDIST_GIT_TOKEN: TOKEN, UNRELATED: 'x' });
    assert.equal(env.NPM_TOKEN, 'npm-1');
    assert.equal(env.NDIST_GIT_TOKEN, TOKEN);
    assert.equal(env.NDIST_GIT_USERNAME, 'x-access-token');
    assert.equal(env.UNRELATED, undefined);
    assert.equal(env.GIT_CONFIG_COUNT, '1');
    assert.equal(env.GIT_CONFIG_KEY_0, 'credential.helper');
    assert.ok(!env.GIT_CONFIG_VALUE_0!.includes(TOKEN));
    assert.match(env.GIT_CONFIG_VALUE_0!, /\$\{NDIST_GIT_TOKEN\}/);
  });

  test('NDIST_GIT_URL scopes the helper to its host and rewrites that host\'s ssh URLs to it', () => {
    const env = gitCredentialEnvironment({ NDIST_GIT_TOKEN: TOKEN, NDIST_GIT_URL: 'https://git.example.invalid', NDIST_GIT_USERNAME: 'ci-bot' });
    assert.equal(env.NDIST_GIT_USERNAME, 'ci-bot');
    const pairs = Array.from({ length: Number(env.GIT_CONFIG_COUNT) }, (_, i) => [env[`GIT_CONFIG_KEY_${i}`], env[`GIT_CONFIG_VALUE_${i}`]]);
    assert.deepEqual(pairs.map(([key]) => key), ['credential.https://git.example.invalid.helper', 'url.https://git.example.invalid/.insteadOf', 'url.https://git.example.invalid/.insteadOf']);
    assert.deepEqual(pairs.slice(1).map(([, value]) => value), ['ssh://git@git.example.invalid/', 'git@git.example.invalid:']);
    // With a port, scp-like git@host: URLs cannot name it: only ssh:// ones are rewritten.
    const port = gitCredentialEnvironment({ NDIST_GIT_TOKEN: TOKEN, NDIST_GIT_URL: 'http://10.0.0.1:8080/' });
    assert.equal(port.GIT_CONFIG_COUNT, '2');
    assert.equal(port.GIT_CONFIG_VALUE_1, 'ssh://git@10.0.0.1:8080/');
  });

  test('git itself reads the helper and answers with the token from the environment', () => {
    const env = { ...process.env, ...gitCredentialEnvironment({ NDIST_GIT_TOKEN: TOKEN, NDIST_GIT_URL: 'https://git.example.invalid' }) };
    const fill = (url: string) => execFileSync('git', ['credential', 'fill'], { env: { ...env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'echo' }, input: `url=${url}\n\n`, encoding: 'utf8' });
    assert.match(fill('https://git.example.invalid/org/dep.git'), new RegExp(`^username=x-access-token\npassword=${TOKEN}$`, 'm'));
    assert.doesNotMatch(fill('https://other.example.invalid/org/dep.git'), new RegExp(TOKEN), 'another host gets nothing');
    const rewritten = execFileSync('git', ['ls-remote', '--get-url', 'git@git.example.invalid:org/dep.git'], { env, encoding: 'utf8' });
    assert.equal(rewritten.trim(), 'https://git.example.invalid/org/dep.git');
  });

  test('refuses values that would break the credential protocol or are not a host', () => {
    assert.throws(() => gitCredentialEnvironment({ NDIST_GIT_TOKEN: 'a\nusername=evil' }), (e: unknown) => e instanceof ConfigError && e.field === 'NDIST_GIT_TOKEN');
    assert.throws(() => gitCredentialEnvironment({ NDIST_GIT_TOKEN: TOKEN, NDIST_GIT_USERNAME: 'a\nb' }), /NDIST_GIT_USERNAME: must be one line/);
    for (const url of ['git.example.invalid', 'ftp://git.example.invalid', 'https://git.example.invalid/org', 'https://user:pw@git.example.invalid']) {
      assert.throws(() => gitCredentialEnvironment({ NDIST_GIT_TOKEN: TOKEN, NDIST_GIT_URL: url }), /^ConfigError: NDIST_GIT_URL: /, url);
    }
  });

  test('recognises git fetches that failed for want of credentials', () => {
    assert.equal(gitAuthFailure("fatal: Authentication failed for 'http://172.17.0.1:4000/dep.git/'"), 'http://172.17.0.1:4000/dep.git/');
    assert.equal(gitAuthFailure("npm error fatal: could not read Username for 'https://git.example.invalid': terminal prompts disabled"), 'https://git.example.invalid');
    assert.equal(gitAuthFailure('npm error command git --no-replace-objects ls-remote ssh://git@git.example.invalid/org/dep.git'), 'ssh://git@git.example.invalid/org/dep.git');
    assert.equal(gitAuthFailure('npm error command git --no-replace-objects clone git@git.example.invalid:org/dep.git /root/.npm/_cacache/tmp/x'), 'git@git.example.invalid:org/dep.git');
    assert.equal(gitAuthFailure('npm error command git --no-replace-objects ls-remote https://git.example.invalid/dep.git'), undefined);
    assert.equal(gitAuthFailure('added 1 package'), undefined);
  });
});
