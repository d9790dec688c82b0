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
    public const int MaxBurst = 512;
}
