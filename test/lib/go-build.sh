# Shared by test/cluster/build.sh and test/tools/build.sh: build one Go
# binary from a pinned module directory into a version-keyed cache outside
# the repo. Source it, set $out, then call build NAME MODULE_DIR PACKAGE LDFLAGS.
command -v go >/dev/null || { echo "Go is required to build the local cluster and its tools (https://go.dev/dl)" >&2; exit 1; }

cache_root=${RESUMABLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/resumable}

# The binary is renamed into place only when complete, so an interrupted
# build resumes where it stopped and never leaves a half-written binary.
build() {
  local name=$1 dir=$2 pkg=$3 ldflags=$4
  if [ -x "$out/$name" ]; then return; fi
  mkdir -p "$out"
  local start=$SECONDS
  echo "building $name …" >&2
  (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  echo "built $name in $((SECONDS - start))s" >&2
}

# The module proxy records when a version was tagged: the honest build date.
module_time() { # DIR MODULE@VERSION
  (cd "$1" && go mod download -json "$2" | sed -n 's/.*"Time": "\(.*\)".*/\1/p')
}
