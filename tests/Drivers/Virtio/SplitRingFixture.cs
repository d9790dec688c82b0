using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// One split ring in native memory plus a buffer arena standing in for guest memory: the driver
/// side addresses the arena by IOVA (GuestBase + offset), the device side translates those IOVAs
/// back through a <see cref="GuestMemoryRegion"/>. Both sides are the real classes, sharing the ring.
/// </summary>
sealed unsafe class SplitRingFixture : IDisposable
{
    public const ulong GuestBase = 0x4000_0000;
    public const int ArenaSize = 1 << 20;

    public readonly SplitRing Ring;
    public readonly byte* Arena;
    public readonly GuestMemoryRegion Memory;
    readonly byte* _ringMemory;
    readonly int _ringBytes;

    /// <summary>Every byte of the ring (descriptors, avail/used or event areas), to compare two rings.</summary>
    public ReadOnlySpan<byte> RingBytes => new(_ringMemory, _ringBytes);

    public SplitRingFixture(int queueSize)
    {
        var layout = new SplitRingLayout(queueSize);
        _ringMemory = (byte*)NativeMemory.AlignedAlloc((nuint)layout.TotalSize, 4096);
        _ringBytes = layout.TotalSize;
        new Span<byte>(_ringMemory, layout.TotalSize).Clear();
        Ring = layout.Place(_ringMemory);
        Arena = (byte*)NativeMemory.AlignedAlloc(ArenaSize, 4096);
        new Span<byte>(Arena, ArenaSize).Clear();
        Memory = new GuestMemoryRegion(GuestBase, (nint)Arena, ArenaSize);
    }

    public static ulong Iova(int offset) => GuestBase + (ulong)offset;

    // Hostile-peer helpers: write the shared ring directly, as a misbehaving peer would.

    public void PutDescriptor(int index, ulong addr, uint len, ushort flags = 0, ushort next = 0)
        => Ring.Desc[index] = new VirtqDescriptor { Addr = addr, Len = len, Flags = flags, Next = next };

    public void OfferHead(ushort head)
    {
        ushort idx = *Ring.AvailIdx;
        Ring.AvailRing[idx & (Ring.Size - 1)] = head;
        *Ring.AvailIdx = (ushort)(idx + 1);
    }

    public void WriteUsed(uint id, uint len)
    {
        ushort idx = *Ring.UsedIdx;
        Ring.UsedRing[idx & (Ring.Size - 1)] = new VirtqUsedElement { Id = id, Len = len };
        *Ring.UsedIdx = (ushort)(idx + 1);
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_ringMemory);
        NativeMemory.AlignedFree(Arena);
    }
}
