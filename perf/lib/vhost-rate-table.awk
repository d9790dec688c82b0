# The vhost-rate table (or --json) from its results file, one measurement a line:
#   queues direction layout frame-bytes pair run mpps forwarding-cpus lcores-vhost lcores-virtio cpu-share-vhost cpu-share-virtio
#   c2c-before c2c-after [rx-idle]
# pair = virtio-user impl/vhost impl, each dpdk|ours|b (b: the --dll-b build); direction = to-vhost|from-vhost.
# Set with -v: json (0|1), runs, window, warmup, burst, lb, la (load averages), cpus, model, pages (the
# page size both processes ran on: 4k or 2m).
# Each row is the median of its runs with the spread (min-max); its ratio is to the DPDK/DPDK row of the
# same queues, direction, layout and frame size. ns/pkt = 1e3 / Mpps; ns/pkt/core = that times the CPUs
# that carry one process's forwarding lcores (1e3 / Mpps per core), so scaling can be projected.
# cpu v/u = the lowest, over the row's runs, of the CPU share each process had in its window: CPU time
# over wall time per forwarding CPU (1.00: its pollers had their CPUs to themselves).
# c2c = a cache line's round trip between the two processes' first CPUs, ns, probed before and after each
# measurement (min-max over the row's runs). matched = the median, over the runs whose four probes (this
# row's and its baseline's, before and after) agree within tol (a fraction), of this row's rate over the
# baseline's in the same run, and how many runs that was: ratios between measurements that ran with the
# vCPUs placed alike.
# rx idle (--idle only) = the median, over the row's runs, of the share of the receiver's polls in its
# window that found nothing (%): near 100 the receiver waited on the sender, which set the rate.
BEGIN { if (tol == "") tol = 0.25 }
{
  group = $1 " " $2 " " $3 " " $4
  v[group, $5] = v[group, $5] " " $7
  shv[group, $5] = shv[group, $5] " " $11; shu[group, $5] = shu[group, $5] " " $12
  c2c[group, $5] = c2c[group, $5] " " $13 " " $14
  rate[group, $5, $6] = $7; probes[group, $5, $6] = $13 " " $14
  if (NF >= 15 && $15 != "-") { idl[group, $5] = idl[group, $5] " " $15; anyidle = 1 }
  if ($6 + 0 > maxrun) maxrun = $6 + 0
  if (!($1 in cores)) qorder[++nq] = $1
  cores[$1] = $8; lv[$1] = $9; lu[$1] = $10
  if (!(group in seen)) { seen[group] = 1; order[++n] = group }
}

