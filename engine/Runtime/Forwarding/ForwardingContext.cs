using System.Net;
using Datapath.Engine.Net;
using Datapath.Engine.Ports;

namespace Datapath.Engine.Forwarding;

/// <summary>Port topology (testpmd --port-topology).</summary>
public enum PortTopology
{
    /// <summary>0↔1, 2↔3, …; an odd last port forwards to itself.</summary>
    Paired,
    /// <summary>0→1→2→…→0.</summary>
    Chained,
    /// <summary>Each port forwards to itself.</summary>
    Loop,
}

/// <summary>Everything a mode may read while preparing: the ports, their peers, the generator settings.</summary>
public sealed record ForwardingContext
{
    public required PortTable Ports { get; init; }
    public required IReadOnlyList<ForwardStream> Streams { get; init; }
    public int BurstSize { get; init; } = 32;
    /// <summary>--txpkts: segment lengths of generated packets (their sum is the frame length, without FCS).</summary>
    public int[] TxPacketSegments { get; init; } = [64];
    /// <summary>Destination MAC per port (testpmd --eth-peer; default 02:00:00:00:00:&lt;port&gt;).</summary>
    public required IReadOnlyList<MacAddress> PeerMacs { get; init; }
    public IPAddress TxSourceIp { get; init; } = IPAddress.Parse("198.18.0.1");
    public IPAddress TxDestinationIp { get; init; } = IPAddress.Parse("198.18.0.2");
    public ushort TxSourcePort { get; init; } = 9;
    public ushort TxDestinationPort { get; init; } = 9;
    /// <summary>flowgen: how many distinct flows to cycle through.</summary>
    public int FlowCount { get; init; } = 1024;
}
