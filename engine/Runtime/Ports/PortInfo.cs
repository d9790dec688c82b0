using Datapath.Engine.Net;

namespace Datapath.Engine.Ports;

/// <summary>What a port is and can do (rte_eth_dev_info).</summary>
public sealed record PortInfo
{
    public required string DriverName { get; init; }
    public required string DeviceName { get; init; }
    public MacAddress Mac { get; init; }
    public int MaxRxQueues { get; init; } = 1;
    public int MaxTxQueues { get; init; } = 1;
    public int MaxDescriptors { get; init; } = 4096;
    public int MinDescriptors { get; init; } = 1;
    public int Mtu { get; init; } = 1500;
    public int MaxMtu { get; init; } = 9000;
    public PortCapabilities Capabilities { get; init; }
}

[Flags]
public enum PortCapabilities
{
    None = 0,
    RxChecksum = 1,
    TxChecksum = 2,
    TxSegmentation = 4,
    MultiSegment = 8,
    Promiscuous = 16,
}
