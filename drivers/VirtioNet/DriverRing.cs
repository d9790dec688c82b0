using Datapath.Drivers.Virtio;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// The driver side of one virtqueue as the virtio-net queues use it, whatever its format. The queues
/// are generic over it and instantiated with the structs below, so the JIT compiles one path per
/// format with direct, inlinable calls: the format is chosen once, when features are negotiated.
/// </summary>
public interface IDriverRing
{
    int Size { get; }
    int FreeDescriptors { get; }
    /// <summary>Values from the device that the driver refused, all kinds together.</summary>
    ulong Errors { get; }
    /// <summary>Our addresses of the ring parts (vhost-user SET_VRING_ADDR: desc, avail, used).</summary>
    ulong DescAddress { get; }
    ulong AvailAddress { get; }
    ulong UsedAddress { get; }
    /// <summary>Where a (re)connected back-end resumes (SET_VRING_BASE).</summary>
    uint ResumeBase();
    bool TryAdd(ReadOnlySpan<VirtqBuffer> chain, nint cookie, out ushort id);
    /// <summary><see cref="TryAdd"/> for a chain of one buffer, without the chain walk (every rx buffer, most tx frames).</summary>
    bool TryAddOne(VirtqBuffer buffer, nint cookie, out ushort id);
    void Publish();
    bool NeedsNotify();
    int PollUsed(Span<VirtqCompletion> done);
    /// <summary>
    /// Transmit reclaims only when a burst might not fit, not every burst. Packed: the used
    /// descriptor polled next sits in the ring lines the device is reading and writing, so each poll
    /// is a cross-core transfer that also slows the device (bench-vhost packed 64 B, ours → DPDK:
    /// ×1.05). Split: used->idx is a line of its own, and a ring kept full packs producer and
    /// consumer onto neighbouring lines (split 64 B: ×0.87), so it reclaims every burst.
    /// </summary>
    bool ReclaimWhenFull { get; }
    /// <summary>Starts the ring again as new (packed rings after a back-end restart); the queue has freed its buffers.</summary>
    void Reset();
}

/// <summary>A split ring (virtio 1.2 §2.7); used notifications off (§2.7.7: we poll).</summary>
public readonly unsafe struct SplitDriverRing : IDriverRing
{
    readonly SplitVirtqueueDriver _driver;
    readonly SplitRing _ring;

    public SplitDriverRing(SplitRing ring, bool inOrder)
    {
        _ring = ring;
        _driver = new SplitVirtqueueDriver(ring, eventIdx: false, inOrder);
        _driver.DisableUsedNotifications();
    }

    public int Size => _ring.Size;
    public int FreeDescriptors => _driver.FreeDescriptors;
    public ulong Errors => _driver.Errors.Total;
    public ulong DescAddress => (ulong)_ring.Desc;
    public ulong AvailAddress => (ulong)_ring.Avail;
    public ulong UsedAddress => (ulong)_ring.Used;
    /// <summary>used->idx: every buffer made available after it is still ours and still in the ring.</summary>
    public uint ResumeBase() => Volatile.Read(ref *_ring.UsedIdx);
    public bool TryAdd(ReadOnlySpan<VirtqBuffer> chain, nint cookie, out ushort id) => _driver.TryAdd(chain, cookie, out id);
    public bool TryAddOne(VirtqBuffer buffer, nint cookie, out ushort id) => _driver.TryAddOne(buffer, cookie, out id);
    public void Publish() => _driver.Publish();
    public bool NeedsNotify() => _driver.NeedsNotify();
    public int PollUsed(Span<VirtqCompletion> done) => _driver.PollUsed(done);
    public bool ReclaimWhenFull => false;
    /// <summary>Split rings resume exactly from used->idx (SET_VRING_BASE); they are never reset.</summary>
    public void Reset() => throw new NotSupportedException("split rings resume from used->idx; they are not reset");
}

/// <summary>A packed ring (virtio 1.2 §2.8); used notifications off (§2.8.10: we poll).</summary>
public readonly unsafe struct PackedDriverRing : IDriverRing
{
    readonly PackedVirtqueueDriver _driver;
    readonly PackedRing _ring;

    public PackedDriverRing(PackedRing ring, bool inOrder)
    {
        _ring = ring;
        _driver = new PackedVirtqueueDriver(ring, eventIdx: false, inOrder);
        _driver.DisableUsedNotifications();
    }

    public int Size => _ring.Size;
    public int FreeDescriptors => _driver.FreeDescriptors;
    public ulong Errors => _driver.Errors.Total;
    public ulong DescAddress => (ulong)_ring.Desc;
    // vhost-user.rst, "Vring address description": a packed ring's event areas go in avail and used.
    public ulong AvailAddress => (ulong)_ring.DriverEvent;
    public ulong UsedAddress => (ulong)_ring.DeviceEvent;
    /// <summary>The slot after the last one the device marked used, wrap counter in bit 15 (<see cref="PackedVringBase"/>).</summary>
    public uint ResumeBase() => _driver.ResumeBase();
    public bool TryAdd(ReadOnlySpan<VirtqBuffer> chain, nint cookie, out ushort id) => _driver.TryAdd(chain, cookie, out id);
    public bool TryAddOne(VirtqBuffer buffer, nint cookie, out ushort id) => _driver.TryAddOne(buffer, cookie, out id);
    public void Publish() => _driver.Publish();
    public bool NeedsNotify() => _driver.NeedsNotify();
    public int PollUsed(Span<VirtqCompletion> done) => _driver.PollUsed(done);
    public bool ReclaimWhenFull => true;
    public void Reset()
    {
        _driver.Reset();
        _driver.DisableUsedNotifications();
    }
}
