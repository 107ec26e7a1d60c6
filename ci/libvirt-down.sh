#!/usr/bin/env bash
# libvirt-down.sh [--user PID] [DOMAIN...]
# Destroys the given transient domains (plus those recorded in $STATE/domains by the test helper),
# then stops only the daemons libvirt-up.sh started (pids in $STATE).
# With --user PID: unregisters PID (see libvirt-up.sh --user) and stops nothing while another
# registered user is still alive — the last test process out turns the lights off.
# Env QMPBJ_LIBVIRT_KEEP=1: never stop the daemons (CI calls libvirt-down.sh once at the end).
# Leaves qemu.conf/users/packages in place (qemu.conf original is at qemu.conf.qmpbj-orig).
# Env: QMPBJ_LIBVIRT_STATE (default /tmp/qmpbj-libvirt)
set -uo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
STATE="${QMPBJ_LIBVIRT_STATE:-/tmp/qmpbj-libvirt}"
URI="qemu:///system"
log() { echo "libvirt-down: $*" >&2; }
rc=0
[ -d "$STATE" ] || exit 0

USER_PID=""
if [ "${1:-}" = "--user" ]; then USER_PID="${2:?--user needs a pid}"; shift 2; fi
exec 9>"$STATE/lock"
flock -w 900 9 || { log "could not lock $STATE/lock"; exit 1; }

destroy() {
  local d=$1
  [ -n "$d" ] || return 0
  if timeout 15 virsh -c "$URI" domstate --domain "$d" >/dev/null 2>&1; then
    timeout 30 virsh -c "$URI" destroy --domain "$d" >/dev/null 2>&1 && log "destroyed domain $d" || { log "could not destroy $d"; rc=1; }
    return 0
  fi
  # libvirtd gone (killed/crashed): its QEMU keeps running; stop it by libvirt's own pidfile.
  local f="/run/libvirt/qemu/$d.pid" p
  if [ -f "$f" ] && p=$(cat "$f") && kill -0 "$p" 2>/dev/null &&
     tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | grep -qxF "guest=$d,debug-threads=on"; then
    kill -TERM "$p" && log "libvirtd unreachable: stopped QEMU of $d (pid $p)"
  fi
}
for d in "$@"; do destroy "$d"; done

if [ -n "$USER_PID" ]; then
  rm -f "$STATE/users/$USER_PID"
  for f in "$STATE"/users/*; do
    [ -e "$f" ] || continue
    p=$(basename "$f")
    if kill -0 "$p" 2>/dev/null; then log "libvirt still used by pid $p; leaving it running"; exit $rc; fi
    rm -f "$f" # a user that died without unregistering
  done
fi
if [ "${QMPBJ_LIBVIRT_KEEP:-0}" = 1 ]; then exit $rc; fi

if [ -f "$STATE/domains" ]; then
  mapfile -t rec < "$STATE/domains"
  for d in "${rec[@]}"; do destroy "$d"; done
fi
rm -f "$STATE/domains"

pids=()
check_pid() { # name pidfile -> prints pid if it is still the daemon we started
  local name=$1 f=$2 p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  rm -f "$f"
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "$name"; then echo "$p"
    else log "pid $p is no longer $name; not touching it"; fi
  fi
}
for d in libvirtd virtlogd; do
  p=$(check_pid "$d" "$STATE/$d.pid")
  [ -n "$p" ] && pids+=("$p") && kill -TERM "$p"
done
# both exit in parallel (libvirtd ~1.4 s, virtlogd ~2 s)
for p in "${pids[@]}"; do
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then log "pid $p ignored SIGTERM, sending SIGKILL"; kill -KILL "$p"; fi
  log "stopped pid $p"
done
exit $rc
