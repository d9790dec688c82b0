#!/usr/bin/env bash
# Packet rate over vhost-user, Datapath's net_vhost beside DPDK's, in one run (issues 3 and 7).
#
#   perf/vhost-rate.sh [--runs N] [--window S] [--warmup S] [--sizes "64 1518"] [--scenarios "rx tx utx urx"] [--burst N] [--json]
#                      [--dll PATH]   (another build of datapath.dll, e.g. a copy from before a change)
#   (./run.sh bench-vhost builds the Release engine first and passes its arguments here)
#
# Scenarios, each with DPDK's dpdk-testpmd (Debian dpdk-dev 22.11) as the peer:
#   rx: DPDK virtio-user txonly -> vhost rxonly   vhost = DPDK net_vhost (baseline) | Datapath net_vhost
#   tx: vhost txonly -> DPDK virtio-user rxonly   vhost = DPDK net_vhost (baseline) | Datapath net_vhost
#   utx: virtio-user txonly -> DPDK vhost rxonly  virtio-user = DPDK's (baseline) | Datapath net_virtio_user
#   urx: DPDK vhost txonly -> virtio-user rxonly  virtio-user = DPDK's (baseline) | Datapath net_virtio_user
# The vhost side is always the vhost-user server (it creates the socket), the virtio-user side connects.
# One forwarding lcore per process; the vhost process runs on CPU 1 (--lcores '0@1,1@1'), the
# virtio-user process on CPU 0 ('0@0,1@0'): each main lcore shares its CPU with its own forwarding
# lcore (the main lcore only waits for console commands), never two pollers on one CPU.
#
# Method: the rate is counted at the receiver (what the generator could not hand over does not count).
# Both processes run interactive consoles fed through a fifo; after traffic shows up and a warm-up,
# `show port stats N` is read twice, --window seconds apart, and Mpps = delta RX-packets / delta time,
# each reading timed at the midpoint between sending the command and seeing its reply. Gbit/s counts
# the frame bytes (txpkts; no preamble, gap or FCS: there is no wire). Each run measures every
# (scenario, size) for DPDK and Datapath back to back, alternating which goes first; the table gives
# the median of the runs with the spread (min-max), and ratio = median Datapath / median DPDK.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 window=5 warmup=3 sizes="64 1518" burst=32 json=0 dll=artifacts/bin/Datapath.App/Release/net10.0/datapath.dll
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --burst) burst=$2; shift 2 ;;
    --json) json=1; shift ;;
    --dll) dll=$2; shift 2 ;;
    --scenarios) only=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "vhost-rate: unknown option $1 (--help lists them)" >&2; exit 2 ;;
  esac
done
scenarios=${only:-"rx tx utx urx"}

[ -f "$dll" ] || dotnet build Datapath.sln -c Release -v q -nologo >/dev/null
command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd not found: apt-get install dpdk-dev" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "vhost-rate needs 2 CPUs (one per process); this machine has $(nproc)" >&2; exit 1; }
vhost_cpu=1 virtio_cpu=0

work=$(mktemp -d /tmp/vhost-rate.XXXXXX)
tag="vr$$"
declare -A PID FD LOG      # per started process: pid, fifo write fd, output log
started=()                 # names of processes started, for cleanup
sockets=("$work/vhost.sock")

stop_proc() { # name: ask it to quit, then TERM, then KILL — by its PID only
  local n=$1 pid=${PID[$1]:-} i
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    { echo quit >&"${FD[$n]}"; } 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null || true
  eval "exec ${FD[$n]}>&-" 2>/dev/null || true
  unset "PID[$n]"
  rm -f "$work/$n.in"
  rm -rf "/run/dpdk/$tag-$n" "/var/run/dpdk/$tag-$n"
}

