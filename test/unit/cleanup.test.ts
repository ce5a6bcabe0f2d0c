import assert from 'node:assert/strict';
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
