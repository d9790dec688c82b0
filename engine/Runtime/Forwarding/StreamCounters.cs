using System.Runtime.InteropServices;

namespace Datapath.Engine.Forwarding;

/// <summary>
/// One stream's counters with a cache line of padding on each side: the stream's lcore writes them
/// every burst, and no neighbouring object (another lcore's stream) may share their line.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
public struct StreamCounters
{
    [FieldOffset(64)] public ulong RxPackets;
    [FieldOffset(72)] public ulong TxPackets;
    /// <summary>Packets the tx queue did not accept (freed by the mode).</summary>
    [FieldOffset(80)] public ulong Dropped;
    [FieldOffset(88)] public ulong BadIpChecksum;
    [FieldOffset(96)] public ulong BadL4Checksum;
    [FieldOffset(104)] public ulong RxBursts;
    [FieldOffset(112)] public ulong TxBursts;
    /// <summary>Packets a mode answered or consumed itself (icmpecho: not for us, not ARP/ICMP).</summary>
    [FieldOffset(120)] public ulong Ignored;
}
