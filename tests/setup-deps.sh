#!/usr/bin/env bash
# Installs what the tests use from Debian, when it is missing: dpdk-dev (dpdk-testpmd, dpdk-test).
# Later suites add their packages here (qemu-system-x86, linux-image-amd64, busybox-static, tshark).
set -eu
need=()
command -v dpdk-testpmd >/dev/null 2>&1 || need+=(dpdk-dev)
command -v dpdk-test >/dev/null 2>&1 || need+=(dpdk-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "tests need Debian packages: ${need[*]} (apt-get install ${need[*]}, as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
  echo "setup: installed $(printf '%s ' "${need[@]}" | tr ' ' '\n' | sort -u | tr '\n' ' ')"
fi
