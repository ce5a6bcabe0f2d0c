/** The connection to the Docker engine, and the labels that mark what ndist creates. */
import Docker from 'dockerode';
import { BuildError, errorMessage } from '../../errors.ts';

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

/** Connect as the docker CLI would (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) and check the engine answers. */
export async function connectDocker(): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (error) {
    const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    throw new BuildError(
      `no Docker engine answers at ${where} (${errorMessage(error)}). Start one (as root: \`bash scripts/setup.sh\` in the ndist checkout installs and starts it), or set DOCKER_HOST`,
      { stage: 'docker', cause: error },
    );
  }
  return docker;
}
