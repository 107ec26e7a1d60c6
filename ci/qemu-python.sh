#!/usr/bin/env bash
# qemu-python.sh SUITE — QEMU's own Python QMP clients (python/qemu/qmp: qmp-shell, QMPClient, the
# legacy sync client) and tests/qemu-iotests/, from Debian's QEMU source package of SUITE, as test
# peers: used verbatim, never installed, never committed. SUITE is the stack under test:
#   bookworm → QEMU 7.2 (system), bookworm-backports → 10.0, trixie-backports → 11.1.
# Only the source package is downloaded (no dpkg-dev: apt-get source --download-only), and only
# python/ and tests/qemu-iotests/ are taken from its orig tarball. Idempotent: cached in
# /opt/qmpbj/qemu-src-<Debian version>/ (re-made when its ".complete" stamp is missing).
# Must run as root (an apt sources file of its own, apt-get update, /opt).
#
# Prints the python dir on stdout; tests take it from QMPBJ_QEMU_PYTHON:
#   export QMPBJ_QEMU_PYTHON=$(bash ci/qemu-python.sh bookworm-backports)
# Env: QMPBJ_APT_LOCK_WAIT seconds to keep retrying apt-get while dpkg is locked (default 600).
# Exit codes: 0 ok, 1 failure (message on stderr), 2 usage or not root.
set -euo pipefail

SUITE="${1:-}"
case "$SUITE" in
  bookworm|bookworm-backports|trixie|trixie-backports) ;;
  *) echo "usage: qemu-python.sh bookworm|bookworm-backports|trixie-backports" >&2; exit 2 ;;
esac
APT_WAIT="${QMPBJ_APT_LOCK_WAIT:-600}"
SRC_LIST=/etc/apt/sources.list.d/qmpbj-src.sources

log() { echo "qemu-python: $*" >&2; }
die() { echo "qemu-python: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "qemu-python: ERROR: must run as root" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive

# shellcheck source=ci/apt-retry.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-retry.sh"

# ---------------------------------------------------------------- deb-src entry
# One sources file of our own holding every suite asked for so far, on the mirror of apt's bookworm entry.
has_sources() { apt-get indextargets --format '$(RELEASE)' 'Created-By: Sources' 2>/dev/null | grep -qx "$SUITE"; }
if ! has_sources; then
  uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' | awk '$2 == "bookworm" {print $1; exit}')
  [ -n "$uri" ] || die "no bookworm entry in apt's sources to take the mirror from"
  suites=$SUITE
  if [ -f "$SRC_LIST" ]; then
    suites=$( { sed -n 's/^Suites: //p' "$SRC_LIST" | tr ' ' '\n'; echo "$SUITE"; } | awk 'NF && !seen[$0]++' | paste -sd' ')
  fi
  printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "${uri%/}" "$suites" > "$SRC_LIST.tmp"
  mv "$SRC_LIST.tmp" "$SRC_LIST"
  log "deb-src for $suites in $SRC_LIST"
  retry_apt apt-get update -q
  has_sources || die "apt knows no $SUITE sources after apt-get update"
fi

# ---------------------------------------------------------------- source package
version=$(apt-get source --print-uris -q "qemu/$SUITE" 2>/dev/null | sed -n "s/^'[^']*' qemu_\([^ ]*\)\.dsc .*/\1/p" | head -1)
[ -n "$version" ] || die "no qemu source package in $SUITE"
version=${version#*%3a}
dest=/opt/qmpbj/qemu-src-$version
if [ -f "$dest/.complete" ] && [ -d "$dest/python/qemu/qmp" ]; then
  echo "$dest/python"
  exit 0
fi
rm -rf "$dest" "$dest.download"
mkdir -p "$dest.download" "$dest"
# A failed run leaves nothing half-made behind (the stamp is written last).
trap 'rm -rf "$dest.download"; [ -f "$dest/.complete" ] || rm -rf "$dest"' EXIT
# Only the orig tarball is needed. apt checks every file it keeps against the suite's Sources index, so
# a kept tarball is the right one even when another file of the package could not be fetched (some
# mirrors lack a backport's .dsc).
if ! out=$(cd "$dest.download" && apt-get source --download-only -q "qemu/$SUITE" 2>&1); then
  log "apt-get source did not fetch every file: $(grep '^E:' <<<"$out" | head -2 | tr '\n' ' ')"
fi
orig=$(find "$dest.download" -maxdepth 1 -name "qemu_*.orig.tar.*" | head -1)
[ -n "$orig" ] || die "no orig tarball of qemu/$SUITE could be fetched: $(tail -2 <<<"$out")"
# The tarball's top folder (qemu-7.2 or qemu-7.2+dfsg) is dropped; only the two folders are taken.
tar -xf "$orig" -C "$dest" --strip-components=1 --wildcards '*/python/*' '*/tests/qemu-iotests/*'
[ -f "$dest/python/qemu/qmp/qmp_client.py" ] || die "the orig tarball holds no python/qemu/qmp"
cp "$dest.download"/*.dsc "$dest/" 2>/dev/null || true
rm -rf "$dest.download"
echo "$version" > "$dest/.complete"
log "QEMU $version python clients in $dest/python"
echo "$dest/python"
