# Shared by test/cluster/build.sh, test/tools/build.sh and the others: build Go
# binaries from a pinned module directory into a version-keyed cache outside
# the repo. Source it, set $out, then call
#   build NAME MODULE_DIR PACKAGE LDFLAGS [ESTIMATE]
#   build_together MODULE_DIR LDFLAGS ESTIMATE NAME=PACKAGE...
# RESUMABLE_CACHE_DIR moves this binaries' cache only: Go's own build and module
# caches stay where GOCACHE and GOMODCACHE say, so to measure a cold build without
# wiping the ones everyone uses, point all three at fresh directories.
command -v go >/dev/null || { echo "Go is required to build the local cluster and its tools (https://go.dev/dl)" >&2; exit 1; }

cache_root=${RESUMABLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/resumable}

# Runs a command, printing every minute how long it has been going and what a
# cold build is expected to take, so a first run never looks hung.
with_progress() { # LABEL ESTIMATE CMD...
  local label=$1 estimate=$2 start=$SECONDS; shift 2
  # A job started with & in a script ignores SIGINT: put it back, so Ctrl-C stops the build.
  env --default-signal=INT,QUIT "$@" &
  local pid=$! ticks=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( ++ticks % 60 == 0 )); then
      echo "  … $label: $(( (SECONDS - start) / 60 )) min so far${estimate:+ (cold: $estimate)}" >&2
    fi
  done
  wait "$pid"
}

# One build per output directory at a time, across processes: `make test` runs two test
# files at once, and on a cold cache both asked for helm; each compiled it (twice the CPU)
# and the second's rename failed on a file the first had already moved. The one that waits
# finds the binaries built when it gets the lock. The lock goes with the process, so a
# build killed midway frees it.
lock_out() { # WHAT
  mkdir -p "$out"
  exec {out_lock}>"$out/.lock"
  if ! flock -n "$out_lock"; then
    echo "waiting for another build of $1 into $out …" >&2
    flock "$out_lock"
  fi
}
unlock_out() { flock -u "$out_lock"; exec {out_lock}>&-; }

# The binary is renamed into place only when complete, so an interrupted
# build resumes where it stopped and never leaves a half-written binary.
build() {
  local name=$1 dir=$2 pkg=$3 ldflags=$4 estimate=${5:-}
  if [ -x "$out/$name" ]; then return; fi
  lock_out "$name"
  if [ -x "$out/$name" ]; then unlock_out; return; fi
  local start=$SECONDS
  echo "building $name into $out${estimate:+ (cold: $estimate; cached afterwards)} …" >&2
  (cd "$dir" && with_progress "$name" "$estimate" go build -trimpath -ldflags "-s -w $ldflags" -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  echo "built $name in $((SECONDS - start))s" >&2
  unlock_out
}

# Several binaries of one module in one `go build`: the packages they share are
# compiled and linked in one scheduler, which is faster than one build each
# (measured warm: 88 s instead of 115 s for the control plane).
build_together() {
  local dir=$1 ldflags=$2 estimate=$3; shift 3
  local names=() pkgs=() spec
  for spec in "$@"; do [ -x "$out/${spec%%=*}" ] || names+=("${spec%%=*}"); done
  [ ${#names[@]} -eq 0 ] && return
  lock_out "${names[*]}"
  names=()
  for spec in "$@"; do
    [ -x "$out/${spec%%=*}" ] && continue
    names+=("${spec%%=*}"); pkgs+=("${spec#*=}")
  done
  if [ ${#names[@]} -eq 0 ]; then unlock_out; return; fi
  # A directory of this build's own, so a killed build never leaves a partial binary
  # where a finished one is expected. One left more than a day ago is swept here.
  find "$out" -maxdepth 1 -name '.building.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
  local tmp; tmp=$(mktemp -d "$out/.building.XXXXXX")
  local start=$SECONDS
  echo "building ${names[*]} into $out in one go build${estimate:+ (cold: $estimate; cached afterwards)} …" >&2
  if ! (cd "$dir" && with_progress "${names[*]}" "$estimate" go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/" "${pkgs[@]}"); then
    rm -rf "$tmp"; unlock_out; return 1
  fi
  local i
  for i in "${!names[@]}"; do mv "$tmp/$(basename "${pkgs[$i]}")" "$out/${names[$i]}"; done
  rm -rf "$tmp"
  echo "built ${names[*]} in $((SECONDS - start))s" >&2
  unlock_out
}

# The module proxy records when a version was tagged: the honest build date. `go list -m`, not
# `go mod download`: the latter leaves "Time" out once the module is in the module cache.
module_time() { # DIR MODULE@VERSION
  (cd "$1" && go list -m -json "$2" | sed -n 's/.*"Time": "\(.*\)".*/\1/p')
}

# Renders kustomize directories of a module's config/ (its CRDs, its webhook configurations)
# into $out/NAME.yaml, as the module's own release manifests are made, so what a test installs
# comes from the very module its binary was built from. Needs kubectl (its built-in kustomize).
render_manifests() { # MODULE_DIR MODULE@VERSION NAME=CONFIG_SUBDIR...
  local dir=$1 module=$2 spec missing=0; shift 2
  for spec in "$@"; do [ -s "$out/${spec%%=*}.yaml" ] || missing=1; done
  [ "$missing" = 0 ] && return
  local src; src=$(cd "$dir" && go mod download -json "$module" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$src/config" ] || { echo "no config/ in $module's source ($src)" >&2; return 1; }
  # kustomize takes a path with '@' in it (every module cache path) for a git URL: render a copy.
  local tmp; tmp=$(mktemp -d)
  cp -r "$src/config" "$tmp/config" && chmod -R u+w "$tmp"
  for spec in "$@"; do
    if ! kubectl kustomize "$tmp/config/${spec#*=}" > "$out/${spec%%=*}.yaml.tmp"; then rm -rf "$tmp"; return 1; fi
    mv "$out/${spec%%=*}.yaml.tmp" "$out/${spec%%=*}.yaml"
  done
  rm -rf "$tmp"
}
