/**
 * Routing builds across engines (src/build/engine-pool.ts) on in-memory engines: native first,
 * QEMU as the fallback, spread by free slots, engines that do not answer left out by name, and an
 * engine dying mid-build failing its build, named, while the others go on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnginePool, type EngineTarget } from '../../src/build/engine-pool.ts';
import type { EngineConnection } from '../../src/machine/docker/connection.ts';
import type { Engine } from '../../src/machine/engine.ts';
import type { Arch, EngineOptions } from '../../src/options/types.ts';
import { FakeEngine } from '../helpers/fake-engine.ts';

/** Engines by name, and the pool's targets for them. */
function fleet(specs: Array<EngineOptions & { engine: FakeEngine }>): { targets: EngineTarget[]; connect: (connection: EngineConnection) => Promise<Engine> } {
  const byName = new Map(specs.map((spec) => [spec.name, spec.engine]));
  return {
    targets: specs.map(({ engine: _engine, ...options }) => ({ connection: { name: options.name, address: `unix:///run/${options.name}.sock`, docker: {}, local: true }, options })),
    connect: async (connection) => {
      const engine = byName.get(connection.name)!;
      await engine.info();
      return engine;
    },
  };
}

/** A task that runs until `release` is called, recording which engine ran it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, release: () => open() };
}

describe('EnginePool', () => {
  test('sends each build to an engine native for its arch, and says so', async () => {
    const amd = new FakeEngine(undefined, { arch: 'amd64' });
    const arm = new FakeEngine(undefined, { arch: 'arm64' });
    const { targets, connect } = fleet([{ name: 'x86-box', engine: amd }, { name: 'arm-box', engine: arm }]);
    const pool = await EnginePool.open(targets, connect);
    for (const [arch, expected] of [['arm64', arm], ['amd64', amd]] as const) {
      const lines: string[] = [];
      const ran = await pool.run(arch, (line) => lines.push(line), async (engine, placement) => ({ engine, placement }));
      assert.equal(ran.engine, expected);
      assert.equal(ran.placement.emulated, false);
      assert.match(lines.join('\n'), new RegExp(`engine: ${ran.placement.name} at unix:///run/${ran.placement.name}.sock, ${arch} native`));
    }
  });

  test('declared arch wins over what the engine reports', async () => {
    const engine = new FakeEngine(undefined, { arch: 'amd64' });
    const other = new FakeEngine(undefined, { arch: 'amd64' });
    const { targets, connect } = fleet([{ name: 'a', engine }, { name: 'b', engine: other, arch: ['arm64'] }]);
    const pool = await EnginePool.open(targets, connect);
    assert.equal(pool.choose('arm64').member.name, 'b');
  });

  test('falls back to QEMU emulation when no engine is native, and says so in the log', async () => {
    const { targets, connect } = fleet([{ name: 'only-amd', engine: new FakeEngine(undefined, { arch: 'amd64' }) }]);
    const pool = await EnginePool.open(targets, connect);
    const lines: string[] = [];
    const placement = await pool.run('arm64', (line) => lines.push(line), async (_engine, where) => where);
    assert.deepEqual(placement, { name: 'only-amd', emulated: true });
    assert.match(lines.join('\n'), /arm64 emulated with QEMU: no engine that answers runs arm64 natively/);
  });

  test('spreads builds by free slots and runs no more than an engine\'s concurrency on it', async () => {
    const a = new FakeEngine(undefined, { arch: 'amd64', cpus: 8 });
    const b = new FakeEngine(undefined, { arch: 'amd64', cpus: 8 });
    const { targets, connect } = fleet([{ name: 'a', engine: a, concurrency: 1 }, { name: 'b', engine: b, concurrency: 2 }]);
    const pool = await EnginePool.open(targets, connect);
    assert.equal(pool.slots, 3);
    const running = new Map<string, number>();
    const most = new Map<string, number>();
    const gates = Array.from({ length: 6 }, () => gate());
    const placed: string[] = [];
    const runs = gates.map((g) =>
      pool.run('amd64', () => {}, async (_engine, { name }) => {
        placed.push(name);
        running.set(name, (running.get(name) ?? 0) + 1);
        most.set(name, Math.max(most.get(name) ?? 0, running.get(name)!));
        await g.opened;
        running.set(name, running.get(name)! - 1);
        return name;
      }),
    );
    // The first three take the three slots: b's two and a's one.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual([...placed].sort(), ['a', 'b', 'b']);
    for (const g of gates) g.release();
    const names = await Promise.all(runs);
    assert.equal(names.filter((name) => name === 'a').length, 2);
    assert.equal(names.filter((name) => name === 'b').length, 4);
    assert.equal(most.get('a'), 1);
    assert.equal(most.get('b'), 2);
  });

  test('leaves out an engine that does not answer, by name; rejects naming each when none does', async () => {
    const dead = new FakeEngine(undefined, { arch: 'arm64' });
    dead.down = true;
    const live = new FakeEngine(undefined, { arch: 'amd64' });
    const { targets, connect } = fleet([{ name: 'arm-box', engine: dead }, { name: 'local', engine: live }]);
    const pool = await EnginePool.open(targets, connect);
    assert.deepEqual(pool.unreachable.map((engine) => engine.name), ['arm-box']);
    assert.match(pool.unreachable[0]!.reason, /ECONNREFUSED/);
    // Its arm64 builds go to the engine left, emulated.
    assert.deepEqual(pool.choose('arm64'), { member: pool.members[0], emulated: true });

    live.down = true;
    await assert.rejects(EnginePool.open(targets, connect), /no engine answers: engine "arm-box" at unix:\/\/\/run\/arm-box.sock \(.*ECONNREFUSED.*\); engine "local"/);
  });

  test('an engine dying mid-build fails that build naming it; later builds go to the others', async () => {
    const a = new FakeEngine(undefined, { arch: 'amd64' });
    const b = new FakeEngine(undefined, { arch: 'amd64' });
    const { targets, connect } = fleet([{ name: 'a', engine: a, concurrency: 1 }, { name: 'b', engine: b, concurrency: 1 }]);
    const pool = await EnginePool.open(targets, connect);
    const dying = pool.run('amd64', () => {}, async () => {
      a.down = true;
      throw Object.assign(new Error('socket hang up'), { details: { stage: 'script' } });
    });
    await assert.rejects(dying, (error: Error & { details?: { stage?: string } }) => {
      assert.match(error.message, /^engine "a" at unix:\/\/\/run\/a.sock stopped answering \(.*\): socket hang up$/);
      assert.equal(error.details?.stage, 'script');
      return true;
    });
    const names = await Promise.all([1, 2, 3].map(() => pool.run('amd64', () => {}, async (_engine, { name }) => name)));
    assert.deepEqual(names, ['b', 'b', 'b']);
  });

  test('a failure on an engine that still answers is the build\'s own, unchanged', async () => {
    const { targets, connect } = fleet([{ name: 'a', engine: new FakeEngine() }]);
    const pool = await EnginePool.open(targets, connect);
    const error = new Error('the build script failed with exit code 1');
    await assert.rejects(pool.run('amd64', () => {}, async () => Promise.reject(error)), (thrown) => thrown === error);
  });

  test('a build waiting for a slot on an engine that then dies goes to another', async () => {
    const a = new FakeEngine(undefined, { arch: 'amd64' });
    const b = new FakeEngine(undefined, { arch: 'arm64' });
    const { targets, connect } = fleet([{ name: 'a', engine: a, concurrency: 1 }, { name: 'b', engine: b, concurrency: 1 }]);
    const pool = await EnginePool.open(targets, connect);
    const first = gate();
    const dying = pool.run('amd64', () => {}, async () => {
      await first.opened;
      a.down = true;
      throw new Error('connection reset');
    });
    const waiting = pool.run('amd64' as Arch, () => {}, async (_engine, placement) => placement);
    first.release();
    await assert.rejects(dying, /engine "a"/);
    assert.deepEqual(await waiting, { name: 'b', emulated: true });
  });
});
