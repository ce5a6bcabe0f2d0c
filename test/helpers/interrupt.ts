/**
 * Ctrl-C under `node --test`: the runner ends the test file's process soon after the signal, so
 * neither after() hooks nor any asynchronous cleanup in it can be counted on, and a Builder that is
 * still stopping may write its logs again into a directory just removed. So on the first SIGINT or
 * SIGTERM a detached janitor is started: it waits until the test process is gone, then removes
 * the given paths, every container of this test session (builds, and clean hosts, which carry
 * `io.ndist.test.session`) and the session's cache volumes.
 */
import { spawn } from 'node:child_process';
import { TEST_SESSION, TEST_VOLUMES } from './docker.ts';

const JANITOR = `
const [pid, session, volumes, paths] = process.argv.slice(1);
const { execFileSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const alive = () => { try { process.kill(Number(pid), 0); return true; } catch { return false; } };
const docker = (...args) => { try { return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }); } catch { return ''; } };
const deadline = Date.now() + 120000;
const sweep = () => {
  if (alive() && Date.now() < deadline) return setTimeout(sweep, 200);
  for (const path of JSON.parse(paths)) rmSync(path, { recursive: true, force: true });
  const ids = ['io.ndist.session', 'io.ndist.test.session'].flatMap((label) => docker('ps', '-aq', '--filter', 'label=' + label + '=' + session).split('\\n').filter(Boolean));
  if (ids.length > 0) docker('rm', '-f', '-v', ...new Set(ids));
  docker('volume', 'rm', '-f', ...JSON.parse(volumes));
};
sweep();
`;

/**
 * From now until the returned function is called, the first SIGINT or SIGTERM starts the janitor
 * for `paths()` (read then). When no other listener handles the signal (no Builder is running),
 * the process then exits as it would have without this listener.
 */
export function cleanUpOnInterrupt(paths: () => (string | undefined)[]): () => void {
  let started = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!started) {
      started = true;
      const list = paths().filter((entry): entry is string => Boolean(entry));
      spawn(process.execPath, ['-e', JANITOR, String(process.pid), TEST_SESSION, JSON.stringify(TEST_VOLUMES), JSON.stringify(list)], { detached: true, stdio: 'ignore' }).unref();
    }
    if (process.listenerCount(signal) === 1) process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
