using System.Runtime.InteropServices;
using System.Threading;

namespace Datapath.Drivers.Virtio;

/// <summary>struct pvirtq_desc (virtio 1.2 §2.8.13): one slot of a packed ring.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PackedDescriptor
{
    public const int Size = 16;
    public const ushort FlagNext = 1;
    public const ushort FlagWrite = 2;
    public const ushort FlagIndirect = 4;
    /// <summary>§2.8.1: set to the driver's avail wrap counter when the driver makes the slot available.</summary>
    public const ushort FlagAvail = 1 << 7;
    /// <summary>§2.8.1: set to the device's used wrap counter when the device marks the slot used.</summary>
    public const ushort FlagUsed = 1 << 15;

    public ulong Addr;
    public uint Len;
    public ushort Id;
    public ushort Flags;

    /// <summary>
    /// One read of a descriptor the peer can rewrite at any time. Flags first, with acquire: in a
    /// ring slot the flags publish the rest (§2.8.21.1, "Updating flags"), so addr/len/id must
    /// not be read before them. Each field is read exactly once; validation uses the copy.
    /// </summary>
    public static unsafe PackedDescriptor ReadOnce(PackedDescriptor* p)
    {
        ushort flags = Volatile.Read(ref p->Flags);
        return new PackedDescriptor
        {
            Flags = flags,
            Addr = Volatile.Read(ref p->Addr),
            Len = Volatile.Read(ref p->Len),
            Id = Volatile.Read(ref p->Id),
        };
    }

    /// <summary>§2.8.1: AVAIL equal to the wrap counter and USED its inverse — made available in that lap.</summary>
    public static bool IsAvailable(ushort flags, bool wrap)
        => ((flags & FlagAvail) != 0) == wrap && ((flags & FlagUsed) != 0) != wrap;

    /// <summary>§2.8.1: AVAIL and USED both equal to the wrap counter — marked used in that lap.</summary>
    public static bool IsUsed(ushort flags, bool wrap)
        => ((flags & FlagAvail) != 0) == wrap && ((flags & FlagUsed) != 0) == wrap;
}

/// <summary>struct pvirtq_event_suppress (virtio 1.2 §2.8.10, §2.8.14): driver and device event areas.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PackedEventSuppression
{
    /// <summary>Notifications on every event.</summary>
    public const ushort Enable = 0;
    /// <summary>No notifications.</summary>
    public const ushort Disable = 1;
    /// <summary>Notify when the ring reaches the position in <see cref="OffWrap"/> (needs EVENT_IDX).</summary>
    public const ushort Desc = 2;

    /// <summary>Bits 0–14: ring offset; bit 15: wrap counter.</summary>
    public ushort OffWrap;
    public ushort Flags;

    /// <summary>§2.8.14: desc_event_flags is 2 bits; the rest is reserved.</summary>
    public const ushort FlagsMask = 3;

    /// <summary>
    /// The notification decision for the side that just moved its ring position from
    /// <c>next - moved</c> to <paramref name="next"/> (in the lap <paramref name="wrap"/>), given the
    /// peer's event suppression structure read as one 32-bit snapshot (§2.8.10, §2.8.14).
    /// ENABLE, the reserved value 3, and DESC without EVENT_IDX all notify: a spurious
    /// notification is harmless, a missing one stalls the peer.
    /// </summary>
    public static bool ShouldNotify(uint snapshot, bool eventIdx, int size, ushort next, bool wrap, int moved)
    {
        ushort offWrap = (ushort)snapshot;
        ushort flags = (ushort)((snapshot >> 16) & FlagsMask);
        if (flags == Disable) return false;
        if (flags != Desc || !eventIdx) return true;
        if (moved == 0) return false;
        if (moved >= size) return true; // a whole lap or more since the last decision: cannot tell, notify
        // Linear positions: `next` in [0, size) of the current lap; an event offset whose wrap bit
        // differs from ours lies in the previous lap, one ring size earlier. Then the usual
        // event-index test (§2.7.7.2 arithmetic) over [next - moved, next).
        int off = offWrap & 0x7FFF;
        if (((offWrap & 0x8000) != 0) != wrap) off -= size;
        return VirtqEvent.NeedEvent((ushort)off, next, (ushort)(next - moved));
    }

    /// <summary>off_wrap for "tell me when the slot at <paramref name="position"/> of lap <paramref name="wrap"/> is reached".</summary>
    public static ushort OffWrapOf(int position, bool wrap) => (ushort)(position | (wrap ? 0x8000 : 0));
}