cleanup() {
  local n
  for n in "${started[@]}"; do stop_proc "$n"; done
  for n in "${sockets[@]}"; do rm -f "$n"; done
  rm -f /dev/hugepages/"$tag"-* 2>/dev/null || true
  rm -rf "$work"
  [ "$json" = 1 ] || [ -z "${progress_shown:-}" ] || printf '\r\033[K' >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

progress() { progress_shown=1; printf '\r\033[K%s' "$*" >&2; }

start_proc() { # name cmd...: runs cmd with stdin from a fifo we hold open, output to a log
  local n=$1; shift
  mkfifo "$work/$n.in"
  local fd
  exec {fd}<>"$work/$n.in"
  FD[$n]=$fd
  LOG[$n]=$work/$n.log
  "$@" <"$work/$n.in" >"${LOG[$n]}" 2>&1 &
  PID[$n]=$!
  [[ " ${started[*]} " == *" $n "* ]] || started+=("$n")
}

fail() { # name message
  echo >&2; echo "vhost-rate: $2; last lines of $1's output:" >&2; tail -25 "${LOG[$1]}" >&2; exit 1
}

wait_for() { # name seconds what test-command...: polls until the command succeeds
  local n=$1 secs=$2 what=$3 i; shift 3
  for i in $(seq $((secs * 10))); do
    "$@" && return 0
    kill -0 "${PID[$n]}" 2>/dev/null || fail "$n" "$n exited before $what"
    sleep 0.1
  done
  fail "$n" "no $what within $secs s"
}

has_prompt() { grep -q "$2" "${LOG[$1]}"; }

# RX_T (ns) and RX_N (RX-packets) of port 0, read from the console (testpmd's layout, which ours copies).
read_rx() {
  local n=$1 before t0 t1 rx="" i
  before=$(stat -c %s "${LOG[$n]}")
  t0=$(date +%s%N)
  echo "show port stats 0" >&"${FD[$n]}"
  for i in $(seq 1000); do
    rx=$(tail -c +$((before + 1)) "${LOG[$n]}" | awk '/RX-packets:/ { rx = $2 } /TX-packets:/ && rx != "" { print rx; exit }')
    [ -n "$rx" ] && break
    kill -0 "${PID[$n]}" 2>/dev/null || fail "$n" "$n exited"
    sleep 0.01
  done
  [ -n "$rx" ] || fail "$n" "no reply to 'show port stats 0' from $n"
  t1=$(date +%s%N)
  RX_T=$(((t0 + t1) / 2)) RX_N=$rx
}

testpmd() { # name cpu vdev app-args...
  local n=$1 cpu=$2 vdev=$3; shift 3
  start_proc "$n" stdbuf -oL -eL dpdk-testpmd --lcores "0@$cpu,1@$cpu" --no-huge -m 1024 --no-pci --no-shconf \
    --file-prefix "$tag-$n" --vdev "$vdev" -- -i --nb-cores=1 --rxq=1 --txq=1 --burst="$burst" "$@"
}

datapath() { # name cpu vdev app-args...
  local n=$1 cpu=$2 vdev=$3; shift 3
  start_proc "$n" dotnet "$dll" --lcores "0@$cpu,1@$cpu" --no-huge --file-prefix "$tag-$n" --vdev "$vdev" \
    -- -i --nb-cores=1 --rxq=1 --txq=1 --burst="$burst" "$@"
}

# One measurement: sets MPPS (not in a subshell: the processes it starts must be ours to clean up). scenario rx|tx, impl dpdk|ours, size.
measure() {
  local scen=$1 impl=$2 size=$3 sock="$work/vhost.sock" vmode umode rxside swap
  # rx/tx: the vhost back-end is swapped (DPDK's or ours); urx/utx: the virtio-user front-end is.
  case $scen in
    rx)  vmode=rxonly umode=txonly rxside=vhost  swap=vhost ;;
    tx)  vmode=txonly umode=rxonly rxside=virtio swap=vhost ;;
    utx) vmode=rxonly umode=txonly rxside=vhost  swap=virtio ;;
    urx) vmode=txonly umode=rxonly rxside=virtio swap=virtio ;;
    *) echo "vhost-rate: unknown scenario $scen (rx tx utx urx)" >&2; exit 2 ;;
  esac
  if [ "$impl" = ours ] && [ "$swap" = vhost ]; then
    datapath vhost "$vhost_cpu" "net_vhost0,iface=$sock,queues=1" --forward-mode="$vmode" --txpkts="$size" --auto-start
  else
    testpmd vhost "$vhost_cpu" "net_vhost0,iface=$sock,queues=1" --forward-mode="$vmode" --txpkts="$size" --auto-start
  fi
  wait_for vhost 60 "a prompt" has_prompt vhost "testpmd> "
  wait_for vhost 30 "the socket $sock" test -S "$sock"
  if [ "$impl" = ours ] && [ "$swap" = virtio ]; then
    datapath virtio "$virtio_cpu" "net_virtio_user0,path=$sock,queues=1" --forward-mode="$umode" --txpkts="$size" --auto-start
  else
    testpmd virtio "$virtio_cpu" "net_virtio_user0,path=$sock,queues=1" --forward-mode="$umode" --txpkts="$size" --auto-start
  fi
  wait_for virtio 60 "a prompt" has_prompt virtio "testpmd> "
  # traffic at the receiver, then the warm-up (JIT tiering, caches), then the window
  local i t0 n0
  for i in $(seq 60); do
    read_rx "$rxside"; [ "$RX_N" -gt 0 ] && break
    [ "$i" = 60 ] && fail "$rxside" "no packets reached the receiver within 30 s"
    sleep 0.5
  done
  sleep "$warmup"
  read_rx "$rxside"; t0=$RX_T n0=$RX_N
  sleep "$window"
  read_rx "$rxside"
  stop_proc virtio
  stop_proc vhost
  rm -f "$sock"
  MPPS=$(awk -v n="$((RX_N - n0))" -v t="$((RX_T - t0))" 'BEGIN { printf "%.4f", n / (t / 1e9) / 1e6 }')
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results="$work/results"; : >"$results"   # lines: scenario size impl run mpps
total=$((runs * $(wc -w <<<"$scenarios") * $(wc -w <<<"$sizes") * 2)) done_n=0
for run in $(seq "$runs"); do
  for scen in $scenarios; do
    for size in $sizes; do
      order="dpdk ours"; [ $((run % 2)) = 0 ] && order="ours dpdk"
      for impl in $order; do
        progress "run $run/$runs  [$((done_n + 1))/$total]  $scen ${size} B  $impl ... (load $(cut -d' ' -f1 /proc/loadavg))"
        measure "$scen" "$impl" "$size"
        echo "$scen $size $impl $run $MPPS" >>"$results"
        done_n=$((done_n + 1))
        progress "run $run/$runs  [$done_n/$total]  $scen ${size} B  $impl: $MPPS Mpps"
      done
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
[ "$json" = 1 ] || printf '\r\033[K' >&2

