#!/usr/bin/env bash
# sshd-up.sh — run a private sshd on loopback so that qemu+ssh:// can be tested:
#   virsh -c "qemu+ssh://root@127.0.0.1:$PORT/system?keyfile=/root/.ssh/qmpbj_ed25519&no_verify=1" list
# Idempotent. Root only. No systemd needed. Does not touch /etc/ssh/sshd_config.
#
# Env:
#   QMPBJ_LIBVIRT_STATE  state dir (default /tmp/qmpbj-libvirt); sshd config/pid/log/host key go
#                        under $STATE/sshd/
#   QMPBJ_SSHD_PORT      port on 127.0.0.1 (default 2222)
# Client key: /root/.ssh/qmpbj_ed25519 (created if missing), its .pub appended once to
# /root/.ssh/authorized_keys; a known_hosts entry for [127.0.0.1]:PORT is written to
# /root/.ssh/known_hosts so plain `ssh`/virsh also work without no_verify.
# Prints the URI to use on stdout.
set -euo pipefail
STATE="${QMPBJ_LIBVIRT_STATE:-/tmp/qmpbj-libvirt}"
PORT="${QMPBJ_SSHD_PORT:-2222}"
D="$STATE/sshd"
KEY=/root/.ssh/qmpbj_ed25519
die() { echo "sshd-up: ERROR: $*" >&2; exit 1; }
die_apt() { echo "sshd-up: ERROR: $*" >&2; exit 3; }  # exit 3: openssh-server cannot be installed
log() { echo "sshd-up: $*" >&2; }
[ "$(id -u)" = 0 ] || die "must run as root"
mkdir -p "$STATE"

if ! [ -x /usr/sbin/sshd ]; then
  export DEBIAN_FRONTEND=noninteractive
  cand=$(apt-cache policy openssh-server 2>/dev/null | awk '/Candidate:/{print $2}')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then apt-get update -q >/dev/null || die_apt "apt-get update failed"; fi
  deadline=$(( $(date +%s) + 600 ))
  until apt-get install -y -q --no-install-recommends openssh-server >"$STATE/apt-sshd.log" 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die_apt "apt-get install openssh-server failed: $(tail -3 "$STATE/apt-sshd.log")"
    sleep 5
  done
fi

mkdir -p "$D" /run/sshd /root/.ssh
chmod 700 /root/.ssh
[ -f "$D/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$D/host_ed25519"
[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C qmpbj-loopback -f "$KEY"
touch /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys
grep -qF "$(cut -d' ' -f2 "$KEY.pub")" /root/.ssh/authorized_keys || cat "$KEY.pub" >> /root/.ssh/authorized_keys
touch /root/.ssh/known_hosts
grep -qF "$(cut -d' ' -f2 "$D/host_ed25519.pub")" /root/.ssh/known_hosts ||
  echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$D/host_ed25519.pub")" >> /root/.ssh/known_hosts

cat > "$D/sshd_config" <<EOF
# private loopback sshd for qmp-blockjob tests (sshd-up.sh)
ListenAddress 127.0.0.1
Port $PORT
HostKey $D/host_ed25519
PidFile $D/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile /root/.ssh/authorized_keys
Subsystem sftp internal-sftp
EOF

if [ -f "$D/sshd.pid" ] && kill -0 "$(cat "$D/sshd.pid")" 2>/dev/null; then
  log "sshd already running (pid $(cat "$D/sshd.pid"))"
else
  /usr/sbin/sshd -t -f "$D/sshd_config" || die "sshd config test failed"
  /usr/sbin/sshd -f "$D/sshd_config" -E "$D/sshd.log" </dev/null >/dev/null 2>&1 || die "sshd failed to start (see $D/sshd.log)"
  for _ in $(seq 50); do [ -s "$D/sshd.pid" ] && break; sleep 0.1; done
  [ -s "$D/sshd.pid" ] || die "sshd did not write $D/sshd.pid (see $D/sshd.log)"
  log "started sshd (pid $(cat "$D/sshd.pid")) on 127.0.0.1:$PORT"
fi
deadline=$(( $(date +%s) + 15 ))
until ssh -i "$KEY" -p "$PORT" -o BatchMode=yes -o ConnectTimeout=3 root@127.0.0.1 true 2>"$D/ssh-probe.err"; do
  [ "$(date +%s)" -lt "$deadline" ] || die "ssh to root@127.0.0.1:$PORT fails: $(cat "$D/ssh-probe.err")"
  sleep 0.2
done
echo "qemu+ssh://root@127.0.0.1:$PORT/system?keyfile=$KEY"
