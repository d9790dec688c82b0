# Guest script (GuestHarnessTests): reports what the guest is, through the results share.
{
  echo "uname=$(uname -r)"
  echo "nproc=$(nproc)"
  echo "mem_kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
  echo "root_writable=$(touch /usr/bin/.dp-probe 2>/dev/null && rm /usr/bin/.dp-probe && echo yes || echo no)"
  echo "greeting=${GREETING:-}"
} > "$RESULTS/system"
cat "$RESULTS/system"
