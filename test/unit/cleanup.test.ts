import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { beforeEach, describe, test } from 'node:test';
import { registerCleanup, runAllCleanups } from '../../src/cleanup.ts';

/** A cleanup that counts its runs and, optionally, fails. */
function counter(options: { fails?: boolean; delayMs?: number } = {}) {
  const state = { runs: 0, finished: 0 };
  const cleanup = async () => {
    state.runs++;
    if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    if (options.fails) throw new Error('cleanup failed');
    state.finished++;
  };
  return { state, cleanup };
}

describe('cleanup', () => {
  // The registry is module state: start every test from an empty one.
  beforeEach(() => runAllCleanups());

  test('the function registerCleanup returns runs the cleanup once, however often it is called', async () => {
    const { state, cleanup } = counter();
    const remove = registerCleanup(cleanup);
    assert.equal(state.runs, 0, 'registering does not run it');
    await remove();
    await remove();
    assert.equal(state.runs, 1);
  });

  test('a cleanup already run by its own function is not run again by runAllCleanups', async () => {
    const { state, cleanup } = counter();
    const remove = registerCleanup(cleanup);
    await remove();
    await runAllCleanups();
    assert.equal(state.runs, 1);
  });

  test('runAllCleanups runs every cleanup once, even when one of them fails', async () => {
    const first = counter();
    const failing = counter({ fails: true });
    const last = counter({ delayMs: 20 });
    const removers = [registerCleanup(first.cleanup), registerCleanup(failing.cleanup), registerCleanup(last.cleanup)];

    await runAllCleanups(); // resolves although one cleanup rejected
    assert.deepEqual([first.state.runs, failing.state.runs, last.state.runs], [1, 1, 1]);
    assert.equal(last.state.finished, 1, 'runAllCleanups waits for slow cleanups to finish');

    await runAllCleanups();
    for (const remove of removers) await remove();
    assert.deepEqual([first.state.runs, failing.state.runs, last.state.runs], [1, 1, 1], 'nothing runs a second time');
  });

  test('the function registerCleanup returns passes on the error of its cleanup', async () => {
    const failing = counter({ fails: true });
    await assert.rejects(registerCleanup(failing.cleanup)(), { message: 'cleanup failed' });
    assert.equal(failing.state.runs, 1);
  });

  test('the same function registered twice is one cleanup', async () => {
    const { state, cleanup } = counter();
    registerCleanup(cleanup);
    registerCleanup(cleanup);
    await runAllCleanups();
    assert.equal(state.runs, 1);
  });

  test(
    'a cleanup that throws synchronously does not stop the others',
    async () => {
      const after = counter();
      const throwsSync = (() => {
        throw new Error('sync failure');
      }) as () => Promise<unknown>;
      registerCleanup(throwsSync);
      registerCleanup(after.cleanup);
      await runAllCleanups();
      assert.equal(after.state.runs, 1);
    },
  );
});

describe('removeAllOnSignal', () => {
  // In a child process: the handler exits the process it runs in.
  async function killedWith(signal: NodeJS.Signals): Promise<{ code: number | null; out: string }> {
    const script = `
      import { registerCleanup, removeAllOnSignal } from ${JSON.stringify(new URL('../../src/cleanup.ts', import.meta.url).href)};
      registerCleanup(async () => process.stdout.write('cleaned\\n'));
      removeAllOnSignal((signal) => process.stdout.write('stopped by ' + signal + '\\n'));
      process.stdout.write('ready\\n');
      setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out === 'ready\n') child.kill(signal);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { code, out };
  }

  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129]] as const) {
    test(`${signal}: stop is called, every registered cleanup runs, the process exits ${code}`, async () => {
      assert.deepEqual(await killedWith(signal), { code, out: `ready\nstopped by ${signal}\ncleaned\n` });
    });
  }
});
