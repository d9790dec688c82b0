namespace Datapath.Drivers.Virtio;

/// <summary>
/// Feature bits (virtio 1.2 §2.2). Values are bit masks for the 64-bit feature word; `Bit` gives
/// the bit number where a transport wants it (virtio-pci selects 32-bit halves, §4.1.4.3).
/// </summary>
public static class VirtioFeatures
{
    public static ulong Bit(int n) => 1UL << n;

    // §6 Reserved Feature Bits (device-independent), and the ring features they refer to.
    /// <summary>§2.7.5.3 / §2.8.7: indirect descriptor tables.</summary>
    public const ulong IndirectDesc = 1UL << 28;
    /// <summary>§2.7.7 / §2.7.10: used_event and avail_event fields (split); event suppression offsets (packed, §2.8.10).</summary>
    public const ulong EventIdx = 1UL << 29;
    /// <summary>§6: modern (non-legacy) device; little-endian rings, 12-byte net header.</summary>
    public const ulong Version1 = 1UL << 32;
    /// <summary>§6: the device accesses memory through a platform IOMMU (addresses are IOVAs).</summary>
    public const ulong AccessPlatform = 1UL << 33;
    /// <summary>§2.8: packed virtqueue layout.</summary>
    public const ulong RingPacked = 1UL << 34;
    /// <summary>§2.7.9 / §2.8.9: the device uses buffers in the order they were made available.</summary>
    public const ulong InOrder = 1UL << 35;
    /// <summary>§6: memory accesses are ordered as the platform describes (real barriers for hardware devices).</summary>
    public const ulong OrderPlatform = 1UL << 36;
    /// <summary>§6: single-root I/O virtualization.</summary>
    public const ulong SrIov = 1UL << 37;
    /// <summary>§2.9 / §4.1.5.2: the driver passes extra data (next avail position) in notifications.</summary>
    public const ulong NotificationData = 1UL << 38;
    /// <summary>§6: the device provides the notification config data to use.</summary>
    public const ulong NotifConfigData = 1UL << 39;
    /// <summary>§2.6: individual virtqueue reset.</summary>
    public const ulong RingReset = 1UL << 40;

    // §5.1.3 Network device feature bits.
    public const ulong NetCsum = 1UL << 0;            // device handles packets with partial checksum (tx offload)
    public const ulong NetGuestCsum = 1UL << 1;       // driver handles packets with partial checksum (rx)
    public const ulong NetCtrlGuestOffloads = 1UL << 2;
    public const ulong NetMtu = 1UL << 3;             // device config `mtu` is valid (§5.1.4)
    public const ulong NetMac = 1UL << 5;             // device config `mac` is valid (§5.1.4)
    public const ulong NetGuestTso4 = 1UL << 7;
    public const ulong NetGuestTso6 = 1UL << 8;
    public const ulong NetGuestEcn = 1UL << 9;
    public const ulong NetGuestUfo = 1UL << 10;
    public const ulong NetHostTso4 = 1UL << 11;
    public const ulong NetHostTso6 = 1UL << 12;
    public const ulong NetHostEcn = 1UL << 13;
    public const ulong NetHostUfo = 1UL << 14;
    public const ulong NetMrgRxbuf = 1UL << 15;       // rx packets may span buffers; header num_buffers (§5.1.6.3)
    public const ulong NetStatus = 1UL << 16;         // device config `status` is valid (link up, announce)
    public const ulong NetCtrlVq = 1UL << 17;         // control virtqueue (§5.1.6.5)
    public const ulong NetCtrlRx = 1UL << 18;         // promiscuous / all-multicast via the control vq
    public const ulong NetCtrlVlan = 1UL << 19;
    public const ulong NetGuestAnnounce = 1UL << 21;
    public const ulong NetMq = 1UL << 22;             // multiqueue with automatic steering (§5.1.6.5.5)
    public const ulong NetCtrlMacAddr = 1UL << 23;
    public const ulong NetHashReport = 1UL << 57;
    public const ulong NetRss = 1UL << 60;
    public const ulong NetRscExt = 1UL << 61;
    public const ulong NetStandby = 1UL << 62;
    public const ulong NetSpeedDuplex = 1UL << 63;

    /// <summary>True when every bit in <paramref name="wanted"/> is present in <paramref name="negotiated"/>.</summary>
    public static bool Has(ulong negotiated, ulong wanted) => (negotiated & wanted) == wanted;
}
