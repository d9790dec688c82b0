namespace Datapath.Drivers.Virtio;

/// <summary>
/// The vhost-user SET_VRING_BASE / GET_VRING_BASE value for a packed virtqueue: bits 0–14 the
/// last available index (the device's next slot), bit 15 the device's avail wrap counter (§2.8.1).
/// QEMU also puts the used index and used wrap counter in bits 16–31 (hw/virtio/virtio.c,
/// virtio_queue_packed_get_last_avail_idx) and reads them back from GET_VRING_BASE; DPDK and
/// virtio-user front-ends send bits 16–31 as zero.
/// </summary>
public static class PackedVringBase
{
    /// <summary>The 16-bit form a driver sends (SET_VRING_BASE): what every back-end reads.</summary>
    public static uint Encode(ushort lastAvailIndex, bool availWrap)
        => (uint)(lastAvailIndex & 0x7FFF) | (availWrap ? 0x8000u : 0);

    /// <summary>
    /// A stopped device's GET_VRING_BASE reply: our device completes every chain it takes, so the used
    /// position equals the avail one, and it goes in bits 16–31 too for QEMU to restore its used index.
    /// </summary>
    public static uint EncodeStopped(ushort lastAvailIndex, bool availWrap)
    {
        uint half = Encode(lastAvailIndex, availWrap);
        return half | half << 16;
    }

    /// <summary>
    /// False (outputs zero) if the index is not a slot of a ring of <paramref name="queueSize"/>, or if
    /// bits 16–31 name a used position other than the avail one (buffers in flight, which a device
    /// that completes in order of taking cannot resume from).
    /// </summary>
    public static bool TryDecode(uint value, int queueSize, out ushort lastAvailIndex, out bool availWrap)
    {
        lastAvailIndex = (ushort)(value & 0x7FFF);
        availWrap = (value & 0x8000) != 0;
        uint used = value >> 16;
        if ((used == 0 || used == (value & 0xFFFF)) && lastAvailIndex < queueSize) return true;
        lastAvailIndex = 0;
        availWrap = false;
        return false;
    }
}
