#!/usr/bin/env bash
# Builds what a test guest boots, on demand, cached under $DATAPATH_GUEST_CACHE (default
# /tmp/datapath-guest), rebuilt only when its inputs change:
#   <cache>/<kver>/vmlinux            the Debian kernel as an uncompressed ELF: QEMU boots it
#                                     through its PVH entry, ~2x faster under TCG than the bzImage
#   <cache>/<kver>/initramfs.cpio.gz  busybox + the modules for 9p and overlay + initramfs-init.sh
#   <cache>/<kver>/stage2.sh          stage 2 (runs dp.run=<script>, powers off)
#   <cache>/<kver>/vfio-noiommu/vfio.ko   only with the argument "noiommu" (slow: linux-source)
# Usage: prepare-guest.sh [noiommu]. Prints KEY=value lines (KVER, KERNEL, INITRD, STAGE2,
# VFIO_NOIOMMU_KO) on stdout; progress goes to stderr. Needs tests/setup-deps.sh first.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${DATAPATH_GUEST_CACHE:-/tmp/datapath-guest}
KVER=${KVER:-$(ls /lib/modules 2>/dev/null | grep -- '-amd64$' | sort -V | tail -1 || true)}
[ -n "$KVER" ] && [ -f "/boot/vmlinuz-$KVER" ] \
  || { echo "no Debian guest kernel: run tests/setup-deps.sh (installs linux-image-amd64)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "no /bin/busybox: run tests/setup-deps.sh (installs busybox-static)" >&2; exit 1; }
OUT=$CACHE/$KVER
mkdir -p "$OUT"
exec 9>"$CACHE/.lock"; flock 9          # one builder at a time; the others wait, then reuse

# modules the initramfs loads, dependencies first (busybox insmod resolves none)
MODDIR=/lib/modules/$KVER
declare -A seen=(); order=()
add() {
  local rel=$1 d
  [ -n "${seen[$rel]:-}" ] && return; seen[$rel]=1
  for d in $(grep -m1 "^$rel:" "$MODDIR/modules.dep" | cut -d: -f2); do add "$d"; done
  order+=("$rel")
}
for m in drivers/virtio/virtio_pci net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay; do
  rel=$(grep -o "^kernel/$m\.ko[.a-z]*:" "$MODDIR/modules.dep" | head -1 | tr -d :)
  [ -n "$rel" ] || { echo "module $m not in $MODDIR/modules.dep" >&2; exit 1; }
  add "$rel"
done

inputs() {  # everything the base image is made of
  echo "$KVER"
  sha256sum "/boot/vmlinuz-$KVER" /bin/busybox "$HERE/initramfs-init.sh" "$HERE/prepare-guest.sh"
  for m in "${order[@]}"; do sha256sum "$MODDIR/$m"; done
}
stamp=$(inputs | sha256sum | cut -d' ' -f1)
if [ "$(cat "$OUT/stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$OUT/vmlinux" ] || [ ! -f "$OUT/initramfs.cpio.gz" ]; then
  echo "prepare-guest: building the guest image for $KVER in $OUT" >&2
  rm -f "$OUT/stamp"
  W=$OUT/initramfs.d
  rm -rf "$W"; mkdir -p "$W"/{bin,mods,proc,sys,dev,newroot,lower,rw}
  cp /bin/busybox "$W"/bin/busybox
  for a in sh mount mkdir insmod switch_root cat cut echo sleep; do ln -s busybox "$W/bin/$a"; done
  for m in "${order[@]}"; do
    name=$(basename "$m"); name=${name%%.ko*}.ko
    case $m in
      *.ko) cp "$MODDIR/$m" "$W/mods/$name" ;;
      *.ko.xz) xz -dc "$MODDIR/$m" > "$W/mods/$name" ;;
      *.ko.zst) zstd -qdc "$MODDIR/$m" > "$W/mods/$name" ;;
      *) echo "unknown module format: $m" >&2; exit 1 ;;
    esac
    echo "$name" >> "$W/mods/order"
  done
  install -m 755 "$HERE/initramfs-init.sh" "$W/init"
  (cd "$W" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$OUT/initramfs.cpio.gz.new"
  mv "$OUT/initramfs.cpio.gz.new" "$OUT/initramfs.cpio.gz"
  rm -rf "$W"
  # the bzImage carries the kernel as an xz stream: unpack it into the ELF vmlinux (PVH entry)
  python3 - "/boot/vmlinuz-$KVER" "$OUT/vmlinux.new" <<'PY'
import lzma, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')
if i < 0: sys.exit("no xz stream in " + sys.argv[1])
v = lzma.LZMADecompressor().decompress(d[i:])
if v[:4] != b'\x7fELF': sys.exit("the xz stream in %s is not an ELF vmlinux" % sys.argv[1])
open(sys.argv[2], 'wb').write(v)
PY
  mv "$OUT/vmlinux.new" "$OUT/vmlinux"
  echo "$stamp" > "$OUT/stamp"
fi
cmp -s "$HERE/stage2.sh" "$OUT/stage2.sh" || install -m 755 "$HERE/stage2.sh" "$OUT/stage2.sh"
echo "KVER=$KVER"
echo "KERNEL=$OUT/vmlinux"
echo "INITRD=$OUT/initramfs.cpio.gz"
echo "STAGE2=$OUT/stage2.sh"

if [ "${1:-}" = noiommu ]; then
  N=$OUT/vfio-noiommu
  nstamp=$( { echo "$KVER"; sha256sum "$MODDIR/kernel/drivers/vfio/vfio.ko" "$HERE/build-vfio-noiommu.sh"; } | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$N.stamp" 2>/dev/null)" != "$nstamp" ] || [ ! -f "$N/vfio.ko" ]; then
    echo "prepare-guest: rebuilding vfio.ko with CONFIG_VFIO_NOIOMMU for $KVER (slow)" >&2
    rm -f "$N.stamp"
    s=$(date +%s)
    "$HERE/build-vfio-noiommu.sh" "$KVER" "$N" >&2
    echo "prepare-guest: vfio.ko (noiommu) built in $(( $(date +%s) - s )) s" >&2
    echo "$nstamp" > "$N.stamp"
  fi
  echo "VFIO_NOIOMMU_KO=$N/vfio.ko"
fi
