using Datapath.Engine.Ports;

namespace Datapath.Engine.Forwarding;

/// <summary>One rx queue feeding one tx queue (testpmd's fwd_stream). Polled by exactly one lcore.</summary>
public sealed class ForwardStream(int index, Port rxPort, int rxQueue, Port txPort, int txQueue)
{
    public int Index { get; } = index;
    public Port RxPort { get; } = rxPort;
    public int RxQueue { get; } = rxQueue;
    public Port TxPort { get; } = txPort;
    public int TxQueue { get; } = txQueue;
    /// <summary>Written only by the stream's lcore.</summary>
    public StreamCounters Counters;
    /// <summary>Retries of a partly sent burst before the rest is dropped (0: drop at once).</summary>
    public int TxRetries { get; init; }
    public long TxRetryDelayTicks { get; init; }
    /// <summary>Burst sizes seen on the rx and tx queue (null unless the burst statistics are recorded).</summary>
    public BurstSpread? RxBurstSpread { get; init; }
    public BurstSpread? TxBurstSpread { get; init; }
    /// <summary>The lcore that polls this stream.</summary>
    public int Lcore { get; internal set; } = -1;

    StreamCounters _baseline;

    /// <summary>Counters since the last <see cref="ResetCounters"/> (the lcore keeps counting; nothing races).</summary>
    public StreamCounters Snapshot()
    {
        var c = Counters;
        c.RxPackets -= _baseline.RxPackets;
        c.TxPackets -= _baseline.TxPackets;
        c.Dropped -= _baseline.Dropped;
        c.BadIpChecksum -= _baseline.BadIpChecksum;
        c.BadL4Checksum -= _baseline.BadL4Checksum;
        c.RxBursts -= _baseline.RxBursts;
        c.TxBursts -= _baseline.TxBursts;
        c.Ignored -= _baseline.Ignored;
        return c;
    }

    public void ResetCounters()
    {
        _baseline = Counters;
        RxBurstSpread?.Reset();
        TxBurstSpread?.Reset();
    }

    public override string ToString() =>
        $"RX P={RxPort.Id}/Q={RxQueue} (socket 0) -> TX P={TxPort.Id}/Q={TxQueue} (socket 0)";
}
