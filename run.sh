#!/usr/bin/env bash
# Datapath: ./run.sh [EAL options] [-- application options]   runs the engine (builds it first)
#           ./run.sh test [filter]                             runs every test
#           ./run.sh bench-micro [BenchmarkDotNet args]          runs the micro-benchmarks
#           ./run.sh bench-rings                               our rings beside DPDK's ring_perf_autotest
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

build() {
  dotnet build Datapath.sln -c Release -v q -nologo "$@" >/tmp/datapath-build.log 2>&1 || {
    grep -E 'error|Error' /tmp/datapath-build.log | sort -u | head -20; echo "build failed (log: /tmp/datapath-build.log)" >&2; exit 1; }
}

case "${1:-}" in
  test)
    shift; exec tests/run-tests.sh "$@" ;;
  bench-micro)
    shift; build; exec dotnet artifacts/bin/Datapath.Benchmarks/Release/net10.0/Datapath.Benchmarks.dll "$@" ;;
  bench-rings)
    shift; build; exec perf/ring-vs-dpdk.sh "$@" ;;
esac

build
hugepages/setup-hugepages.sh || true
if [ $# -eq 0 ]; then
  # A default that shows packets moving: two ring ports wired back to back, io forwarding,
  # one burst sent first, statistics every second. Ctrl-C stops it.
  set -- -l 0-1 --vdev net_ring0 --vdev net_ring1,peer=net_ring0 -- --forward-mode=io --tx-first --stats-period 1
  [ "$(nproc)" -ge 2 ] || set -- -l 0 --vdev net_ring0 --vdev net_ring1,peer=net_ring0 -- --forward-mode=io --tx-first --stats-period 1
fi
exec dotnet artifacts/bin/Datapath.App/Release/net10.0/datapath.dll "$@"
