#!/usr/bin/env bash
# The real node's host packages from Debian: the CNI plugins (1.1.1, in
# /usr/lib/cni), libseccomp for building runc, gcc's static libc for the pause
# binary; iptables and iproute2's `ip` for the pod network (up.sh, down.sh).
# Installs only what is missing.
set -euo pipefail
missing=()
[ -f /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/libc.a ] || missing+=(libc6-dev)
command -v gcc >/dev/null || missing+=(gcc)
command -v iptables >/dev/null || missing+=(iptables)
command -v ip >/dev/null || missing+=(iproute2)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]} …" >&2
apt-get update -qq >&2
# make test's background prebuild may run this while another apt-get holds dpkg's lock: wait.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >&2
