# The two processes of one vhost-rate measurement: started with a console on a fifo, read, stopped.
# Sourced by perf/vhost-rate.sh, which sets: work (temp dir), tag (prefix of everything we create),
# dll, burst, plan (1: print the commands instead of running them), mem_dpdk and mem_ours (each side's
# memory options: hugepages, or 4 KiB pages).
# Every process is ours to end, by its PID only; its /run/dpdk directory goes with it.

declare -A PID FD LOG      # per started process: pid, fifo write fd, output log
started=()                 # names of processes started, for cleanup

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

start_proc() { # name cmd...: runs cmd with stdin from a fifo we hold open, output to a log
  local n=$1; shift
  if [ "$plan" = 1 ]; then printf '  %-6s %s\n' "$n" "$*"; return 0; fi
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

# RX_T (ns) and RX_N (RX-packets, all queues) of port 0, read from the console (testpmd's layout,
# which ours copies), timed at the midpoint between sending the command and seeing its reply.
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

# WINDOW_IDLE: the share (%) of the receiver's polls that found nothing since `clear fwd stats all`, from
# the RX-bursts lines of `show fwd stats all` ("[99% of 0 pkts + ..."; testpmd's layout, which ours
# copies), averaged over its streams; "-" when it printed none (burst stats off).
read_idle() {
  local n=$1 before out="" i
  before=$(stat -c %s "${LOG[$n]}")
  echo "show fwd stats all" >&"${FD[$n]}"
  for i in $(seq 1000); do
    out=$(tail -c +$((before + 1)) "${LOG[$n]}")
    # the accumulated block closes the reply: its opening line and its closing line both start with +
    [ "$(grep -c '^ *+++++++++++++++' <<<"$out")" -ge 2 ] && break
    kill -0 "${PID[$n]}" 2>/dev/null || fail "$n" "$n exited"
    sleep 0.01
  done
  WINDOW_IDLE=$(idle_share <<<"$out")
}

idle_share() { # console output on stdin: the mean "% of 0 pkts" of its RX-bursts lines, or "-"
  awk '/RX-bursts :/ && match($0, /\[[0-9]+% of 0 pkts/) { s += substr($0, RSTART + 1) + 0; k++ }
    END { if (k) printf "%d\n", s / k; else print "-" }'
}

# The forwarding lcores of one process: lcore 0 (main: console only) shares the first CPU of the
# list; worker lcore i runs on CPU list[(i-1) mod length]. e.g. lcore_map 3 "4 5" -> 0@4,1@4,2@5,3@4
lcore_map() { # queues "cpu cpu ..."
  local q=$1 cpus=($2) m i
  m="0@${cpus[0]}"
  for i in $(seq "$q"); do m+=",$i@${cpus[$(((i - 1) % ${#cpus[@]}))]}"; done
  echo "$m"
}

testpmd() { # name lcores queues vdev app-args...
  local n=$1 lcores=$2 q=$3 vdev=$4; shift 4
  # lib.vhost.config at info: the vhost logs the negotiated features (check_layout reads them)
  start_proc "$n" stdbuf -oL -eL dpdk-testpmd --lcores "$lcores" $mem_dpdk --no-pci --no-shconf \
    --file-prefix "$tag-$n" --log-level=lib.vhost.config:info --vdev "$vdev" \
    -- -i --nb-cores="$q" --rxq="$q" --txq="$q" --burst="$burst" "$@"
}

datapath() { # name lcores queues vdev app-args... (the build: $DLL_USE, else $dll)
  local n=$1 lcores=$2 q=$3 vdev=$4; shift 4
  start_proc "$n" dotnet "${DLL_USE:-$dll}" --lcores "$lcores" $mem_ours --file-prefix "$tag-$n" --vdev "$vdev" \
    -- -i --nb-cores="$q" --rxq="$q" --txq="$q" --burst="$burst" "$@"
}

start_impl() { # impl (dpdk|ours|b) name lcores queues vdev app-args...
  local impl=$1; shift
  case $impl in
    dpdk) testpmd "$@" ;;
    ours) DLL_USE=$dll datapath "$@" ;;
    b) DLL_USE=$dll_b datapath "$@" ;;
  esac
}

# The ring layout the pair agreed on, from the vhost's log: ours says "vring 0 running: ... packed",
# DPDK's logs "negotiated Virtio features: 0x..." (VIRTIO_F_RING_PACKED is bit 34, virtio 1.2 §6).
negotiated_layout() { # vhost-impl dpdk|ours|b
  local f
  if [ "$1" != dpdk ]; then
    grep -q 'vring 0 running:.*packed' "${LOG[vhost]}" && echo packed || echo split
  else
    f=$(grep -o 'negotiated Virtio features: 0x[0-9a-f]*' "${LOG[vhost]}" | tail -1 | awk '{ print $4 }')
    [ -n "$f" ] || { echo unknown; return; }
    (((f >> 34) & 1)) && echo packed || echo split
  fi
}

# CPU time (user + system, all threads, in clock ticks) a process has had: /proc/PID/stat fields 14
# and 15, counted after the ") " that ends the command name.
cpu_ticks() { # name
  awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/${PID[$1]}/stat"
}
