#!/usr/bin/env bash
# stack.sh STACK CMD… — runs CMD (e.g. `npm test`) on one QEMU + libvirt stack of the CI matrix.
#
#   system     QEMU and libvirt as installed (Debian 12: QEMU 7.2, libvirt 9.0). CMD runs as is.
#   backports  QEMU 10.0 and libvirt 11.3 from bookworm-backports, unpacked by ci/backports-prefix.sh
#              into prefixes (QMPBJ_QEMU_PREFIX, QMPBJ_LIBVIRT_PREFIX); the system stack is untouched.
#              Node 22 (ci/node.sh 22) first in PATH.
#   trixie     QEMU 11.1 and libvirt 12.9 from trixie-backports, in a Debian 13 root made by
#              ci/trixie-root.sh; CMD runs inside it (chroot, private mount namespace) on Node 24
#              (ci/node.sh 24), with every QEMU under QEMU's deprecation policy: QMPBJ_QEMU_COMPAT for
#              the QEMUs the tests start, qemu.conf's deprecation_behavior = "reject" for libvirt's.
#
# The backports stack is chosen by environment: PATH with the prefixes' bin dirs first (qemu-system-x86_64,
# qemu-img, qemu-io, virsh, libvirtd, virtlogd), QEMU_MODULE_DIR, LD_LIBRARY_PATH for libvirt's own
# libraries, LIBVIRT_DRIVER_DIR / LIBVIRT_LOCK_MANAGER_PLUGIN_DIR / VIRTLOGD_PATH (libvirt's overrides),
# and QMPBJ_LIBVIRT_STATE / QMPBJ_LIBVIRT_PIDDIR for ci/libvirt-up.sh. What libvirt cannot be told by
# environment — its run/state/cache/log/config dirs (compiled in, and shared with the system libvirtd
# 9.0 that other test runs may use at the same time), cpu_map, and the module/data dirs of the QEMU it
# spawns (libvirt passes QEMU no QEMU_MODULE_DIR; QEMU 10 loading QEMU 7.2's modules aborts) — is
# given to it in a private mount namespace (unshare -m) that lives as long as CMD: bind mounts over
# /run/libvirt, /var/{lib,cache,log}/libvirt, /etc/libvirt, /usr/share/libvirt, /usr/share/qemu and
# /usr/lib/x86_64-linux-gnu/qemu, visible to CMD and its children only.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stack="${1:?usage: stack.sh system|backports|trixie CMD…}"; shift
[ $# -gt 0 ] || { echo "usage: stack.sh system|backports|trixie CMD…" >&2; exit 2; }

case "$stack" in
  system) exec "$@" ;;
  backports) ;;
  trixie) exec bash "$here/stack-trixie.sh" "$@" ;;
  *) echo "stack.sh: unknown stack '$stack' (system, backports, trixie)" >&2; exit 2 ;;
esac

if [ "${QMPBJ_STACK_NS:-}" != "backports" ]; then
  [ "$(id -u)" = 0 ] || { echo "stack.sh: the backports stack needs root (mount namespace, libvirtd)" >&2; exit 2; }
  eval "$(bash "$here/backports-prefix.sh")"
  export QMPBJ_QEMU_PREFIX QMPBJ_LIBVIRT_PREFIX
  QMPBJ_NODE_BIN=$(bash "$here/node.sh" 22)
  export QMPBJ_NODE_BIN
  exec unshare --mount --propagation private env QMPBJ_STACK_NS=backports bash "${BASH_SOURCE[0]}" backports "$@"
fi

# ---------------------------------------------------------------- inside the namespace
Q="${QMPBJ_QEMU_PREFIX:?}"
L="${QMPBJ_LIBVIRT_PREFIX:?}"
ARCH_LIB=usr/lib/x86_64-linux-gnu
export QMPBJ_LIBVIRT_STATE="${QMPBJ_LIBVIRT_STATE:-/tmp/qmpbj-libvirt-11.3}"
export QMPBJ_LIBVIRT_PIDDIR=/run/libvirt
root="$QMPBJ_LIBVIRT_STATE/root"
# Fresh run/state/log/config every time (as after a reboot); the capabilities cache is kept.
rm -rf "$root/run" "$root/lib" "$root/log" "$root/etc"
mkdir -p "$root/run" "$root/lib" "$root/log" "$root/etc" "$root/cache"
cp -r "$L/etc/libvirt/." "$root/etc/"
bind() { mkdir -p "$2"; mount --bind "$1" "$2"; }
bind "$root/run" /run/libvirt
bind "$root/lib" /var/lib/libvirt
bind "$root/cache" /var/cache/libvirt
bind "$root/log" /var/log/libvirt
bind "$root/etc" /etc/libvirt
bind "$L/usr/share/libvirt" /usr/share/libvirt
bind "$Q/usr/share/qemu" /usr/share/qemu
bind "$Q/$ARCH_LIB/qemu" "/$ARCH_LIB/qemu"

export PATH="$QMPBJ_NODE_BIN:$Q/usr/bin:$L/usr/bin:$L/usr/sbin:$PATH"
export QEMU_MODULE_DIR="$Q/$ARCH_LIB/qemu"
export LD_LIBRARY_PATH="$L/$ARCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LIBVIRT_DRIVER_DIR="$L/$ARCH_LIB/libvirt/connection-driver"
export LIBVIRT_LOCK_MANAGER_PLUGIN_DIR="$L/$ARCH_LIB/libvirt/lock-driver"
export VIRTLOGD_PATH="$L/usr/sbin/virtlogd"
# The daemons libvirt-up.sh starts in here must not outlive the namespace's command.
trap 'QMPBJ_LIBVIRT_KEEP=0 bash "$here/libvirt-down.sh" >/dev/null 2>&1 || true' EXIT
set +e
"$@"
rc=$?
exit "$rc"
