#!/usr/bin/env bash
# Packet rate over vhost-user, Datapath beside DPDK, in one run (issues 3, 4 and 7).
#
#   perf/vhost-rate.sh [--runs 3] [--window 5] [--warmup 3] [--sizes "64 1518"] [--burst 32] [--json]
#                      [--layouts "split packed" | --split | --packed] [--dirs "to-vhost from-vhost"]
#                      [--pairs "dpdk/ours ours/dpdk ours/ours"] [--queues "1"] [--lcores VHOST/VIRTIO]
#                      [--min-cpu 0.9] [--c2c-tolerance 0.25] [--huge | --no-huge] [--idle] [--dll PATH] [--dll-b PATH] [--plan]
#   (./run.sh bench-vhost builds the Release engine first and passes its arguments here)
#
# Two processes, a vhost-user back-end (net_vhost, the socket's server) and a virtio-user front-end
# (net_virtio_user, it connects), each dpdk-testpmd 22.11 (Debian dpdk-dev) or our datapath:
#   --pairs     VIRTIO/VHOST implementations, dpdk|ours each; the DPDK/DPDK baseline is always measured
#   --dirs      to-vhost: virtio-user txonly -> vhost rxonly; from-vhost: vhost txonly -> virtio-user rxonly
#   --layouts   split and/or packed virtqueues (packed_vq=1 on the virtio-user; the vhost takes what it is offered;
#               each row checks in the vhost's log that the layout asked for is the one negotiated)
#   --sizes     frame bytes (txpkts)      --burst  packets per burst on both sides
#   --queues    queue pairs, a list ("1 2 4"): queues=N on both vdevs, --rxq/--txq/--nb-cores N, so each
#               process runs N forwarding lcores
#   --lcores    CPUs per process, vhost's / virtio-user's, e.g. 8-15/0-7: forwarding lcore i goes on the
#               i-th CPU of its list (round robin), the main lcore (console only) shares the first. Default:
#               virtio-user on CPUs 0..N-1, vhost on N..2N-1 when there are 2N CPUs, else 0 and 1.
#   --min-cpu   on a shared machine: measure a window again (up to twice, the best kept) when either process
#               got less than this share of its forwarding CPUs in it (default 0: never). Every row shows
#               the lowest shares seen, vhost/virtio-user: each one's CPU time over the window's wall time
#               (a little over 1.00 when the console and runtime threads add theirs).
#   --c2c-tolerance  on a virtual machine the host may move the vCPUs: while they share an L3 a cache line
#               crosses between them 3-4x faster, and packet rates follow. Around every measurement the
#               script times a cache line's round trip between the two processes' first CPUs (c2c, ns,
#               before and after). A run's ratio to its baseline counts as matched when all four probes
#               (the row's and the baseline's, before and after) agree within this fraction (default 0.25);
#               the "matched" column is the median of the matched runs' ratios, with how many there were.
#   --huge      both processes on 2 MiB hugepages, as DPDK is run for its performance reports (testpmd:
#               --in-memory --single-file-segments, hugetlb memfds, one vhost-user region a segment list and
#               no files left in /dev/hugepages; ours: its default, hugetlb memfds). As root the script
#               reserves the pages (hugepages/setup-hugepages.sh); it refuses to start when fewer are free
#               than the two processes take.
#   --no-huge   both on 4 KiB pages (testpmd --no-huge -m 1024, ours --no-huge), which any machine has.
#               Default: hugepages when they can be had (as --huge, after reserving them as root), else
#               4 KiB pages with a line on stderr saying so. The table's header says which ran.
#   --idle      which side limits a row: the receiver records its bursts by size (--record-burst-stats, an
#               option of testpmd's that ours has too), and the row shows the median share of its
#               polls that found nothing ("rx idle", %). Near 100: the receiver waited on the sender, and the
#               row measures the sender; near 0: the receiver was the limit. A share of polls, not of time:
#               a receiver whose empty poll costs less polls more often, so compare it with 0 and 100, not
#               across implementations. Off by default: counting is a store per poll on both implementations,
#               which the figures without it do not carry.
#   --plan      print the command lines of every measurement and exit (check --lcores on a new machine)
#   --scenarios older names, still accepted: rx = to-vhost dpdk/ours, tx = from-vhost dpdk/ours,
#               utx = to-vhost ours/dpdk, urx = from-vhost ours/dpdk
#   --virtio-args ",key=val..."  appended to both virtio-user vdevs (DPDK's and ours), e.g. ",in_order=0,mrg_rxbuf=0"
#   --dll       another build of datapath.dll, e.g. a copy from before a change
#   --dll-b     a second build, measured in the same runs as implementation "b" (rows "Datapath-B"):
#               --dll-b /tmp/new/datapath.dll --pairs "dpdk/ours dpdk/b" compares two builds beside the
#               baseline, each run measuring all three back to back, so a shared machine's slow spells
#               fall on both builds alike
#
# On a 2-CPU machine only --queues 1 gives clean figures: one forwarding lcore per process, each process
# on its own CPU. --queues 2 there puts both forwarding lcores of a process on its one CPU (marked * in
# the table): that measures what a second queue costs when two pollers time-share a CPU, not scaling.
# Scaling needs 2N free CPUs (e.g. --queues "1 2 4 8" --lcores 8-15/0-7 on 16): ns/pkt/core, the cost of a
# packet per forwarding core (1e3 / Mpps per core), should stay flat as N grows if it scales.
#
# Method: the rate is counted at the receiver (what the generator could not hand over does not count).
# Both processes run interactive consoles fed through a fifo; after traffic shows up and a warm-up,
# `show port stats 0` is read twice, --window seconds apart: Mpps = delta RX-packets / delta time, each
# reading timed at the midpoint between sending the command and seeing its reply. Gbit/s counts frame
# bytes (no preamble, gap or FCS: there is no wire). Each run measures every pair of a (queues, layout,
# direction, size) back to back, rotating which goes first; the table gives the median of the runs with
# the spread (min-max), and each row's ratio to the DPDK/DPDK row. A progress line goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
. perf/lib/vhost-procs.sh

