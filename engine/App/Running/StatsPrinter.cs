using System.Diagnostics;
using Datapath.Engine.Forwarding;
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

    public static void PrintForwardStats(TextWriter w, ForwardingEngine fwd)
    {
        foreach (var s in fwd.Streams)
        {
            var c = s.Snapshot();
            w.WriteLine();
            w.WriteLine($"  ------- Forward Stats for RX Port={s.RxPort.Id,2}/Queue={s.RxQueue,2} -> TX Port={s.TxPort.Id,2}/Queue={s.TxQueue,2} -------");
            w.WriteLine($"  RX-packets: {c.RxPackets,-14} TX-packets: {c.TxPackets,-14} TX-dropped: {c.Dropped,-14}");
            if (c.BadIpChecksum + c.BadL4Checksum > 0)
                w.WriteLine($"  RX- bad IP checksum: {c.BadIpChecksum,-14} Rx- bad L4 checksum: {c.BadL4Checksum,-14}");
        }
        var t = fwd.Totals();
        w.WriteLine();
        w.WriteLine("  +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++");
        w.WriteLine($"  RX-packets: {t.RxPackets,-14} RX-dropped: {0,-14} RX-total: {t.RxPackets,-14}");
        w.WriteLine($"  TX-packets: {t.TxPackets,-14} TX-dropped: {t.Dropped,-14} TX-total: {t.TxPackets + t.Dropped,-14}");
        w.WriteLine("  ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++");
    }
}