awk -v json="$json" -v runs="$runs" -v window="$window" -v lb="$load_before" -v la="$load_after" \
    -v cpus="$(nproc)" -v model="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" '
  { key = $1 " " $2; v[key, $3] = v[key, $3] " " $5; if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
  function sort(s, a,   k, i, j, t) {
    k = split(s, a, " ")
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return k
  }
  function median(s,   a, k) { k = sort(s, a); return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
  function lo(s,   a) { sort(s, a); return a[1] }
  function hi(s,   a, k) { k = sort(s, a); return a[k] }
  function name(scen, impl) {
    if (scen == "rx") return impl == "dpdk" ? "DPDK virtio-user txonly -> DPDK net_vhost rxonly" : "DPDK virtio-user txonly -> Datapath net_vhost rxonly"
    if (scen == "tx") return impl == "dpdk" ? "DPDK net_vhost txonly -> DPDK virtio-user rxonly" : "Datapath net_vhost txonly -> DPDK virtio-user rxonly"
    if (scen == "utx") return impl == "dpdk" ? "DPDK virtio-user txonly -> DPDK net_vhost rxonly" : "Datapath virtio-user txonly -> DPDK net_vhost rxonly"
    return impl == "dpdk" ? "DPDK net_vhost txonly -> DPDK virtio-user rxonly" : "DPDK net_vhost txonly -> Datapath virtio-user rxonly"
  }
  function jlist(s,   a, k, i, r) { k = split(s, a, " "); r = ""; for (i = 1; i <= k; i++) r = r (i > 1 ? "," : "") a[i]; return "[" r "]" }
  END {
    if (json) {
      printf "{\"runs\":%d,\"window_s\":%s,\"cpus\":%d,\"cpu\":\"%s\",\"load_before\":\"%s\",\"load_after\":\"%s\",\"rows\":[", runs, window, cpus, model, lb, la
      r = 0
      for (i = 1; i <= n; i++) {
        split(order[i], k, " ")
        dm = median(v[order[i], "dpdk"])
        for (m = 1; m <= 2; m++) {
          impl = m == 1 ? "dpdk" : "ours"; s = v[order[i], impl]; med = median(s)
          printf "%s{\"scenario\":\"%s\",\"direction\":\"%s\",\"implementation\":\"%s\",\"frame_bytes\":%d,\"mpps_median\":%.4f,\"mpps_min\":%.4f,\"mpps_max\":%.4f,\"gbps_median\":%.3f,\"mpps_runs\":%s,\"ratio_to_dpdk\":%.3f}",
            r++ ? "," : "", name(k[1], impl), k[1] == "rx" ? "vhost-rx" : k[1] == "tx" ? "vhost-tx" : k[1] == "utx" ? "virtio-user-tx" : "virtio-user-rx", impl == "dpdk" ? "dpdk" : "datapath", k[2],
            med, lo(s), hi(s), med * k[2] * 8 / 1000, jlist(s), (dm > 0 ? med / dm : 0)
        }
      }
      print "]}"
      exit
    }
    printf "# vhost-user packet rate, receiver side, median of %d runs (min-max), %s s windows\n", runs, window
    printf "# machine: %d CPUs (%s), load average before %s, after %s\n", cpus, model, lb, la
    printf "%-52s %6s %22s %8s %10s\n", "scenario", "frame", "Mpps median (min-max)", "Gbit/s", "ours/DPDK"
    for (i = 1; i <= n; i++) {
      split(order[i], k, " ")
      dm = median(v[order[i], "dpdk"])
      for (m = 1; m <= 2; m++) {
        impl = m == 1 ? "dpdk" : "ours"; s = v[order[i], impl]; med = median(s)
        printf "%-52s %5dB %7.3f (%6.3f-%6.3f) %8.2f %10s\n", name(k[1], impl), k[2], med, lo(s), hi(s), med * k[2] * 8 / 1000,
          impl == "dpdk" ? "1.00" : sprintf("%.2f", dm > 0 ? med / dm : 0)
      }
    }
  }' "$results"
