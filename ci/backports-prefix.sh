#!/usr/bin/env bash
# backports-prefix.sh — QEMU 10.0 and libvirt 11.3 from Debian's bookworm-backports, unpacked into
# prefixes beside the system's QEMU 7.2 and libvirt 9.0 (nothing is installed with dpkg, the system
# stack stays what it is). Idempotent: a prefix is kept between runs and re-created when its
# ".complete" stamp is missing or names other packages. Must run as root (apt sources, /opt).
#
# Env:
#   QMPBJ_QEMU_PREFIX     QEMU prefix     (default /opt/qmpbj/qemu-10.0)
#   QMPBJ_LIBVIRT_PREFIX  libvirt prefix  (default /opt/qmpbj/libvirt-11.3)
#   QMPBJ_APT_LOCK_WAIT   seconds to keep retrying apt-get while dpkg is locked (default 600)
#
# Prints, on stdout, shell assignments for the second stack (eval them):
#   QMPBJ_QEMU_PREFIX=… QMPBJ_LIBVIRT_PREFIX=…
# Exit codes: 0 ok, 1 failure (message on stderr), 2 not root.
set -euo pipefail

QEMU_PREFIX="${QMPBJ_QEMU_PREFIX:-/opt/qmpbj/qemu-10.0}"
LIBVIRT_PREFIX="${QMPBJ_LIBVIRT_PREFIX:-/opt/qmpbj/libvirt-11.3}"
APT_WAIT="${QMPBJ_APT_LOCK_WAIT:-600}"
SUITE=bookworm-backports
QEMU_PKGS=(qemu-system-x86 qemu-system-common qemu-system-data qemu-utils qemu-block-extra)
# Debian's libvirt 11.3 ships the monolithic libvirtd (no virtqemud package), virtlogd and virsh.
LIBVIRT_PKGS=(libvirt0 libvirt-common libvirt-clients libvirt-daemon libvirt-daemon-common libvirt-daemon-log libvirt-daemon-driver-qemu libvirt-daemon-lock)

log() { echo "backports-prefix: $*" >&2; }
die() { echo "backports-prefix: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "backports-prefix: ERROR: must run as root" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive

# shellcheck source=ci/apt-retry.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-retry.sh"

# ---------------------------------------------------------------- apt source
# The backports suite from the same mirror the machine's bookworm entry uses (read from apt's config).
has_suite() { apt-cache madison qemu-system-x86 2>/dev/null | grep -c "$SUITE" >/dev/null; }
if ! has_suite; then
  src=/etc/apt/sources.list.d/qmpbj-$SUITE.sources
  if [ ! -f "$src" ] && ! grep -rqs "$SUITE" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' | awk '$2 == "bookworm" {print $1; exit}')
    [ -n "$uri" ] || die "no bookworm entry in apt's sources to take the mirror from"
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "${uri%/}" "$SUITE" > "$src"
    log "added $src"
  fi
  retry_apt apt-get update -q
  has_suite || die "apt knows no $SUITE packages after apt-get update"
fi

# ---------------------------------------------------------------- prefixes
# unpack PREFIX PKG… : apt-get download PKG/$SUITE, dpkg -x into PREFIX, stamp it.
unpack() {
  local prefix=$1; shift
  local want tmp
  want=$(for p in "$@"; do apt-cache madison "$p" | awk -v p="$p" -v s="$SUITE" '$0 ~ s {print p "=" $3; exit}'; done)
  [ "$(wc -l <<<"$want")" = "$#" ] || die "not every package has a $SUITE version: $*"
  if [ -f "$prefix/.complete" ] && [ "$(cat "$prefix/.complete")" = "$want" ]; then return 0; fi
  log "unpacking into $prefix: $(tr '\n' ' ' <<<"$want")"
  tmp=$(mktemp -d)
  chmod 755 "$tmp" # apt-get download drops privileges to _apt where it can
  (cd "$tmp" && retry_apt apt-get download -q $(sed 's/=.*//; s|$|/'"$SUITE"'|' <<<"$want"))
  rm -rf "$prefix.new"
  mkdir -p "$prefix.new"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$prefix.new"; done
  rm -rf "$tmp"
  printf '%s\n' "$want" > "$prefix.new/.complete"
  rm -rf "$prefix"
  mv "$prefix.new" "$prefix"
}
unpack "$QEMU_PREFIX" "${QEMU_PKGS[@]}"
unpack "$LIBVIRT_PREFIX" "${LIBVIRT_PKGS[@]}"

"$QEMU_PREFIX/usr/bin/qemu-system-x86_64" --version >/dev/null || die "$QEMU_PREFIX/usr/bin/qemu-system-x86_64 does not run"
LD_LIBRARY_PATH="$LIBVIRT_PREFIX/usr/lib/x86_64-linux-gnu" "$LIBVIRT_PREFIX/usr/bin/virsh" --version >/dev/null || die "$LIBVIRT_PREFIX/usr/bin/virsh does not run"
echo "QMPBJ_QEMU_PREFIX=$QEMU_PREFIX QMPBJ_LIBVIRT_PREFIX=$LIBVIRT_PREFIX"
