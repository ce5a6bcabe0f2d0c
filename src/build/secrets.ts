/**
 * Secrets a build step needs: npm's token and the credentials of private git dependencies. They go
 * to the environment of the build step's exec only, never into a file, a label, the container's
 * configuration, an image, the log or the report. Whatever refers to them (npm's auth line, git's
 * credential helper) names the variable, and the tool reads its value from that environment.
 */
import { ConfigError } from '../errors.ts';

/** Username git sends with NDIST_GIT_TOKEN when NDIST_GIT_USERNAME is unset; hosts that take a token as the password accept any. */
export const DEFAULT_GIT_USERNAME = 'x-access-token';

/**
 * Git's credential helper, defined through GIT_CONFIG_* variables so no gitconfig file holds it.
 * It answers git's `get` with the username and token from its own environment: the definition
 * holds their names only.
 */
const GIT_CREDENTIAL_HELPER = '!f() { test "$1" = get || return 0; echo "username=${NDIST_GIT_USERNAME}"; echo "password=${NDIST_GIT_TOKEN}"; }; f';

/** The `NDIST_GIT_URL` scope: a scheme and host (and port), nothing else. */
function gitScope(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('NDIST_GIT_URL', `"${value}" is not a URL; give the scheme and host the token is for, e.g. https://git.example.com`);
  }
  if (!['https:', 'http:'].includes(url.protocol) || url.username || url.password || url.pathname !== '/' || url.search || url.hash) {
    throw new ConfigError('NDIST_GIT_URL', `"${value}" must be an http(s) scheme and host only, e.g. https://git.example.com (no path, no credentials)`);
  }
  return url;
}

/**
 * With NDIST_GIT_TOKEN set: the variables that make git inside the build machine send it (as the
 * password of NDIST_GIT_USERNAME, default x-access-token) to the host NDIST_GIT_URL names, or to any
 * host that asks when it is unset. With NDIST_GIT_URL, ssh URLs of that host (`ssh://git@host/…`,
 * `git@host:…`, as `git+ssh://` dependencies give them) are fetched over its http(s) URL instead, so
 * the token serves them too. Without NDIST_GIT_TOKEN: nothing.
 */
export function gitCredentialEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const token = env.NDIST_GIT_TOKEN;
  if (!token) return {};
  // git's credential protocol is one `key=value` a line: a line break would add keys.
  if (/[\r\n\0]/.test(token)) throw new ConfigError('NDIST_GIT_TOKEN', 'must be one line (it holds a line break or NUL)');
  const username = env.NDIST_GIT_USERNAME || DEFAULT_GIT_USERNAME;
  if (/[\u0000-\u001f\u007f]/.test(username)) throw new ConfigError('NDIST_GIT_USERNAME', 'must be one line without control characters');
  const config: [string, string][] = [];
  if (env.NDIST_GIT_URL) {
    const url = gitScope(env.NDIST_GIT_URL);
    const base = `${url.protocol}//${url.host}`;
    config.push([`credential.${base}.helper`, GIT_CREDENTIAL_HELPER]);
    config.push([`url.${base}/.insteadOf`, `ssh://git@${url.host}/`]);
    if (!url.port) config.push([`url.${base}/.insteadOf`, `git@${url.hostname}:`]);
  } else {
    config.push(['credential.helper', GIT_CREDENTIAL_HELPER]);
  }
  return {
    NDIST_GIT_TOKEN: token,
    NDIST_GIT_USERNAME: username,
    GIT_CONFIG_COUNT: String(config.length),
    ...Object.fromEntries(config.flatMap(([key, value], index) => [[`GIT_CONFIG_KEY_${index}`, key], [`GIT_CONFIG_VALUE_${index}`, value]])),
  };
}

/** Everything secret the build step's exec gets: NPM_TOKEN (see npmUserConfig) and git's credentials. */
export function buildSecrets(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return { ...(env.NPM_TOKEN ? { NPM_TOKEN: env.NPM_TOKEN } : {}), ...gitCredentialEnvironment(env) };
}

/**
 * The URL of a git fetch that failed for want of credentials, from a line of git's or npm's output:
 * an http(s) server refused it, or npm's failed git command had an ssh URL (build machines have no
 * ssh keys, usually no ssh client).
 */
export function gitAuthFailure(line: string): string | undefined {
  return (
    /(?:Authentication failed for|could not read (?:Username|Password) for) '([^']+)'/.exec(line)?.[1] ??
    /^npm error command git .*?(ssh:\/\/\S+|git@[^\s:/]+:\S+)/.exec(line)?.[1]
  );
}
