# Guest script: our engine drives the guest's virtio-net NIC through vfio-pci (net_virtio PMD).
# VFIO_MODE=iommu (vIOMMU, type1, --iova-mode va) or noiommu (vfio-noiommu, --iova-mode pa).
# DATAPATH_DLL: the host's build of datapath.dll; RUN_SECONDS: how long flowgen sends; QUEUES: queue pairs.
# Results: $RESULTS/vfio (from vfio-bind.sh), $RESULTS/stats.jsonl (the engine's counters),
# $RESULTS/engine.log (its output), $RESULTS/engine (exit=<code>).
set -u
bash "$(dirname "$0")/vfio-bind.sh" || exit $?
PCI=$(sed -n 's/^pci=//p' "$RESULTS/vfio")
echo 128 > /proc/sys/vm/nr_hugepages
IOVA=va
[ "${VFIO_MODE:-iommu}" = noiommu ] && IOVA=pa
# one CPU: the main lcore and the forwarding lcore share it
dotnet "$DATAPATH_DLL" --lcores '0@0,1@0' -a "$PCI" --iova-mode "$IOVA" \
  -- --total-num-mbufs 4096 --rxq "${QUEUES:-1}" --txq "${QUEUES:-1}" --forward-mode=flowgen --rxd 256 --txd 256 --run-seconds "${RUN_SECONDS:-10}" --stats-file "$RESULTS/stats.jsonl" \
  > "$RESULTS/engine.log" 2>&1
rc=$?
echo "exit=$rc" > "$RESULTS/engine"
tail -30 "$RESULTS/engine.log"
exit $rc
