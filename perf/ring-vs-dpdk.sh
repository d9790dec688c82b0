#!/usr/bin/env bash
# Our PointerRing beside DPDK's rte_ring, both measured by ring_perf_autotest's method, in ns per
# object. Usage: perf/ring-vs-dpdk.sh [runs (default 3)]  (./run.sh bench-rings builds first).
# Each run executes DPDK's own `dpdk-test ring_perf_autotest` (Debian dpdk-dev) and our
# `Datapath.Benchmarks ringperf` (perf/Rings/RingPerf.cs); the table shows the median of the runs.
#
# Units. DPDK prints TSC cycles; its EAL prints "TSC frequency is ~N KHz" at debug log level, and
# we divide by that. DPDK 22.11 prints the one-thread burst/bulk figures per enqueue+dequeue pair
# of `size` objects, and the two-core figures per object (producer + consumer cycles summed):
# we divide the former by size. Ours are measured per object with Stopwatch (ns).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
dll=artifacts/bin/Datapath.Benchmarks/Release/net10.0/Datapath.Benchmarks.dll
[ -f "$dll" ] || dotnet build perf/Datapath.Benchmarks.csproj -c Release -v q -nologo >/dev/null
command -v dpdk-test >/dev/null || { echo "dpdk-test not found: apt-get install dpdk-dev" >&2; exit 1; }
cpus="0-1"; [ "$(nproc)" -ge 2 ] || cpus="0"

work=$(mktemp -d); trap 'rm -rf "$work" "/run/dpdk/ringperf$$" "/var/run/dpdk/ringperf$$"' EXIT   # dpdk-test leaves its runtime dir
for run in $(seq "$runs"); do
  echo "run $run/$runs: dpdk-test ring_perf_autotest (about 30 s) ..." >&2
  echo ring_perf_autotest | dpdk-test --no-huge -m 512 --no-pci --no-shconf -l "$cpus" \
    --file-prefix "ringperf$$" --log-level=lib.eal:debug >"$work/dpdk.$run" 2>&1 \
    || { tail -20 "$work/dpdk.$run" >&2; echo "dpdk-test failed" >&2; exit 1; }
  echo "run $run/$runs: ours ..." >&2
  dotnet "$dll" ringperf >"$work/ours.$run"
done

# One line per figure: "<side> <sync> <threads> <kind> <size> <ns>".
for run in $(seq "$runs"); do
  awk -v cpumhz="$(awk -F: '/cpu MHz/ {print $2; exit}' /proc/cpuinfo)" '
    /TSC frequency is ~/ { match($0, /~[0-9]+/); khz = substr($0, RSTART + 1, RLENGTH - 1) }
    /^### Testing single/ { sec = "single" } /^### Testing burst/ { sec = "burst" }
    /^### Testing bulk/ { sec = "bulk" }     /^### Testing empty/ { sec = "" }
    /^### Testing using two physical cores/ { sec = "2C" }
    /^### Testing using (two hyperthreads|two NUMA|all worker)/ { sec = "" }
    /^legacy APIs:/ && sec != "" {
      ghz = khz ? khz / 1e6 : cpumhz / 1e3
      split($0, f, ": "); sync = f[2]; v = f[length(f)]
      size = 1; if (match($0, /size: [0-9]+/)) size = substr($0, RSTART + 6, RLENGTH - 6)
      if (sec == "single")     printf "dpdk %s 1T single 1 %.3f\n", sync, v / ghz
      else if (sec == "2C")    printf "dpdk %s 2C bulk %d %.3f\n", sync, size, v / ghz
      else                     printf "dpdk %s 1T %s %d %.3f\n", sync, sec, size, v / size / ghz
    }
    END { printf "# tsc %s\n", khz ? "DPDK EAL: " khz " KHz" : "not printed by DPDK; /proc/cpuinfo cpu MHz " cpumhz }
  ' "$work/dpdk.$run"
  sed -n 's/^ours \(.*\) \(.*\) \(.*\) \(.*\): \(.*\)$/ours \1 \2 \3 \4 \5/p' "$work/ours.$run"
done >"$work/all"

echo "# ring_perf_autotest method, ns per object, median of $runs runs; TSC: $(grep -m1 '^# tsc' "$work/all" | cut -c7-)"
echo "# machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on these CPUs makes every figure noisy)"
awk '
  !/^#/ { key = $2 " " $3 " " $4 " " $5; vals[$1, key] = vals[$1, key] " " $6; if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
  function median(s,   a, k, i, j, t) {
    k = split(s, a, " "); if (k == 0) return -1
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END {
    printf "%-6s %-8s %-8s %12s %12s %10s\n", "ring", "threads", "op", "DPDK ns/obj", "ours ns/obj", "ours/DPDK"
    for (i = 1; i <= n; i++) {
      split(order[i], k, " "); d = median(vals["dpdk", order[i]]); o = median(vals["ours", order[i]])
      op = k[3] == "single" ? "single" : k[3] "-" k[4]
      printf "%-6s %-8s %-8s %12s %12s %10s\n", k[1], k[2] == "1T" ? "1 thread" : "2 cores", op,
        d < 0 ? "-" : sprintf("%.2f", d), o < 0 ? "-" : sprintf("%.2f", o), (d > 0 && o >= 0) ? sprintf("%.2f", o / d) : "-"
    }
  }' "$work/all"