usage_error() { echo "vhost-rate: $* (--help lists the options)" >&2; exit 2; }
runs=3 window=5 warmup=3 sizes="64 1518" burst=32 json=0 plan=0 dll=artifacts/bin/Datapath.App/Release/net10.0/datapath.dll dll_b="" c2c_tolerance=0.25
layouts="split packed" dirs="to-vhost from-vhost" pairs="dpdk/ours ours/dpdk ours/ours" queues=1 lcores="" scenarios="" min_cpu=0 virtio_args="" huge=auto idle=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs|--window|--warmup|--sizes|--burst|--dll|--dll-b|--layouts|--dirs|--pairs|--queues|--lcores|--scenarios|--min-cpu|--virtio-args|--c2c-tolerance)
      [ $# -ge 2 ] || usage_error "$1 needs a value"
      x=${1#--}; declare "${x//-/_}=$2"; shift 2 ;;     # --min-cpu 0.9 sets min_cpu=0.9
    --split|--packed) layouts=${1#--}; shift ;;
    --json) json=1; shift ;;
    --huge) huge=1; shift ;;
    --no-huge) huge=0; shift ;;
    --idle) idle=1; shift ;;
    --plan) plan=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown option $1" ;;
  esac
done

# What to measure: "direction pair" items; each direction measured gets its DPDK/DPDK baseline.
is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
for x in "$runs" "$burst"; do is_uint "$x" || usage_error "--runs and --burst take a positive integer, not '$x'"; done
for x in "$window" "$warmup"; do [[ $x =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "--window and --warmup take seconds, not '$x'"; done
[[ -z $virtio_args || $virtio_args =~ ^(,[a-z_]+=[0-9a-f:]+)+$ ]] || usage_error "--virtio-args takes ,key=value pairs for both virtio-users' vdevs, e.g. ',in_order=0', not '$virtio_args'"
[[ $min_cpu =~ ^(0(\.[0-9]+)?|1(\.0*)?)$ ]] || usage_error "--min-cpu takes a share of the CPUs, 0 to 1, not '$min_cpu'"
[[ $c2c_tolerance =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "--c2c-tolerance takes a fraction, e.g. 0.25, not '$c2c_tolerance'"
for x in $sizes; do is_uint "$x" || usage_error "--sizes takes frame bytes, not '$x'"; done
for x in $queues; do is_uint "$x" && [ "$x" -le 16 ] || usage_error "--queues takes 1..16, not '$x'"; done
for x in $layouts; do [[ $x =~ ^(split|packed)$ ]] || usage_error "--layouts takes split and/or packed, not '$x'"; done
items=()
if [ -n "$scenarios" ]; then
  for x in $scenarios; do
    case $x in
      rx) items+=("to-vhost dpdk/ours") ;;  tx) items+=("from-vhost dpdk/ours") ;;
      utx) items+=("to-vhost ours/dpdk") ;; urx) items+=("from-vhost ours/dpdk") ;;
      *) usage_error "unknown scenario $x (rx tx utx urx)" ;;
    esac
  done
