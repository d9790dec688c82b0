namespace Datapath.Drivers.Virtio;

/// <summary>
/// Device side: turns a 64-bit address written by the driver (guest physical / IOVA / VA, per the
/// transport) into a pointer in our address space. Must fail cleanly — return false — for any range
/// not entirely inside memory we have mapped, including ranges that wrap around 2^64.
/// </summary>
public interface IGuestMemory
{
    bool TryTranslate(ulong address, uint length, out nint local);

    /// <summary>
    /// <see cref="TryTranslate(ulong, uint, out nint)"/> for one direction of access: behind an IOMMU
    /// the mapping must allow it (the device reads a device-readable buffer or a table, writes a
    /// device-writable one), or the driver's read-only mapping would not protect anything from us.
    /// Memory with no IOMMU in between has no direction to check.
    /// </summary>
    bool TryTranslate(ulong address, uint length, bool deviceWrites, out nint local) => TryTranslate(address, length, out local);

    /// <summary>
    /// True when a failed translation may succeed later (a device IOTLB miss that the front-end will
    /// answer): the device then leaves the buffer in the ring and reports nothing available, as DPDK's
    /// vhost does, instead of dropping it.
    /// </summary>
    bool MissesAreTransient => false;

    /// <summary>
    /// The same translation as a flat table when that is all it is (no IOMMU in between): the devices
    /// then call <see cref="GuestAddressMap.TryTranslate"/> directly instead of through this interface.
    /// </summary>
    GuestAddressMap? Flat => null;
}

/// <summary>One contiguous mapping: [GuestBase, GuestBase + Size) ↔ [HostBase, HostBase + Size).</summary>
public sealed class GuestMemoryRegion(ulong guestBase, nint hostBase, ulong size) : IGuestMemory
{
    public ulong GuestBase { get; } = guestBase;
    public nint HostBase { get; } = hostBase;
    public ulong Size { get; } = size;
    public GuestAddressMap Flat { get; } = new([(guestBase, size, hostBase)]);

    public bool TryTranslate(ulong address, uint length, out nint local) => Flat.TryTranslate(address, length, out local);
}
