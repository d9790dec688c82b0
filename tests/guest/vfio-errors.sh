# Guest script: what a user sees when VFIO is not ready, one step at a time, then binds the NIC with
# our own `./run.sh bind` (drivers/Vfio/devbind.sh) on a real sysfs. VFIO_MODE=iommu|noiommu.
# DATAPATH_DLL: the host's build. Results: $RESULTS/errors (step=<last stderr line>), $RESULTS/status.
set -u
MODE=${VFIO_MODE:-iommu}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
NIC=
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor")" = 0x1af4 ] || continue
  case $(cat "$d/device") in 0x1041|0x1000) NIC=$(basename "$d"); break ;; esac
done
[ -n "$NIC" ] || { echo "no virtio-net PCI function"; exit 11; }
echo 64 > /proc/sys/vm/nr_hugepages
# The engine's last stderr line for one set of EAL options (it must fail).
err() { dotnet "$DATAPATH_DLL" --lcores '0@0,1@0' -a "$NIC" "$@" -- --total-num-mbufs 2048 --run-seconds 1 2>&1 >/dev/null | tail -1; }
{
  echo "no_vfio=$(err)"
  if [ "$MODE" = noiommu ]; then insmod "$VFIO_NOIOMMU_KO" enable_unsafe_noiommu_mode=1 || exit 12; fi
  modprobe vfio-pci || exit 13
  echo "not_bound=$(err)"
  bash "$REPO/drivers/Vfio/devbind.sh" "$NIC" vfio-pci > "$RESULTS/bind.log" 2>&1
  echo "bind_rc=$?"
  echo "driver=$(basename "$(readlink "/sys/bus/pci/devices/$NIC/driver")")"
  if [ "$MODE" = iommu ]; then
    echo "pa_with_iommu=$(err --iova-mode pa)"
  else
    echo "va_with_noiommu=$(err --iova-mode va)"
    echo "nohuge_with_noiommu=$(err --no-huge)"
  fi
} > "$RESULTS/errors"
bash "$REPO/drivers/Vfio/devbind.sh" --status > "$RESULTS/status" 2>&1
cat "$RESULTS/errors" "$RESULTS/bind.log" "$RESULTS/status"
