import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type Docker from 'dockerode';
import { ensureMachineImage, machineBuildArgs, machineImageTag } from '../../src/machine/docker/image.ts';
import { loadMachines, type Machine } from '../../src/machine/catalogue.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-image-'));
  mkdirSync(path.join(dir, 'ctx'));
  writeFileSync(path.join(dir, 'ctx', 'Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function machine(changes: Partial<Machine> = {}): Machine {
  return {
    id: 'm', description: 'm', image: 'ndist/m', dockerfile: path.join(dir, 'ctx'), baseImage: { amd64: 'debian:bookworm', arm64: 'arm64v8/debian:bookworm' },
    buildArgs: {}, script: '/x.sh.hbs', format: 'deb', arch: ['amd64', 'arm64'], compression: 'xz', packages: {}, origin: 'ndist', ...changes,
  };
}

describe('machine image tags', () => {
  test('<repository>:<12 hex>-<arch>, one per arch, stable', async () => {
    const amd = await machineImageTag(machine(), 'amd64');
    const arm = await machineImageTag(machine(), 'arm64');
    assert.match(amd, /^ndist\/m:[0-9a-f]{12}-amd64$/);
    assert.match(arm, /^ndist\/m:[0-9a-f]{12}-arm64$/);
    assert.notEqual(amd.split(':')[1]!.slice(0, 12), arm.split(':')[1]!.slice(0, 12), 'the base image is part of the hash');
    assert.equal(await machineImageTag(machine(), 'amd64'), amd);
  });

  test('a changed Dockerfile, base image or build arg changes the tag; an image without Dockerfile is used as it is', async () => {
    const before = await machineImageTag(machine(), 'amd64');
    assert.notEqual(await machineImageTag(machine({ baseImage: { amd64: 'debian:trixie' } }), 'amd64'), before);
    assert.notEqual(await machineImageTag(machine({ buildArgs: { FPM_VERSION: '1.16.0' } }), 'amd64'), before);
    writeFileSync(path.join(dir, 'ctx', 'Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN true\n');
    assert.notEqual(await machineImageTag(machine(), 'amd64'), before);
    assert.equal(await machineImageTag(machine({ dockerfile: undefined, image: 'corp/img:1' }), 'arm64'), 'corp/img:1');
  });

  test('build args: the entry\'s and BASE_IMAGE for the arch', () => {
    assert.deepEqual(machineBuildArgs(machine({ buildArgs: { FPM_VERSION: '1.16.0' } }), 'arm64'), { FPM_VERSION: '1.16.0', BASE_IMAGE: 'arm64v8/debian:bookworm' });
  });

  test('Debian machines of different suites share a Dockerfile but not a tag', async () => {
    const machines = loadMachines();
    const tags = await Promise.all(['debian-bullseye', 'debian-bookworm', 'debian-trixie', 'ubuntu-noble'].map((id) => machineImageTag(machines.get(id)!, 'amd64')));
    assert.equal(new Set(tags.map((tag) => tag.split(':')[1])).size, 4);
  });
});

/**
 * An engine holding `images`; a build adds its tag once its (slow) build finishes. Every look-up
 * yields to the event loop first, as a real one does, which is where concurrent builds interleave.
 */
function fakeEngine(images: Set<string>) {
  const built: string[] = [];
  const docker = {
    getImage: (name: string) => ({
      inspect: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        if (images.has(name)) return { Id: `sha256:${'0'.repeat(64)}` };
        throw Object.assign(new Error(`no such image: ${name}`), { statusCode: 404 });
      },
    }),
    buildImage: async (context: NodeJS.ReadableStream & { destroy?: () => void }, options: { t: string }) => {
      context.destroy?.();
      built.push(options.t);
      return options.t;
    },
    modem: {
      followProgress: (tag: string, done: (error: Error | null) => void) => setTimeout(() => {
        images.add(tag);
        done(null);
      }, 20),
    },
  };
  return { docker: docker as unknown as Docker, built };
}

describe('ensureMachineImage', () => {
  test('builds a missing image once for builds that need it at the same time on one engine, once more on another engine', async () => {
    const one = fakeEngine(new Set(['debian:bookworm']));
    const other = fakeEngine(new Set(['debian:bookworm']));
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const results = await Promise.all([
      ensureMachineImage(one.docker, machine(), 'amd64', log, { name: 'one', local: true }),
      ensureMachineImage(one.docker, machine(), 'amd64', log, { name: 'one', local: true }),
      ensureMachineImage(one.docker, machine(), 'amd64', log, { name: 'one', local: true }),
      ensureMachineImage(other.docker, machine(), 'amd64', log, { name: 'other', local: true }),
    ]);
    const tag = await machineImageTag(machine(), 'amd64');
    assert.deepEqual(one.built, [tag], 'built once on engine one');
    assert.deepEqual(other.built, [tag], 'built once on engine other');
    assert.ok(results.every((result) => result.tag === tag));
    assert.equal(lines.filter((line) => line === `image: waited for ${tag}, which another build made`).length, 2, lines.join('\n'));
    // Present now: a later build finds it and builds nothing.
    await ensureMachineImage(one.docker, machine(), 'amd64', log, { name: 'one', local: true });
    assert.deepEqual(one.built, [tag]);
  });

  test('a failed build fails every build waiting for it, and the next build tries again', async () => {
    const engine = fakeEngine(new Set(['debian:bookworm']));
    let fail = true;
    const follow = engine.docker.modem.followProgress.bind(engine.docker.modem);
    engine.docker.modem.followProgress = ((tag: string, done: (error: Error | null) => void, onEvent: (event: object) => void) => {
      if (!fail) return follow(tag as never, done as never);
      setTimeout(() => {
        onEvent({ error: 'apt-get failed' });
        done(null);
      }, 20);
    }) as never;
    const attempts = [0, 1].map(() => ensureMachineImage(engine.docker, machine(), 'amd64', () => undefined, { name: 'e', local: true }));
    for (const attempt of attempts) await assert.rejects(attempt, /building the image of machine m failed: apt-get failed/);
    assert.equal(engine.built.length, 1);
    fail = false;
    await ensureMachineImage(engine.docker, machine(), 'amd64', () => undefined, { name: 'e', local: true });
    assert.equal(engine.built.length, 2);
  });
});
