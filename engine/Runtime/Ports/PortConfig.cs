using Datapath.Engine.Packets;

namespace Datapath.Engine.Ports;

/// <summary>How a port is to run (rte_eth_dev_configure + queue setup).</summary>
public sealed record PortConfig
{
    public int RxQueues { get; init; } = 1;
    public int TxQueues { get; init; } = 1;
    public int RxDescriptors { get; init; } = 1024;
    public int TxDescriptors { get; init; } = 1024;
    /// <summary>Where received packets come from.</summary>
    public required PacketPool Pool { get; init; }
}
