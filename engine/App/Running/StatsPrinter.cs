using System.Diagnostics;
using Datapath.Engine.Ports;

namespace Datapath.App.Running;

/// <summary>Port and forwarding statistics in testpmd's layout, so scripts written for it read ours.</summary>
public sealed class StatsPrinter
{
    readonly Dictionary<int, (PortStats Stats, long Ticks)> _last = new();

    public void PrintPortStats(TextWriter w, Port port)
    {
        var s = port.GetStats();
        long now = Stopwatch.GetTimestamp();
        double rxPps = 0, txPps = 0, rxBps = 0, txBps = 0;
        if (_last.TryGetValue(port.Id, out var prev))
        {
            double sec = (now - prev.Ticks) / (double)Stopwatch.Frequency;
            if (sec > 0)
            {
                rxPps = (s.RxPackets - prev.Stats.RxPackets) / sec;
                txPps = (s.TxPackets - prev.Stats.TxPackets) / sec;
                rxBps = (s.RxBytes - prev.Stats.RxBytes) * 8 / sec;
                txBps = (s.TxBytes - prev.Stats.TxBytes) * 8 / sec;
            }
        }
        _last[port.Id] = (s, now);
        w.WriteLine();
        w.WriteLine($"  ######################## NIC statistics for port {port.Id}  ########################");
        w.WriteLine($"  RX-packets: {s.RxPackets,-10} RX-missed: {s.RxMissed,-10} RX-bytes:  {s.RxBytes}");
        w.WriteLine($"  RX-errors: {s.RxErrors}");
        w.WriteLine($"  RX-nombuf:  {s.RxNoMbuf,-10}");
        w.WriteLine($"  TX-packets: {s.TxPackets,-10} TX-errors: {s.TxErrors,-10} TX-bytes:  {s.TxBytes}");
        w.WriteLine();
        w.WriteLine("  Throughput (since last show)");
        w.WriteLine($"  Rx-pps: {(ulong)rxPps,12}          Rx-bps: {(ulong)rxBps,12}");
        w.WriteLine($"  Tx-pps: {(ulong)txPps,12}          Tx-bps: {(ulong)txBps,12}");
        w.WriteLine("  ############################################################################");
    }
}
