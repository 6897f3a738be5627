#!/usr/bin/env bash
# Prints the base image that `make images` builds on: node:20-slim when the
# engine has it or can pull it, otherwise an equivalent the project builds
# itself: a minimal Debian bookworm (debootstrap --variant=minbase, from the
# Debian mirror apt already uses) with this machine's Node.js 20 and npm copied
# to node:20-slim's paths, and node:20-slim's `node` user (uid/gid 1000).
# It is cached by a key of everything it contains, as a docker tag and as a
# tarball under the cache directory (so a new engine data-root re-imports it
# in seconds instead of re-running debootstrap).
set -euo pipefail
cache_root=${RESUMABLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/resumable}
upstream=${RESUMABLE_BASE_IMAGE:-node:20-slim}
suite=bookworm

if docker image inspect "$upstream" >/dev/null 2>&1; then echo "$upstream"; exit 0; fi
node_bin=$(command -v node) || { echo "cannot build a base image: no node on PATH" >&2; exit 1; }
node_version=$("$node_bin" --version)
case "$node_version" in v20.*) ;; *) echo "cannot build a node:20-slim equivalent from Node.js $node_version (need v20)" >&2; exit 1 ;; esac
npm_dir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
npm_version=$(node -p "require('$npm_dir/package.json').version")
key="${suite}-node${node_version#v}-npm${npm_version}-v1"
tag="resumable/node-base:$key"
tarball="$cache_root/images/node-base-$key.tar"

# Ours, once built, is used until the upstream base is present: the pull is
# tried only when ours would have to be built or re-imported.
# Where this machine reaches the npm registry through a TLS-inspecting proxy,
# the host's npm trusts it through NODE_EXTRA_CA_CERTS: the builds' npm must
# too. That bundle goes into a layer of its own, at the same path, on top of
# the machine-independent root (build.sh passes the path as a build argument,
# which no image keeps in its environment).
with_host_ca() { # BASE_TAG
  local ca=${NODE_EXTRA_CA_CERTS:-}
  if [ -z "$ca" ] || [ ! -f "$ca" ]; then echo "$1"; return; fi
  local sum; sum=$(sha256sum "$ca" | cut -c1-12)
  local out="$1-ca$sum"
  if ! docker image inspect "$out" >/dev/null 2>&1; then
    local ctx; ctx=$(mktemp -d "${TMPDIR:-/tmp}/resumable-ca.XXXXXX")
    cp "$ca" "$ctx/ca.crt"
    printf 'FROM %s\nCOPY ca.crt %s\n' "$1" "$ca" | docker build -q -t "$out" -f - "$ctx" >/dev/null
    rm -rf "$ctx"
  fi
  echo "$out"
}

if docker image inspect "$tag" >/dev/null 2>&1; then with_host_ca "$tag"; exit 0; fi
if [ -z "${RESUMABLE_BUILD_BASE:-}" ] && timeout 60 docker pull -q "$upstream" >/dev/null 2>&1; then
  echo "$upstream"; exit 0
fi
if [ ! -f "$tarball" ]; then
  echo "$upstream cannot be pulled: building $tag (debootstrap $suite minbase + Node.js $node_version, npm $npm_version) …" >&2
  if ! command -v debootstrap >/dev/null; then
    # A fresh machine's package lists may be empty or stale, as in engine.sh.
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  fi
  # The mirror apt already reaches on this machine, unless one is given.
  mirror=${RESUMABLE_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)}
  mirror=${mirror:-$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\/debian\) .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)}
  [ -n "$mirror" ] || { echo "no Debian mirror found in apt's sources: set RESUMABLE_DEBIAN_MIRROR" >&2; exit 1; }
  start=$SECONDS
  work=$(mktemp -d "${TMPDIR:-/tmp}/resumable-base.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  root="$work/rootfs"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  install -m 0755 "$node_bin" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # What node:20-slim also leaves out: package lists, caches, docs.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* \
         "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/* "$root"/tmp/*
  mkdir -p "$(dirname "$tarball")"
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  echo "built base root file system in $((SECONDS - start))s" >&2
fi
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'CMD ["node"]' \
  "$tarball" "$tag" >/dev/null
with_host_ca "$tag"
