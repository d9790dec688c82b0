namespace Datapath.Drivers.Virtio;

/// <summary>
/// A view of the three parts of a split virtqueue in memory (virtio 1.2 §2.7), wherever they are:
/// one block laid out by <see cref="SplitRingLayout"/>, or three addresses a peer gave us
/// (vhost-user SET_VRING_ADDR, virtio-pci queue_desc/driver/device). Only pointers; no state.
/// </summary>
public readonly unsafe struct SplitRing
{
    public readonly int Size;
    public readonly VirtqDescriptor* Desc;
    public readonly byte* Avail;
    public readonly byte* Used;

    /// <summary>Flag in avail->flags: the driver does not want used-buffer notifications (§2.7.7).</summary>
    public const ushort AvailFlagNoInterrupt = 1;
    /// <summary>Flag in used->flags: the device does not want available-buffer notifications (§2.7.10).</summary>
    public const ushort UsedFlagNoNotify = 1;

    public SplitRing(int size, byte* desc, byte* avail, byte* used)
    {
        if (!SplitRingLayout.IsValidQueueSize(size))
            throw new ArgumentOutOfRangeException(nameof(size), size, "split virtqueue size must be a power of two ≤ 32768 (virtio 1.2 §2.7)");
        if (desc == null || avail == null || used == null) throw new ArgumentNullException(nameof(desc), "split ring part is null");
        if (((nuint)desc & 15) != 0 || ((nuint)avail & 1) != 0 || ((nuint)used & 3) != 0)
            throw new ArgumentException("split ring parts misaligned (virtio 1.2 §2.7: desc 16, avail 2, used 4)");
        Size = size;
        Desc = (VirtqDescriptor*)desc;
        Avail = avail;
        Used = used;
    }

    // §2.7.6 struct virtq_avail { le16 flags; le16 idx; le16 ring[size]; le16 used_event; }
    public ushort* AvailFlags => (ushort*)Avail;
    public ushort* AvailIdx => (ushort*)Avail + 1;
    public ushort* AvailRing => (ushort*)Avail + 2;
    public ushort* UsedEvent => (ushort*)Avail + 2 + Size;

    // §2.7.8 struct virtq_used { le16 flags; le16 idx; struct virtq_used_elem ring[size]; le16 avail_event; }
    public ushort* UsedFlags => (ushort*)Used;
    public ushort* UsedIdx => (ushort*)Used + 1;
    public VirtqUsedElement* UsedRing => (VirtqUsedElement*)(Used + 4);
    public ushort* AvailEvent => (ushort*)(Used + 4 + 8 * Size);
}
