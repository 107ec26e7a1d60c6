#!/usr/bin/env bash
# trixie-root.sh — a Debian 13 root with QEMU 11.1 and libvirt 12.9 from trixie-backports, made by
# mmdebstrap, for the third stack of the CI matrix (ci/stack.sh trixie). Debian 13's packages need
# Debian 13's C library, so they cannot be unpacked beside the system's as bookworm-backports' are;
# the tests run inside this root instead (ci/stack.sh enters it in a private mount namespace).
# Idempotent: the root is kept between runs under /opt/qmpbj and made anew when its ".complete"
# stamp is missing or names another package list. Root only. Measured: ~40 s on a fresh machine.
#
# Env:
#   QMPBJ_TRIXIE_ROOT    where the root lives (default /opt/qmpbj/trixie)
#   QMPBJ_APT_LOCK_WAIT  seconds to keep retrying apt-get while dpkg is locked (default 600)
# Prints the root's path on stdout. Exit codes: 0 ok, 1 failure (message on stderr), 2 not root.
set -euo pipefail
ROOT="${QMPBJ_TRIXIE_ROOT:-/opt/qmpbj/trixie}"
APT_WAIT="${QMPBJ_APT_LOCK_WAIT:-600}"
# What the suite runs inside: QEMU and its tools, libvirt's monolithic libvirtd (as Debian packages it),
# python3 for the raw recorder, QEMU's own Python clients (python3-qemu-qmp: the QEMU project's qemu.qmp
# library as Debian packages it, since the mirror serves no source of the 11.1 backport), sshd for
# qemu+ssh://, mount/e2fsprogs, chromium for the trace view's browser test.
PKGS=(qemu-system-x86 qemu-utils qemu-block-extra libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  libvirt-daemon-log libvirt-daemon-lock python3 openssh-server openssh-client procps e2fsprogs mount
  ca-certificates python3-qemu-qmp chromium)
log() { echo "trixie-root: $*" >&2; }
die() { echo "trixie-root: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "trixie-root: ERROR: must run as root" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive

want="${PKGS[*]} (trixie-backports preferred)"
if [ -f "$ROOT/.complete" ] && [ "$(cat "$ROOT/.complete")" = "$want" ]; then echo "$ROOT"; exit 0; fi

if ! command -v mmdebstrap >/dev/null; then
  deadline=$(( $(date +%s) + APT_WAIT ))
  until apt-get install -y -q --no-install-recommends mmdebstrap >/tmp/qmpbj-mmdebstrap-install.log 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "apt-get install mmdebstrap failed: $(tail -3 /tmp/qmpbj-mmdebstrap-install.log)"
    apt-get update -q >/dev/null 2>&1 || true
    log "apt-get install mmdebstrap failed (apt lock or stale lists?), retrying in 5s"; sleep 5
  done
fi
# The same mirror as the machine's own bookworm entry (read from apt's config, as backports-prefix.sh does).
uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' | awk '$2 == "bookworm" {print $1; exit}')
[ -n "$uri" ] || die "no bookworm entry in apt's sources to take the mirror from"
uri=${uri%/}

tmp="$ROOT.new"
rm -rf "$tmp"
mkdir -p "$(dirname "$ROOT")"
log "making $ROOT with mmdebstrap (trixie + trixie-backports from $uri)"
# Default-Release makes apt take every package from trixie-backports where it has one, so that QEMU 11.1
# and libvirt 12.9 come with the backported libraries they need (seabios, libcurl…).
if ! mmdebstrap --mode=root --variant=apt --components=main \
    --aptopt='APT::Default-Release "trixie-backports"' \
    --include="$(IFS=,; echo "${PKGS[*]}")" \
    trixie "$tmp" "deb $uri trixie main" "deb $uri trixie-backports main" >/tmp/qmpbj-mmdebstrap.log 2>&1; then
  die "mmdebstrap failed: $(tail -5 /tmp/qmpbj-mmdebstrap.log)"
fi
chroot "$tmp" qemu-system-x86_64 --version >/dev/null || die "the new root's qemu-system-x86_64 does not run"
chroot "$tmp" virsh --version >/dev/null || die "the new root's virsh does not run"
rm -rf "$ROOT"
mv "$tmp" "$ROOT"
printf '%s\n' "$want" > "$ROOT/.complete"
log "$(chroot "$ROOT" qemu-system-x86_64 --version | head -1); libvirt $(chroot "$ROOT" virsh --version)"
echo "$ROOT"
