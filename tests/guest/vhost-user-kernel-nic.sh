# Guest script: the guest kernel's virtio-net drives the vhost-user NIC (the host backend does
# the device side); rawframes.py sends $FRAMES frames that a macswap backend echoes back.
# Results: $RESULTS/nic (pci, iface, link, interface counters) and $RESULTS/rawframes.
set -u
FRAMES=${FRAMES:-1000}
t() { echo "[nic] $* at uptime $(cut -d' ' -f1 /proc/uptime)s"; }
modprobe virtio_net || exit 10
t "virtio_net loaded"
NIC=
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor")" = 0x1af4 ] || continue
  case $(cat "$d/device") in 0x1041|0x1000) NIC=$(basename "$d"); break ;; esac
done
[ -n "$NIC" ] || { echo "no virtio-net PCI function"; exit 11; }
IF=
for i in $(seq 50); do IF=$(ls /sys/bus/pci/devices/$NIC/virtio*/net/ 2>/dev/null | head -1); [ -n "$IF" ] && break; sleep 0.1; done
[ -n "$IF" ] || { echo "virtio_net made no interface for $NIC"; exit 12; }
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 "net.ipv6.conf.$IF.disable_ipv6=1"
t "$IF appeared"
ip link set "$IF" up
for i in $(seq 100); do [ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" = 1 ] && break; sleep 0.1; done
t "carrier=$(cat /sys/class/net/$IF/carrier)"
st() { cat "/sys/class/net/$IF/statistics/$1"; }
if [ "${WARMUP:-0}" -gt 0 ]; then
  # Behind a vIOMMU the backend's IOTLB starts cold: the first frames miss and are dropped.
  WINDOW=$((WARMUP + 1)) python3 "$(dirname "$0")/rawframes.py" "$IF" "$WARMUP" "$RESULTS/warmup"
  t "warm-up done: $(cat "$RESULTS/warmup" | tr '\n' ' ')"
fi
tx0=$(st tx_packets) rx0=$(st rx_packets)
python3 "$(dirname "$0")/rawframes.py" "$IF" "$FRAMES" "$RESULTS/rawframes"
rc=$?
t "frames done"
{
  echo "pci=$NIC"
  echo "iface=$IF"
  echo "operstate=$(cat /sys/class/net/$IF/operstate)"
  echo "carrier=$(cat /sys/class/net/$IF/carrier)"
  echo "tx_packets=$(( $(st tx_packets) - tx0 ))"
  echo "rx_packets=$(( $(st rx_packets) - rx0 ))"
  echo "tx_total=$(st tx_packets)"
  echo "rx_total=$(st rx_packets)"
} > "$RESULTS/nic"
cat "$RESULTS/nic"
exit $rc
