using System.Runtime.InteropServices;

namespace Datapath.Drivers.Vfio;

/// <summary>
/// The VFIO user API (include/uapi/linux/vfio.h): request numbers are _IO(VFIO_TYPE ';', VFIO_BASE 100 + n),
/// and the structs the kernel reads and writes, laid out as in the header. A spec table: one place.
/// </summary>
static class VfioUapi
{
    const nuint Type = ';', Base = 100;
    static nuint Io(nuint n) => (Type << 8) | (Base + n);

    public static readonly nuint GetApiVersion = Io(0);
    public static readonly nuint CheckExtension = Io(1);
    public static readonly nuint SetIommu = Io(2);
    public static readonly nuint GroupGetStatus = Io(3);
    public static readonly nuint GroupSetContainer = Io(4);
    public static readonly nuint GroupUnsetContainer = Io(5);
    public static readonly nuint GroupGetDeviceFd = Io(6);
    public static readonly nuint DeviceGetInfo = Io(7);
    public static readonly nuint DeviceGetRegionInfo = Io(8);
    public static readonly nuint DeviceGetIrqInfo = Io(9);
    public static readonly nuint DeviceSetIrqs = Io(10);
    public static readonly nuint DeviceReset = Io(11);
    public static readonly nuint IommuMapDma = Io(13);
    public static readonly nuint IommuUnmapDma = Io(14);

    /// <summary>VFIO_API_VERSION: the only version there has ever been.</summary>
    public const int ApiVersion = 0;

    // Extensions (VFIO_CHECK_EXTENSION) and IOMMU types (VFIO_SET_IOMMU).
    public const int Type1Iommu = 1, Type1v2Iommu = 3, NoIommuIommu = 8;

    // struct vfio_group_status flags.
    public const uint GroupFlagsViable = 1 << 0, GroupFlagsContainerSet = 1 << 1;

    // struct vfio_device_info flags.
    public const uint DeviceFlagsReset = 1 << 0, DeviceFlagsPci = 1 << 1;

    // struct vfio_region_info flags and capability ids.
    public const uint RegionFlagRead = 1 << 0, RegionFlagWrite = 1 << 1, RegionFlagMmap = 1 << 2, RegionFlagCaps = 1 << 3;
    public const ushort RegionInfoCapSparseMmap = 1;

    // VFIO_PCI_*_REGION_INDEX and VFIO_PCI_*_IRQ_INDEX.
    public const int PciBar0RegionIndex = 0, PciRomRegionIndex = 6, PciConfigRegionIndex = 7;
    public const int PciIntxIrqIndex = 0, PciMsiIrqIndex = 1, PciMsixIrqIndex = 2;

    // struct vfio_irq_info flags.
    public const uint IrqInfoEventfd = 1 << 0, IrqInfoMaskable = 1 << 1, IrqInfoAutomasked = 1 << 2, IrqInfoNoresize = 1 << 3;

    // struct vfio_irq_set flags: one DATA_* and one ACTION_*.
    public const uint IrqSetDataNone = 1 << 0, IrqSetDataBool = 1 << 1, IrqSetDataEventfd = 1 << 2;
    public const uint IrqSetActionMask = 1 << 3, IrqSetActionUnmask = 1 << 4, IrqSetActionTrigger = 1 << 5;

    // struct vfio_iommu_type1_dma_map flags.
    public const uint DmaMapFlagRead = 1 << 0, DmaMapFlagWrite = 1 << 1;
}

[StructLayout(LayoutKind.Sequential)]
struct VfioGroupStatus { public uint Argsz, Flags; }

[StructLayout(LayoutKind.Sequential)]
struct VfioDeviceInfo { public uint Argsz, Flags, NumRegions, NumIrqs, CapOffset, Pad; }

[StructLayout(LayoutKind.Sequential)]
struct VfioRegionInfoRaw { public uint Argsz, Flags, Index, CapOffset; public ulong Size, Offset; }

[StructLayout(LayoutKind.Sequential)]
struct VfioIrqInfoRaw { public uint Argsz, Flags, Index, Count; }

/// <summary>struct vfio_irq_set without its data[]: eventfds (s32 each) follow it in the same buffer.</summary>
[StructLayout(LayoutKind.Sequential)]
struct VfioIrqSet { public uint Argsz, Flags, Index, Start, Count; }

[StructLayout(LayoutKind.Sequential)]
struct VfioDmaMap { public uint Argsz, Flags; public ulong Vaddr, Iova, Size; }

[StructLayout(LayoutKind.Sequential)]
struct VfioDmaUnmap { public uint Argsz, Flags; public ulong Iova, Size; }
