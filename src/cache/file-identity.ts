/**
 * A file's identity: device, inode, size and modification and change times in nanoseconds. A
 * checksum remembered with it need not be computed again while the identity is unchanged: anything
 * that rewrites, replaces, truncates or touches the file changes its change time (which no user can
 * set) or its inode. So a no-op build does not re-read a 50 MB archive it verified before.
 *
 * The kernel stamps times from a clock that advances in ticks (a few ms), so a write in the same
 * tick as the one remembered could keep the time: as git does for its index, an identity is only
 * remembered once the file's last change is clearly older than the moment it is remembered.
 */
import { stat } from 'node:fs/promises';

export interface FileIdentity {
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

/** A checksum and the identity of the file when it had it. */
export interface VerifiedFile {
  identity: FileIdentity;
  checksum: string;
}

/** Longer than any kernel clock tick: a change this old cannot share its time with a later write. */
const SETTLED_NS = 100_000_000n;

export async function fileIdentity(file: string): Promise<FileIdentity> {
  const info = await stat(file, { bigint: true });
  return { dev: String(info.dev), ino: String(info.ino), size: String(info.size), mtimeNs: String(info.mtimeNs), ctimeNs: String(info.ctimeNs) };
}

export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity): boolean {
  return a !== undefined && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** Whether `identity` may be remembered now: the file's last change is older than a clock tick. */
export function settled(identity: FileIdentity, nowMs: number = Date.now()): boolean {
  return BigInt(identity.ctimeNs) < BigInt(Math.floor(nowMs)) * 1_000_000n - SETTLED_NS;
}

/**
 * The checksum of `file`: the remembered one while the file's identity is unchanged, else computed
 * by `compute`. `remember` is what to record for next time: the identity and checksum when the file
 * did not change while it was read and has settled, else undefined (nothing new to record).
 */
export async function checksumOf(file: string, remembered: VerifiedFile | undefined, compute: () => Promise<string>): Promise<{ checksum: string; remember?: VerifiedFile }> {
  const before = await fileIdentity(file);
  if (remembered && sameIdentity(remembered.identity, before)) return { checksum: remembered.checksum };
  const checksum = await compute();
  const after = await fileIdentity(file);
  return sameIdentity(before, after) && settled(after) ? { checksum, remember: { identity: after, checksum } } : { checksum };
}
