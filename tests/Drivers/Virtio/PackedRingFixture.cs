using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// One packed ring in native memory plus a buffer arena standing in for guest memory (as
/// <see cref="SplitRingFixture"/>): both sides are the real classes, sharing the ring.
/// </summary>
sealed unsafe class PackedRingFixture : IDisposable
{
    public const ulong GuestBase = SplitRingFixture.GuestBase;
    public const int ArenaSize = 1 << 20;
    const ushort Avail = PackedDescriptor.FlagAvail, Used = PackedDescriptor.FlagUsed;

    public readonly PackedRing Ring;
    public readonly byte* Arena;
    public readonly GuestMemoryRegion Memory;
    readonly byte* _ringMemory;
    readonly int _ringBytes;

    /// <summary>Every byte of the ring (descriptors, avail/used or event areas), to compare two rings.</summary>
    public ReadOnlySpan<byte> RingBytes => new(_ringMemory, _ringBytes);

    public PackedRingFixture(int queueSize)
    {
        var layout = new PackedRingLayout(queueSize);
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

    /// <summary>A driver descriptor made available in lap <paramref name="wrap"/> (§2.8.1).</summary>
    public void PutAvailable(int slot, ulong addr, uint len, ushort id, ushort flags = 0, bool wrap = true)
        => Ring.Desc[slot] = new PackedDescriptor { Addr = addr, Len = len, Id = id, Flags = (ushort)(flags | (wrap ? Avail : Used)) };

    /// <summary>A device descriptor marked used in lap <paramref name="wrap"/>, WRITE set when len is meaningful (§2.8.3).</summary>
    public void PutUsed(int slot, ushort id, uint len, bool wrap = true)
        => Ring.Desc[slot] = new PackedDescriptor
        {
            Id = id,
            Len = len,
            Flags = (ushort)((wrap ? Avail | Used : 0) | (len != 0 ? PackedDescriptor.FlagWrite : 0)),
        };

    public void SetDriverEvent(ushort flags, ushort offWrap = 0) => *Ring.DriverEvent = new PackedEventSuppression { Flags = flags, OffWrap = offWrap };
    public void SetDeviceEvent(ushort flags, ushort offWrap = 0) => *Ring.DeviceEvent = new PackedEventSuppression { Flags = flags, OffWrap = offWrap };

    public void Dispose()
    {
        NativeMemory.AlignedFree(_ringMemory);
        NativeMemory.AlignedFree(Arena);
    }
}
