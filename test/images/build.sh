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

for image in "${images[@]}"; do
  case "$image" in
    trainer) file=trainer/Dockerfile; name=resumable/trainer ;;
    operator) file=operator/Dockerfile; name=resumable/operator ;;
    trainer-gpu) file=trainer/Dockerfile.gpu; name=resumable/trainer-gpu ;;
    *) echo "unknown image $image (trainer, operator, trainer-gpu)" >&2; exit 2 ;;
  esac
  start=$SECONDS
  echo "building $name:$version from $file …" >&2
  # --network host: the engine runs without a bridge (engine.sh); npm ci
  # reaches the registry through the host's own network.
  docker build --network host -f "$file" --build-arg "BASE=$base" \
    --build-arg "NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-}" \
    -t "$name:$version" -t "$name:dev" . >&2
  echo "built $name:$version in $((SECONDS - start))s" >&2
done
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E '^resumable/[a-z-]+:dev' | sort
