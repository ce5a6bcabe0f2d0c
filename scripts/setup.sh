#!/usr/bin/env bash
# Makes this machine ready for ndist builds, installing only what is missing:
#   - a Docker engine (Debian's docker.io, started in the background when none answers),
#   - debootstrap, with which `ndist build` creates a missing Debian base image itself where no image
#     registry is reachable, and the base images named here (ahead of time, with `ndist bootstrap-image`),
#   - QEMU user emulation (qemu-user-static, registered with binfmt_misc) for arm64 and armhf on an
#     amd64 host (and for any image named here of another architecture), so arm64 and armhf builds can run.
# Usage (as root): bash scripts/setup.sh [image ...]
#   default image: debian:bookworm only. Others, e.g. arm64v8/debian:bookworm or arm32v7/debian:bookworm
#   (the Docker Hub names; an arm64 or armhf image needs its own name because a local image store holds one architecture per tag), are
#   created by the first build that needs them, or here when named.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    # Unreachable third-party sources only warn; the distro's archive is what is needed here.
    as_root apt-get update -qq || say "apt-get update reported errors; trying to install anyway"
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

if ! engine_answers; then
  if ! command -v dockerd >/dev/null 2>&1; then
    say "no Docker engine: installing docker.io"
    apt_install docker.io
  fi
  if ! engine_answers; then
    say "starting dockerd in the background (log: /var/log/ndist-dockerd.log)"
    as_root sh -c 'nohup dockerd >/var/log/ndist-dockerd.log 2>&1 &'
    for _ in $(seq 1 60); do engine_answers && break; sleep 1; done
    engine_answers || { say "dockerd did not start; see /var/log/ndist-dockerd.log"; tail -20 /var/log/ndist-dockerd.log >&2; exit 1; }
  fi
fi
say "Docker engine: $(docker version --format '{{.Server.Version}}')"

# Signing tools, used only by signed runs (and the tests); lintian, run by the service tests on the .deb;
# the repository indexers `ndist publish` runs (apt-ftparchive, createrepo_c).
missing=()
for tool in gpg:gnupg debsigs:debsigs rpmsign:rpm lintian:lintian apt-ftparchive:apt-utils createrepo_c:createrepo-c; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
# dpkg's Perl modules: the tests read .changes files with dpkg's own parser (lintian brings them too).
perl -MDpkg::Control -e 1 >/dev/null 2>&1 || missing+=(libdpkg-perl)
[ ${#missing[@]} -eq 0 ] || { say "installing ${missing[*]}"; apt_install "${missing[@]}"; }

host_arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
# The architecture of an image, from the Docker Hub convention: arm64v8/<name> is arm64, arm32v7/<name> armhf.
image_arch() { case "$1" in arm64v8/*) echo arm64 ;; arm32v7/*) echo armhf ;; amd64/*) echo amd64 ;; *) echo "$host_arch" ;; esac; }
qemu_name() { case "$1" in arm64) echo aarch64 ;; armhf) echo arm ;; amd64) echo x86_64 ;; esac; }

# Foreign binaries run through QEMU: qemu-user-static ships the interpreters and binfmt entries
# with the "F" flag (the kernel opens the interpreter once, so it works inside containers too).
ensure_emulation() {
  local arch=$1 qemu
  qemu=$(qemu_name "$arch")
  [ -f "/proc/sys/fs/binfmt_misc/qemu-$qemu" ] && grep -qx enabled "/proc/sys/fs/binfmt_misc/qemu-$qemu" && return 0
  say "$arch binaries need QEMU emulation: setting up qemu-user-static (builds under emulation are several times slower)"
  command -v "qemu-$qemu-static" >/dev/null 2>&1 || apt_install qemu-user-static
  command -v update-binfmts >/dev/null 2>&1 || apt_install binfmt-support
  if [ ! -f /proc/sys/fs/binfmt_misc/register ]; then
    as_root mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  as_root update-binfmts --import "qemu-$qemu" >/dev/null 2>&1 || true
  as_root update-binfmts --enable "qemu-$qemu" >/dev/null 2>&1 || true
  if ! grep -qx enabled "/proc/sys/fs/binfmt_misc/qemu-$qemu" 2>/dev/null; then
    say "could not register qemu-$qemu with binfmt_misc; $arch builds will not run (see README, Troubleshooting)"
    return 1
  fi
  say "QEMU emulation for $arch: registered ($(cat "/proc/sys/fs/binfmt_misc/qemu-$qemu" | grep -m1 flags))"
}

# Builds create missing base images with debootstrap; arm64 and armhf builds on an amd64 host run under QEMU.
command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
if [ "$host_arch" = amd64 ]; then ensure_emulation arm64 || true; ensure_emulation armhf || true; fi

images=("$@")
[ ${#images[@]} -gt 0 ] || images=(debian:bookworm)
for image in "${images[@]}"; do
  arch=$(image_arch "$image")
  [ "$arch" = "$host_arch" ] || ensure_emulation "$arch"
  if docker image inspect "$image" >/dev/null 2>&1; then
    say "base image $image: present"
    continue
  fi
  # A registry may have it; where none is reachable, create it from the distro's archive.
  if timeout 120 docker pull "$image" >/dev/null 2>&1; then
    say "base image $image: pulled"
    continue
  fi
  say "base image $image: no registry reachable, creating it with debootstrap"
  [ -f lib/commands/main.js ] || npm run --silent build
  node bin/ndist.js bootstrap-image "$image" --arch "$arch"
done
