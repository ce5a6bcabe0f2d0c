import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { machineBuildArgs, machineImageTag } from '../../src/machine/docker/image.ts';
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
