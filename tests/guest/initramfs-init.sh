#!/bin/sh
# /init of the guest's busybox initramfs (built by prepare-guest.sh). The guest's root is the
# host's / read-only over 9p (tag "hostroot") under an overlay whose upper layer is a tmpfs, so
# host binaries run unchanged and guest writes vanish with the guest. Then stage 2 runs from the
# host root: kernel cmdline dp.stage2=<host path> (dp.rwsize=<tmpfs size>, default 1g).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
STAGE2= RWSIZE=1g
for w in $(cat /proc/cmdline); do
  case $w in dp.stage2=*) STAGE2=${w#dp.stage2=} ;; dp.rwsize=*) RWSIZE=${w#dp.rwsize=} ;; esac
done
fail() { echo "[init] $*"; echo o > /proc/sysrq-trigger; sleep 10; }
for m in $(cat /mods/order); do insmod /mods/$m || echo "[init] insmod $m failed"; done
# msize 512 KiB makes 9p reads much faster; cache=loose is safe on a read-only lower layer
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose,ro hostroot /lower \
  || fail "9p mount of the host root failed"
mount -t tmpfs -o size=$RWSIZE,mode=755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot \
  || fail "overlay mount failed"
for d in dev proc sys; do mount -o move /$d /newroot/$d || fail "move /$d failed"; done
[ -n "$STAGE2" ] || fail "no dp.stage2= on the kernel cmdline"
echo "[init] switching root at uptime $(cut -d' ' -f1 /newroot/proc/uptime)s"
exec switch_root /newroot /bin/bash "$STAGE2"
