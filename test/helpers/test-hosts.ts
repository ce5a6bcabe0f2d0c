/** Test images of target hosts (debian:bookworm plus a few packages) and how to run systemd in them. */
import { spawn } from 'node:child_process';
import { TEST_LABEL, TEST_SESSION } from './docker.ts';

/**
 * `docker run` arguments for systemd as PID 1 (append the image, then `/lib/systemd/systemd`):
 * its cgroup hierarchy (read-only is enough for it to run units) and a tmpfs /run. CAP_SYS_ADMIN
 * and no seccomp/AppArmor profile let it give a unit its own mount namespace, so ProtectSystem and
 * PrivateTmp really apply (without them systemd skips them silently in a container). --privileged
 * is refused on this machine and not needed.
 */
export const SYSTEMD_RUN_ARGS = [
  '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
  '-v', '/sys/fs/cgroup:/sys/fs/cgroup:ro', '--tmpfs', '/run', '--tmpfs', '/run/lock',
];

/** `docker build` of debian:bookworm with `packages` installed, labelled for this test session. */
export function buildHostImage(tag: string, packages: string): Promise<void> {
  const dockerfile = `FROM debian:bookworm\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages} >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*\n`;
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['build', '-q', '--label', `${TEST_LABEL}=true`, '--label', `io.ndist.session=${TEST_SESSION}`, '-t', tag, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`cannot build ${tag}:\n${output}`))));
    child.stdin.end(dockerfile);
  });
}
