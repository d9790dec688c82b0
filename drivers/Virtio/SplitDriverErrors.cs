namespace Datapath.Drivers.Virtio;

/// <summary>Values from the device that a split-ring driver rejected. Each one is counted and dropped.</summary>
public struct SplitDriverErrors
{
    /// <summary>used->idx advanced by more than the buffers we have outstanding; nothing was consumed.</summary>
    public ulong UsedIndexJump;
    /// <summary>A used element's id ≥ queue size.</summary>
    public ulong UsedIdOutOfRange;
    /// <summary>A used element named a descriptor that is not the head of an outstanding chain (e.g. returned twice).</summary>
    public ulong UsedIdNotOutstanding;
    /// <summary>A used element's len exceeded the chain's device-writable bytes; reported as length 0.</summary>
    public ulong UsedLengthTooLarge;
    /// <summary>In-order: a batch entry claimed more buffers than used->idx covers; the entry was skipped.</summary>
    public ulong InOrderBatchOverrun;

    public readonly ulong Total => UsedIndexJump + UsedIdOutOfRange + UsedIdNotOutstanding + UsedLengthTooLarge + InOrderBatchOverrun;
}
