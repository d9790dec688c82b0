using System.Runtime.InteropServices;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.Vfio;

/// <summary>
/// /dev/vfio/vfio: one IOMMU context (linux/vfio.h, "VFIO_GET_API_VERSION … VFIO_SET_IOMMU"). Groups
/// join it, then the IOMMU type is set; DMA mappings (type1) live here and are undone at Dispose.
/// Several devices share one container.
/// </summary>
public sealed unsafe class VfioContainer : IDisposable
{
    public const string Path = "/dev/vfio/vfio";

    // Devices sharing the container share its mappings: each (IOVA, size) counts its users.
    readonly Dictionary<(ulong Iova, ulong Size), int> _mapped = new();
    int _fd;

    /// <summary>The IOMMU type set (TYPE1v2, TYPE1 or NOIOMMU), 0 before the first group joins.</summary>
    public int IommuType { get; private set; }
    public bool NoIommu => IommuType == VfioUapi.NoIommuIommu;
    public int Fd => _fd;

    public VfioContainer()
    {
        if (!File.Exists(Path))
            throw new VfioException($"no {Path}: load VFIO (modprobe vfio-pci), or for a machine without an IOMMU: modprobe vfio enable_unsafe_noiommu_mode=1");
        _fd = Libc.Open(Path, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        if (_fd < 0)
            throw new VfioException($"cannot open {Path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}; run as root");
        int version = Libc.Ioctl(_fd, VfioUapi.GetApiVersion, 0);
        if (version != VfioUapi.ApiVersion)
        {
            Dispose();
            throw new VfioException($"{Path}: VFIO API version {version}, expected {VfioUapi.ApiVersion}");
        }
    }

    public bool HasExtension(int extension) => Libc.Ioctl(_fd, VfioUapi.CheckExtension, extension) > 0;

    /// <summary>
    /// VFIO_SET_IOMMU once the first group has joined: TYPE1v2 (or TYPE1) with an IOMMU, NOIOMMU for a
    /// noiommu group. Neither available is an error with both fixes.
    /// </summary>
    public void SetIommu(bool noIommuGroup)
    {
        if (IommuType != 0) return;
        int type = noIommuGroup
            ? (HasExtension(VfioUapi.NoIommuIommu) ? VfioUapi.NoIommuIommu : 0)
            : HasExtension(VfioUapi.Type1v2Iommu) ? VfioUapi.Type1v2Iommu
            : HasExtension(VfioUapi.Type1Iommu) ? VfioUapi.Type1Iommu : 0;
        if (type == 0)
            throw new VfioException("VFIO offers neither a type1 IOMMU nor noiommu: enable the IOMMU (intel_iommu=on / amd_iommu=on) or load vfio with enable_unsafe_noiommu_mode=1");
        if (Libc.Ioctl(_fd, VfioUapi.SetIommu, type) < 0)
            throw new SystemCallException("ioctl VFIO_SET_IOMMU", Marshal.GetLastPInvokeError(), Path);
        IommuType = type;
    }

    /// <summary>
    /// VFIO_IOMMU_MAP_DMA (type1): the device may read and write [vaddr, vaddr+size) at IOVA
    /// <paramref name="iova"/>. Under noiommu there is no IOMMU to program: the IOVA is the physical address.
    /// </summary>
    public void MapDma(void* vaddr, ulong iova, ulong size)
    {
        if (NoIommu) return;
        if (_mapped.TryGetValue((iova, size), out int users))
        {
            _mapped[(iova, size)] = users + 1;
            return;
        }
        var map = new VfioDmaMap
        {
            Argsz = (uint)sizeof(VfioDmaMap),
            Flags = VfioUapi.DmaMapFlagRead | VfioUapi.DmaMapFlagWrite,
            Vaddr = (ulong)vaddr,
            Iova = iova,
            Size = size,
        };
        if (Libc.Ioctl(_fd, VfioUapi.IommuMapDma, &map) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EINVAL)
                throw new VfioException($"VFIO_IOMMU_MAP_DMA refused IOVA 0x{iova:x} (+{size} B): the IOMMU's address width is too small for IOVA = VA (a QEMU guest needs intel-iommu aw-bits=48)");
            throw new SystemCallException("ioctl VFIO_IOMMU_MAP_DMA", errno, $"iova 0x{iova:x}, {size} B");
        }
        _mapped.Add((iova, size), 1);
    }

    /// <summary>
    /// One user fewer for a mapping; the last one unmaps it (VFIO_IOMMU_UNMAP_DMA), so memory that is
    /// about to be freed is never left reachable by a device, and a later mapping at the same IOVA
    /// points at the new pages.
    /// </summary>
    public void UnmapDma(ulong iova, ulong size)
    {
        if (NoIommu || !_mapped.TryGetValue((iova, size), out int users)) return;
        if (users > 1)
        {
            _mapped[(iova, size)] = users - 1;
            return;
        }
        _mapped.Remove((iova, size));
        Unmap(iova, size);
    }

    void Unmap(ulong iova, ulong size)
    {
        var unmap = new VfioDmaUnmap { Argsz = (uint)sizeof(VfioDmaUnmap), Iova = iova, Size = size };
        if (Libc.Ioctl(_fd, VfioUapi.IommuUnmapDma, &unmap) < 0)
            throw new SystemCallException("ioctl VFIO_IOMMU_UNMAP_DMA", Marshal.GetLastPInvokeError(), $"iova 0x{iova:x}, {size} B");
    }

    public void UnmapAll()
    {
        foreach (var (iova, size) in _mapped.Keys)
        {
            var unmap = new VfioDmaUnmap { Argsz = (uint)sizeof(VfioDmaUnmap), Iova = iova, Size = size };
            Libc.Ioctl(_fd, VfioUapi.IommuUnmapDma, &unmap);   // best effort at close: the fd's close unmaps too
        }
        _mapped.Clear();
    }

    public int MappingCount => _mapped.Count;

    public void Dispose()
    {
        if (_fd < 0) return;
        UnmapAll();
        Libc.Close(_fd);
        _fd = -1;
    }
}
