/**
 * Builds for another architecture than the engine's run under QEMU user emulation (qemu-user-static
 * registered with binfmt_misc). Check it is there before building, and say it will be slow.
 */
import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { BuildError } from '../errors.ts';
import type { Arch } from '../options/types.ts';
import { ARCH_NAMES, archOfEngine } from '../util/arch.ts';


/** Is `qemu-<name>` registered and enabled in this host's binfmt_misc? */
export function binfmtEnabled(arch: Arch, dir = '/proc/sys/fs/binfmt_misc'): boolean {
  try {
    return readFileSync(`${dir}/qemu-${ARCH_NAMES[arch].qemu}`, 'utf8').split('\n')[0] === 'enabled';
  } catch {
    return false;
  }
}

/**
 * For a foreign `arch`: warn that the build is emulated, and fail early with the fix when a `local`
 * engine has no QEMU for it. (A remote engine's binfmt cannot be seen from here: only warn.)
 */
export async function checkEmulation(docker: Docker, arch: Arch, log: (line: string) => void, local: boolean): Promise<void> {
  const info = (await docker.info()) as { Architecture?: string };
  const engineArch = archOfEngine(info.Architecture ?? '');
  if (!engineArch || engineArch === arch) return;
  if (local && !binfmtEnabled(arch)) {
    throw new BuildError(
      `building for ${arch} on this ${engineArch} engine needs QEMU emulation, and binfmt_misc has no enabled qemu-${ARCH_NAMES[arch].qemu}: ` +
        'as root run `bash scripts/setup.sh` from ndist, or `apt-get install qemu-user-static binfmt-support` (see README, Troubleshooting)',
      { stage: 'container' },
    );
  }
  log(`WARNING: ${arch} on an ${engineArch} engine runs under QEMU emulation: expect the build, native addons above all, to take several times longer`);
}
