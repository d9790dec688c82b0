using Datapath.Engine.Packets;
using Datapath.Engine.Ports;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// A receive virtqueue of either ring format (virtio 1.2 §5.1.6.3). The port picks the concrete
/// class once, when features are negotiated (split or packed, mergeable or not); the data path then
/// makes one virtual call per burst.
/// </summary>
public abstract class VirtioNetRxQueue(uint vringIndex, int size, QueueAddressing addressing)
    : VirtioNetQueue(vringIndex, size, addressing)
{
    /// <summary>Takes up to pkts.Length received packets (headers stripped) and refills the ring.</summary>
    public abstract int Receive(Span<Packet> pkts, ref QueueCounters c);
}
