using System.Text.Json;
using System.Text.RegularExpressions;

namespace Datapath.Tests.App;

/// <summary>
/// The interactive console as a person uses it: on a terminal, typing commands and reading the
/// screen. Two ring ports wired back to back, so `start tx_first` has traffic to forward.
/// </summary>
public class ConsoleTests
{
    static readonly string[] RingPair = ["--lcores", "0@0,1@1", "--vdev", "net_ring0", "--vdev", "net_ring1,peer=net_ring0", "--", "-i"];

    static ulong RxPackets(string screen, int port)
    {
        var m = Regex.Match(screen, $@"NIC statistics for port {port} [\s\S]*?RX-packets: (\d+)");
        Assert.True(m.Success, screen);
        return ulong.Parse(m.Groups[1].Value);
    }

    [Fact]
    public void CountersMoveAfterStartTxFirstAndStopPrintsTheAccumulatedBlock()
    {
        using var console = new ConsoleSession(RingPair);
        string started = console.Run("start tx_first");
        Assert.Contains("io packet forwarding - ports=2 - cores=1 - streams=2", started);

        ulong first = RxPackets(console.Run("show port stats all"), 0);
        ulong later = first;
        // Counters move; how fast is the machine's business, so only "eventually more" is asked.
        for (int i = 0; i < 100 && later <= first; i++) later = RxPackets(console.Run("show port stats all"), 0);
        Assert.True(later > first, $"RX-packets stayed at {first}");
        string shown = console.Run("show port stats 1");
        Assert.Contains("Throughput (since last show)", shown);
        Assert.Matches(@"Rx-pps: +\d+ +Rx-bps: +\d+", shown);

        string stop = console.Run("stop");
        Assert.Contains("Telling cores to stop...", stop);
        Assert.Contains("---------------------- Forward statistics for port 0  ----------------------", stop);
        Assert.Contains("+++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++", stop);
        var acc = Regex.Match(stop, @"Accumulated[\s\S]*?RX-packets: (\d+) +RX-dropped: (\d+) +RX-total: (\d+)");
        Assert.True(acc.Success, stop);
        Assert.True(ulong.Parse(acc.Groups[1].Value) > 0, stop);
        Assert.Contains("Done.", stop);

        Assert.Contains("Packet forwarding not started", console.Run("stop"));
        console.Process.Type("quit\r");
        Assert.True(console.Process.WaitForExit(TimeSpan.FromSeconds(60)), console.Process.Screen);
        Assert.Equal(0, console.Process.ExitCode);
        Assert.EndsWith("Bye...", console.Process.Screen.Trim());
    }

    [Fact]
    public void TabCompletesCommandWordsAndHistoryRecallsTheLastLine()
    {
        using var console = new ConsoleSession(RingPair);
        // "sho" + Tab becomes "show "; "port su" + Tab becomes "port summary ".
        console.Keys("sho\t");
        string shown = console.Run("port su\tall");
        Assert.Contains("Number of available ports: 2", shown);
        Assert.Matches(@"0 +02:00:00:00:00:[0-9a-f]{2} net_ring0 +net_ring +up", shown);
        Assert.Contains("testpmd> show port summary all\n", console.Process.Screen);

        // Up arrow brings the last command back; Enter runs it again.
        string again = console.Keys("\x1b[A\r");
        Assert.Contains("Number of available ports: 2", again);

        // Two Tabs on an ambiguous word list the choices.
        int before = console.Process.Screen.Length;
        console.Process.Type("show port s\t\t");
        Assert.True(console.Process.WaitFor("summary  stats\ntestpmd> show port s", TimeSpan.FromSeconds(30), before), console.Process.Screen[before..]);
        console.Process.Type("\x15"); // Ctrl-U: clear the line
        Assert.Contains("quit", console.Run("help"));
    }

    [Fact]
    public void BadCommandsPrintAMessageAndTheConsoleStaysUp()
    {
        using var console = new ConsoleSession(RingPair);
        Assert.Contains("Command not found", console.Run("warp 9"));
        string bad = console.Run("show port stats banana");
        Assert.Contains("Bad arguments", bad);
        Assert.Contains("usage: show port stats <port> [json]", bad);
        Assert.Contains("no port 7", console.Run("show port info 7"));
        Assert.Contains("out of range", console.Run("set burst 100000"));
        Assert.Contains("Set macswap packet forwarding mode", console.Run("set fwd macswap"));
        Assert.Contains("macswap packet forwarding", console.Run("show config fwd"));
        Assert.Contains("List of forwarding lcores:  1", console.Run("show config cores"));
        Assert.Contains("Infos for port 0", console.Run("show port info 0"));
        console.Process.Type("quit\r");
        Assert.True(console.Process.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, console.Process.ExitCode);
    }

    [Fact]
    public void StatsAsJsonParseAndPortsStopAndStartAgain()
    {
        using var console = new ConsoleSession(RingPair);
        console.Run("start tx_first 2");
        string json = console.Run("show port stats all json").Trim();
        string line = json.Split('\n').Single(l => l.StartsWith('{'));
        using var doc = JsonDocument.Parse(line);
        var ports = doc.RootElement.GetProperty("ports");
        Assert.Equal(2, ports.GetArrayLength());
        Assert.Equal("net_ring0", ports[0].GetProperty("name").GetString());
        Assert.True(ports[0].GetProperty("tx_packets").GetUInt64() > 0);

        Assert.Contains("Please stop forwarding first", console.Run("port stop all"));
        console.Run("stop");
        Assert.Contains("Done", console.Run("port stop 1"));
        Assert.Contains("Not all ports were started", console.Run("start"));
        console.Run("port start all");
        Assert.Contains("io packet forwarding", console.Run("start"));
        console.Run("stop");
        console.Run("set promisc all off");
        Assert.Contains("Promiscuous mode: disabled", console.Run("show port info 0"));
        Assert.Contains("rx_good_packets:", console.Run("show port xstats 0"));
        Assert.Contains("NIC statistics for port 0 cleared", console.Run("clear port stats 0"));
        console.Process.Type("quit\r");
        Assert.True(console.Process.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, console.Process.ExitCode);
    }

    [Fact]
    public void SigtermWhileForwardingStopsAndExitsZero()
    {
        using var console = new ConsoleSession(RingPair);
        console.Run("start tx_first");
        console.Process.Signal(15);
        Assert.True(console.Process.WaitForExit(TimeSpan.FromSeconds(60)), console.Process.Screen);
        Assert.Equal(0, console.Process.ExitCode);
        Assert.Contains("Accumulated forward statistics for all ports", console.Process.Screen);
    }
}
