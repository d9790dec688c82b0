using Datapath.Drivers.Virtio;
using Datapath.Hugepages;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// Our own hugepage region for the port's virtqueues: page 0 holds the constant zero tx header and
/// the control queue's command buffers, then one page-aligned block per virtqueue. The region's fd
/// goes into the backend's memory table beside the packet pool's.
/// </summary>
public sealed unsafe class VirtqRings : IDisposable
{
    const int Page = 4096;
    public const int ZeroHeaderOffset = 0;
    public const int ControlBufferOffset = 64;

    readonly int _blockBytes;

    public HugepageRegion Region { get; }
    public int QueueSize { get; }
    public int Queues { get; }
    public int ControlQueueSize { get; }

    public VirtqRings(string name, int queues, int queueSize, int controlQueueSize, MemoryOptions memory)
    {
        Queues = queues;
        QueueSize = queueSize;
        ControlQueueSize = controlQueueSize;
        // Room for either format: the format is known only once features are negotiated.
        _blockBytes = AlignPage(Math.Max(new SplitRingLayout(queueSize).TotalSize, new PackedRingLayout(queueSize).TotalSize));
        int control = controlQueueSize > 0
            ? AlignPage(Math.Max(new SplitRingLayout(controlQueueSize).TotalSize, new PackedRingLayout(controlQueueSize).TotalSize))
            : 0;
        Region = HugepageRegion.Create($"{name}-rings", (ulong)(Page + queues * _blockBytes + control), memory);
        new Span<byte>(Region.Base, Page).Clear();
    }

    static int AlignPage(int n) => (n + Page - 1) & ~(Page - 1);

    public byte* ZeroHeader => Region.Base + ZeroHeaderOffset;
    public byte* ControlBuffer => Region.Base + ControlBufferOffset;

    /// <summary>The split ring of data queue <paramref name="i"/> (vring order: rx0, tx0, rx1, tx1, …).</summary>
    public SplitRing Split(int i) => new SplitRingLayout(QueueSize).Place(Region.Base + Page + i * _blockBytes);

    /// <summary>The packed ring of data queue <paramref name="i"/>, in the same block <see cref="Split"/> would use.</summary>
    public PackedRing Packed(int i) => new PackedRingLayout(QueueSize).Place(Region.Base + Page + i * _blockBytes);

    public SplitRing ControlSplit() => new SplitRingLayout(ControlQueueSize).Place(ControlBlock);

    public PackedRing ControlPacked() => new PackedRingLayout(ControlQueueSize).Place(ControlBlock);

    byte* ControlBlock => Region.Base + Page + Queues * _blockBytes;

    public void Dispose() => Region.Dispose();
}
