/**
 * One table of what each target architecture is called where ndist meets it: Debian (the catalogue,
 * .deb files), Node's downloads, rpm, Docker platforms and engines, Docker Hub's per-arch image
 * namespaces, QEMU's binfmt entries and `uname -m`.
 */
import type { Arch } from '../options/types.ts';
import type { PackageFormat } from '../package/format.ts';

export interface ArchNames {
  /** Node's name (node-linux-<node> on the npm registry, node-v<v>-linux-<node> on the official mirror). */
  node: 'x64' | 'arm64' | 'armv7l';
  /** rpm's name for packages of this architecture. */
  rpm: 'x86_64' | 'aarch64' | 'armv7hl';
  /** The Docker platform (`docker build --platform`). */
  platform: string;
  /** Docker Hub's namespace for images of this architecture (arm64v8/debian:bookworm). */
  hubNamespace: string;
  /** QEMU's user-mode name, as its binfmt_misc entry is called (qemu-<name>). */
  qemu: string;
  /** What `uname -m` says in a container of this architecture. */
  uname: string[];
  /** Distro packages Node's own binary for this architecture needs beyond glibc and libstdc++, by package format. */
  nodeNeeds: Record<PackageFormat, string[]>;
}

export const ARCH_NAMES: Record<Arch, ArchNames> = {
  amd64: { node: 'x64', rpm: 'x86_64', platform: 'linux/amd64', hubNamespace: 'amd64', qemu: 'x86_64', uname: ['x86_64'], nodeNeeds: { deb: [], rpm: [] } },
  arm64: { node: 'arm64', rpm: 'aarch64', platform: 'linux/arm64', hubNamespace: 'arm64v8', qemu: 'aarch64', uname: ['aarch64'], nodeNeeds: { deb: [], rpm: [] } },
  // 32-bit ARM, hard float (Raspberry Pi 2 and later running a 32-bit OS): Debian's armhf is ARMv7.
  // Under QEMU uname says armv7l; on a 64-bit ARM kernel running 32-bit containers, armv8l. Node's
  // armv7l binary links libatomic (64-bit atomics), which a minimal Debian does not have.
  armhf: {
    node: 'armv7l', rpm: 'armv7hl', platform: 'linux/arm/v7', hubNamespace: 'arm32v7', qemu: 'arm', uname: ['armv7l', 'armv8l'],
    nodeNeeds: { deb: ['libatomic1'], rpm: ['libatomic'] },
  },
};

export const ARCHES = Object.keys(ARCH_NAMES) as Arch[];

/** An architecture as `docker info` reports it (Go's or the kernel's name), or undefined for one ndist does not build for. */
export function archOfEngine(reported: string): Arch | undefined {
  const names: Record<string, Arch> = { x86_64: 'amd64', amd64: 'amd64', aarch64: 'arm64', arm64: 'arm64', armv7l: 'armhf', armhf: 'armhf', arm: 'armhf' };
  return names[reported];
}
