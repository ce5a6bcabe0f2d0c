/**
 * The build's `smoke` test for `ndist verify`: what runs on the host once the package is installed,
 * and how its result is judged. Pure: a shell command for the host, and the judgement.
 */
import { ConfigError } from '../errors.ts';
import { shellQuote } from '../machine/script.ts';
import type { SmokeTest } from '../options/types.ts';

export interface SmokeCheck {
  /** Shell command run on the host (its output is stdout and stderr together). */
  command: string;
  /** What it is, for messages: the command line or the URL. */
  label: string;
  exitCode: number;
  /** Pattern the output must match. */
  output?: RegExp;
}

/** Seconds an HTTP probe keeps trying while the service starts listening. */
const HTTP_WAIT_SECONDS = 30;

/**
 * An HTTP GET with bash's /dev/tcp (a clean host has no curl): retried until something answers,
 * then exit 0 for a 2xx or 3xx status line. The URL was checked by the schema (host is loopback).
 */
function httpProbe(url: string): string {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = parsed.port || '80';
  const target = `${parsed.pathname}${parsed.search}`;
  const request = `GET ${target} HTTP/1.0\\r\\nHost: ${parsed.host}\\r\\nConnection: close\\r\\n\\r\\n`;
  const script = [
    `for i in $(seq 1 ${HTTP_WAIT_SECONDS}); do`,
    `  if exec 3<>/dev/tcp/${host}/${port}; then break; fi 2>/dev/null`,
    '  sleep 1',
    'done',
    `[ -e /dev/fd/3 ] || { echo "nothing answers on ${host}:${port} after ${HTTP_WAIT_SECONDS} s"; exit 7; }`,
    `printf '${request}' >&3 || exit 7`,
    'status=$(head -n 1 <&3)',
    'echo "$status"',
    `case "$status" in HTTP/*' '[23][0-9][0-9]*) exit 0 ;; *) exit 1 ;; esac`,
  ].join('\n');
  return `bash -c ${shellQuote(script)}`;
}

export function smokeCheck(smoke: SmokeTest): SmokeCheck {
  if (Array.isArray(smoke)) return { command: smoke.map(shellQuote).join(' '), label: smoke.join(' '), exitCode: 0 };
  if ('http' in smoke) return { command: httpProbe(smoke.http), label: `GET ${smoke.http}`, exitCode: 0 };
  return {
    command: smoke.command.map(shellQuote).join(' '),
    label: smoke.command.join(' '),
    exitCode: smoke.exitCode ?? 0,
    ...(smoke.output !== undefined ? { output: new RegExp(smoke.output, 'm') } : {}),
  };
}

/** Why the result fails the check; undefined when it passes. */
export function judgeSmoke(check: SmokeCheck, result: { code: number; output: string }): string | undefined {
  if (result.code !== check.exitCode) return `\`${check.label}\` exited ${result.code}, expected ${check.exitCode}`;
  if (check.output && !check.output.test(result.output)) return `the output of \`${check.label}\` does not match /${check.output.source}/`;
  return undefined;
}

/** The rule a schema cannot state: `smoke.output` is a regular expression that compiles. */
export function checkSmoke(smoke: SmokeTest | undefined): void {
  if (smoke === undefined || Array.isArray(smoke) || !('output' in smoke) || smoke.output === undefined) return;
  try {
    new RegExp(smoke.output, 'm');
  } catch (error) {
    throw new ConfigError('smoke.output', `"${smoke.output}" is not a regular expression (${(error as Error).message})`);
  }
}
