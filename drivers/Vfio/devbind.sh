#!/usr/bin/env bash
# Binds PCI devices to a kernel driver, like dpdk-devbind.py (sysfs ABI: driver_override, unbind,
# drivers_probe in Documentation/ABI/testing/sysfs-bus-pci).
#   devbind.sh --status                     every network-class and virtio device: address, ids, driver, IOMMU group
#   devbind.sh <BDF>... <driver>            binds each device to <driver> (vfio-pci, virtio-pci, ...)
#   devbind.sh -u|--unbind <BDF>...         leaves each device without a driver
# SYSFS=<dir> points at another sysfs tree (tests).
set -euo pipefail
SYSFS=${SYSFS:-/sys}
DEVS=$SYSFS/bus/pci/devices

die() { echo "bind: $*" >&2; exit 1; }

bdf() {   # canonical domain:bus:device.function, or die
  local a=$1
  [[ $a =~ ^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]] && a=0000:$a
  [[ $a =~ ^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]] || die "'$1' is not a PCI address (e.g. 0000:00:04.0)"
  a=${a,,}
  [ -d "$DEVS/$a" ] || die "$a: no such PCI device (lspci -D lists them)"
  echo "$a"
}

driver_of() { local l; l=$(readlink "$DEVS/$1/driver" 2>/dev/null) && basename "$l" || echo "none"; }
group_of() { local l; l=$(readlink "$DEVS/$1/iommu_group" 2>/dev/null) && basename "$l" || echo "-"; }

status() {
  printf '%-14s %-10s %-12s %-6s %s\n' address vendor:dev driver group class
  local d a class
  for d in "$DEVS"/*; do
    [ -e "$d" ] || continue
    a=$(basename "$d"); class=$(cat "$d/class" 2>/dev/null || echo 0x000000)
    # network controllers (class 02) and every virtio function
    [[ $class == 0x02* || $(cat "$d/vendor") == 0x1af4 ]] || continue
    printf '%-14s %-10s %-12s %-6s %s\n' "$a" "$(cat "$d/vendor" | cut -c3-):$(cat "$d/device" | cut -c3-)" "$(driver_of "$a")" "$(group_of "$a")" "$class"
  done
}

unbind() {
  local a=$1
  if [ -e "$DEVS/$a/driver" ]; then echo "$a" > "$DEVS/$a/driver/unbind"; fi
  [ -e "$DEVS/$a/driver_override" ] && echo > "$DEVS/$a/driver_override" || true
}

bind() {
  local a=$1 drv=$2
  [ "$(driver_of "$a")" = "$drv" ] && { echo "$a: already bound to $drv"; return; }
  if [ "$drv" = vfio-pci ] && [ ! -d "$SYSFS/bus/pci/drivers/vfio-pci" ]; then
    modprobe vfio-pci 2>/dev/null || die "vfio-pci is not loaded and modprobe vfio-pci failed (no IOMMU? load vfio with enable_unsafe_noiommu_mode=1)"
  fi
  [ -e "$DEVS/$a/driver" ] && echo "$a" > "$DEVS/$a/driver/unbind"
  # driver_override makes exactly this driver take the device, whatever its id table says.
  echo "$drv" > "$DEVS/$a/driver_override"
  echo "$a" > "$SYSFS/bus/pci/drivers_probe" 2>/dev/null || true
  [ "$(driver_of "$a")" = "$drv" ] || die "$a: $drv did not take the device (dmesg says why)"
  echo "$a: bound to $drv (IOMMU group $(group_of "$a"))"
}

[ $# -gt 0 ] || die "usage: bind --status | bind <BDF>... <driver> | bind -u <BDF>..."
case $1 in
  -s|--status) status ;;
  -u|--unbind) shift; [ $# -gt 0 ] || die "--unbind needs a PCI address"; for a in "$@"; do a=$(bdf "$a"); unbind "$a"; echo "$a: unbound"; done ;;
  *)
    [ $# -ge 2 ] || die "usage: bind <BDF>... <driver>   (e.g. ./run.sh bind 0000:00:04.0 vfio-pci)"
    drv=${!#}; set -- "${@:1:$#-1}"
    for a in "$@"; do a=$(bdf "$a"); bind "$a" "$drv"; done ;;
esac
