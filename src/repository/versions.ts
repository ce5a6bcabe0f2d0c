/**
 * Version order as the package managers see it, so "the newest version in a channel" is the one
 * apt or dnf would install: dpkg's algorithm for .deb (epoch:upstream-revision, `~` sorts before
 * everything) and rpm's rpmvercmp for .rpm (epoch, version, release; `~` before, `^` after).
 * Written out rather than shelled out because a channel is sorted on every change; a unit test
 * checks both against `dpkg --compare-versions` and rpm's own vercmp.
 */
import type { PackageFormat } from '../package/format.ts';

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c);

/** dpkg's weight of a character in the non-digit part: `~` lowest, then the end, letters, the rest. */
function dpkgOrder(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isAlpha(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: alternating non-digit and digit runs. */
function dpkgPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const diff = dpkgOrder(a[i]) - dpkgOrder(b[j]);
      if (diff) return diff;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

interface Parsed {
  epoch: number;
  version: string;
  release: string;
}

/** `[epoch:]version[-release]`: the release is after the last `-` (Debian's revision, rpm's release). */
function parse(full: string): Parsed {
  const [, epoch = '0', rest = full] = /^(\d+):(.*)$/.exec(full) ?? [];
  const dash = rest.lastIndexOf('-');
  return { epoch: Number(epoch), version: dash < 0 ? rest : rest.slice(0, dash), release: dash < 0 ? '' : rest.slice(dash + 1) };
}

/** rpm's rpmvercmp, segment by segment. */
export function rpmSegmentCompare(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const separator = (c: string | undefined) => c !== undefined && !isDigit(c) && !isAlpha(c) && c !== '~' && c !== '^';
  while (i < a.length || j < b.length) {
    while (separator(a[i])) i++;
    while (separator(b[j])) j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;
    const numeric = isDigit(a[i]);
    const run = numeric ? isDigit : isAlpha;
    let endA = i;
    let endB = j;
    while (run(a[endA])) endA++;
    while (run(b[endB])) endB++;
    // Segments of different kinds: the numeric one is newer.
    if (endB === j) return numeric ? 1 : -1;
    let segA = a.slice(i, endA);
    let segB = b.slice(j, endB);
    if (numeric) {
      segA = segA.replace(/^0+/, '');
      segB = segB.replace(/^0+/, '');
      if (segA.length !== segB.length) return segA.length > segB.length ? 1 : -1;
    }
    if (segA !== segB) return segA < segB ? -1 : 1;
    i = endA;
    j = endB;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i < a.length ? 1 : -1;
}

/** Negative, zero or positive as version `a` is older than, the same as or newer than `b`. */
export function compareVersions(format: PackageFormat, a: string, b: string): number {
  const left = parse(a);
  const right = parse(b);
  if (left.epoch !== right.epoch) return left.epoch - right.epoch;
  const part = format === 'deb' ? dpkgPart : rpmSegmentCompare;
  return Math.sign(part(left.version, right.version)) || Math.sign(part(left.release, right.release));
}

/** The upstream part of a full version: `1.1.0` of `1:1.1.0-1deb12`. */
export function upstreamVersion(full: string): string {
  return parse(full).version;
}
