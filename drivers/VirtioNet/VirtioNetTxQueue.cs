using Datapath.Engine.Packets;
using Datapath.Engine.Ports;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// A transmit virtqueue of either ring format (virtio 1.2 §5.1.6.2), chosen once by the port;
/// one virtual call per burst.
/// </summary>
public abstract unsafe class VirtioNetTxQueue(uint vringIndex, int size, QueueAddressing addressing)
    : VirtioNetQueue(vringIndex, size, addressing)
{
    /// <summary>Segments per packet we chain (plus the header descriptor).</summary>
    public const int MaxSegments = 32;

    /// <summary>Packets with a segment outside the memory table, or too many segments: freed, not sent.</summary>
    public ulong Unsendable;

    /// <summary>Queues what fits; returns how many packets the queue took (it frees them once sent).</summary>
    public abstract int Transmit(ReadOnlySpan<Packet> pkts, ref QueueCounters c);

    /// <summary>The backend can read only memory in our table (SET_MEM_TABLE): every segment must be in it.</summary>
    protected static bool Reachable(MappedMemory memory, Packet p)
    {
        for (var s = p; !s.IsNull; s = s.Next)
            if (!memory.Contains(s.Data, s.DataLength)) return false;
        return true;
    }
}
