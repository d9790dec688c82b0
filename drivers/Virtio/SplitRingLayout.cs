namespace Datapath.Drivers.Virtio;

/// <summary>
/// Sizes and offsets of a split virtqueue (virtio 1.2 §2.7): descriptor table, available ring, used
/// ring, placed one after the other in one block. Alignments are the spec's (§2.7, table "Virtqueue
/// Part Alignment"): descriptors 16, available ring 2, used ring 4. Legacy transports want the used
/// ring on a 4096 boundary (§2.7.2); pass <paramref name="usedAlign"/> = 4096 for them.
/// </summary>
public readonly struct SplitRingLayout
{
    /// <summary>§2.7: the queue size of a split ring is a power of 2, at most 32768.</summary>
    public const int MaxQueueSize = 32768;
    public const int DescriptorAlign = 16;
    public const int AvailAlign = 2;
    public const int UsedAlign = 4;

    public int QueueSize { get; }
    public int DescOffset => 0;
    public int AvailOffset { get; }
    public int UsedOffset { get; }
    /// <summary>Bytes needed for all three parts, starting at a 16-byte aligned address.</summary>
    public int TotalSize { get; }

    public SplitRingLayout(int queueSize, int usedAlign = UsedAlign)
    {
        if (!IsValidQueueSize(queueSize))
            throw new ArgumentOutOfRangeException(nameof(queueSize), queueSize, $"split virtqueue size must be a power of two in 1..{MaxQueueSize} (virtio 1.2 §2.7)");
        if (usedAlign < UsedAlign || (usedAlign & (usedAlign - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(usedAlign), usedAlign, "used ring alignment must be a power of two ≥ 4");
        QueueSize = queueSize;
        AvailOffset = DescriptorTableBytes(queueSize);
        UsedOffset = AlignUp(AvailOffset + AvailRingBytes(queueSize), usedAlign);
        TotalSize = UsedOffset + UsedRingBytes(queueSize);
    }

    public static bool IsValidQueueSize(int n) => n >= 1 && n <= MaxQueueSize && (n & (n - 1)) == 0;

    /// <summary>§2.7.5: 16 bytes per descriptor.</summary>
    public static int DescriptorTableBytes(int n) => VirtqDescriptor.Size * n;
    /// <summary>§2.7.6: flags, idx, ring[n], used_event — all le16.</summary>
    public static int AvailRingBytes(int n) => 2 * (3 + n);
    /// <summary>§2.7.8: flags, idx (le16), ring[n] of 8-byte elements, avail_event (le16).</summary>
    public static int UsedRingBytes(int n) => 2 * 3 + 8 * n;

    static int AlignUp(int x, int a) => (x + a - 1) & ~(a - 1);

    /// <summary>Places the three parts in <paramref name="memory"/> (at least <see cref="TotalSize"/> bytes, 16-byte aligned).</summary>
    public unsafe SplitRing Place(byte* memory)
    {
        if (((nuint)memory & (DescriptorAlign - 1)) != 0)
            throw new ArgumentException("split ring memory must be 16-byte aligned (virtio 1.2 §2.7)", nameof(memory));
        return new SplitRing(QueueSize, memory + DescOffset, memory + AvailOffset, memory + UsedOffset);
    }
}
