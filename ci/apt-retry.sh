# apt-retry.sh — sourced by the ci/ scripts that call apt while another apt/dpkg may hold its lock
# (a fresh machine's unattended upgrades, or two stacks preparing at once).
# Needs from the caller: APT_WAIT (seconds), log and die.

retry_apt() { # command… : retries while another apt/dpkg holds the lock
  local deadline=$(( $(date +%s) + APT_WAIT )) out
  until out=$("$@" 2>&1); do
    [ "$(date +%s)" -lt "$deadline" ] || die "$* failed: $(tail -3 <<<"$out")"
    log "$1 failed (apt lock?), retrying in 5s"; sleep 5
  done
}
