#!/usr/bin/env bash
# Datapath: ./run.sh [EAL options] [-- application options]   runs the engine (builds it first)
#           ./run.sh test [filter]                             runs every test
#           ./run.sh bench-micro [BenchmarkDotNet args]          runs the micro-benchmarks
#           ./run.sh bind --status | <BDF>... <driver> | -u <BDF>  binds PCI devices (dpdk-devbind)
#           ./run.sh bench-rings                               our rings beside DPDK's ring_perf_autotest
#           ./run.sh bench-vhost [options]                     vhost-user packet rate, ours beside DPDK's (perf/vhost-rate.sh --help)
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

build() {
  dotnet build Datapath.sln -c Release -v q -nologo "$@" >/tmp/datapath-build.log 2>&1 || {
    grep -E 'error|Error' /tmp/datapath-build.log | sort -u | head -20; echo "build failed (log: /tmp/datapath-build.log)" >&2; exit 1; }
}

usage() {
  cat <<'HELP'
./run.sh [EAL options] [-- application options]    build (Release) if needed, set up hugepages, run datapath
./run.sh                                           the default: a vhost-user port and a virtio-user port wired
                                                   over a socket inside one engine, io forwarding, one burst sent
                                                   first, stats every second (every packet crosses two virtio
                                                   implementations of ours, each way)
./run.sh test [filter] | bench-micro | bench-rings
./run.sh bench-vhost [--runs N] [--sizes "64 1518"] [--split|--packed] [--pairs ..] [--dirs ..]
                     [--queues "1 2"] [--lcores VHOST/VIRTIO] [--min-cpu 0.8] [--json] [--plan] [--help]
                                                   packet rate over vhost-user: DPDK virtio-user/vhost (the
                                                   baseline), DPDK/ours, ours/DPDK, ours/ours, both directions,
                                                   split and packed; Mpps, Gbit/s, ns/pkt per core, ratios,
                                                   and the CPU share each process really had (shared machines)
./run.sh bind --status | bind <BDF> vfio-pci | bind -u <BDF>   (un)bind PCI devices, like dpdk-devbind

The command line is dpdk-testpmd's: EAL options (lcores, devices, memory), then --, then the
application's (-i, --forward-mode, --stats-period ...). -a before -- allows a PCI device; after --
it is --auto-start. Ports are numbered in --vdev order; with the default paired topology port 0
forwards to port 1 and back.

Topologies, with examples:

  Loop inside one engine (net_ring): see packets move with nothing else running.
    ./run.sh -l 0-1 --vdev net_ring0 --vdev net_ring1,peer=net_ring0 -- --forward-mode=io --tx-first --stats-period 1

  The same, at the console (start tx_first, show port stats all, stop, quit; Tab completes, help lists):
    ./run.sh --lcores '0@0,1@1' --vdev net_ring0 --vdev net_ring1,peer=net_ring0 -- -i

  Generator and sink (net_null): the cost of the engine alone, no copies.
    ./run.sh -l 0-1 --vdev net_null0 -- --forward-mode=txonly --stats-period 1
    ./run.sh -l 0-1 --vdev net_null0 -- --forward-mode=rxonly --stats-period 1

  A dashboard or a script reading counters: JSON lines, one per period and one at exit.
    ./run.sh -l 0-1 --vdev net_ring0 --vdev net_ring1,peer=net_ring0 -- --tx-first --stats-file /tmp/stats.jsonl

  More queues and cores: two queues per port, spread over two forwarding lcores.
    ./run.sh -l 0-2 --vdev net_ring0,queues=2 --vdev net_ring1,peer=net_ring0,queues=2 -- --rxq 2 --txq 2 --nb-cores 2 --tx-first

  Virtio over vhost-user, both sides ours, in one engine (the default):
    ./run.sh -l 0-1 --vdev net_vhost0,iface=/tmp/dp.sock --vdev net_virtio_user0,path=/tmp/dp.sock -- --tx-first --stats-period 1
    Device args as DPDK's: net_vhost (iface, queues, client, iommu-support), net_virtio_user (path, queues,
    queue_size, server, mac, mrg_rxbuf, in_order, packed_vq, cq).

  A QEMU guest on a vhost-user socket, we are the backend (the guest runs virtio-net):
      ./run.sh -l 0-1 --vdev 'net_vhost0,iface=/tmp/vhost0.sock' -- -i
      qemu-system-x86_64 ... -object memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem \
        -chardev socket,id=c0,path=/tmp/vhost0.sock -netdev vhost-user,id=n0,chardev=c0 -device virtio-net-pci,netdev=n0
    Two processes over a socket: datapath as the vhost backend, dpdk-testpmd (or a second datapath) as virtio-user:
      ./run.sh -l 0-1 --file-prefix a --vdev 'net_vhost0,iface=/tmp/vu.sock' -- -i
      dpdk-testpmd -l 2-3 --no-pci --file-prefix b --vdev 'net_virtio_user0,path=/tmp/vu.sock' -- -i
    A virtio-net PCI device (net_virtio) through VFIO: bind it, then allow it with -a.
      ./run.sh bind --status                      what is bound where, and the IOMMU groups
      ./run.sh bind 0000:00:04.0 vfio-pci         every device of its IOMMU group must be on vfio-pci
      ./run.sh -l 0-1 -a 0000:00:04.0 -- -i       with an IOMMU: type1, IOVA = VA
      ./run.sh -l 0-1 -a 0000:00:04.0 --iova-mode pa -- -i
                                                  vfio-noiommu (UNSAFE: no DMA protection): physical addresses, as root

Memory: hugepages by default (run as root once, or: echo 512 > /proc/sys/vm/nr_hugepages);
--no-huge runs on locked 4 KiB pages; --iova-mode pa is for vfio-noiommu only.

The full option list follows.
HELP
}

case "${1:-}" in
  -h|--help)
    usage; echo; build; exec dotnet artifacts/bin/Datapath.App/Release/net10.0/datapath.dll --help ;;
  test)
    shift; exec tests/run-tests.sh "$@" ;;
  bind)
    shift; exec drivers/Vfio/devbind.sh "$@" ;;
  bench-micro)
    shift; build; exec dotnet artifacts/bin/Datapath.Benchmarks/Release/net10.0/Datapath.Benchmarks.dll "$@" ;;
  bench-rings)
    shift; build; exec perf/ring-vs-dpdk.sh "$@" ;;
  bench-vhost)
    shift; build; exec perf/vhost-rate.sh "$@" ;;
esac

build
hugepages/setup-hugepages.sh || true
if [ $# -eq 0 ]; then
  # A default that shows packets moving through real drivers: our vhost-user back-end and our
  # virtio-user front-end on one socket inside one engine, io forwarding, one burst sent first,
  # statistics every second. Ctrl-C stops it.
  sock=/tmp/datapath-default-$(id -u).sock
  cores=0-1; [ "$(nproc)" -ge 2 ] || cores=0
  set -- -l "$cores" --vdev "net_vhost0,iface=$sock" --vdev "net_virtio_user0,path=$sock" -- --forward-mode=io --tx-first --stats-period 1
fi
exec dotnet artifacts/bin/Datapath.App/Release/net10.0/datapath.dll "$@"
