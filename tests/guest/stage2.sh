#!/bin/bash
# Stage 2 of the guest (PID 1; root = overlay of the host's / over 9p + tmpfs). Mounts what a
# test needs, runs the guest script named by dp.run=<host path> with bash, records its exit code,
# and powers the guest off. Shared with the host: the 9p tag "share", mounted at $RESULTS
# (/mnt/share); the host's fixture reads every file the script writes there. It may also leave
# environment for the script in $RESULTS/.env (sourced before the script runs).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=vt100 RESULTS=/mnt/share
up() { cut -d' ' -f1 /proc/uptime; }
mkdir -p /dev/pts /dev/shm /dev/hugepages "$RESULTS"
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t hugetlbfs nodev /dev/hugepages
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 share "$RESULTS" \
  || echo "[stage2] no results share (9p tag 'share')"
hostname datapath-guest
ip link set lo up
RUN=$(sed -n 's/.*\bdp\.run=\([^ ]*\).*/\1/p' /proc/cmdline)
rc=127
if [ -n "$RUN" ]; then
  [ -f "$RESULTS/.env" ] && . "$RESULTS/.env"
  echo "[stage2] running $RUN at uptime $(up)s"
  bash "$RUN" 2>&1
  rc=$?
  echo "[stage2] exit=$rc at uptime $(up)s"
else
  echo "[stage2] no dp.run= on the kernel cmdline"
fi
echo "$rc" > "$RESULTS/.exit-code"
sync
echo o > /proc/sysrq-trigger
sleep 10 2>/dev/null   # the power-off may take the 9p root away first
