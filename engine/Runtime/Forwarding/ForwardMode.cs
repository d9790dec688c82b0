using Datapath.Engine.Packets;

namespace Datapath.Engine.Forwarding;

/// <summary>
/// What a forwarding lcore does with each of its streams on every pass (testpmd's fwd_engine).
/// <see cref="Run"/> is the data path: no allocation, no lock, no exception. Modes are stateless
/// across streams except for what <see cref="Prepare"/> sets up before the lcores start.
/// </summary>
public abstract class ForwardMode
{
    public abstract string Name { get; }

    /// <summary>Called on the control thread before the lcores start (templates, per-stream state).</summary>
    public virtual void Prepare(ForwardingContext context) { }

    /// <summary>One pass over one stream; <paramref name="burst"/> is the lcore's scratch array.</summary>
    public abstract void Run(ForwardStream stream, Span<Packet> burst);

    /// <summary>
    /// Sends pkts on the stream's tx queue, counts what went, frees what did not (testpmd drops the
    /// rest rather than retrying, unless the mode runs with `retry`).
    /// </summary>
    protected static void SendOrDrop(ForwardStream stream, ReadOnlySpan<Packet> pkts)
    {
        if (pkts.Length == 0) return;
        int sent = stream.TxPort.TxBurst(stream.TxQueue, pkts);
        // `retry` (testpmd pkt_burst_io_forward): wait a moment for the peer to free room, a few times.
        for (int r = 0; sent < pkts.Length && r < stream.TxRetries; r++)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + stream.TxRetryDelayTicks;
            while (System.Diagnostics.Stopwatch.GetTimestamp() < until) Thread.SpinWait(8);
            sent += stream.TxPort.TxBurst(stream.TxQueue, pkts[sent..]);
        }
        stream.Counters.TxPackets += (ulong)sent;
        stream.Counters.TxBursts++;
        stream.TxBurstSpread?.Record(sent);
        if (sent < pkts.Length)
        {
            stream.Counters.Dropped += (ulong)(pkts.Length - sent);
            PacketPool.FreeBulk(pkts[sent..]);
        }
    }

    /// <summary>Receives a burst on the stream's rx queue and counts it.</summary>
    protected static int Receive(ForwardStream stream, Span<Packet> burst)
    {
        int n = stream.RxPort.RxBurst(stream.RxQueue, burst);
        // testpmd counts the empty polls too: they show how often the queue had nothing waiting.
        stream.RxBurstSpread?.Record(n);
        if (n == 0) return 0;
        stream.Counters.RxPackets += (ulong)n;
        stream.Counters.RxBursts++;
        return n;
    }
}
