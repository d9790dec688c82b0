namespace Datapath.Drivers.Virtio;

/// <summary>
/// The vhost-user SET_VRING_BASE / GET_VRING_BASE value for a packed virtqueue: bits 0–14 the
/// last available index (the device's next slot), bit 15 the device's avail wrap counter (§2.8.1).
/// </summary>
public static class PackedVringBase
{
    public static uint Encode(ushort lastAvailIndex, bool availWrap)
        => (uint)(lastAvailIndex & 0x7FFF) | (availWrap ? 0x8000u : 0);

    /// <summary>False (outputs zero) if bits 16–31 are set or the index is not a slot of a ring of <paramref name="queueSize"/>.</summary>
    public static bool TryDecode(uint value, int queueSize, out ushort lastAvailIndex, out bool availWrap)
    {
        lastAvailIndex = (ushort)(value & 0x7FFF);
        availWrap = (value & 0x8000) != 0;
        if (value <= 0xFFFF && lastAvailIndex < queueSize) return true;
        lastAvailIndex = 0;
        availWrap = false;
        return false;
    }
}
