/**
 * End to end, arm64 under QEMU on this amd64 host: native-link built on node 22, installed and run
 * in a clean arm64v8/debian:bookworm (test/e2e/emulated-native-link.ts).
 */
import { describe } from 'node:test';
import { emulatedNativeLink } from './emulated-native-link.ts';

describe('an arm64 .deb built under emulation', { timeout: 40 * 60_000 }, () => {
  emulatedNativeLink({
    arch: 'arm64', node: '22.23.3', baseImage: 'arm64v8/debian:bookworm',
    uname: 'aarch64', processArch: 'arm64', nodePlatform: 'linux-arm64', elfMachine: 'b7 00', elfName: 'an aarch64 ELF (e_machine 0xb7)',
  });
});
