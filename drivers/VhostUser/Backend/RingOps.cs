using System.Runtime.CompilerServices;
using Datapath.Drivers.Virtio;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// What the rx/tx bursts need from a device-side virtqueue. Implemented by one struct per ring
/// format, so the burst code, generic over a struct, is compiled once per format with direct
/// (inlinable) calls: the split/packed choice is made once when the ring starts, not per packet.
/// </summary>
internal interface IRingOps
{
    /// <summary>Whether the driver has made a buffer available that we have not taken: one read of the ring.</summary>
    bool HasAvailable();
    /// <summary>
    /// How many packets a dequeue burst should get ready, at most <paramref name="limit"/>. Split: the
    /// buffers available (avail->idx is one read). Packed: all of <paramref name="limit"/> when the next
    /// slot is available — counting a packed ring reads the flags of every slot, lines the driver is
    /// writing, and the pops read each of them again (DPDK's vhost allocates the whole burst, too).
    /// </summary>
    int BurstSize(int limit);
    /// <summary>Buffers available now, counting no further than <paramref name="limit"/> (packed: a flags read per slot).</summary>
    int CountAvailable(int limit);
    VirtqPop TryPop(Span<VirtqSegment> segments, out VirtqChain chain);
    /// <summary>Takes <see cref="PackedVirtqueueDevice.BatchSize"/> one-descriptor buffers at once, or nothing
    /// (false): a fast path in front of <see cref="TryPop"/>, never instead of it.</summary>
    bool TryPopBatch(Span<VirtqSegment> segments, Span<VirtqChain> chains);
    /// <summary><see cref="TryPopBatch"/> with no call in it (flat memory map only; see the packed device's).</summary>
    bool TryPopBatchFlat(Span<VirtqSegment> segments, Span<VirtqChain> chains);
    /// <summary><see cref="TryPop"/> of a one-descriptor chain with no call in it (split: see the split device's).</summary>
    bool TryPopSingleFlat(ref VirtqSegment segment, ref VirtqChain chain);
    /// <summary>Whether <see cref="TryPopSingleFlat"/> can ever take anything: a constant of the format.</summary>
    bool PopsSingles { get; }
    /// <summary>Whether <see cref="TryPopBatch"/> can ever take anything: a constant of the format.</summary>
    bool PopsLines { get; }
    /// <summary>
    /// Whether a used entry pushed stays out of the driver's sight until the burst publishes (packed:
    /// staged): then the burst pushes as it goes, in pop order; else it collects them and pushes them
    /// once its copies are done (split: the push writes the used ring).
    /// </summary>
    bool UsedWaitsForPublish { get; }
    bool PushUsed(ushort id, uint length);
    /// <summary>Returns buffers taken by <see cref="TryPopBatch"/>, in pop order, nothing written into them.</summary>
    void PushUsedAll(ReadOnlySpan<VirtqChain> chains);
    void UndoPop(ushort id);
}

internal readonly struct SplitOps(SplitVirtqueueDevice queue) : IRingOps
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool HasAvailable() => queue.AvailableCount > 0;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int BurstSize(int limit) => CountAvailable(limit);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int CountAvailable(int limit) => Math.Min(queue.AvailableCount, limit);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public VirtqPop TryPop(Span<VirtqSegment> segments, out VirtqChain chain) => queue.TryPop(segments, out chain);
    // A split ring's buffers are not in ring order (avail->ring names them), so there is no line to take at once.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPopBatch(Span<VirtqSegment> segments, Span<VirtqChain> chains) => false;
    public bool TryPopBatchFlat(Span<VirtqSegment> segments, Span<VirtqChain> chains) => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPopSingleFlat(ref VirtqSegment segment, ref VirtqChain chain) => queue.TryPopSingleFlat(ref segment, ref chain);
    public bool PopsSingles => true;
    public bool PopsLines => false;
    public bool UsedWaitsForPublish => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool PushUsed(ushort id, uint length) => queue.PushUsed(id, length);
    public void PushUsedAll(ReadOnlySpan<VirtqChain> chains)
    {
        foreach (var c in chains) queue.PushUsed(c.Id, 0);
    }
    public void UndoPop(ushort id) => queue.UndoPop(id);
}

internal readonly struct PackedOps(PackedVirtqueueDevice queue) : IRingOps
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool HasAvailable() => queue.CountAvailable(1) > 0;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int BurstSize(int limit) => HasAvailable() ? limit : 0;
    public int CountAvailable(int limit) => queue.CountAvailable(limit);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public VirtqPop TryPop(Span<VirtqSegment> segments, out VirtqChain chain) => queue.TryPop(segments, out chain);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPopBatch(Span<VirtqSegment> segments, Span<VirtqChain> chains) => queue.TryPopBatch(segments, chains);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPopBatchFlat(Span<VirtqSegment> segments, Span<VirtqChain> chains) => queue.TryPopBatchFlat(segments, chains);
    // Packed rings take lines; a single buffer goes through TryPop.
    public bool TryPopSingleFlat(ref VirtqSegment segment, ref VirtqChain chain) => false;
    public bool PopsSingles => false;
    public bool PopsLines => true;
    public bool UsedWaitsForPublish => true;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool PushUsed(ushort id, uint length) => queue.PushUsed(id, length);
    public void PushUsedAll(ReadOnlySpan<VirtqChain> chains) => queue.PushUsedAll(chains);
    public void UndoPop(ushort id) => queue.UndoPop(id);
}
