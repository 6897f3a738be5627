#!/usr/bin/env bash
# `make images`: builds resumable/trainer and resumable/operator, tagged with
# the project's version and :dev, with a real Docker engine (engine.sh starts
# Debian's dockerd when none answers) on node:20-slim or, where that cannot be
# pulled, the equivalent base.sh builds. Prints each build's time and the
# images' sizes.
#   bash test/images/build.sh               trainer and operator
#   bash test/images/build.sh trainer-gpu   the GPU trainer (needs its CUDA base)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
version=$(node -p 'require("./package.json").version')
images=("$@"); [ ${#images[@]} -gt 0 ] || images=(trainer operator)

bash "$here/engine.sh"
base=$(bash "$here/base.sh")
echo "base image: $base" >&2

# What an image is built from: its Dockerfile, the base, the root manifests and
# configs, every workspace's package.json and bin/ (the manifests stage copies
# them all into each image), and the source of the packages it compiles (not
# their node_modules or dist). The Dockerfiles' `COPY . .` makes the engine
# rebuild (minutes of tsc) after any edit anywhere, even to a test; an image
# whose label already holds this hash is kept as it is, so an operator-only
# edit leaves the trainer image alone.
workspaces=$(node -p 'require("./package.json").workspaces.join(" ")')
inputs_hash() { # DOCKERFILE SOURCE_ROOT...
  local file=$1 ws manifests=(); shift
  for ws in $workspaces; do
    manifests+=("$ws/package.json")
    if [ -d "$ws/bin" ]; then manifests+=("$ws/bin"); fi
  done
  { echo "$base"; cat "$file" package.json package-lock.json tsconfig*.json .dockerignore
    if [ -f "$file.dockerignore" ]; then cat "$file.dockerignore"; fi
    find "${manifests[@]}" "$@" \( -name node_modules -o -name dist \) -prune -o -type f -not -name '*.tsbuildinfo' -print0 |
      sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16
}

for image in "${images[@]}"; do
  case "$image" in
    # trainer/ holds trainer/protocol; the operator compiles it too (tsc -b operator).
    # One Dockerfile for both, the workspace its argument.
    trainer) file=Dockerfile; name=resumable/trainer; sources=(trainer); args=(--build-arg WORKSPACE=trainer) ;;
    operator) file=Dockerfile; name=resumable/operator; sources=(operator trainer/protocol); args=(--build-arg WORKSPACE=operator) ;;
    trainer-gpu) file=trainer/Dockerfile.gpu; name=resumable/trainer-gpu; sources=(trainer); args=() ;;
    *) echo "unknown image $image (trainer, operator, trainer-gpu)" >&2; exit 2 ;;
  esac
  start=$SECONDS
  inputs=$(inputs_hash "$file" "${sources[@]}")
  if [ "$(docker image inspect -f '{{index .Config.Labels "dev.resumable.inputs"}}' "$name:$version" 2>/dev/null)" = "$inputs" ] &&
     [ "$(docker image inspect -f '{{.Id}}' "$name:$version")" = "$(docker image inspect -f '{{.Id}}' "$name:dev" 2>/dev/null)" ]; then
    echo "$name:$version is up to date (inputs $inputs)" >&2
    continue
  fi
  echo "building $name:$version from $file …" >&2
  # --network host: the engine runs without a bridge (engine.sh); npm ci
  # reaches the registry through the host's own network.
  docker build --network host -f "$file" "${args[@]}" --build-arg "BASE=$base" \
    --build-arg "NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-}" \
    --label "dev.resumable.inputs=$inputs" -t "$name:$version" -t "$name:dev" . >&2
  echo "built $name:$version in $((SECONDS - start))s" >&2
done
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E '^resumable/[a-z-]+:dev' | sort
