#!/usr/bin/env bash
# `make test` and `make test-integration` start this first, in the background at idle
# priority (nice 19). It builds every binary the tests need, in the order they need them
# (helm and Prometheus for the unit phase's chart tests, then the integration phase's), into
# the same caches the tests read: on a cold machine the Go compiles use the cores that lint,
# typecheck and the waiting tests leave idle, instead of holding up the phase that first asks
# for them. Each build takes its cache's lock (lib/go-build.sh): a phase that asks for a
# binary still being built here waits for it and uses it. A build that fails here is left: the phase that needs it builds it again in the
# foreground, where its error shows. On a warm cache this ends in seconds.
#   bash test/prebuild.sh --background   start it and return (its log is named)
#   bash test/prebuild.sh                 build in the foreground
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${RESUMABLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/resumable}
mkdir -p "$cache_root"
log="$cache_root/prebuild.log"

if [ "${1:-}" = --background ]; then
  # A job started with & by a non-interactive shell ignores SIGINT and SIGQUIT, and so would
  # every go build under it: put them back, so that interrupting make stops these builds too.
  nice -n 19 env --default-signal=INT,QUIT bash "$0" --log >/dev/null 2>&1 </dev/null &
  echo "building the tests' binaries in the background at idle priority (log: $log)"
  exit 0
fi

exec {lock}>"$cache_root/prebuild.lock"
flock -n "$lock" || { echo "another prebuild is running"; exit 0; }
# Only the holder of the lock writes the log: a second make's prebuild leaves it alone.
if [ "${1:-}" = --log ]; then exec >"$log" 2>&1; fi
export PATH="$PATH:/usr/local/go/bin"
start=$SECONDS
step() {
  local s=$SECONDS
  echo "== $* ($(date -u +%H:%M:%S))"
  if "$@" >/dev/null; then echo "   done in $((SECONDS - s)) s"; else echo "   failed after $((SECONDS - s)) s: the phase that needs it builds it again"; fi
}
step bash "$here/tools/build.sh"
step bash "$here/cluster/build.sh"
step bash "$here/s3/build.sh"
step bash "$here/kwok/build.sh"
# The real node's binaries: only where its tests can run (as realnode.integration.test.ts
# checks: root, Linux, overlayfs, the cgroup memory controller). runc needs Debian's
# libseccomp-dev, which install-host.sh adds when it is missing.
memory_cgroup() { [ -d /sys/fs/cgroup/memory ] || grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; }
if [ "$(id -u)" = 0 ] && [ "$(uname -s)" = Linux ] && grep -qw overlay /proc/filesystems && memory_cgroup; then
  step bash "$here/realnode/install-host.sh"
  step bash "$here/realnode/build.sh"
fi
# Last: only their own smoke files and `make cluster-up KUEUE=1 / JOBSET=1` start them. Kueue
# first (the longer build); JobSet's module selects the same dependencies, so it mostly reuses
# Kueue's compiled packages.
step bash "$here/kueue/build.sh"
step bash "$here/jobset/build.sh"
echo "prebuild finished in $((SECONDS - start)) s"
