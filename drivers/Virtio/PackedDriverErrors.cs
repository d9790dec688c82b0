namespace Datapath.Drivers.Virtio;

/// <summary>Values from the device that a packed-ring driver rejected. Each one is counted and dropped.</summary>
public struct PackedDriverErrors
{
    /// <summary>A slot looked used while we had nothing outstanding; nothing was consumed.</summary>
    public ulong UsedWithoutOutstanding;
    /// <summary>A used descriptor's buffer id ≥ queue size; one slot was skipped.</summary>
    public ulong UsedIdOutOfRange;
    /// <summary>A used descriptor named a buffer id that is not outstanding (e.g. returned twice); one slot was skipped.</summary>
    public ulong UsedIdNotOutstanding;
    /// <summary>A used descriptor's len exceeded the buffer's device-writable bytes; reported as length 0.</summary>
    public ulong UsedLengthTooLarge;

    public readonly ulong Total => UsedWithoutOutstanding + UsedIdOutOfRange + UsedIdNotOutstanding + UsedLengthTooLarge;
}
