#!/usr/bin/env bash
# Installs what the tests use from Debian, when it is missing:
#   dpdk-dev                         dpdk-testpmd, dpdk-test (host peers)
#   qemu-system-x86                  the QEMU guest of tests/guest/ (TCG)
#   linux-image-amd64                the guest kernel and its modules (the guest sees the host root)
#   busybox-static                   the guest's initramfs (busybox also packs it: cpio applet)
#   kmod, iproute2                   modprobe and ip, run inside the guest from the host root
# Usage: tests/setup-deps.sh [noiommu]
#   noiommu: also what tests/guest/build-vfio-noiommu.sh needs to rebuild vfio.ko (Debian's
#   linux-source-6.1 of the exact version of the guest kernel, its headers, make). Only the
#   VFIO noiommu tests ask for it (through that script), so a plain test run does not pay for it.
set -eu
need=()
have() { command -v "$1" >/dev/null 2>&1; }
pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
have dpdk-testpmd || need+=(dpdk-dev)
have dpdk-test || need+=(dpdk-dev)
have qemu-system-x86_64 || need+=(qemu-system-x86)
pkg linux-image-amd64 || need+=(linux-image-amd64)
[ -x /bin/busybox ] && pkg busybox-static || need+=(busybox-static)
[ -x /usr/sbin/modprobe ] || [ -x /sbin/modprobe ] || need+=(kmod)
have ip || need+=(iproute2)

install() {
  if [ "$(id -u)" != 0 ]; then
    echo "tests need Debian packages: $* (apt-get install $*, as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # linux-image's postinst would build an initrd for the host's boot loader; the guest does not
  # use it (tests/guest/prepare-guest.sh builds its own), so skip that slow step.
  INITRD=No apt-get install -y -q --no-install-recommends "$@" >/dev/null
  echo "setup: installed $*"
}

if [ ${#need[@]} -gt 0 ]; then
  install $(printf '%s\n' "${need[@]}" | sort -u)
fi

if [ "${1:-}" = noiommu ]; then
  # the guest kernel version, and the Debian package version that built it
  kver=$(ls /lib/modules | grep -- '-amd64$' | sort -V | tail -1)
  pkgver=$(dpkg-query -W -f='${Version}' "linux-image-$kver")
  src=linux-source-${kver%%.*}.$(echo "$kver" | cut -d. -f2)
  need=()
  [ "$(dpkg-query -W -f='${Version}' "$src" 2>/dev/null)" = "$pkgver" ] || need+=("$src=$pkgver")
  pkg "linux-headers-$kver" || need+=("linux-headers-$kver")
  have make || need+=(make)
  have xz || need+=(xz-utils)
  if [ ${#need[@]} -gt 0 ]; then install "${need[@]}"; fi
fi
exit 0
