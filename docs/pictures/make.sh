#!/usr/bin/env bash
# Makes the README's pictures with the commands themselves, on this machine's QEMU (after `npm run build`):
#   graph-active-commit.svg   qmp-blockjob graph --format svg, while an active commit is READY
#   commit-dry-run.svg        qmp-blockjob commit drive0 --active --pivot --dry-run --format svg
#   session.jsonl             the session of `commit drive0 --active --pivot --verbose --bandwidth 4 --trace`
#   trace-view.html / .png    qmp-blockjob trace view session.jsonl (and Chromium's screenshot of it)
#   trace-diff.txt            qmp-blockjob trace diff of the 10.0 and 11.1 recorded active-commit-pivot
# The chain is Eric Blake's: base.raw <- a.qcow2 <- b.qcow2 <- c.qcow2, a letter a MiB of a 12 MiB disk.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cli=(node "$root/dist/cli.cjs")
work=$(mktemp -d /tmp/qbj-pictures-XXXXXX)
qemu_pid=
cleanup() { [ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
qemu-img create -q -f raw base.raw 12M
qemu-io -f raw -c "write -P 65 0 4M" base.raw >/dev/null
qemu-img create -q -f qcow2 -b base.raw -F raw a.qcow2
qemu-io -c "write -P 66 2M 4M" a.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2
qemu-io -c "write -P 67 5M 4M" b.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 c.qcow2
qemu-io -c "write -P 68 0 1M" -c "write -P 68 8M 2M" c.qcow2 >/dev/null
start_qemu() {
  qemu-system-x86_64 -nodefaults -display none -machine pc -accel tcg -qmp "unix:$work/qmp.sock,server=on,wait=off" \
    -drive "if=none,id=drive0,file=$work/c.qcow2,format=qcow2" -device virtio-blk-pci,drive=drive0,id=vda &
  qemu_pid=$!
  "${cli[@]}" --socket "$work/qmp.sock" blocks >/dev/null # waits for the monitor (connect timeout)
}
start_qemu
"${cli[@]}" --socket qmp.sock commit vda --active --pivot --dry-run --format svg > "$here/commit-dry-run.svg.new"
"${cli[@]}" --socket qmp.sock commit vda --active --wait --job-id merge > /dev/null   # returns at READY, job left running
"${cli[@]}" --socket qmp.sock graph --format svg > "$here/graph-active-commit.svg.new"
"${cli[@]}" --socket qmp.sock job vda --pivot > /dev/null
kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=
# The same chain again (the pivot merged it) for a recorded session with progress.
qemu-img rebase -q -u -b b.qcow2 -F qcow2 c.qcow2
start_qemu
"${cli[@]}" --socket qmp.sock --trace session.jsonl commit vda --active --pivot --verbose --bandwidth 4 2>/dev/null
cp session.jsonl "$here/session.jsonl.new"
"${cli[@]}" trace view session.jsonl -o trace-view.html > /dev/null
cp trace-view.html "$here/trace-view.html.new"
node "$here/screenshot.mjs" "$work/trace-view.html" "$here/trace-view.png.new"
( cd "$root" && "${cli[@]}" trace diff test/fixtures/qemu-10.0/active-commit-pivot.jsonl test/fixtures/qemu-11.1/active-commit-pivot.jsonl ) > "$here/trace-diff.txt.new" || true
for f in commit-dry-run.svg graph-active-commit.svg session.jsonl trace-view.html trace-view.png trace-diff.txt; do mv "$here/$f.new" "$here/$f"; done
echo "made: $here/{commit-dry-run.svg,graph-active-commit.svg,session.jsonl,trace-view.html,trace-view.png,trace-diff.txt}"
