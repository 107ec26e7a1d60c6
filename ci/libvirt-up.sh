#!/usr/bin/env bash
# libvirt-up.sh — bring up a real libvirtd (qemu:///system) in a container/sandbox
# without systemd and without KVM (TCG only). Idempotent. Must run as root.
#
# Env:
#   QMPBJ_LIBVIRT_STATE   state dir (default /tmp/qmpbj-libvirt); pids of daemons
#                         that THIS script started are written there
#                         (virtlogd.pid, libvirtd.pid), plus logs.
#   QMPBJ_LIBVIRT_TIMEOUT seconds to wait for libvirt to answer (default 30)
#   QMPBJ_APT_LOCK_WAIT   seconds to keep retrying apt-get if dpkg is locked (default 600)
#   QMPBJ_LIBVIRT_PIDDIR  where the daemons write their pidfiles (default /var/run)
#   QMPBJ_LIBVIRT_DEPRECATION  qemu.conf's deprecation_behavior (none, omit, reject, crash): "reject" makes
#                         libvirt start each QEMU with -compat deprecated-input=reject,deprecated-output=hide
#                         (ci/stack.sh trixie sets it); unset: libvirt's default
#   QMPBJ_LIBVIRT_PREFIX  run libvirtd/virtlogd from this prefix (ci/stack.sh backports sets it, with
#                         PATH and the rest, inside its private mount namespace); nothing is installed
#
# Usage: libvirt-up.sh [--user PID]
#   --user PID  registers PID as a user of this libvirtd ($STATE/users/PID); libvirt-down.sh
#               --user PID stops the daemons only when no other registered user is alive.
#               (test/helpers/libvirt.ts registers each tap test process this way.)
#
# Exit codes: 0 ok, 1 failure (message on stderr), 2 not root, 3 packages cannot be installed.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

STATE="${QMPBJ_LIBVIRT_STATE:-/tmp/qmpbj-libvirt}"
TIMEOUT="${QMPBJ_LIBVIRT_TIMEOUT:-30}"
PIDDIR="${QMPBJ_LIBVIRT_PIDDIR:-/var/run}"
PREFIX="${QMPBJ_LIBVIRT_PREFIX:-}"
APT_WAIT="${QMPBJ_APT_LOCK_WAIT:-600}"
URI="qemu:///system"

die() { echo "libvirt-up: ERROR: $*" >&2; exit 1; }
die_apt() { echo "libvirt-up: ERROR: $*" >&2; exit 3; }
log() { echo "libvirt-up: $*" >&2; }

USER_PID=""
if [ "${1:-}" = "--user" ]; then USER_PID="${2:?--user needs a pid}"; fi

[ "$(id -u)" = 0 ] || { echo "libvirt-up: ERROR: must run as root" >&2; exit 2; }
mkdir -p "$STATE/users"
# One up/down at a time: parallel test processes must not start two libvirtd.
exec 9>"$STATE/lock"
flock -w 900 9 || die "could not lock $STATE/lock"
[ -z "$USER_PID" ] || : > "$STATE/users/$USER_PID"

