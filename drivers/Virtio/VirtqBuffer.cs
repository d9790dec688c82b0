namespace Datapath.Drivers.Virtio;

/// <summary>Driver side: one element of a buffer chain to make available (an IOVA the device can reach).</summary>
public readonly record struct VirtqBuffer(ulong Iova, uint Length, bool DeviceWritable)
{
    public static VirtqBuffer Readable(ulong iova, uint length) => new(iova, length, false);
    public static VirtqBuffer Writable(ulong iova, uint length) => new(iova, length, true);
}

/// <summary>Driver side: a chain the device has used. <see cref="Length"/> is 0 when the device's value was rejected.</summary>
public struct VirtqCompletion
{
    public nint Cookie;
    public ushort Id;
    public uint Length;
}

/// <summary>Device side: one translated, validated descriptor of a chain, pointing into local memory.</summary>
public unsafe struct VirtqSegment
{
    public byte* Data;
    public uint Length;
    public bool Writable;
}

/// <summary>Device side: summary of a chain popped from the available ring.</summary>
public struct VirtqChain
{
    // Stored as 32 bits: the JIT reads a 16-bit field followed by padding with a 32-bit load, and a
    // 32-bit load over a 16-bit store (TryPop sets the id after zeroing the whole struct) cannot be
    // forwarded from the store buffer — it waits for the store to retire, on every pop.
    uint _id;

    /// <summary>Head id to hand back in the used ring (split: descriptor index; packed: buffer id).</summary>
    public ushort Id
    {
        readonly get => (ushort)_id;
        set => _id = value;
    }
    public int Segments;
    public uint ReadableBytes;
    public uint WritableBytes;
}
