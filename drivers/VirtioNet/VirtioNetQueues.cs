using Datapath.Engine.Packets;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// The one place the negotiated features pick a queue's code path (ring format, mergeable rx), for
/// every transport: virtio-user and virtio-pci build their queues here.
/// </summary>
public static class VirtioNetQueues
{
    /// <summary>Receive queue on ring <paramref name="i"/> of <paramref name="rings"/>, filled with buffers at once.</summary>
    public static VirtioNetRxQueue Rx(VirtqRings rings, int i, bool packed, bool mergeable, bool inOrder, PacketPool pool, ushort portId,
        QueueAddressing addressing = default) => (packed, mergeable) switch
    {
        (true, true) => new MergeableRxQueue<PackedDriverRing>((uint)i, new(rings.Packed(i), inOrder), pool, portId, addressing),
        (true, false) => new RxQueue<PackedDriverRing>((uint)i, new(rings.Packed(i), inOrder), pool, portId, addressing),
        (false, true) => new MergeableRxQueue<SplitDriverRing>((uint)i, new(rings.Split(i), inOrder), pool, portId, addressing),
        (false, false) => new RxQueue<SplitDriverRing>((uint)i, new(rings.Split(i), inOrder), pool, portId, addressing),
    };

    /// <summary>Transmit queue on ring <paramref name="i"/>; <paramref name="zeroHeader"/> as the device addresses it.</summary>
    public static VirtioNetTxQueue Tx(VirtqRings rings, int i, bool packed, bool inOrder, MappedMemory memory, ulong zeroHeader,
        QueueAddressing addressing = default) => packed
        ? new TxQueue<PackedDriverRing>((uint)i, new(rings.Packed(i), inOrder), memory, zeroHeader, addressing)
        : new TxQueue<SplitDriverRing>((uint)i, new(rings.Split(i), inOrder), memory, zeroHeader, addressing);
}
