# Guest script: binds the guest's virtio-net NIC to vfio-pci and reports what VFIO offers.
# VFIO_MODE=iommu (boot the guest with a vIOMMU) or noiommu (needs $VFIO_NOIOMMU_KO: the vfio.ko
# rebuilt with CONFIG_VFIO_NOIOMMU, loaded with enable_unsafe_noiommu_mode=1).
# Results: $RESULTS/vfio (pci, driver, group, group_dev, group_dev_present, noiommu_param).
set -u
MODE=${VFIO_MODE:-iommu}
NIC=
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor")" = 0x1af4 ] || continue
  case $(cat "$d/device") in 0x1041|0x1000) NIC=$(basename "$d"); break ;; esac
done
[ -n "$NIC" ] || { echo "no virtio-net PCI function"; exit 11; }
if [ "$MODE" = noiommu ]; then
  # no udev in the guest: nothing has loaded the stock vfio.ko, so ours goes in first
  insmod "$VFIO_NOIOMMU_KO" enable_unsafe_noiommu_mode=1 || exit 12
fi
modprobe vfio-pci || exit 13
D=/sys/bus/pci/devices/$NIC
[ -e "$D/driver" ] && echo "$NIC" > "$D/driver/unbind"
echo vfio-pci > "$D/driver_override"
echo "$NIC" > /sys/bus/pci/drivers_probe
G=$(basename "$(readlink "$D/iommu_group" 2>/dev/null)")
GDEV=/dev/vfio/$G
[ "$MODE" = noiommu ] && GDEV=/dev/vfio/noiommu-$G
{
  echo "pci=$NIC"
  echo "driver=$(basename "$(readlink "$D/driver" 2>/dev/null)")"
  echo "group=$G"
  echo "group_type=$(cat /sys/kernel/iommu_groups/$G/type 2>/dev/null)"
  echo "group_dev=$GDEV"
  echo "group_dev_present=$([ -c "$GDEV" ] && echo yes || echo no)"
  echo "noiommu_param=$(cat /sys/module/vfio/parameters/enable_unsafe_noiommu_mode 2>/dev/null || echo absent)"
} > "$RESULTS/vfio"
cat "$RESULTS/vfio"; ls -l /dev/vfio
dmesg | grep -i -E 'vfio|DMAR: Intel|iommu: Default' | tail -5
