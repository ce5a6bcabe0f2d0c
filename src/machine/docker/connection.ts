/**
 * Where an engine is and how to reach it, as dockerode options: a unix socket, tcp (TLS when given
 * PEM files), ssh (docker-modem runs `docker system dial-stdio` over ssh2, keys from ssh-agent), or
 * a docker CLI context read from ~/.docker as the docker CLI stores it. The default engine is the
 * one the docker CLI would use: DOCKER_HOST, else DOCKER_CONTEXT, else the current context.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DockerOptions } from 'dockerode';
import { ConfigError } from '../../errors.ts';
import type { EngineOptions } from '../../options/types.ts';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

export interface EngineConnection {
  /** The engine's name: the configured one, else "default" or the context's name. */
  name: string;
  /** Where it is, for messages: `unix:///var/run/docker.sock`, `ssh://me@arm-box`… */
  address: string;
  docker: DockerOptions;
  /** On this host: its QEMU (binfmt_misc) can be checked from here. */
  local: boolean;
}

interface Environment {
  env: NodeJS.ProcessEnv;
  /** The docker CLI's configuration directory: $DOCKER_CONFIG or ~/.docker. */
  configDir: string;
}

function environment(env: NodeJS.ProcessEnv = process.env): Environment {
  return { env, configDir: env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker') };
}

/**
 * Every option docker-modem would otherwise take from DOCKER_HOST and DOCKER_CERT_PATH, unset: a
 * configured engine is reached where it says, whatever the environment holds.
 */
const UNSET: DockerOptions = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined, ca: undefined, cert: undefined, key: undefined, username: undefined };

/** The dockerode options of a host URL; `field` names it in errors. */
export function hostOptions(host: string, field: string, tls?: { ca?: string; cert?: string; key?: string }): Pick<EngineConnection, 'docker' | 'local'> {
  const { docker, local } = parseHost(host, field, tls);
  return { docker: { ...UNSET, ...docker }, local };
}

function parseHost(host: string, field: string, tls?: { ca?: string; cert?: string; key?: string }): Pick<EngineConnection, 'docker' | 'local'> {
  if (host.startsWith('unix://')) return { docker: { socketPath: host.slice('unix://'.length) || DEFAULT_SOCKET }, local: true };
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new ConfigError(field, `"${host}" is not a URL; give unix:///path/to/docker.sock, tcp://host:port or ssh://user@host`);
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const local = ['127.0.0.1', 'localhost', '::1'].includes(hostname);
  if (url.protocol === 'ssh:') {
    return {
      docker: { protocol: 'ssh', host: hostname, port: url.port || 22, ...(url.username ? { username: decodeURIComponent(url.username) } : {}), sshOptions: { agent: process.env.SSH_AUTH_SOCK } } as DockerOptions,
      local,
    };
  }
  if (url.protocol !== 'tcp:') throw new ConfigError(field, `"${host}" has an unknown scheme ${url.protocol}; give unix://, tcp:// or ssh://`);
  const read = (file: string | undefined) => (file ? readFileSync(file) : undefined);
  const secure = tls !== undefined && Object.keys(tls).length > 0;
  return {
    docker: { protocol: secure ? 'https' : 'http', host: hostname, port: url.port, ...(secure ? { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) } : {}) },
    local,
  };
}

/** The directory name the docker CLI stores a context under: the sha256 of its name. */
function contextDigest(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/** A docker CLI context: its endpoint from contexts/meta/<digest>/meta.json, its TLS files from contexts/tls/<digest>/docker/. */
export function contextConnection(context: string, field: string, environ: Environment = environment()): Omit<EngineConnection, 'name'> {
  if (context === 'default') return { address: `unix://${DEFAULT_SOCKET}`, ...hostOptions(`unix://${DEFAULT_SOCKET}`, field) };
  const digest = contextDigest(context);
  const metaFile = path.join(environ.configDir, 'contexts', 'meta', digest, 'meta.json');
  if (!existsSync(metaFile)) {
    throw new ConfigError(field, `docker context "${context}" does not exist (no ${metaFile}); create it with \`docker context create ${context} --docker host=…\` or give host instead`);
  }
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  const host = meta.Endpoints?.docker?.Host;
  if (!host) throw new ConfigError(field, `docker context "${context}" has no docker endpoint in ${metaFile}`);
  const tlsDir = path.join(environ.configDir, 'contexts', 'tls', digest, 'docker');
  const tls = Object.fromEntries(
    (['ca', 'cert', 'key'] as const).map((kind) => [kind, path.join(tlsDir, `${kind}.pem`)]).filter(([, file]) => existsSync(file!)),
  ) as { ca?: string; cert?: string; key?: string };
  return { address: `${host} (context ${context})`, ...hostOptions(host, field, host.startsWith('tcp://') ? tls : undefined) };
}

/** The engine the docker CLI would use: DOCKER_HOST, else DOCKER_CONTEXT, else config.json's currentContext, else the default socket. */
export function defaultConnection(environ: Environment = environment()): EngineConnection {
  const { env } = environ;
  if (env.DOCKER_HOST) {
    // docker-modem reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself, as the CLI does.
    return { name: 'default', address: env.DOCKER_HOST, docker: {}, local: env.DOCKER_HOST.startsWith('unix://') };
  }
  let context = env.DOCKER_CONTEXT;
  const field = context ? 'DOCKER_CONTEXT' : 'the docker CLI current context';
  if (!context) {
    const configFile = path.join(environ.configDir, 'config.json');
    try {
      context = (JSON.parse(readFileSync(configFile, 'utf8')) as { currentContext?: string }).currentContext;
    } catch {
      context = undefined;
    }
  }
  if (context && context !== 'default') return { name: context, ...contextConnection(context, field, environ) };
  return { name: 'default', address: `unix://${DEFAULT_SOCKET}`, ...hostOptions(`unix://${DEFAULT_SOCKET}`, field) };
}

/** How to reach a configured engine: its host, its context, or (neither) the default engine under its name. */
export function engineConnection(engine: EngineOptions, field: string, env: NodeJS.ProcessEnv = process.env): EngineConnection {
  const environ = environment(env);
  if (engine.host) return { name: engine.name, address: engine.host, ...hostOptions(engine.host, `${field}.host`, engine.tls) };
  if (engine.context) return { name: engine.name, ...contextConnection(engine.context, `${field}.context`, environ) };
  return { ...defaultConnection(environ), name: engine.name };
}
