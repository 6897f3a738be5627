#!/usr/bin/env bash
# Checks the images `make images` built, as a user would first try them:
# the trainer prints its usage, the operator starts and answers /healthz
# (and /readyz 503 while no apiserver answers), each image holds only its own
# dependencies (no compiler, no dev dependencies, no TensorFlow.js in the
# operator, no client-node in the trainer), and both run as uid 1000.
set -euo pipefail
fail=0 passed=0
check() { # DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok   $what"; passed=$((passed + 1)); else echo "FAIL $what"; fail=$((fail + 1)); fi
}
absent() { # IMAGE PATH...: none of the paths exists in the image
  local image=$1; shift
  docker run --rm --entrypoint sh "$image" -c 'for p in "$@"; do [ ! -e "$p" ] || { echo "$p" >&2; exit 1; }; done; ! command -v gcc && ! command -v cc && ! command -v tsc' sh "$@"
}
trainer=resumable/trainer:dev operator=resumable/operator:dev

check "trainer --help prints the usage" sh -c "docker run --rm $trainer --help | grep -q '^Usage: resumable-trainer'"
check "trainer image: no client-node, typescript, tsx, eslint or compiler" \
  absent "$trainer" /app/node_modules/@kubernetes /app/node_modules/typescript /app/node_modules/tsx /app/node_modules/eslint
check "operator image: no TensorFlow.js, typescript, tsx, eslint or compiler" \
  absent "$operator" /app/node_modules/@tensorflow /app/node_modules/typescript /app/node_modules/tsx /app/node_modules/eslint
check "both images run as uid 1000" sh -c "[ \"\$(docker inspect -f '{{.Config.User}}' $trainer $operator | sort -u)\" = 1000:1000 ]"

# The operator serves /healthz before its caches sync: against an apiserver
# that never answers it is alive (200) and not ready (503).
dir=$(mktemp -d "${TMPDIR:-/tmp}/resumable-smoke.XXXXXX")
cat > "$dir/kubeconfig" <<'YAML'
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
YAML
chmod 644 "$dir/kubeconfig"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cid=$(docker run -d --rm --network host -v "$dir/kubeconfig:/kubeconfig:ro" -e KUBECONFIG=/kubeconfig \
  "$operator" --metrics-address 127.0.0.1 --metrics-port "$port" --leader-elect=false)
trap 'docker stop "$cid" >/dev/null 2>&1; rm -rf "$dir"' EXIT
healthz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/$1"; }
for _ in $(seq 1 60); do [ "$(healthz healthz)" = 200 ] && break; sleep 1; done
check "operator image serves /healthz (200)" test "$(healthz healthz)" = 200
check "operator image: /readyz is 503 while no apiserver answers" test "$(healthz readyz)" = 503
echo "images: $passed passed, $fail failed"
[ "$fail" = 0 ]
