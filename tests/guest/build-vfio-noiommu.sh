#!/usr/bin/env bash
# Rebuilds the guest kernel's vfio.ko with CONFIG_VFIO_NOIOMMU (Debian 12 builds it with
# "# CONFIG_VFIO_NOIOMMU is not set", so enable_unsafe_noiommu_mode is silently ignored and no
# /dev/vfio/noiommu-N appears). All of noiommu lives in vfio.ko (vfio_main.c, container.c, the
# private vfio.h) and its exported symbols keep their CRCs, so the stock vfio-pci and
# vfio_iommu_type1 load on top of it. In the guest:
#   insmod $OUT/vfio.ko enable_unsafe_noiommu_mode=1 && modprobe vfio-pci
# Usage: build-vfio-noiommu.sh KVER OUT   (called by prepare-guest.sh noiommu; root: installs
# Debian's linux-source of the kernel's exact version and its headers through setup-deps.sh)
set -euo pipefail
KVER=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
"$HERE"/../setup-deps.sh noiommu
series=$(echo "$KVER" | cut -d. -f1-2)                 # 6.1
tarball=/usr/src/linux-source-$series.tar.xz
work=$OUT.build
rm -rf "$work" "$OUT"; mkdir -p "$work"
# only drivers/vfio is needed (xz still has to stream through the whole tarball)
tar -C "$work" -xJf "$tarball" "linux-source-$series/drivers/vfio"
S=$work/linux-source-$series/drivers/vfio
cp "$S"/vfio_main.c "$S"/iova_bitmap.c "$S"/container.c "$S"/vfio.h "$work"/
cat > "$work"/Makefile <<'MK'
obj-m := vfio.o
vfio-y := vfio_main.o iova_bitmap.o container.o
ccflags-y := -DCONFIG_VFIO_NOIOMMU=1
MK
make -s -C "/lib/modules/$KVER/build" M="$work" -j"$(nproc)" modules
modinfo -F parm "$work"/vfio.ko | grep -q enable_unsafe_noiommu_mode \
  || { echo "vfio.ko built without enable_unsafe_noiommu_mode" >&2; exit 1; }
[ "$(modinfo -F vermagic "$work"/vfio.ko)" = "$(modinfo -F vermagic "/lib/modules/$KVER/kernel/drivers/vfio/vfio.ko")" ] \
  || { echo "vfio.ko vermagic differs from the stock module" >&2; exit 1; }
# the exported symbols' CRCs must match the stock vfio.ko, or vfio-pci will not load on it
bad=$(join <(awk '{print $2, $1}' "$work"/Module.symvers | sort) \
           <(grep -w 'drivers/vfio/vfio' "/usr/src/linux-headers-$KVER/Module.symvers" | awk '{print $2, $1}' | sort) \
      | awk '$2 != $3' | wc -l)
[ "$bad" = 0 ] || { echo "vfio.ko: $bad exported symbol CRCs differ from the stock module" >&2; exit 1; }
mkdir -p "$OUT"
cp "$work"/vfio.ko "$OUT"/vfio.ko
rm -rf "$work"
