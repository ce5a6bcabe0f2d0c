import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { compareVersions, upstreamVersion } from '../../src/repository/versions.ts';

// Pairs chosen to hit each rule: epochs, `~` and `^`, leading zeros, letters against digits,
// separators, missing revisions, and ndist's own versions (iteration suffixes, semver pre-releases).
const PAIRS: [string, string][] = [
  ['1.0.0-1', '1.1.0-1'], ['1.0.0-1deb12', '1.0.0-1deb13'], ['1.0.0-2', '1.0.0-10'], ['1.0.0~rc.1-1', '1.0.0-1'],
  ['1.0.0~rc.1-1', '1.0.0~rc.2-1'], ['1:0.9-1', '2.0-1'], ['1.0', '1.0-0'], ['1.0a', '1.0'], ['1.0a', '1.0.1'],
  ['1.01', '1.1'], ['1.001-1', '1.1-1'], ['1.0+b1-1', '1.0-1'], ['1.0.0-1', '1.0.0-1'], ['2.0', '10.0'], ['a', 'b'],
  ['1.0~~', '1.0~'], ['1.0~', '1.0'], ['22.23.3-1', '22.22.2-1'], ['1.0.0-1.el9', '1.0.0-1.el10'], ['1.0^git1-1', '1.0-1'],
  ['1.0^git1-1', '1.0.1-1'], ['1_0-1', '1.0-1'], ['1.0-1abc', '1.0-1'], ['0:1.0-1', '1.0-1'], ['abc1', 'abc'],
];

const sign = (n: number) => Math.sign(n);

function dpkgCompare(a: string, b: string): number {
  if (spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0) return -1;
  return spawnSync('dpkg', ['--compare-versions', a, 'eq', b]).status === 0 ? 0 : 1;
}

function rpmCompare(a: string, b: string): number {
  const quote = (value: string) => `"${value}"`;
  return Number(execFileSync('rpm', ['--eval', `%{lua: print(rpm.vercmp(${quote(a)}, ${quote(b)}))}`], { encoding: 'utf8' }).trim());
}

describe('compareVersions', () => {
  it('orders .deb versions as dpkg --compare-versions does', () => {
    for (const [a, b] of PAIRS) {
      if (a.includes('^')) continue; // not valid in a Debian version
      assert.equal(sign(compareVersions('deb', a, b)), dpkgCompare(a, b), `${a} vs ${b}`);
      assert.equal(sign(compareVersions('deb', b, a)), dpkgCompare(b, a), `${b} vs ${a}`);
    }
  });

  it("orders .rpm versions as rpm's own vercmp does", () => {
    for (const [a, b] of PAIRS) {
      assert.equal(sign(compareVersions('rpm', a, b)), rpmCompare(a, b), `${a} vs ${b}`);
      assert.equal(sign(compareVersions('rpm', b, a)), rpmCompare(b, a), `${b} vs ${a}`);
    }
  });

  it('upstreamVersion drops the epoch and the revision or release', () => {
    assert.equal(upstreamVersion('1:1.1.0-1deb12'), '1.1.0');
    assert.equal(upstreamVersion('1.1.0~rc.1-1'), '1.1.0~rc.1');
    assert.equal(upstreamVersion('1.1.0'), '1.1.0');
  });
});
