namespace Datapath.Drivers.Virtio;

/// <summary>Values from the driver that a split-ring device rejected. Each one is counted; the ring stays usable.</summary>
public struct SplitDeviceErrors
{
    /// <summary>avail->idx ran more than the queue size ahead of us; nothing was consumed.</summary>
    public ulong AvailIndexJump;
    /// <summary>avail->ring[] named a head ≥ queue size; the entry was skipped (no id to return).</summary>
    public ulong HeadOutOfRange;
    /// <summary>avail->ring[] named a head we already hold; the entry was skipped.</summary>
    public ulong HeadInFlight;
    /// <summary>A `next` (or indirect index) ≥ the table's size.</summary>
    public ulong DescriptorOutOfRange;
    /// <summary>A chain longer than its table: a loop, or more than the queue size (§2.7.5).</summary>
    public ulong ChainTooLong;
    /// <summary>More segments than the caller's span holds, or more than 2^32 bytes in total.</summary>
    public ulong TooManySegments;
    /// <summary>INDIRECT inside an indirect table (§2.7.5.3.1).</summary>
    public ulong NestedIndirect;
    /// <summary>INDIRECT without VIRTIO_F_INDIRECT_DESC, or with NEXT also set (§2.7.5.3.1).</summary>
    public ulong IndirectNotAllowed;
    /// <summary>Indirect table length zero, not a multiple of 16, or more than queue-size entries.</summary>
    public ulong IndirectBadLength;
    /// <summary>A descriptor with length 0.</summary>
    public ulong ZeroLength;
    /// <summary>A device-readable descriptor after a device-writable one (§2.7.4.2).</summary>
    public ulong ReadableAfterWritable;
    /// <summary>An address range outside guest memory.</summary>
    public ulong TranslationFailed;
    /// <summary>IOTLB misses: the buffer stayed in the ring to be read again (not an error of the driver's).</summary>
    public ulong TranslationPending;
    /// <summary>Our own caller returned an id not in flight, or a length above the chain's writable bytes.</summary>
    public ulong BadUsedReturn;

    public readonly ulong Total => AvailIndexJump + HeadOutOfRange + HeadInFlight + DescriptorOutOfRange + ChainTooLong
        + TooManySegments + NestedIndirect + IndirectNotAllowed + IndirectBadLength + ZeroLength + ReadableAfterWritable
        + TranslationFailed + BadUsedReturn;
}
