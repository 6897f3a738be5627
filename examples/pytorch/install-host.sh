#!/usr/bin/env bash
# PyTorch for the DDP example and its tests: Debian's python3-torch (1.13 on bookworm), which
# is built for Debian's own interpreter, so everything calls /usr/bin/python3 (a python3
# earlier on PATH, such as a pyenv shim, cannot import it). Installs only when missing;
# recommends are left out (they add Qt and video drivers: 844 MB instead of 649 MB).
set -euo pipefail
/usr/bin/python3 -c 'import torch' 2>/dev/null && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "PyTorch is missing and cannot be installed here (needs root and apt-get): apt-get install python3-torch" >&2
  exit 1
fi
echo "installing Debian packages: python3-torch …" >&2
apt-get update -qq >&2
# make test's background prebuild may hold dpkg's lock while this runs: wait for it.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 python3-torch >&2
/usr/bin/python3 -c 'import torch'
