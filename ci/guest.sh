#!/usr/bin/env bash
# guest.sh [DIR] — builds the tests' Linux guest from Debian's packages, once, into DIR
# (default: $QMPBJ_GUEST_DIR or /opt/qmpbj/guest): DIR/vmlinuz and DIR/initrd.img.
#
# The kernel is linux-image-cloud-amd64 (fetched with apt-get download and unpacked with dpkg -x:
# nothing is installed on the host); the initramfs is busybox-static, the virtio/ext4 modules the
# guest needs (with their dependencies from modules.dep), qemu-guest-agent's binary and the
# libraries ldd lists for it, test/guest/init as /init and test/guest/lib.sh as /lib/guest.sh. The host side needs e2fsprogs
# (mkfs.ext4, fsck.ext4, debugfs); this script installs it when missing (apt-get install).
#
# Exit status: 0 built or already there; 3 when a package cannot be had (the tests skip, or fail under CI=true).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="${1:-${QMPBJ_GUEST_DIR:-/opt/qmpbj/guest}}"
init_src="$here/../test/guest/init"
stamp_want="v1 $(cat "$init_src" "${init_src%/init}/lib.sh" | sha256sum | cut -c1-16)"
built() { [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp_want" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; }
built && exit 0
# Test files run in parallel may all ask at once: one builds, the others wait and find it built.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock -w 600 9 || { echo "guest.sh: $out.lock is held for more than 600 s" >&2; exit 1; }
built && exit 0

if ! command -v debugfs >/dev/null || ! command -v mkfs.ext4 >/dev/null; then
  apt-get install -y --no-install-recommends e2fsprogs >&2 || { echo "guest.sh: e2fsprogs cannot be installed" >&2; exit 3; }
fi

work=$(mktemp -d /tmp/qmpbj-guest.XXXXXX)
chmod 755 "$work"  # apt-get download hands the files to its _apt user
trap 'rm -rf "$work"' EXIT
cd "$work"
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -1)
if [ -z "$kpkg" ]; then echo "guest.sh: linux-image-cloud-amd64 is not known to apt (apt-get update?)" >&2; exit 3; fi
# The guest agent of the host's own Debian release (not a backport): only its binary is used.
ga_ver=$(apt-cache policy qemu-guest-agent | awk '/^ +[0-9]/ && $2 == 500 { print $1; exit }')
if ! apt-get download "$kpkg" busybox-static "qemu-guest-agent${ga_ver:+=$ga_ver}" >&2; then
  echo "guest.sh: apt-get download $kpkg busybox-static qemu-guest-agent failed" >&2
  exit 3
fi
mkdir k b g
dpkg -x linux-image-*.deb k
dpkg -x busybox-static_*.deb b
dpkg -x qemu-guest-agent_*.deb g

kver=$(ls k/lib/modules)
mods="k/lib/modules/$kver"
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,mnt,tmp,lib/modules,etc}
cp b/bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"; done
# Modules in load order, each one's dependencies first. The package ships no modules.dep (depmod
# runs at install, and need not exist here): the "depends=" of each module's .modinfo is read instead.
: >"$root/lib/modules/order"
declare -A path_of=() seen=()
while read -r f; do n=${f##*/}; n=${n%%.ko*}; path_of[${n//-/_}]=$f; done < <(find "$mods/kernel" -name '*.ko*')
module_info() { case "$1" in *.xz) xz -dc "$1" ;; *.zst) zstd -qdc "$1" ;; *) cat "$1" ;; esac; }
add_module() {
  local name=${1//-/_} file dep
  [ -n "${seen[$name]:-}" ] && return 0
  seen[$name]=1
  file=${path_of[$name]:-}
  [ -n "$file" ] || return 0  # built into this kernel
  for dep in $(module_info "$file" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do add_module "$dep"; done
  module_info "$file" >"$root/lib/modules/$name.ko"
  echo "$name.ko" >>"$root/lib/modules/order"
}
for want in virtio_pci virtio_blk virtio_console ext4 crc32c_generic; do add_module "$want"; done
[ -n "${path_of[virtio_blk]:-}" ] || grep -q '^CONFIG_VIRTIO_BLK=y' k/boot/config-* || { echo "guest.sh: no virtio_blk in $kpkg" >&2; exit 3; }

# The agent and its libraries (from the host, which is the same Debian release).
cp g/usr/sbin/qemu-ga "$root/bin/qemu-ga"
if ldd "$root/bin/qemu-ga" | grep -q 'not found'; then echo "guest.sh: qemu-ga needs libraries this host lacks: $(ldd "$root/bin/qemu-ga" | grep 'not found' | tr -s ' \t\n' ' ')" >&2; exit 3; fi
ldd "$root/bin/qemu-ga" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp "$init_src" "$root/init"
cp "${init_src%/init}/lib.sh" "$root/lib/guest.sh"
chmod 755 "$root/init"

mkdir -p "$out.tmp"
cp "k/boot/vmlinuz-$kver" "$out.tmp/vmlinuz"
(cd "$root" && find . | "$root/bin/busybox" cpio -o -H newc | gzip -1) >"$out.tmp/initrd.img"
echo "$kpkg $kver" >"$out.tmp/kernel"
echo "$stamp_want" >"$out.tmp/stamp"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "guest.sh: built $out ($kpkg)" >&2
