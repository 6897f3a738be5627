#!/usr/bin/env bash
# Loads the images the real node runs into its containerd, as no registry is
# reachable: the pause image (built here from pause.c, a static binary in an
# empty image) and resumable/trainer:dev and resumable/operator:dev from
# `make images`, which it builds first when the engine lacks them.
#   bash test/realnode/images.sh CONTAINERD_SOCKET [CONTAINERD_ROOT]
# The import stamps live in containerd's root (default: beside the socket), so
# a root kept in the cache is never imported into twice.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sock=${1:?usage: images.sh CONTAINERD_SOCKET}
bash "$here/../images/engine.sh"

pause=resumable.local/pause:v1
if ! docker image inspect "$pause" >/dev/null 2>&1; then
  ctx=$(mktemp -d "${TMPDIR:-/tmp}/resumable-pause.XXXXXX")
  gcc -static -Os -s -o "$ctx/pause" "$here/pause/pause.c"
  docker build -q -t "$pause" -f "$here/pause/Dockerfile" "$ctx" >/dev/null
  rm -rf "$ctx"
fi
for image in resumable/trainer:dev resumable/operator:dev; do
  docker image inspect "$image" >/dev/null 2>&1 || bash "$here/../images/build.sh" >&2
done
# An import (save, copy, unpack) takes minutes on a busy machine: skip an
# image this containerd already holds at the engine's current image ID.
stamps="${2:-$(dirname "$sock")}/imported"
mkdir -p "$stamps"
start=$SECONDS
for image in "$pause" resumable/trainer:dev resumable/operator:dev; do
  id=$(docker image inspect -f '{{.Id}}' "$image")
  stamp="$stamps/$(echo "$image" | tr '/:' '__')"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$id" ] && ctr --address "$sock" -n k8s.io images ls -q | grep -qx "\(docker.io/\)\{0,1\}$image"; then continue; fi
  docker save "$image" | ctr --address "$sock" -n k8s.io images import - >/dev/null
  echo "$id" > "$stamp"
  echo "imported $image ($id) into containerd" >&2
done
echo "containerd holds the pause, trainer and operator images ($((SECONDS - start))s)" >&2
