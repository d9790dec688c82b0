#!/usr/bin/env bash
# Make sure this machine has hugepages for Datapath (and dpdk-testpmd beside it).
# As root: reserve 2 MiB pages up to $DATAPATH_HUGEPAGES (default 512) and mount hugetlbfs on
# /dev/hugepages. Not root: say what is there and how to fix it. Exit 0 when pages are free.
set -u
want=${DATAPATH_HUGEPAGES:-512}
sys=/sys/kernel/mm/hugepages/hugepages-2048kB
total=$(cat $sys/nr_hugepages 2>/dev/null || echo 0)
free=$(cat $sys/free_hugepages 2>/dev/null || echo 0)
if [ "$(id -u)" = 0 ]; then
  if [ "$total" -lt "$want" ]; then
    echo "$want" > /proc/sys/vm/nr_hugepages
    total=$(cat $sys/nr_hugepages); free=$(cat $sys/free_hugepages)
    echo "hugepages: reserved $total x 2 MiB ($free free)"
  fi
  if ! grep -q ' /dev/hugepages hugetlbfs ' /proc/mounts; then
    mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages && echo "hugepages: mounted hugetlbfs on /dev/hugepages"
  fi
fi
if [ "$free" -eq 0 ]; then
  echo "no hugepages: run as root, or: echo $want > /proc/sys/vm/nr_hugepages (as root); or pass --no-huge" >&2
  exit 1
fi
exit 0
