#!/usr/bin/env bash
# stack-trixie.sh CMD… — `ci/stack.sh trixie CMD…`: runs CMD inside the Debian 13 root of ci/trixie-root.sh
# (QEMU 11.1 + libvirt 12.9 from trixie-backports) on Node 24, in a private mount namespace that lives
# as long as CMD. The system's daemons and files stay untouched: the root has its own /run, /etc and
# /var (so its libvirtd is its own), and only these are bound into it —
#   /proc /sys /dev   as the host's;
#   /tmp              shared both ways (a tmpfs a test mounts under /tmp is seen inside and out);
#   the repository    at the same path, and ../shared beside it when present;
#   Node 24           at the same path as outside (/opt/qmpbj/node-24), and the machine's npm (a script).
# Inside, every QEMU runs under QEMU's deprecation policy: the tests' QEMUs by QMPBJ_QEMU_COMPAT, and
# libvirt's by `deprecation_behavior = "reject"` (ci/libvirt-up.sh, QMPBJ_LIBVIRT_DEPRECATION).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
[ $# -gt 0 ] || { echo "usage: stack.sh trixie CMD…" >&2; exit 2; }

if [ "${QMPBJ_STACK_NS:-}" != "trixie" ]; then
  [ "$(id -u)" = 0 ] || { echo "stack.sh: the trixie stack needs root (mmdebstrap, chroot, mounts)" >&2; exit 2; }
  QMPBJ_TRIXIE_ROOT=$(bash "$here/trixie-root.sh")
  QMPBJ_NODE_BIN=$(bash "$here/node.sh" 24)
  export QMPBJ_TRIXIE_ROOT QMPBJ_NODE_BIN
  exec unshare --mount --propagation private env QMPBJ_STACK_NS=trixie bash "${BASH_SOURCE[0]}" "$@"
fi

# ---------------------------------------------------------------- inside the namespace
R="${QMPBJ_TRIXIE_ROOT:?}"
node_prefix=$(dirname "${QMPBJ_NODE_BIN:?}")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
bind() { mkdir -p "$2"; mount --rbind "$1" "$2"; }
mount -t proc proc "$R/proc"
bind /sys "$R/sys"
bind /dev "$R/dev"
# /tmp: one peer group inside and out, so mounts made on either side show on the other.
mount --make-shared /tmp 2>/dev/null || { mount --bind /tmp /tmp && mount --make-shared /tmp; }
mkdir -p "$R/tmp"; mount --bind /tmp "$R/tmp"
case "$repo" in /tmp/*) ;; *) bind "$repo" "$R$repo" ;; esac
if [ -d "$repo/../shared" ]; then
  shared=$(cd "$repo/../shared" && pwd)
  case "$shared" in /tmp/*) ;; *) bind "$shared" "$R$shared" ;; esac
fi
bind "$node_prefix" "$R$node_prefix"
# The tests' Linux guest (ci/guest.sh) does not depend on the stack: the host's build is used inside.
guest_dir=${QMPBJ_GUEST_DIR:-/opt/qmpbj/guest}
[ -f "$guest_dir/vmlinuz" ] && bind "$guest_dir" "$R/opt/qmpbj/guest"
bind "$npm_dir" "$R/usr/local/lib/node_modules/npm"
ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$R/usr/local/bin/npm"
ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$R/usr/local/bin/npx"
cp /etc/hosts "$R/etc/hosts"

exec chroot "$R" /usr/bin/env \
  PATH="$QMPBJ_NODE_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  HOME=/root \
  QMPBJ_QEMU_COMPAT="deprecated-input=reject,deprecated-output=hide" \
  QMPBJ_LIBVIRT_DEPRECATION=reject \
  QMPBJ_LIBVIRT_STATE=/tmp/qmpbj-libvirt-12.9 \
  QMPBJ_STACK=trixie \
  QMPBJ_GUEST_DIR=/opt/qmpbj/guest \
  bash -c 'cd "$1" && shift && exec "$@"' bash "$repo" "$@"
