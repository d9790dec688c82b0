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
    /// <summary>Buffers available now, counting no further than <paramref name="limit"/>: packed rings
    /// read one flags word per slot, so a burst must not look past what it can take.</summary>
    int CountAvailable(int limit);
    VirtqPop TryPop(Span<VirtqSegment> segments, out VirtqChain chain);
    bool PushUsed(ushort id, uint length);
    void UndoPop(ushort id);
}

internal readonly struct SplitOps(SplitVirtqueueDevice queue) : IRingOps
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int CountAvailable(int limit) => Math.Min(queue.AvailableCount, limit);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public VirtqPop TryPop(Span<VirtqSegment> segments, out VirtqChain chain) => queue.TryPop(segments, out chain);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool PushUsed(ushort id, uint length) => queue.PushUsed(id, length);
    public void UndoPop(ushort id) => queue.UndoPop(id);
}

internal readonly struct PackedOps(PackedVirtqueueDevice queue) : IRingOps
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int CountAvailable(int limit) => queue.CountAvailable(limit);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public VirtqPop TryPop(Span<VirtqSegment> segments, out VirtqChain chain) => queue.TryPop(segments, out chain);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool PushUsed(ushort id, uint length) => queue.PushUsed(id, length);
    public void UndoPop(ushort id) => queue.UndoPop(id);
}
