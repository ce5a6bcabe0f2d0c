#!/usr/bin/env bash
# Makes this machine ready for ndist builds, installing only what is missing:
#   - a Docker engine (Debian's docker.io, started in the background when none answers),
#   - debootstrap, and the base images the default build machines start FROM, created with
#     `ndist bootstrap-image` where no image registry is reachable.
# Usage (as root): bash scripts/setup.sh [image ...]   default images: debian:bookworm
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

# Signing tools, used only by signed runs (and the tests).
missing=()
for tool in gpg:gnupg debsigs:debsigs rpmsign:rpm; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
[ ${#missing[@]} -eq 0 ] || { say "installing ${missing[*]}"; apt_install "${missing[@]}"; }

images=("$@")
[ ${#images[@]} -gt 0 ] || images=(debian:bookworm)
for image in "${images[@]}"; do
  if docker image inspect "$image" >/dev/null 2>&1; then
    say "base image $image: present"
    continue
  fi
  # A registry may have it; where none is reachable, create it from the distro's archive.
  if timeout 120 docker pull "$image" >/dev/null 2>&1; then
    say "base image $image: pulled"
    continue
  fi
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  say "base image $image: no registry reachable, creating it with debootstrap"
  [ -f lib/cli/main.js ] || npm run --silent build
  node bin/ndist.js bootstrap-image "$image"
done
