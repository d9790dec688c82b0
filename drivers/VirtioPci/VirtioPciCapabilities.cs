using System.Buffers.Binary;

namespace Datapath.Drivers.VirtioPci;

/// <summary>cfg_type of struct virtio_pci_cap (virtio 1.2 §4.1.4).</summary>
public enum VirtioPciCapType : byte { Common = 1, Notify = 2, Isr = 3, Device = 4, Pci = 5, SharedMemory = 8, Vendor = 9 }

/// <summary>One structure the device exposes through a BAR: which BAR, where, how long.</summary>
public readonly record struct VirtioPciStructure(VirtioPciCapType Type, int Bar, uint Offset, uint Length);

/// <summary>
/// The four structures the modern transport needs, found by walking the PCI capability list for
/// vendor-specific (0x09) capabilities (virtio 1.2 §4.1.4). Config space is device-written: every
/// pointer and length is checked, and the walk is bounded, before anything is mapped from it.
/// </summary>
public sealed record VirtioPciCapabilities(VirtioPciStructure Common, VirtioPciStructure Notify, uint NotifyOffMultiplier,
    VirtioPciStructure Isr, VirtioPciStructure? Device)
{
    const int PciStatus = 0x06, PciStatusCapList = 1 << 4, PciCapabilityPointer = 0x34;
    const byte PciCapIdVendor = 0x09, PciCapIdMsix = 0x11;
    const int CapLength = 16, NotifyCapLength = 20, MaxBar = 5;

    /// <summary>
    /// Walks <paramref name="config"/> (the device's config space). §4.1.4: "the driver SHOULD use the
    /// first instance of each virtio structure type it can support"; capabilities naming a reserved BAR
    /// or too short are skipped, as the spec requires of the driver. Throws when common, notify or ISR is missing.
    /// </summary>
    public static VirtioPciCapabilities Parse(ReadOnlySpan<byte> config, out bool hasMsix)
    {
        hasMsix = false;
        if (config.Length < 0x40 || (BinaryPrimitives.ReadUInt16LittleEndian(config[PciStatus..]) & PciStatusCapList) == 0)
            throw new VirtioPciException("config space has no capability list: not a modern virtio-pci device");
        VirtioPciStructure? common = null, notify = null, isr = null, device = null;
        uint multiplier = 0;
        int visited = 0;
        for (int at = config[PciCapabilityPointer] & 0xfc; at != 0; at = config[at + 1] & 0xfc)
        {
            // 48 capabilities fit in 192 bytes past the header: more means the list loops.
            if (++visited > 48 || at < 0x40 || at + 4 > config.Length)   // id, next, len, cfg_type
                throw new VirtioPciException($"PCI capability list is malformed at 0x{at:x}");
            if (config[at] == PciCapIdMsix) hasMsix = true;
            if (config[at] != PciCapIdVendor) continue;
            int len = config[at + 2];
            if (len < CapLength || at + len > config.Length) continue;
            var cap = config.Slice(at, len);
            var type = (VirtioPciCapType)cap[3];
            int bar = cap[4];
            if (bar > MaxBar) continue;   // §4.1.4: values 0x6..0x7 reserved — ignore the capability
            var s = new VirtioPciStructure(type, bar, BinaryPrimitives.ReadUInt32LittleEndian(cap[8..]), BinaryPrimitives.ReadUInt32LittleEndian(cap[12..]));
            switch (type)
            {
                // §4.1.4.3: the common structure is 4-byte aligned; §4.1.4.4: notify is 2-byte aligned
                // with an even multiplier (a power of two, or 0). A capability that breaks this is skipped.
                case VirtioPciCapType.Common when common is null && (s.Offset & 3) == 0: common = s; break;
                case VirtioPciCapType.Isr when isr is null: isr = s; break;
                case VirtioPciCapType.Device when device is null: device = s; break;
                case VirtioPciCapType.Notify when notify is null && len >= NotifyCapLength && (s.Offset & 1) == 0 && s.Length >= 2:
                    uint m = BinaryPrimitives.ReadUInt32LittleEndian(cap[16..]);   // §4.1.4.4 notify_off_multiplier
                    if ((m & 1) != 0) break;
                    notify = s;
                    multiplier = m;
                    break;
            }
        }
        if (common is null || notify is null || isr is null)
            throw new VirtioPciException($"virtio-pci capabilities incomplete (common {common is not null}, notify {notify is not null}, isr {isr is not null}): a legacy-only device is not supported");
        if (common.Value.Length < VirtioPciCommonConfig.Size)
            throw new VirtioPciException($"common configuration is {common.Value.Length} B, the spec's layout needs {VirtioPciCommonConfig.Size}");
        return new VirtioPciCapabilities(common.Value, notify.Value, multiplier, isr.Value, device);
    }
}
