using System.Diagnostics;
using System.Text.RegularExpressions;
using Datapath.App.Running;
using Datapath.Engine.Forwarding;

namespace Datapath.Tests.App;

/// <summary>
/// --record-burst-stats and `set record-burst-stats on|off`: the RX-bursts / TX-bursts lines testpmd
/// prints with its forward statistics, in its format, so scripts written for testpmd read ours.
/// </summary>
public class BurstStatsTests
{
    static ulong[] Spread(params (int Size, ulong Bursts)[] entries)
    {
        var s = new ulong[ForwardingConfig.MaxBurst + 1];
        foreach (var (size, bursts) in entries) s[size] = bursts;
        return s;
    }

    [Fact]
    public void The_line_shows_empty_bursts_then_the_two_commonest_sizes_then_the_rest()
    {
        // Shares round down; "other" takes what they leave: 16 + 83 + 0 + 1 = 100.
        var s = Spread((0, 1600), (32, 8305), (3, 45), (7, 30), (9, 20));
        Assert.Equal("  RX-bursts : 10000 [16% of 0 pkts + 83% of 32 pkts + 0% of 3 pkts + 1% of other]", BurstStatsLine.Format("RX", s));
    }

    [Fact]
    public void The_line_ends_once_the_sizes_shown_cover_every_burst()
    {
        Assert.Equal("  TX-bursts : 40 [25% of 0 pkts + 75% of 32 pkts]", BurstStatsLine.Format("TX", Spread((0, 10), (32, 30))));
        Assert.Equal("  RX-bursts : 7 [100% of 0 pkts]", BurstStatsLine.Format("RX", Spread((0, 7))));
        // No empty polls: the 0-packet entry still leads, at 0%.
        Assert.Equal("  TX-bursts : 3 [0% of 0 pkts + 100% of 32 pkts]", BurstStatsLine.Format("TX", Spread((32, 3))));
    }

    [Fact]
    public void Equal_counts_list_the_smaller_size_first_and_no_bursts_give_no_line()
    {
        Assert.Equal("  RX-bursts : 30 [33% of 0 pkts + 33% of 4 pkts + 34% of 8 pkts]", BurstStatsLine.Format("RX", Spread((0, 10), (8, 10), (4, 10))));
        Assert.Null(BurstStatsLine.Format("RX", Spread()));
    }

    [Fact]
    public void The_console_prints_burst_lines_while_recording_and_none_after_it_is_turned_off()
    {
        using var console = new ConsoleSession("--lcores", "0@0,1@1", "--vdev", "net_ring0", "--vdev", "net_ring1,peer=net_ring0", "--", "-i", "--record-burst-stats");
        console.Run("start tx_first");
        // The lcore's polls show up in RX-bursts; wait for them (a deadline only against a hang).
        var clock = Stopwatch.StartNew();
        string shown;
        do
        {
            shown = console.Run("show fwd stats all");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), shown);
        } while (!shown.Contains("RX-bursts"));
        string stop = console.Run("stop");
        // Two ports, one stream each way: each port's block has both lines; io sends what it receives,
        // and tx_first's bursts were full ones.
        Assert.Equal(2, Regex.Matches(stop, @"  RX-bursts : \d+ \[\d+% of 0 pkts").Count);
        Assert.Equal(2, Regex.Matches(stop, @"  TX-bursts : \d+ \[\d+% of 0 pkts \+ \d+% of 32 pkts").Count);

        Assert.Contains("Please stop forwarding first", console.Run("start") + console.Run("set record-burst-stats off"));
        console.Run("stop");
        Assert.Contains("Burst statistics recording off", console.Run("set record-burst-stats off"));
        console.Run("start tx_first");
        Assert.DoesNotContain("-bursts :", console.Run("stop"));
    }
}