else
  for d in $dirs; do
    [[ $d =~ ^(to-vhost|from-vhost)$ ]] || usage_error "--dirs takes to-vhost and/or from-vhost, not '$d'"
    for p in $pairs; do
      [[ $p =~ ^(dpdk|ours|b)/(dpdk|ours|b)$ ]] || usage_error "--pairs takes VIRTIO/VHOST, each dpdk, ours or b, not '$p'"
      [[ ! $p =~ (^|/)b(/|$) || -n $dll_b ]] || usage_error "pair $p: implementation b is the build given by --dll-b"
      items+=("$d $p")
    done
    items+=("$d dpdk/dpdk")
  done
fi
declare -A todo=()   # direction -> its pairs, the baseline first
for d in to-vhost from-vhost; do
  for p in dpdk/dpdk dpdk/ours dpdk/b ours/dpdk b/dpdk ours/ours b/b ours/b b/ours; do
    for x in "${items[@]}"; do [ "$x" = "$d $p" ] || continue; todo[$d]+=" $p"; break; done
  done
  [ -z "${todo[$d]:-}" ] || [[ ${todo[$d]} == " dpdk/dpdk"* ]] || todo[$d]=" dpdk/dpdk${todo[$d]}"
done
[ ${#todo[@]} -gt 0 ] || usage_error "nothing to measure"
[ -n "$sizes" ] && [ -n "$queues" ] && [ -n "$layouts" ] || usage_error "--sizes, --queues and --layouts need at least one value"

expand_cpus() { # "0-3,8" -> "0 1 2 3 8"
  local part out=""
  for part in ${1//,/ }; do
    if [[ $part =~ ^([0-9]+)-([0-9]+)$ ]]; then out+=" $(seq -s ' ' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")"
    elif [[ $part =~ ^[0-9]+$ ]]; then out+=" $part"
    else usage_error "--lcores takes VHOST_CPUS/VIRTIO_CPUS, e.g. 1/0 or 8-15/0-7, not '$lcores'"; fi
  done
  echo $out
}
ncpu=$(nproc)
probe_dll=artifacts/bin/Datapath.Benchmarks/Release/net10.0/Datapath.Benchmarks.dll
if [ -n "$lcores" ]; then
  [[ $lcores == */* ]] || usage_error "--lcores takes VHOST_CPUS/VIRTIO_CPUS, e.g. 1/0 or 8-15/0-7, not '$lcores'"
  vhost_cpus=$(expand_cpus "${lcores%%/*}") virtio_cpus=$(expand_cpus "${lcores#*/}")
  [ -n "$vhost_cpus" ] && [ -n "$virtio_cpus" ] || usage_error "--lcores: empty CPU list in '$lcores'"
fi
cpus_for() { # queues: sets VH_CPUS and VU_CPUS (the default spreads N lcores per process when 2N CPUs exist)
  local q=$1 n               # and FWD, the CPUs that carry one process's forwarding lcores
  if [ -n "$lcores" ]; then VH_CPUS=$vhost_cpus VU_CPUS=$virtio_cpus
  elif [ "$ncpu" -ge $((2 * q)) ]; then VU_CPUS=$(seq -s ' ' 0 $((q - 1))) VH_CPUS=$(seq -s ' ' "$q" $((2 * q - 1)))
  else VU_CPUS=0 VH_CPUS=1; fi
  FWD=$q
  for n in $(wc -w <<<"$VH_CPUS") $(wc -w <<<"$VU_CPUS"); do [ "$n" -ge "$FWD" ] || FWD=$n; done
}

if [ "$plan" = 0 ]; then
  command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd not found: apt-get install dpdk-dev" >&2; exit 1; }
  [ "$ncpu" -ge 2 ] || { echo "vhost-rate needs 2 CPUs (one per process); this machine has $ncpu" >&2; exit 1; }
  for c in ${vhost_cpus:-} ${virtio_cpus:-}; do [ -d "/sys/devices/system/cpu/cpu$c" ] || usage_error "--lcores: there is no CPU $c here"; done
  for c in ${vhost_cpus:-}; do [[ " ${virtio_cpus:-} " != *" $c "* ]] || echo "vhost-rate: CPU $c carries both processes: the figures measure contention" >&2; done
  [ -f "$dll" ] && [ -f "$probe_dll" ] || dotnet build Datapath.sln -c Release -v q -nologo >/dev/null
  [ -z "$dll_b" ] || [ -f "$dll_b" ] || usage_error "--dll-b: no file $dll_b"
fi

# Where the hypervisor put the two processes' CPUs: a cache line's round trip between the first CPU of
# each, in ns (perf/Topology/CoreToCore.cs), probed before and after every measurement.
c2c_probe() { # cpu-a cpu-b: prints ns, or 0 when it could not be measured (0 never matches)
  local ns
  ns=$(timeout 10 dotnet "$probe_dll" c2c "$1" "$2" 2>/dev/null) || ns=0
  [[ $ns =~ ^[0-9]+$ ]] || ns=0
  echo "$ns"
}

# Each side's memory: hugepages (--huge, or by default when they can be had) or 4 KiB pages.
# testpmd's default mbuf pool (155456 x 2176 B) takes about 185 pages; ours takes about 10.
huge_pages_needed=400
free_hugepages() { cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0; }
if [ "$plan" = 0 ] && [ "$huge" != 0 ]; then
  if [ "$(id -u)" = 0 ]; then hugepages/setup-hugepages.sh >&2 || true; fi
  free=$(free_hugepages)
  if [ "$free" -lt "$huge_pages_needed" ]; then
    [ "$huge" = auto ] || { echo "vhost-rate: --huge needs $huge_pages_needed free 2 MiB pages, $free are free" >&2; exit 1; }
    echo "vhost-rate: 4 KiB pages: $free free 2 MiB pages, the two processes need $huge_pages_needed (as root this script reserves them)" >&2
    huge=0
  fi
fi
[ "$huge" != auto ] || huge=1   # --plan prints what a machine with the pages would run
if [ "$huge" = 1 ]; then
  mem_dpdk="--in-memory --single-file-segments" mem_ours=""
else
  mem_dpdk="--no-huge -m 1024" mem_ours="--no-huge"
fi

work=$(mktemp -d /tmp/vhost-rate.XXXXXX)
tag="vr$$"
cleanup() {
  local n
  for n in "${started[@]}"; do stop_proc "$n"; done
  rm -f "$work/vhost.sock" /dev/hugepages/"$tag"-* 2>/dev/null || true
  rm -rf "$work"
  [ -z "${progress_shown:-}" ] || ! [ -t 2 ] || printf '\r\033[K' >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

progress() { # one line on stderr, rewritten in place on a terminal
  progress_shown=1
  if [ -t 2 ]; then printf '\r\033[K%s' "$*" >&2; else printf '%s\n' "$*" >&2; fi
}
impl_name() { case $1 in dpdk) echo DPDK ;; ours) echo Datapath ;; b) echo Datapath-B ;; esac; }
label() { # direction pair: "DPDK virtio-user -> Datapath vhost", sender first
  local u v; u=$(impl_name "${2%/*}") v=$(impl_name "${2#*/}")
  if [ "$1" = to-vhost ]; then echo "$u virtio-user -> $v vhost"; else echo "$v vhost -> $u virtio-user"; fi
}

# One measurement: sets MPPS and SHARES ("vhost virtio-user" CPU shares), not in a subshell: the
# processes it starts must be ours to clean up. Progress lines name it by $what.
measure() { # queues direction layout size pair
  local q=$1 dir=$2 layout=$3 size=$4 pair=$5 sock="$work/vhost.sock" vmode umode rxside uargs=""
  local uimpl=${pair%/*} vimpl=${pair#*/} vl ul
  case $dir in
    to-vhost) vmode=rxonly umode=txonly rxside=vhost ;;
    from-vhost) vmode=txonly umode=rxonly rxside=virtio ;;
  esac
  # --idle: the receiver counts its bursts by size from the start (both implementations take the option)
  local vstats="" ustats=""
  [ "$idle" = 0 ] || { [ "$rxside" = vhost ] && vstats=--record-burst-stats || ustats=--record-burst-stats; }
  [ "$layout" = packed ] && uargs+=",packed_vq=1"
  [ "$q" -gt 1 ] && uargs+=",cq=1"     # multi-queue needs the control queue (MQ_VQ_PAIRS_SET); DPDK's asks for it
  uargs+=$virtio_args
  cpus_for "$q"; vl=$(lcore_map "$q" "$VH_CPUS") ul=$(lcore_map "$q" "$VU_CPUS")
  [ "$plan" = 1 ] && echo "queues $q, $dir, $layout, $size B, $(label "$dir" "$pair"):"
  [ "$plan" = 1 ] || C2C=$(c2c_probe "${VH_CPUS%% *}" "${VU_CPUS%% *}")
  start_impl "$vimpl" vhost "$vl" "$q" "net_vhost0,iface=$sock,queues=$q" --forward-mode="$vmode" --txpkts="$size" --auto-start $vstats
  [ "$plan" = 0 ] || { start_impl "$uimpl" virtio "$ul" "$q" "net_virtio_user0,path=$sock,queues=$q$uargs" --forward-mode="$umode" --txpkts="$size" --auto-start $ustats; MPPS=0; return; }
  wait_for vhost 60 "a prompt" has_prompt vhost "testpmd> "
  wait_for vhost 30 "the socket $sock" test -S "$sock"
  start_impl "$uimpl" virtio "$ul" "$q" "net_virtio_user0,path=$sock,queues=$q$uargs" --forward-mode="$umode" --txpkts="$size" --auto-start $ustats
  wait_for virtio 60 "a prompt" has_prompt virtio "testpmd> "
  # traffic at the receiver, the layout check, then the warm-up (JIT tiering, caches), then the window
  local i t0 n0 got
  for i in $(seq 60); do
    read_rx "$rxside"; [ "$RX_N" -gt 0 ] && break
    [ "$i" = 60 ] && fail "$rxside" "no packets reached the receiver within 30 s"
    sleep 0.5
  done
  got=$(negotiated_layout "$vimpl")
  [ "$got" = "$layout" ] || fail vhost "asked for $layout virtqueues, the vhost log shows $got"
  sleep "$warmup"
  # The window; again (up to twice) if a process had less than --min-cpu of its CPUs, keeping the best.
  local try cv cu share shares mpps
  MPPS=0 SHARE=-1 SHARES="" IDLE=-
  for try in 1 2 3; do
    WINDOW_IDLE=-
    [ "$idle" = 0 ] || echo "clear fwd stats all" >&"${FD[$rxside]}"
    cv=$(cpu_ticks vhost) cu=$(cpu_ticks virtio)
    read_rx "$rxside"; t0=$RX_T n0=$RX_N
    sleep "$window"
    read_rx "$rxside"
    [ "$idle" = 0 ] || read_idle "$rxside"
    cv=$(($(cpu_ticks vhost) - cv)) cu=$(($(cpu_ticks virtio) - cu))
    shares=$(awk -v v="$cv" -v u="$cu" -v t="$((RX_T - t0))" -v hz="$(getconf CLK_TCK)" -v c="$FWD" \
      'BEGIN { printf "%.2f %.2f", v / hz / (t / 1e9) / c, u / hz / (t / 1e9) / c }')
    share=$(awk -v s="$shares" 'BEGIN { split(s, a, " "); print (a[1] < a[2] ? a[1] : a[2]) }')
    mpps=$(awk -v n="$((RX_N - n0))" -v t="$((RX_T - t0))" 'BEGIN { printf "%.4f", n / (t / 1e9) / 1e6 }')
    awk -v s="$share" -v b="$SHARE" 'BEGIN { exit !(s > b) }' && MPPS=$mpps SHARE=$share SHARES=$shares IDLE=$WINDOW_IDLE
    awk -v s="$share" -v m="$min_cpu" 'BEGIN { exit !(s >= m) }' && break
    [ "$try" = 3 ] || progress "$what: CPU share $share < $min_cpu, window again"
  done
  stop_proc virtio
  stop_proc vhost
  rm -f "$sock"
  C2C+=" $(c2c_probe "${VH_CPUS%% *}" "${VU_CPUS%% *}")"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results="$work/results"; : >"$results"   # the lines perf/lib/vhost-rate-table.awk reads
