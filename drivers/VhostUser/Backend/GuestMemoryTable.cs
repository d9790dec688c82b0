using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// The front-end's memory as we mapped it from SET_MEM_TABLE / ADD_MEM_REG (vhost-user.rst, "Memory
/// regions"). Each region is known by three addresses: guest physical (what descriptors hold),
/// front-end user address (what SET_VRING_ADDR and IOTLB entries hold), and our local mapping.
/// Immutable once built: a change builds a new table, swapped in while the queues are quiesced.
/// The table does not own the mappings; the session that mapped them unmaps them.
/// Every translation checks that address + length lies inside one region, without overflow.
/// </summary>
public sealed unsafe class GuestMemoryTable : IGuestMemory
{
    public sealed record Region(ulong GuestPhysAddr, ulong Size, ulong UserAddr, ulong MmapOffset, nint MapBase, ulong MapSize)
    {
        public nint Local => MapBase + (nint)MmapOffset;
    }

    readonly Region[] _regions;

    /// <summary>Guest physical address → local pointer, the lookup the devices call directly.</summary>
    public GuestAddressMap Flat { get; }

    /// <summary>Front-end virtual address → local pointer.</summary>
    readonly GuestAddressMap _byUserAddress;

    public static GuestMemoryTable Empty { get; } = new([]);

    GuestMemoryTable(Region[] regions)
    {
        _regions = regions;
        Flat = new GuestAddressMap(regions.Select(r => (r.GuestPhysAddr, r.Size, r.Local)));
        _byUserAddress = new GuestAddressMap(regions.Select(r => (r.UserAddr, r.Size, r.Local)));
    }

    public IReadOnlyList<Region> Regions => _regions;
    public int Count => _regions.Length;

    /// <summary>
    /// Maps one region from the peer's fd, after checking it: size non-zero, no address overflow,
    /// offset + size inside the file (a mapping past EOF would fault when touched), no overlap with
    /// the regions we already have. Takes ownership of <paramref name="fd"/> (closed in every case:
    /// the mapping keeps the memory).
    /// </summary>
    public static Region MapRegion(MemoryRegionDescription d, int fd, IReadOnlyList<Region> existing)
    {
        try
        {
            if (d.MemorySize == 0) throw new VhostUserProtocolException("memory region of size 0");
            if (d.GuestPhysAddr + d.MemorySize < d.GuestPhysAddr || d.UserspaceAddr + d.MemorySize < d.UserspaceAddr || d.MmapOffset + d.MemorySize < d.MmapOffset)
                throw new VhostUserProtocolException($"memory region 0x{d.GuestPhysAddr:x}+0x{d.MemorySize:x} wraps the address space");
            foreach (var r in existing)
                if (d.GuestPhysAddr < r.GuestPhysAddr + r.Size && r.GuestPhysAddr < d.GuestPhysAddr + d.MemorySize)
                    throw new VhostUserProtocolException($"memory region 0x{d.GuestPhysAddr:x}+0x{d.MemorySize:x} overlaps 0x{r.GuestPhysAddr:x}+0x{r.Size:x}");
            if (!Libc.TryFstat(fd, out var st)) throw new VhostUserProtocolException($"memory region fd {fd} is not a valid descriptor");
            if (!st.IsRegular) throw new VhostUserProtocolException("memory region fd is not a memory file (memfd, hugetlbfs, shm)");
            if (d.MmapOffset + d.MemorySize > st.Size)
                throw new VhostUserProtocolException($"memory region needs {d.MmapOffset + d.MemorySize} bytes of its fd, which has {st.Size}");
            // Map from offset 0 so the offset need not be page-aligned; round to the fd's page size (hugetlbfs requires it).
            ulong block = st.BlockSize is > 0 and <= (1UL << 30) ? st.BlockSize : 4096;
            ulong mapSize = (d.MmapOffset + d.MemorySize + block - 1) / block * block;
            if (mapSize > st.Size && (st.Size % block) == 0) mapSize = st.Size;
            nint p = Libc.Mmap(0, (nuint)mapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, fd, 0);
            if (p == Libc.MAP_FAILED)
                throw new VhostUserProtocolException($"cannot map memory region (0x{mapSize:x} bytes): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            return new Region(d.GuestPhysAddr, d.MemorySize, d.UserspaceAddr, d.MmapOffset, p, mapSize);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    public static GuestMemoryTable From(IReadOnlyList<Region> regions) => new(regions.ToArray());

    /// <summary>Guest physical address (descriptor addresses without an IOMMU) → local pointer.</summary>
    public bool TryTranslate(ulong address, uint length, out nint local) => Flat.TryTranslate(address, length, out local);

    /// <summary>Local pointer (inside a mapped region) → guest physical address, for the dirty log.</summary>
    public bool TryLocalToGuest(void* local, out ulong gpa)
    {
        foreach (var r in _regions)
        {
            ulong off = (ulong)((byte*)local - (byte*)r.Local);
            if ((byte*)local >= (byte*)r.Local && off < r.Size)
            {
                gpa = r.GuestPhysAddr + off;
                return true;
            }
        }
        gpa = 0;
        return false;
    }

    /// <summary>Front-end virtual address (vring addresses, IOTLB targets) → local pointer.</summary>
    public bool TryTranslateUser(ulong address, ulong length, out nint local) => _byUserAddress.TryTranslate(address, length, out local);

    public static void Unmap(Region r) => Libc.Munmap(r.MapBase, (nuint)r.MapSize);

    public override string ToString() =>
        string.Join("; ", _regions.Select(r => $"gpa 0x{r.GuestPhysAddr:x} size 0x{r.Size:x} uva 0x{r.UserAddr:x} off 0x{r.MmapOffset:x}"));
}
