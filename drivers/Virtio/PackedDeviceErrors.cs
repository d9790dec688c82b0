namespace Datapath.Drivers.Virtio;

/// <summary>Values from the driver that a packed-ring device rejected. Each one is counted; the ring stays usable.</summary>
public struct PackedDeviceErrors
{
    /// <summary>A descriptor with NEXT was followed by a slot that is not available (§2.8.17: the head is made
    /// available last); nothing was consumed — the pop is retried, and succeeds once the rest appears.</summary>
    public ulong ChainIncomplete;
    /// <summary>A chain longer than the free part of the ring (§2.8.17: never longer than the queue size); nothing consumed.</summary>
    public ulong ChainTooLong;
    /// <summary>The buffer id (in the chain's last descriptor, §2.8.6) was ≥ queue size; the chain was skipped.</summary>
    public ulong BufferIdOutOfRange;
    /// <summary>The buffer id names a buffer we already hold; the chain was skipped.</summary>
    public ulong BufferIdInFlight;
    /// <summary>More segments than the caller's span holds, or more than 2^32 bytes in total.</summary>
    public ulong TooManySegments;
    /// <summary>INDIRECT without VIRTIO_F_INDIRECT_DESC, or inside a NEXT-linked list (§2.8.19).</summary>
    public ulong IndirectNotAllowed;
    /// <summary>Indirect table length zero, not a multiple of 16, or more than queue-size entries (§2.8.5, §2.8.7).</summary>
    public ulong IndirectBadLength;
    /// <summary>A descriptor with length 0.</summary>
    public ulong ZeroLength;
    /// <summary>A device-readable descriptor after a device-writable one (§2.8.17).</summary>
    public ulong ReadableAfterWritable;
    /// <summary>An address range outside guest memory.</summary>
    public ulong TranslationFailed;
    /// <summary>IOTLB misses: the buffer stayed in the ring to be read again (not an error of the driver's).</summary>
    public ulong TranslationPending;
    /// <summary>Our own caller returned an id not in flight, undid a pop out of order, or gave a length above the writable bytes.</summary>
    public ulong BadUsedReturn;

    public readonly ulong Total => ChainIncomplete + ChainTooLong + BufferIdOutOfRange + BufferIdInFlight + TooManySegments
        + IndirectNotAllowed + IndirectBadLength + ZeroLength + ReadableAfterWritable + TranslationFailed + BadUsedReturn;
}