per_group=0; for d in "${!todo[@]}"; do per_group=$((per_group + $(wc -w <<<"${todo[$d]}"))); done
total=$((runs * $(wc -w <<<"$queues") * $(wc -w <<<"$layouts") * $(wc -w <<<"$sizes") * per_group))
[ "$plan" = 0 ] || total=$((total / runs)) runs=1
done_n=0
for run in $(seq "$runs"); do
  for q in $queues; do
    cpus_for "$q"
    for layout in $layouts; do
      for dir in to-vhost from-vhost; do
        [ -n "${todo[$dir]:-}" ] || continue
        read -ra order <<<"${todo[$dir]}"
        for size in $sizes; do
          k=${#order[@]}
          for i in $(seq 0 $((k - 1))); do
            pair=${order[$(((i + run - 1) % k))]}    # rotate which pair goes first, run by run
            what="[$((done_n + 1))/$total] $layout ${size}B q$q $(label "$dir" "$pair") run $run/$runs"
            [ "$plan" = 1 ] || progress "$what (load $(cut -d' ' -f1 /proc/loadavg))"
            measure "$q" "$dir" "$layout" "$size" "$pair"
            done_n=$((done_n + 1))
            [ "$plan" = 0 ] || continue
            echo "$q $dir $layout $size $pair $run $MPPS $FWD $(lcore_map "$q" "$VH_CPUS") $(lcore_map "$q" "$VU_CPUS") $SHARES $C2C $IDLE" >>"$results"
            progress "$what: $MPPS Mpps, CPU share vhost/virtio-user ${SHARES/ //}, c2c ${C2C/ //} ns$([ "$IDLE" = - ] || echo ", rx idle $IDLE%")"
          done
        done
      done
    done
  done
done
[ "$plan" = 0 ] || exit 0
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
[ -t 2 ] && printf '\r\033[K' >&2

awk -f perf/lib/vhost-rate-table.awk -v json="$json" -v runs="$runs" -v tol="$c2c_tolerance" -v window="$window" -v warmup="$warmup" -v burst="$burst" \
  -v pages="$([ "$huge" = 1 ] && echo 2m || echo 4k)" -v lb="$load_before" -v la="$load_after" -v cpus="$ncpu" \
  -v model="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" "$results"
