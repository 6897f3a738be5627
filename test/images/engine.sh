#!/usr/bin/env bash
# Makes sure a Docker engine answers, starting Debian's docker.io daemon when
# none does. Source it, or run it: it exits 0 once `docker info` works.
# The daemon keeps its images under the project's cache (not /var/lib/docker)
# and touches neither the host's bridges nor its iptables: builds and test
# runs use --network host, so no network set-up is needed at all.
set -euo pipefail
cache_root=${RESUMABLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/resumable}
engine_dir="$cache_root/docker"

docker info >/dev/null 2>&1 && exit 0

if ! command -v dockerd >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "no Docker engine: installing Debian's docker.io …" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
  else
    echo "no Docker engine answers and dockerd is not installed (Debian: apt-get install docker.io)" >&2
    exit 1
  fi
fi

mkdir -p "$engine_dir"
echo "starting dockerd (data-root $engine_dir/data, log $engine_dir/dockerd.log) …" >&2
# setsid: the daemon outlives this script and the make run that started it.
setsid dockerd \
  --data-root "$engine_dir/data" --exec-root "$engine_dir/exec" \
  --pidfile "$engine_dir/dockerd.pid" \
  --bridge=none --iptables=false --ip-masq=false \
  >"$engine_dir/dockerd.log" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && { echo "dockerd is up (pid $(cat "$engine_dir/dockerd.pid"))" >&2; exit 0; }
  kill -0 $! 2>/dev/null || break
  sleep 1
done
echo "dockerd did not answer; last lines of $engine_dir/dockerd.log:" >&2
tail -20 "$engine_dir/dockerd.log" >&2
exit 1
