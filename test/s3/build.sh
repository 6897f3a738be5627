#!/usr/bin/env bash
# Builds the test world's S3 server into the cache (see ../lib/go-build.sh) and prints the
# directory. `build.sh` or `build.sh gofakes3`: our small server over gofakes3 (seconds).
# `build.sh seaweedfs`: SeaweedFS's `weed` (master, volume, filer and S3 gateway in one
# binary; about 5 min of module downloads and 20+ min of compiling on 2 busy cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
. "$here/../lib/go-build.sh"

case "${1:-gofakes3}" in
  gofakes3)
    # The source is ours, so its hash is part of the key: an edit builds a new binary.
    src=$(cat "$here/gofakes3/main.go" "$here/gofakes3/go.sum" | sha256sum | cut -c1-12)
    out="$cache_root/bin/gofakes3-${GOFAKES3_VERSION}-${src}"
    build s3-server "$here/gofakes3" . ""
    ;;
  seaweedfs)
    out="$cache_root/bin/seaweedfs-${SEAWEEDFS_VERSION}"
    build weed "$here/seaweedfs" github.com/seaweedfs/seaweedfs/weed ""
    ;;
  *) echo "usage: $0 [gofakes3|seaweedfs]" >&2; exit 2 ;;
esac
echo "$out"
