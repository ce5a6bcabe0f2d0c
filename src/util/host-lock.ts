/**
 * A lock shared by the ndist processes of one host: a file created exclusively in a directory
 * (the system's temporary directory by default) holding the owner's pid. A waiter polls until it
 * can create the file; a lock whose process is gone is taken over. Used where two processes would
 * otherwise do the same long work at once (two test files, or two build runs, first needing the
 * same machine image).
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { registerCleanup } from '../cleanup.ts';

export interface HostLockOptions {
  dir?: string;
  /** Called once when the lock is held by another process and this one starts waiting. */
  onWait?: (pid: number) => void;
  pollMs?: number;
}

/** The lock file of `name`: a hash, so any name (an image tag, an engine) makes a valid file name. */
export function hostLockFile(name: string, dir = os.tmpdir()): string {
  return path.join(dir, `ndist-lock-${createHash('sha256').update(name).digest('hex').slice(0, 24)}`);
}

/** Run `work` holding the host lock `name`, waiting for another process that holds it. */
export async function withHostLock<T>(name: string, work: () => Promise<T>, options: HostLockOptions = {}): Promise<T> {
  const file = hostLockFile(name, options.dir);
  let waited = false;
  for (;;) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    // An empty file is one being written: its owner is alive, wait for it.
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) {
      await rm(file, { force: true });
      continue;
    }
    if (!waited && pid > 0) options.onWait?.(pid);
    waited ||= pid > 0;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
  }
  const release = registerCleanup(() => rm(file, { force: true }));
  try {
    return await work();
  } finally {
    await release();
  }
}

/** Whether a process of this host with that pid runs (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
