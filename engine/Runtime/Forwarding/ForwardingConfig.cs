namespace Datapath.Engine.Forwarding;

/// <summary>testpmd's forwarding configuration: mode, cores, topology, burst, generated packet shape.</summary>
public sealed record ForwardingConfig
{
    public string Mode { get; init; } = "io";
    /// <summary>Forwarding lcores to use (--nb-cores); 0 = every worker lcore.</summary>
    public int Cores { get; init; }
    public PortTopology Topology { get; init; } = PortTopology.Paired;
    public int BurstSize { get; init; } = 32;
    public int[] TxPacketSegments { get; init; } = [64];
    public int FlowCount { get; init; } = 1024;
    /// <summary>
    /// testpmd's `set fwd MODE retry`: when a tx queue takes only part of a burst, try the rest again
    /// up to <see cref="TxRetryCount"/> times, <see cref="TxRetryDelayMicroseconds"/> apart, before
    /// dropping it (a peer that refills its rx ring late, e.g. a guest under load).
    /// </summary>
    public bool TxRetry { get; init; }
    /// <summary>testpmd --record-burst-stats: count the bursts of each size per stream, rx and tx.</summary>
    public bool RecordBurstStats { get; init; }
    /// <summary>testpmd's BURST_TX_RETRIES.</summary>
    public int TxRetryCount { get; init; } = 64;
    /// <summary>testpmd's BURST_TX_WAIT_US.</summary>
    public int TxRetryDelayMicroseconds { get; init; } = 1;
    public const int MaxBurst = 512;
}
