using System.Text.RegularExpressions;
using Datapath.Tests.Support;

namespace Datapath.Tests.App;

/// <summary>The engine as a process: packets move, SIGINT stops it cleanly with final statistics.</summary>
public class RunModeTests
{
    static readonly string[] RingPair = ["--vdev", "net_ring0", "--vdev", "net_ring1,peer=net_ring0"];

    [Fact]
    public void RingPairInIoForwardingMovesPacketsAndStopsOnSigint()
    {
        using var p = ChildProcess.Datapath(["--lcores", "0@0,1@1", .. RingPair, "--", "--forward-mode=io", "--tx-first", "--stats-period", "1"]);
        Assert.True(p.WaitForOutput("Rx-pps", TimeSpan.FromSeconds(60)), p.Stdout + p.Stderr);
        Assert.Contains("lcore 1 on CPU 1", p.Stdout);
        Assert.Contains("Port 0: net_ring net_ring0", p.Stdout);
        p.Signal(2);
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), "no exit after SIGINT");
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("Accumulated forward statistics for all ports", p.Stdout);
        var rx = Regex.Match(p.Stdout, @"Accumulated[\s\S]*?RX-packets: (\d+)");
        Assert.True(ulong.Parse(rx.Groups[1].Value) > 1000, p.Stdout);
        Assert.EndsWith("Bye...", p.Stdout.Trim());
    }

    [Fact]
    public void RunShWithNoArgumentsShowsTrafficThroughBothVirtioDrivers()
    {
        // What a newcomer types first. run.sh builds (a no-op here), sets up hugepages, execs datapath.
        using var p = new ChildProcess("bash", [Path.Combine(RepoPaths.Root, "run.sh")]);
        Assert.True(p.WaitForOutput("Rx-pps", TimeSpan.FromSeconds(180)), p.Stdout + p.Stderr);
        Assert.Contains("net_vhost net_vhost0", p.Stdout);
        Assert.Contains("net_virtio_user net_virtio_user0", p.Stdout);
        // Counters move: wait for a throughput line that is not zero.
        Assert.True(ChildProcessExtensions.WaitForMatch(p, @"Rx-pps:\s+[1-9]\d*", TimeSpan.FromSeconds(60)), p.Stdout);
        p.Signal(2);
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), "no exit after SIGINT");
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("Accumulated forward statistics for all ports", p.Stdout);
    }

    [Fact]
    public void SigtermAlsoStopsCleanly()
    {
        using var p = ChildProcess.Datapath(["--lcores", "0@0,1@1", "--no-huge", "--vdev", "net_null0", "--", "--forward-mode=rxonly"]);
        Assert.True(p.WaitForOutput("Press Ctrl-C", TimeSpan.FromSeconds(60)), p.Stdout + p.Stderr);
        p.Signal(15);
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("4 KiB pages (--no-huge)", p.Stdout);
    }
}
