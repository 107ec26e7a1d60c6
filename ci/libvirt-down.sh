#!/usr/bin/env bash
# libvirt-down.sh [DOMAIN...]
# Destroys the given transient domains (plus those recorded in $STATE/domains by
# domain.sh), then stops only the daemons libvirt-up.sh started (pids in $STATE).
# Leaves qemu.conf/users/packages in place (qemu.conf original is at qemu.conf.qmpbj-orig).
# Env: QMPBJ_LIBVIRT_STATE (default /tmp/qmpbj-libvirt)
set -uo pipefail
STATE="${QMPBJ_LIBVIRT_STATE:-/tmp/qmpbj-libvirt}"
URI="qemu:///system"
log() { echo "libvirt-down: $*" >&2; }
rc=0

doms=("$@")
if [ -f "$STATE/domains" ]; then mapfile -t rec < "$STATE/domains"; doms+=("${rec[@]}"); fi
for d in "${doms[@]}"; do
  [ -n "$d" ] || continue
  if timeout 15 virsh -c "$URI" domstate "$d" >/dev/null 2>&1; then
    timeout 30 virsh -c "$URI" destroy "$d" >/dev/null 2>&1 && log "destroyed domain $d" || { log "could not destroy $d"; rc=1; }
  fi
done
rm -f "$STATE/domains"

stop_pid() { # name pidfile
  local name=$1 f=$2 p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    # make sure the pid is still the daemon we started
    if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "$name"; then
      kill -TERM "$p"
      for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$p" 2>/dev/null; then log "$name ($p) ignored SIGTERM, sending SIGKILL"; kill -KILL "$p"; fi
      log "stopped $name (pid $p)"
    else
      log "pid $p is no longer $name; not touching it"
    fi
  fi
  rm -f "$f"
}
stop_pid libvirtd "$STATE/libvirtd.pid"
stop_pid virtlogd "$STATE/virtlogd.pid"
exit $rc
