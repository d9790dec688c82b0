namespace Datapath.Engine.Ports;

/// <summary>A snapshot of a port's basic counters (rte_eth_stats), per queue and in total.</summary>
public sealed record PortStats
{
    public ulong RxPackets { get; init; }
    public ulong TxPackets { get; init; }
    public ulong RxBytes { get; init; }
    public ulong TxBytes { get; init; }
    /// <summary>Rx packets dropped because the queue or the device was full (imissed).</summary>
    public ulong RxMissed { get; init; }
    public ulong RxErrors { get; init; }
    public ulong TxErrors { get; init; }
    /// <summary>Rx buffer allocation failures (rx_nombuf).</summary>
    public ulong RxNoMbuf { get; init; }
    public required QueueCounters[] RxQueues { get; init; }
    public required QueueCounters[] TxQueues { get; init; }

    public static PortStats Empty { get; } = new() { RxQueues = [], TxQueues = [] };

    public PortStats Minus(PortStats baseline)
    {
        static QueueCounters[] Sub(QueueCounters[] a, QueueCounters[] b) =>
            a.Select((q, i) => i < b.Length
                ? new QueueCounters { Packets = q.Packets - b[i].Packets, Bytes = q.Bytes - b[i].Bytes, Errors = q.Errors - b[i].Errors, Dropped = q.Dropped - b[i].Dropped }
                : q).ToArray();
        return new PortStats
        {
            RxPackets = RxPackets - baseline.RxPackets,
            TxPackets = TxPackets - baseline.TxPackets,
            RxBytes = RxBytes - baseline.RxBytes,
            TxBytes = TxBytes - baseline.TxBytes,
            RxMissed = RxMissed - baseline.RxMissed,
            RxErrors = RxErrors - baseline.RxErrors,
            TxErrors = TxErrors - baseline.TxErrors,
            RxNoMbuf = RxNoMbuf - baseline.RxNoMbuf,
            RxQueues = Sub(RxQueues, baseline.RxQueues),
            TxQueues = Sub(TxQueues, baseline.TxQueues),
        };
    }
}
