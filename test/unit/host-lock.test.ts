import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hostLockFile, withHostLock } from '../../src/util/host-lock.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-host-lock-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('host lock', () => {
  test('two holders of one name run one after the other; the file is gone afterwards', async () => {
    const events: string[] = [];
    const hold = (who: string) => withHostLock('ndist/debian-bookworm:abc-amd64', async () => {
      events.push(`${who} in`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      events.push(`${who} out`);
      return who;
    }, { dir, pollMs: 10 });
    assert.deepEqual(await Promise.all([hold('a'), hold('b')]), ['a', 'b']);
    assert.deepEqual(events, ['a in', 'a out', 'b in', 'b out']);
    assert.equal(existsSync(hostLockFile('ndist/debian-bookworm:abc-amd64', dir)), false);
  });

  test('different names do not wait for each other', async () => {
    const events: string[] = [];
    const hold = (name: string) => withHostLock(name, async () => {
      events.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      events.push(`${name} out`);
    }, { dir, pollMs: 10 });
    await Promise.all([hold('one'), hold('two')]);
    // Both were in before either left (which of them took its file first is up to the file system).
    assert.deepEqual(events.slice(0, 2).sort(), ['one in', 'two in']);
    assert.deepEqual(events.slice(2).sort(), ['one out', 'two out']);
  });

  test('released when the work throws', async () => {
    await assert.rejects(withHostLock('throws', async () => { throw new Error('build failed'); }, { dir }), /build failed/);
    assert.equal(existsSync(hostLockFile('throws', dir)), false);
  });

  test('a lock held by a live process is waited for, and the waiter is told its pid', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    const file = hostLockFile('held', dir);
    writeFileSync(file, `${holder.pid}\n`);
    const waits: number[] = [];
    let ran = false;
    const waiting = withHostLock('held', async () => { ran = true; }, { dir, pollMs: 10, onWait: (pid) => waits.push(pid) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(ran, false, 'still waiting while the holder lives');
    assert.deepEqual(waits, [holder.pid]);
    // The holder dies without removing its file (killed): the lock is taken over.
    holder.kill('SIGKILL');
    await waiting;
    assert.equal(ran, true);
    assert.equal(existsSync(file), false);
  });
});
