using System.Text.Json;
using Datapath.Tests.Support;

namespace Datapath.Tests.Perf;

/// <summary>
/// perf/vhost-rate.sh (./run.sh bench-vhost) without measuring anything: its options, the command lines
/// it would run (--plan), and the table it makes from results. No timings are asserted.
/// </summary>
public class VhostRateScriptTests
{
    static readonly string Script = Path.Combine(RepoPaths.Root, "perf/vhost-rate.sh");
    static readonly string TableAwk = Path.Combine(RepoPaths.Root, "perf/lib/vhost-rate-table.awk");

    static ChildProcess Run(string file, params string[] args)
    {
        var p = new ChildProcess(file, args);
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)), $"{file} did not exit");
        return p;
    }

    /// <summary>
    /// The table awk over a results file holding <paramref name="results"/>, with the settings the script
    /// passes (no timing asserted). The file is gone when it returns.
    /// </summary>
    static ChildProcess Table(string[] results, bool json, int runs, params string[] extra)
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, results);
            return Run("awk", ["-f", TableAwk, "-v", json ? "json=1" : "json=0", "-v", $"runs={runs}", "-v", "window=5", "-v", "warmup=3",
                "-v", "burst=32", "-v", "lb=0 0 0", "-v", "la=0 0 0", "-v", "cpus=2", "-v", "model=test", "-v", "pages=2m", .. extra, file]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void HelpDescribesTheMatrixOptions()
    {
        using var p = Run("bash", Script, "--help");
        Assert.Equal(0, p.ExitCode);
        foreach (var option in new[] { "--pairs", "--dirs", "--layouts", "--packed", "--queues", "--lcores", "--json", "--plan", "--runs", "--min-cpu", "--c2c-tolerance", "--huge", "--no-huge", "--idle" })
            Assert.Contains(option, p.Stdout);
    }

    [Fact]
    public void UnknownOptionExitsTwoWithOneLine()
    {
        using var p = Run("bash", Script, "--no-such-option");
        Assert.Equal(2, p.ExitCode);
        Assert.Equal("", p.Stdout);
        var line = Assert.Single(p.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains("--no-such-option", line);
    }

    [Fact]
    public void PlanPutsEachForwardingLcoreOnTheNextCpuOfItsProcessList()
    {
        // What a 16-CPU machine would run for 4 queue pairs: vhost on CPUs 4-7, virtio-user on 0-3.
        using var p = Run("bash", Script, "--plan", "--queues", "4", "--lcores", "4-7/0-3", "--sizes", "64", "--packed",
            "--dirs", "to-vhost", "--pairs", "ours/ours");
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("queues 4, to-vhost, packed, 64 B, DPDK virtio-user -> DPDK vhost:", p.Stdout);   // the baseline comes along
        Assert.Contains("queues 4, to-vhost, packed, 64 B, Datapath virtio-user -> Datapath vhost:", p.Stdout);
        Assert.Contains("--lcores 0@4,1@4,2@5,3@6,4@7", p.Stdout);
        Assert.Contains("--lcores 0@0,1@0,2@1,3@2,4@3", p.Stdout);
        Assert.Contains("queues=4,packed_vq=1,cq=1", p.Stdout);
        Assert.Contains("--nb-cores=4 --rxq=4 --txq=4", p.Stdout);
    }

    [Theory]
    [InlineData("--huge", true)]
    [InlineData("--no-huge", false)]
    [InlineData(null, true)]   // the default on a machine with the pages (--plan does not look)
    public void Each_side_runs_on_the_pages_asked_for(string? option, bool huge)
    {
        string[] args = ["--plan", "--sizes", "64", "--split", "--dirs", "to-vhost", "--pairs", "dpdk/ours"];
        using var p = Run("bash", [Script, .. args, .. (option is null ? [] : new[] { option })]);
        Assert.Equal(0, p.ExitCode);
        var lines = p.Stdout.Split('\n');
        var dpdk = lines.Where(l => l.Contains("dpdk-testpmd")).ToList();
        var ours = lines.Where(l => l.Contains("datapath.dll")).ToList();
        Assert.Equal(3, dpdk.Count);   // baseline: both sides; our row: the virtio-user
        Assert.Single(ours);
        foreach (string l in dpdk)
        {
            // testpmd on hugepages takes hugetlb memfds in one region a segment list and leaves no files behind
            Assert.Equal(huge, l.Contains(" --in-memory --single-file-segments "));
            Assert.Equal(!huge, l.Contains(" --no-huge -m 1024 "));
        }
        Assert.Equal(!huge, ours[0].Contains(" --no-huge "));
    }

    [Fact]
    public void TableGivesRatiosToTheDpdkBaselineAndCostPerCore()
    {
        // queues direction layout frame pair run mpps forwarding-cpus lcores-vhost lcores-virtio cpu-share-vhost cpu-share-virtio
        string[] results =
        [
            "1 to-vhost split 64 dpdk/dpdk 1 4.0 1 0@1,1@1 0@0,1@0 0.95 0.99",
            "1 to-vhost split 64 ours/ours 1 2.0 1 0@1,1@1 0@0,1@0 0.95 0.99",
            "1 to-vhost split 64 dpdk/dpdk 2 5.0 1 0@1,1@1 0@0,1@0 0.95 0.99",
            "1 to-vhost split 64 ours/ours 2 3.0 1 0@1,1@1 0@0,1@0 0.95 0.99",
            "1 to-vhost split 64 dpdk/dpdk 3 6.0 1 0@1,1@1 0@0,1@0 0.95 0.99",
            "1 to-vhost split 64 ours/ours 3 4.0 1 0@1,1@1 0@0,1@0 0.95 0.99",
            "2 from-vhost packed 1518 dpdk/dpdk 1 2.0 1 0@1,1@1,2@1 0@0,1@0,2@0 0.95 0.99",
        ];
        using var json = Table(results, json: true, runs: 3);
        Assert.Equal(0, json.ExitCode);
        var rows = JsonDocument.Parse(json.Stdout).RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal("2m", JsonDocument.Parse(json.Stdout).RootElement.GetProperty("pages").GetString());
        Assert.Equal(3, rows.Count);
        var ours = rows.Single(r => r.GetProperty("vhost").GetString() == "datapath");
        Assert.Equal("Datapath virtio-user -> Datapath vhost", ours.GetProperty("scenario").GetString());
        Assert.Equal(3.0, ours.GetProperty("mpps_median").GetDouble());
        Assert.Equal(0.6, ours.GetProperty("ratio_to_dpdk").GetDouble());          // 3 / 5
        Assert.Equal(333.3, ours.GetProperty("ns_per_packet_per_core").GetDouble());
        var twoQueues = rows.Single(r => r.GetProperty("queues").GetInt32() == 2);
        Assert.True(twoQueues.GetProperty("oversubscribed").GetBoolean());       // 2 forwarding lcores, 1 CPU
        Assert.Equal(500.0, twoQueues.GetProperty("ns_per_packet_per_core").GetDouble());
        Assert.Equal(0.95, twoQueues.GetProperty("cpu_share_min").GetDouble());

        using var table = Table(results, json: false, runs: 3);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("burst 32, 2 MiB hugepages (--huge)", table.Stdout);
        Assert.Matches(@"Datapath virtio-user -> Datapath vhost\s+split\s+64B\s+1\s+3\.000 \(2\.000-4\.000\)\s+1\.54\s+333\.3\s+333\.3\s+0\.60\s+0\.95/0\.99", table.Stdout);
    }
    [Fact]
    public void MatchedRatioLeavesOutRunsWhoseVcpusWerePlacedApart()
    {
        // The last two fields: a cache line's round trip between the two CPUs before and after, in ns.
        // Run 1: both near (~140); run 2: ours measured after the host moved the vCPUs apart (~440);
        // run 3: both apart. Runs 1 and 3 compare like with like, run 2 does not.
        string[] results =
        [
            "1 to-vhost split 64 dpdk/dpdk 1 40.0 1 0@1,1@1 0@0,1@0 1.0 1.0 140 142",
            "1 to-vhost split 64 dpdk/ours 1 36.0 1 0@1,1@1 0@0,1@0 1.0 1.0 141 139",
            "1 to-vhost split 64 dpdk/dpdk 2 40.0 1 0@1,1@1 0@0,1@0 1.0 1.0 138 140",
            "1 to-vhost split 64 dpdk/ours 2 14.0 1 0@1,1@1 0@0,1@0 1.0 1.0 440 445",
            "1 to-vhost split 64 dpdk/dpdk 3 15.0 1 0@1,1@1 0@0,1@0 1.0 1.0 430 450",
            "1 to-vhost split 64 dpdk/ours 3 15.0 1 0@1,1@1 0@0,1@0 1.0 1.0 436 441",
        ];
        using var json = Table(results, json: true, runs: 3, "-v", "tol=0.25");
        Assert.Equal(0, json.ExitCode);
        var ours = JsonDocument.Parse(json.Stdout).RootElement.GetProperty("rows").EnumerateArray()
            .Single(r => r.GetProperty("vhost").GetString() == "datapath");
        Assert.Equal(2, ours.GetProperty("runs_matched").GetInt32());
        Assert.Equal(0.95, ours.GetProperty("ratio_matched").GetDouble());        // median of 36/40 and 15/15
        Assert.Equal(0.375, ours.GetProperty("ratio_to_dpdk").GetDouble());       // the plain ratio of medians, 15 / 40, mixes placements
        Assert.Equal([0.9, 0.35, 1.0], ours.GetProperty("ratio_runs").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([141, 139, 440, 445, 436, 441], ours.GetProperty("c2c_ns_runs").EnumerateArray().Select(e => e.GetInt32()));

        using var table = Table(results, json: false, runs: 3, "-v", "tol=0.25");
        Assert.Equal(0, table.ExitCode);
        Assert.Matches(@"DPDK virtio-user -> Datapath vhost\s.*\s0\.95 2/3\s+139-445\n", table.Stdout);
        Assert.Matches(@"DPDK virtio-user -> DPDK vhost\s.*\s138-450\n", table.Stdout);
    }

    [Fact]
    public void IdleMakesOnlyTheReceiverCountItsBursts()
    {
        // to-vhost: the vhost receives (rxonly); from-vhost: the virtio-user does.
        using var p = Run("bash", Script, "--plan", "--idle", "--sizes", "64", "--split", "--pairs", "dpdk/ours");
        Assert.Equal(0, p.ExitCode);
        var lines = p.Stdout.Split('\n');
        Assert.Contains(lines, l => l.Contains("net_vhost0") && l.Contains("--forward-mode=rxonly") && l.EndsWith("--record-burst-stats"));
        Assert.Contains(lines, l => l.Contains("net_virtio_user0") && l.Contains("--forward-mode=rxonly") && l.EndsWith("--record-burst-stats"));
        Assert.DoesNotContain(lines, l => l.Contains("--forward-mode=txonly") && l.Contains("--record-burst-stats"));
        using var plain = Run("bash", Script, "--plan", "--sizes", "64", "--split", "--pairs", "dpdk/ours");
        Assert.DoesNotContain("--record-burst-stats", plain.Stdout);
    }

    [Fact]
    public void IdleColumnGivesTheReceiversEmptyPollShare()
    {
        // The 15th field (--idle): the share of the receiver's polls that found nothing, or "-".
        string[] results =
        [
            "1 to-vhost packed 64 dpdk/dpdk 1 16.0 1 0@1,1@1 0@0,1@0 1.0 1.0 450 450 99",
            "1 to-vhost packed 64 dpdk/ours 1 16.0 1 0@1,1@1 0@0,1@0 1.0 1.0 450 450 98",
            "1 to-vhost packed 64 dpdk/dpdk 2 15.0 1 0@1,1@1 0@0,1@0 1.0 1.0 450 450 97",
            "1 to-vhost packed 64 dpdk/ours 2 15.0 1 0@1,1@1 0@0,1@0 1.0 1.0 450 450 100",
            "1 to-vhost packed 64 ours/ours 1 24.0 1 0@1,1@1 0@0,1@0 1.0 1.0 450 450 -",
        ];
        using var json = Table(results, json: true, runs: 2);
        Assert.Equal(0, json.ExitCode);
        var rows = JsonDocument.Parse(json.Stdout).RootElement.GetProperty("rows").EnumerateArray().ToList();
        var ours = rows.Single(r => r.GetProperty("scenario").GetString() == "DPDK virtio-user -> Datapath vhost");
        Assert.Equal(99.0, ours.GetProperty("rx_idle_pct_median").GetDouble());
        Assert.Equal([98.0, 100.0], ours.GetProperty("rx_idle_pct_runs").EnumerateArray().Select(e => e.GetDouble()));
        var unmeasured = rows.Single(r => r.GetProperty("scenario").GetString() == "Datapath virtio-user -> Datapath vhost");
        Assert.Equal(JsonValueKind.Null, unmeasured.GetProperty("rx_idle_pct_median").ValueKind);

        using var table = Table(results, json: false, runs: 2);
        Assert.Equal(0, table.ExitCode);
        Assert.Matches(@"c2c ns rx idle\n", table.Stdout);
        Assert.Matches(@"DPDK virtio-user -> Datapath vhost\s.*\s450-450\s+99%\n", table.Stdout);
        Assert.Matches(@"Datapath virtio-user -> Datapath vhost\s.*\s450-450\s+-\n", table.Stdout);
    }

    [Fact]
    public void TableWithoutIdleFieldsHasNoIdleColumn()
    {
        string[] results = ["1 to-vhost split 64 dpdk/dpdk 1 4.0 1 0@1,1@1 0@0,1@0 1.0 1.0 450 450"];
        using var table = Table(results, json: false, runs: 1);
        Assert.Equal(0, table.ExitCode);
        Assert.DoesNotContain("rx idle", table.Stdout);
    }

    [Theory]
    // testpmd 22.11 and ours print the same line; with one stream per port it is in the port's block,
    // with several, one per stream: their mean is taken.
    [InlineData("  RX-bursts : 529698774 [99% of 0 pkts + 0% of 32 pkts + 0% of 1 pkts + 1% of other]\n  TX-bursts : 0 [100% of 0 pkts]\n", "99")]
    [InlineData("  RX-bursts : 10 [100% of 0 pkts]\n", "100")]
    [InlineData("  RX-bursts : 40 [20% of 0 pkts + 80% of 32 pkts]\n  RX-bursts : 40 [61% of 0 pkts + 39% of 32 pkts]\n", "40")]
    [InlineData("  RX-packets: 5  RX-dropped: 0  RX-total: 5\n", "-")]
    public void IdleShareIsReadFromTheBurstStatistics(string console, string idle)
    {
        using var p = Run("bash", "-c", $". '{Path.Combine(RepoPaths.Root, "perf/lib/vhost-procs.sh")}'; printf '%s' \"$1\" | idle_share", "_", console);
        Assert.Equal(0, p.ExitCode);
        Assert.Equal(idle, p.Stdout.Trim());
    }
}
