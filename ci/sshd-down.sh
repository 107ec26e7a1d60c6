#!/usr/bin/env bash
# sshd-down.sh — stop the private sshd started by sshd-up.sh (by its pidfile only).
# With --purge also removes the qmpbj key from /root/.ssh/authorized_keys and known_hosts.
set -uo pipefail
STATE="${QMPBJ_LIBVIRT_STATE:-/tmp/qmpbj-libvirt}"
D="$STATE/sshd"
KEY=/root/.ssh/qmpbj_ed25519
if [ -f "$D/sshd.pid" ]; then
  p=$(cat "$D/sshd.pid")
  if kill -0 "$p" 2>/dev/null && tr '\0' ' ' < "/proc/$p/cmdline" | grep -q sshd; then
    kill -TERM "$p"
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    echo "sshd-down: stopped sshd (pid $p)" >&2
  fi
  rm -f "$D/sshd.pid"
fi
if [ "${1:-}" = "--purge" ]; then
  if [ -f "$KEY.pub" ] && [ -f /root/.ssh/authorized_keys ]; then
    k=$(cut -d' ' -f2 "$KEY.pub"); grep -vF "$k" /root/.ssh/authorized_keys > /root/.ssh/authorized_keys.tmp || true
    mv /root/.ssh/authorized_keys.tmp /root/.ssh/authorized_keys
  fi
  if [ -f "$D/host_ed25519.pub" ] && [ -f /root/.ssh/known_hosts ]; then
    k=$(cut -d' ' -f2 "$D/host_ed25519.pub"); grep -vF "$k" /root/.ssh/known_hosts > /root/.ssh/known_hosts.tmp || true
    mv /root/.ssh/known_hosts.tmp /root/.ssh/known_hosts
  fi
  rm -f "$KEY" "$KEY.pub"; rm -rf "$D"
  echo "sshd-down: purged qmpbj keys" >&2
fi
