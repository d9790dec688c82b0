using System.Runtime.InteropServices;

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
}
