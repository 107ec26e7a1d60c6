#!/usr/bin/env bash
# domain.sh NAME DISKPATH [FORMAT]
# Create a transient TCG domain (virsh create) with one virtio disk 'vda' on DISKPATH,
# whose backing chain must already exist (built with qemu-img). FORMAT defaults to qcow2.
# No OS is needed: the guest just sits in SeaBIOS ("no bootable device"), which is fine
# for block jobs. Prints the generated XML path on stdout's last line.
#
# Env: QMPBJ_LIBVIRT_URI (default qemu:///system), QMPBJ_LIBVIRT_STATE (default /tmp/qmpbj-libvirt)
# The domain name is appended to $QMPBJ_LIBVIRT_STATE/domains so libvirt-down.sh can destroy it.
set -euo pipefail
NAME="${1:?usage: domain.sh NAME DISKPATH [FORMAT]}"
DISK="${2:?usage: domain.sh NAME DISKPATH [FORMAT]}"
FMT="${3:-qcow2}"
URI="${QMPBJ_LIBVIRT_URI:-qemu:///system}"
STATE="${QMPBJ_LIBVIRT_STATE:-/tmp/qmpbj-libvirt}"
mkdir -p "$STATE"
[ -e "$DISK" ] || { echo "domain.sh: ERROR: $DISK does not exist" >&2; exit 1; }
DISK=$(readlink -f "$DISK")
XML="$STATE/$NAME.xml"
cat > "$XML" <<EOF
<domain type='qemu'>
  <name>$NAME</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='$FMT'/>
      <source file='$DISK'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
virsh -c "$URI" create "$XML" >&2
grep -qxF "$NAME" "$STATE/domains" 2>/dev/null || echo "$NAME" >> "$STATE/domains"
echo "$XML"
