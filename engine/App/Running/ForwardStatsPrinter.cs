using Datapath.Engine.Forwarding;

namespace Datapath.App.Running;

/// <summary>
/// The forward statistics testpmd prints on `stop` and `show fwd stats all`: one block per stream
/// when there are more streams than ports, one block per port, then the accumulated block.
/// Column widths follow testpmd's (%-14 values), so scripts that parse it parse ours.
/// </summary>
public static class ForwardStatsPrinter
{
    const string PortBorder = "----------------------";
    const string AccBorder = "+++++++++++++++";

    public static void Print(TextWriter w, ForwardSession session)
    {
        var fwd = session.Forwarding;
        var ports = fwd.Streams.SelectMany(s => new[] { s.RxPort, s.TxPort }).Distinct().OrderBy(p => p.Id).ToList();
        bool perStream = fwd.Streams.Count > ports.Count;
        var txDropped = new Dictionary<int, ulong>();
        var badIp = new Dictionary<int, ulong>();
        var badL4 = new Dictionary<int, ulong>();
        foreach (var s in fwd.Streams)
        {
            var c = s.Snapshot();
            if (perStream) PrintStream(w, s, c, fwd.Mode.Name);
            txDropped[s.TxPort.Id] = txDropped.GetValueOrDefault(s.TxPort.Id) + c.Dropped;
            badIp[s.RxPort.Id] = badIp.GetValueOrDefault(s.RxPort.Id) + c.BadIpChecksum;
            badL4[s.RxPort.Id] = badL4.GetValueOrDefault(s.RxPort.Id) + c.BadL4Checksum;
        }

        ulong rx = 0, tx = 0, rxDropped = 0, txDrop = 0, nombuf = 0;
        foreach (var p in ports)
        {
            var st = session.SinceStart(p);
            ulong dropped = txDropped.GetValueOrDefault(p.Id);
            rx += st.RxPackets; tx += st.TxPackets; rxDropped += st.RxMissed;
            txDrop += dropped + st.TxErrors; nombuf += st.RxNoMbuf;
            w.WriteLine();
            w.WriteLine($"  {PortBorder} Forward statistics for port {p.Id,-2} {PortBorder}");
            w.WriteLine($"  RX-packets: {st.RxPackets,-14} RX-dropped: {st.RxMissed,-14}RX-total: {st.RxPackets + st.RxMissed}");
            if (fwd.Mode.Name == "csum")
                w.WriteLine($"  Bad-ipcsum: {badIp.GetValueOrDefault(p.Id),-14} Bad-l4csum: {badL4.GetValueOrDefault(p.Id),-14}Bad-outer-l4csum: {0,-14}");
            if (st.RxErrors + st.RxNoMbuf > 0)
            {
                w.WriteLine($"  RX-error: {st.RxErrors}");
                w.WriteLine($"  RX-nombufs: {st.RxNoMbuf,-14}");
            }
            w.WriteLine($"  TX-packets: {st.TxPackets,-14} TX-dropped: {dropped,-14}TX-total: {st.TxPackets + dropped}");
            if (!perStream)
            {
                // testpmd: with a stream per port at most, the port's block shows the bursts of the
                // stream receiving on it and of the one sending on it.
                WriteBursts(w, "RX", fwd.Streams.FirstOrDefault(s => s.RxPort == p)?.RxBurstSpread);
                WriteBursts(w, "TX", fwd.Streams.FirstOrDefault(s => s.TxPort == p)?.TxBurstSpread);
            }
            w.WriteLine($"  {PortBorder}--------------------------------{PortBorder}");
        }

        w.WriteLine();
        w.WriteLine($"  {AccBorder} Accumulated forward statistics for all ports{AccBorder}");
        w.WriteLine($"  RX-packets: {rx,-14} RX-dropped: {rxDropped,-14}RX-total: {rx + rxDropped}");
        w.WriteLine($"  TX-packets: {tx,-14} TX-dropped: {txDrop,-14}TX-total: {tx + txDrop}");
        if (nombuf > 0) w.WriteLine($"  RX-nombufs: {nombuf,-14}");
        w.WriteLine($"  {AccBorder}++++++++++++++++++++++++++++++++++++++++++++++{AccBorder}");
    }

    static void PrintStream(TextWriter w, ForwardStream s, StreamCounters c, string mode)
    {
        // testpmd leaves out streams that saw nothing.
        if (c.RxPackets == 0 && c.TxPackets == 0 && c.Dropped == 0) return;
        w.WriteLine();
        w.WriteLine($"  ------- Forward Stats for RX Port={s.RxPort.Id,2}/Queue={s.RxQueue,2} -> TX Port={s.TxPort.Id,2}/Queue={s.TxQueue,2} -------");
        w.Write($"  RX-packets: {c.RxPackets,-14} TX-packets: {c.TxPackets,-14} TX-dropped: {c.Dropped,-14}");
        if (mode == "csum")
            w.WriteLine($"  RX- bad IP checksum: {c.BadIpChecksum,-14}  Rx- bad L4 checksum: {c.BadL4Checksum,-14}");
        else
            w.WriteLine();
        WriteBursts(w, "RX", s.RxBurstSpread);
        WriteBursts(w, "TX", s.TxBurstSpread);
    }

    static void WriteBursts(TextWriter w, string direction, BurstSpread? spread)
    {
        if (spread is null) return;
        if (BurstStatsLine.Format(direction, spread.Snapshot()) is { } line) w.WriteLine(line);
    }
}