# ---------------------------------------------------------------- packages
PKGS=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils)
missing=()
if [ -n "$PREFIX" ]; then
  # A second libvirtd must not share /run/libvirt & co. with the system's: only in stack.sh's namespace.
  mountpoint -q /run/libvirt || die "QMPBJ_LIBVIRT_PREFIX is set but /run/libvirt is not a private mount (run through ci/stack.sh backports)"
  for b in libvirtd virtlogd virsh; do
    case "$(command -v "$b" || true)" in "$PREFIX"/*) ;; *) die "$b is not $PREFIX's (PATH: $PATH)" ;; esac
  done
  PKGS=()
fi
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update only if the package lists lack a candidate for a missing package
  need_update=0
  for p in "${missing[@]}"; do
    cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/{print $2}')
    if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; fi
  done
  deadline=$(( $(date +%s) + APT_WAIT ))
  if [ "$need_update" = 1 ]; then
    until apt-get update -q >"$STATE/apt-update.log" 2>&1; do
      [ "$(date +%s)" -lt "$deadline" ] || die_apt "apt-get update failed: $(tail -3 "$STATE/apt-update.log")"
      log "apt-get update failed (dpkg/apt lock?), retrying in 5s"; sleep 5
    done
  fi
  until apt-get install -y -q --no-install-recommends "${missing[@]}" >"$STATE/apt-install.log" 2>&1; do
    # stale package lists on a fresh machine give 404s: refresh them once before retrying
    if [ "$need_update" = 0 ]; then need_update=1; apt-get update -q >"$STATE/apt-update.log" 2>&1 || true; continue; fi
    [ "$(date +%s)" -lt "$deadline" ] || die_apt "apt-get install failed: $(tail -3 "$STATE/apt-install.log")"
    log "apt-get install failed (dpkg lock held by another apt?), retrying in 5s"; sleep 5
  done
fi
for b in libvirtd virtlogd virsh qemu-system-x86_64 qemu-img; do
  command -v "$b" >/dev/null || die_apt "$b not found after install"
done

# ---------------------------------------------------------------- user/group
# Debian's libvirtd resolves its compiled-in default user AND group 'libvirt-qemu'
# before it reads qemu.conf ("Failed to parse group 'libvirt-qemu'" otherwise).
getent group kvm >/dev/null || groupadd --system kvm
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
id libvirt-qemu >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /var/lib/libvirt \
  --shell /usr/sbin/nologin -g libvirt-qemu -G kvm libvirt-qemu

# ---------------------------------------------------------------- qemu.conf
CONF=/etc/libvirt/qemu.conf
MARK="# qmp-blockjob sandbox config (written by libvirt-up.sh)"
if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF" && [ ! -e "$CONF.qmpbj-orig" ]; then
  cp -p "$CONF" "$CONF.qmpbj-orig"
  log "backed up $CONF to $CONF.qmpbj-orig"
fi
NEWCONF=$(cat <<EOF
$MARK
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
swtpm_user = "root"
swtpm_group = "root"
${QMPBJ_LIBVIRT_DEPRECATION:+deprecation_behavior = \"$QMPBJ_LIBVIRT_DEPRECATION\"}
EOF
)
if [ "$(cat "$CONF" 2>/dev/null)" != "$NEWCONF" ]; then
  mkdir -p /etc/libvirt
  printf '%s\n' "$NEWCONF" > "$CONF"
  CONF_CHANGED=1
else
  CONF_CHANGED=0
fi

mkdir -p /var/run/libvirt /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt

# ---------------------------------------------------------------- daemons
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
# pid of a running daemon by its own pidfile (not by name-matching everything)
daemon_pid() { local f="$PIDDIR/$1.pid"; [ -f "$f" ] && pid_alive "$(cat "$f")" && cat "$f"; }

if p=$(daemon_pid virtlogd); then
  log "virtlogd already running (pid $p)"
else
  # Daemons must not inherit our stdio (a caller reading our output would wait for them) nor the lock fd 9.
  virtlogd -d --pid-file "$PIDDIR/virtlogd.pid" </dev/null >/dev/null 2>"$STATE/virtlogd.stderr" 9>&- || die "virtlogd -d failed: $(cat "$STATE/virtlogd.stderr")"
  for _ in $(seq 50); do p=$(daemon_pid virtlogd) && break; sleep 0.1; done
  p=$(daemon_pid virtlogd) || die "virtlogd did not start (no $PIDDIR/virtlogd.pid)"
  echo "$p" > "$STATE/virtlogd.pid"
  log "started virtlogd (pid $p)"
fi

if p=$(daemon_pid libvirtd); then
  log "libvirtd already running (pid $p)"
  [ "$CONF_CHANGED" = 0 ] || log "WARNING: qemu.conf changed but libvirtd was already running; restart it to apply"
else
  libvirtd -d --pid-file "$PIDDIR/libvirtd.pid" </dev/null >/dev/null 2>"$STATE/libvirtd.stderr" 9>&- || die "libvirtd -d failed: $(cat "$STATE/libvirtd.stderr")"
  for _ in $(seq 50); do p=$(daemon_pid libvirtd) && break; sleep 0.1; done
  p=$(daemon_pid libvirtd) || die "libvirtd did not start (no $PIDDIR/libvirtd.pid); stderr: $(cat "$STATE/libvirtd.stderr")"
  echo "$p" > "$STATE/libvirtd.pid"
  log "started libvirtd (pid $p)"
fi

# ---------------------------------------------------------------- wait
deadline=$(( $(date +%s) + TIMEOUT ))
until out=$(timeout 10 virsh -c "$URI" version 2>&1); do
  if lp=$(cat "$STATE/libvirtd.pid" 2>/dev/null) && ! pid_alive "$lp"; then
    rm -f "$STATE/libvirtd.pid"
    die "libvirtd (pid $lp) exited during startup; last errors in /var/log/libvirt/libvirtd.log:
$(grep ' error : ' /var/log/libvirt/libvirtd.log 2>/dev/null | tail -4)"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    die "libvirt did not answer on $URI within ${TIMEOUT}s: $out"
  fi
  sleep 0.2
done
log "libvirt is up:"
printf '%s\n' "$out" >&2