function sort(s, a,   k, i, j, t) {
  k = split(s, a, " ")
  for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return k
}
function median(s,   a, k) { k = sort(s, a); return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
function lo(s,   a) { sort(s, a); return a[1] }
function hi(s,   a, k) { k = sort(s, a); return a[k] }
function impl(x) { return x == "ours" ? "Datapath" : x == "b" ? "Datapath-B" : "DPDK" }
function jimpl(x) { return x == "ours" ? "datapath" : x == "b" ? "datapath-b" : "dpdk" }
function name(dir, pair,   p) {
  split(pair, p, "/")
  return dir == "to-vhost" ? impl(p[1]) " virtio-user -> " impl(p[2]) " vhost" : impl(p[2]) " vhost -> " impl(p[1]) " virtio-user"
}
function jlist(s,   a, k, i, r) { k = split(s, a, " "); r = ""; for (i = 1; i <= k; i++) r = r (i > 1 ? "," : "") a[i]; return "[" r "]" }
function over(q) { return q + 0 > cores[q] + 0 }
# Sets MATCHED (the median ratio over matched runs, or -1), NMATCHED, NBOTH and RATIOS (every run's ratio).
function matched(group, pair,   r, a, k, i, lo4, hi4, list) {
  list = ""; NMATCHED = 0; NBOTH = 0; RATIOS = ""
  for (r = 1; r <= maxrun; r++) {
    if (!((group, pair, r) in rate) || !((group, "dpdk/dpdk", r) in rate) || rate[group, "dpdk/dpdk", r] <= 0) continue
    NBOTH++
    RATIOS = RATIOS " " sprintf("%.3f", rate[group, pair, r] / rate[group, "dpdk/dpdk", r])
    k = split(probes[group, pair, r] " " probes[group, "dpdk/dpdk", r], a, " ")
    lo4 = a[1] + 0; hi4 = a[1] + 0
    for (i = 2; i <= k; i++) { if (a[i] + 0 < lo4) lo4 = a[i] + 0; if (a[i] + 0 > hi4) hi4 = a[i] + 0 }
    if (k < 4 || lo4 <= 0 || hi4 > lo4 * (1 + tol)) continue
    NMATCHED++; list = list " " rate[group, pair, r] / rate[group, "dpdk/dpdk", r]
  }
  MATCHED = NMATCHED ? median(list) : -1
}

END {
  npairs = split("dpdk/dpdk dpdk/ours dpdk/b ours/dpdk b/dpdk ours/ours b/b ours/b b/ours", pairs, " ")
  gsub(/["\\]/, "", model)
  if (json) {
    printf "{\"runs\":%d,\"window_s\":%s,\"warmup_s\":%s,\"burst\":%d,\"pages\":\"%s\",\"cpus\":%d,\"cpu\":\"%s\",\"load_before\":\"%s\",\"load_after\":\"%s\",\"rows\":[",
      runs, window, warmup, burst, pages, cpus, model, lb, la
    r = 0
    for (i = 1; i <= n; i++) {
      split(order[i], g, " ")
      dm = median(v[order[i], "dpdk/dpdk"])
      for (m = 1; m <= npairs; m++) {
        s = v[order[i], pairs[m]]
        if (s == "") continue
        med = median(s); split(pairs[m], p, "/")
        printf "%s{\"scenario\":\"%s\",\"direction\":\"%s\",\"virtio_user\":\"%s\",\"vhost\":\"%s\",\"baseline\":%s,\"layout\":\"%s\",\"queues\":%d,\"frame_bytes\":%d,",
          (r++ ? "," : ""), name(g[2], pairs[m]), g[2], jimpl(p[1]), jimpl(p[2]),
          (pairs[m] == "dpdk/dpdk" ? "true" : "false"), g[3], g[1], g[4]
        printf "\"mpps_median\":%.4f,\"mpps_min\":%.4f,\"mpps_max\":%.4f,\"mpps_runs\":%s,\"gbps_median\":%.3f,",
          med, lo(s), hi(s), jlist(s), med * g[4] * 8 / 1000
        printf "\"ns_per_packet\":%s,\"forwarding_cpus_per_process\":%d,\"ns_per_packet_per_core\":%s,\"lcores_vhost\":\"%s\",\"lcores_virtio_user\":\"%s\",\"oversubscribed\":%s,\"ratio_to_dpdk\":%s,",
          (med > 0 ? sprintf("%.1f", 1e3 / med) : "null"), cores[g[1]], (med > 0 ? sprintf("%.1f", 1e3 * cores[g[1]] / med) : "null"),
          lv[g[1]], lu[g[1]], (over(g[1]) ? "true" : "false"), (dm > 0 ? sprintf("%.3f", med / dm) : "null")
        a = lo(shv[order[i], pairs[m]]); b = lo(shu[order[i], pairs[m]])
        printf "\"cpu_share_min\":%.2f,\"cpu_share_vhost_runs\":%s,\"cpu_share_virtio_user_runs\":%s,",
          (a < b ? a : b), jlist(shv[order[i], pairs[m]]), jlist(shu[order[i], pairs[m]])
        matched(order[i], pairs[m])
        printf "\"c2c_ns_runs\":%s,\"ratio_runs\":%s,\"ratio_matched\":%s,\"runs_matched\":%d,\"c2c_tolerance\":%s,",
          jlist(c2c[order[i], pairs[m]]), jlist(RATIOS), (MATCHED >= 0 ? sprintf("%.3f", MATCHED) : "null"), NMATCHED, tol
        x = idl[order[i], pairs[m]]
        printf "\"rx_idle_pct_median\":%s,\"rx_idle_pct_runs\":%s}", (x == "" ? "null" : median(x)), jlist(x)
      }
    }
    print "]}"
    exit
  }
  printf "# vhost-user packet rate at the receiver: median of %d runs (min-max), %s s windows after %s s warm-up, burst %d, %s\n",
    runs, window, warmup, burst, (pages == "2m" ? "2 MiB hugepages (--huge)" : "4 KiB pages")
  printf "# machine: %d CPUs (%s), load average before %s, after %s\n", cpus, model, lb, la
  for (j = 1; j <= nq; j++) {
    q = qorder[j]
    printf "# queues %d: vhost --lcores %s, virtio-user --lcores %s (lcore 0: console only)%s\n", q, lv[q], lu[q],
      (over(q) ? sprintf(" *: %d forwarding lcores on %d CPU(s) per process", q, cores[q]) : "")
  }
  printf "%-44s %-6s %5s %3s %21s %7s %7s %11s %7s %9s %11s %9s%s\n", "sender -> receiver", "layout", "frame", "q", "Mpps median (min-max)", "Gbit/s", "ns/pkt", "ns/pkt/core", "vs DPDK", "cpu v/u", "matched", "c2c ns",
    (anyidle ? sprintf(" %7s", "rx idle") : "")
  for (i = 1; i <= n; i++) {
    split(order[i], g, " ")
    if (i > 1) print ""
    dm = median(v[order[i], "dpdk/dpdk"])
    for (m = 1; m <= npairs; m++) {
      s = v[order[i], pairs[m]]
      if (s == "") continue
      med = median(s)
      matched(order[i], pairs[m])
      x = idl[order[i], pairs[m]]
      printf "%-44s %-6s %4dB %2d%s %7.3f (%5.3f-%5.3f) %7.2f %7s %11s %7s %4.2f/%4.2f %11s %9s%s\n", name(g[2], pairs[m]), g[3], g[4], g[1], (over(g[1]) ? "*" : " "),
        med, lo(s), hi(s), med * g[4] * 8 / 1000,
        (med > 0 ? sprintf("%.1f", 1e3 / med) : "-"), (med > 0 ? sprintf("%.1f", 1e3 * cores[g[1]] / med) : "-"),
        (pairs[m] == "dpdk/dpdk" ? "1.00" : dm > 0 ? sprintf("%.2f", med / dm) : "-"), lo(shv[order[i], pairs[m]]), lo(shu[order[i], pairs[m]]),
        (pairs[m] == "dpdk/dpdk" ? "" : MATCHED >= 0 ? sprintf("%.2f %d/%d", MATCHED, NMATCHED, NBOTH) : sprintf("- 0/%d", NBOTH)),
        sprintf("%d-%d", lo(c2c[order[i], pairs[m]]), hi(c2c[order[i], pairs[m]])),
        (!anyidle ? "" : x == "" ? sprintf(" %7s", "-") : sprintf(" %6d%%", median(x)))
    }
  }
  if (n) {
    printf "\n# ns/pkt = 1e3 / Mpps; ns/pkt/core = per forwarding core (ns/pkt x CPUs carrying one process's forwarding lcores)\n"
    printf "# cpu v/u = lowest CPU share of the vhost / virtio-user process in a window, per forwarding CPU (below ~0.9: others ran there)\n"
    printf "# c2c ns = cache-line round trip between the two processes' CPUs around each measurement (min-max): where the host put the vCPUs\n"
    printf "# matched = median ratio to DPDK/DPDK over the runs whose c2c probes, this row's and the baseline's, agree within %d%% (runs used/runs)\n", tol * 100
    if (anyidle) printf "# rx idle = median share of the receiver's polls that found nothing (near 100%%: the sender set the rate)\n"
  }
}
