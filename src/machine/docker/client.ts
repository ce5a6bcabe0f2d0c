/** The connection to the Docker engine, and the labels that mark what ndist creates. */
import Docker from 'dockerode';
import { BuildError, errorMessage } from '../../errors.ts';
import { defaultConnection, type EngineConnection } from './connection.ts';

/** Every container ndist creates carries these labels, so a leak can be found: `docker ps -a -f label=io.ndist`. */
export const LABEL = 'io.ndist';
const PROCESS_SESSION = `${process.pid}-${Date.now().toString(36)}`;

/** The run's name: NDIST_SESSION when set, else this process's id and start time. */
export function sessionId(): string {
  return process.env.NDIST_SESSION ?? PROCESS_SESSION;
}

/** Labels of a build's container. NDIST_SESSION, when set, names the run, so one run's leftovers can be found. */
export function ndistLabels(build: string): Record<string, string> {
  return { [LABEL]: 'true', [`${LABEL}.build`]: build, [`${LABEL}.session`]: sessionId() };
}

/** Proxy settings of the host, passed on to build machines and image builds. */
export function proxyEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const names = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
  return Object.fromEntries(names.filter((name) => env[name]).map((name) => [name, env[name]!]));
}

/** How long an engine may take to answer a ping before it is taken as down. */
const PING_TIMEOUT_MS = 15_000;

/** Resolves when the engine answers a ping; rejects when it fails or takes longer than PING_TIMEOUT_MS. */
export async function pingDocker(docker: Docker): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS / 1000} s`)), PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([docker.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connect to an engine (by default the one the docker CLI would use: DOCKER_HOST, DOCKER_CONTEXT,
 * the current context) and check it answers.
 */
export async function connectDocker(connection: EngineConnection = defaultConnection()): Promise<Docker> {
  const docker = new Docker(connection.docker);
  try {
    await pingDocker(docker);
  } catch (error) {
    const named = connection.name === 'default' ? '' : ` (engine "${connection.name}")`;
    throw new BuildError(
      `no Docker engine answers at ${connection.address}${named} (${errorMessage(error)}). Start one (as root: \`bash scripts/setup.sh\` in the ndist checkout installs and starts it), or set DOCKER_HOST`,
      { stage: 'docker', cause: error },
    );
  }
  return docker;
}