/// <summary>
/// A view of the three parts of a packed virtqueue (virtio 1.2 §2.8) wherever they are: one block
/// from <see cref="PackedRingLayout.Place"/>, or the three addresses a peer gave us (vhost-user
/// SET_VRING_ADDR: desc, avail = driver area, used = device area). Only pointers; no state.
/// </summary>
public readonly unsafe struct PackedRing
{
    public readonly int Size;
    public readonly PackedDescriptor* Desc;
    /// <summary>Driver Event Suppression (the Driver Area): written by the driver, read by the device (§2.8.10).</summary>
    public readonly PackedEventSuppression* DriverEvent;
    /// <summary>Device Event Suppression (the Device Area): written by the device, read by the driver (§2.8.10).</summary>
    public readonly PackedEventSuppression* DeviceEvent;

    public PackedRing(int size, byte* desc, byte* driverEvent, byte* deviceEvent)
    {
        if (size < 1 || size > PackedRingLayout.MaxQueueSize)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"packed virtqueue size must be in 1..{PackedRingLayout.MaxQueueSize} (virtio 1.2 §2.8)");
        if (desc == null || driverEvent == null || deviceEvent == null) throw new ArgumentNullException(nameof(desc), "packed ring part is null");
        if (((nuint)desc & 15) != 0 || ((nuint)driverEvent & 3) != 0 || ((nuint)deviceEvent & 3) != 0)
            throw new ArgumentException("packed ring parts misaligned (virtio 1.2 §2.8.10.1: descriptors 16, event areas 4)");
        Size = size;
        Desc = (PackedDescriptor*)desc;
        DriverEvent = (PackedEventSuppression*)driverEvent;
        DeviceEvent = (PackedEventSuppression*)deviceEvent;
    }

    /// <summary>One 32-bit read of an event suppression structure: off_wrap (low half) and flags (high half) together.</summary>
    public static uint Snapshot(PackedEventSuppression* e) => Volatile.Read(ref *(uint*)e);
}

/// <summary>
/// Sizes and offsets of a packed virtqueue (virtio 1.2 §2.8): the descriptor ring (16-byte aligned),
/// then the driver and device event suppression areas (4-byte aligned each), in one block. The
/// queue size of a packed ring need not be a power of two (§2.8), up to 32768.
/// </summary>
public readonly struct PackedRingLayout
{
    public const int MaxQueueSize = 32768;

    public int QueueSize { get; }
    public int DescOffset => 0;
    public int DriverEventOffset { get; }
    public int DeviceEventOffset { get; }
    public int TotalSize { get; }

    public PackedRingLayout(int queueSize)
    {
        if (queueSize < 1 || queueSize > MaxQueueSize)
            throw new ArgumentOutOfRangeException(nameof(queueSize), queueSize, $"packed virtqueue size must be in 1..{MaxQueueSize} (virtio 1.2 §2.8)");
        QueueSize = queueSize;
        DriverEventOffset = PackedDescriptor.Size * queueSize;
        DeviceEventOffset = DriverEventOffset + 4;
        TotalSize = DeviceEventOffset + 4;
    }

    /// <summary>Places the three parts in <paramref name="memory"/> (at least <see cref="TotalSize"/> bytes, 16-byte aligned).</summary>
    public unsafe PackedRing Place(byte* memory)
        => new(QueueSize, memory + DescOffset, memory + DriverEventOffset, memory + DeviceEventOffset);
}
