using System.Buffers.Binary;

namespace Datapath.Drivers.Vfio;

/// <summary>One area of a region that may be mmap'd (struct vfio_region_sparse_mmap_area).</summary>
public readonly record struct VfioMmapArea(ulong Offset, ulong Size);

/// <summary>
/// struct vfio_region_info of one region (config space, a BAR, the ROM): its size, its offset in the
/// device fd (for pread/pwrite/mmap), its flags, and — when the region carries the sparse-mmap
/// capability — the only areas that may be mmap'd (the rest must go through pread/pwrite).
/// </summary>
public sealed record VfioRegion(int Index, uint Flags, ulong Size, ulong Offset, IReadOnlyList<VfioMmapArea>? SparseAreas)
{
    public bool Readable => (Flags & VfioUapi.RegionFlagRead) != 0;
    public bool Writable => (Flags & VfioUapi.RegionFlagWrite) != 0;
    public bool Mappable => (Flags & VfioUapi.RegionFlagMmap) != 0;

    /// <summary>Whether [offset, offset+length) may be mmap'd: the whole region, or inside one sparse area.</summary>
    public bool CanMap(ulong offset, ulong length)
    {
        if (!Mappable || offset > Size || length > Size - offset) return false;
        if (SparseAreas is null) return true;
        foreach (var a in SparseAreas)
            if (offset >= a.Offset && length <= a.Size && offset - a.Offset <= a.Size - length) return true;
        return false;
    }

    const int InfoSize = 32;          // sizeof(struct vfio_region_info)
    const int CapHeaderSize = 8;      // struct vfio_info_cap_header { u16 id; u16 version; u32 next; }

    /// <summary>
    /// Walks the capability chain of a region-info buffer (offsets from the buffer's start, 0 ends
    /// it) and returns the sparse-mmap areas, or null without that capability. Kernel values are
    /// checked: a chain that loops or points outside the buffer is refused.
    /// </summary>
    public static IReadOnlyList<VfioMmapArea>? ParseSparseMmap(ReadOnlySpan<byte> info, uint capOffset)
    {
        int hops = 0;
        for (uint off = capOffset; off != 0; hops++)
        {
            if (hops > 64 || off < InfoSize || off > info.Length - CapHeaderSize)
                throw new VfioException($"region info capability chain is malformed at offset {off}");
            var cap = info[(int)off..];
            ushort id = BinaryPrimitives.ReadUInt16LittleEndian(cap);
            uint next = BinaryPrimitives.ReadUInt32LittleEndian(cap[4..]);
            if (id == VfioUapi.RegionInfoCapSparseMmap)
            {
                // struct vfio_region_info_cap_sparse_mmap { header; u32 nr_areas; u32 reserved; areas[] }
                if (cap.Length < CapHeaderSize + 8) throw new VfioException("sparse-mmap capability is truncated");
                uint n = BinaryPrimitives.ReadUInt32LittleEndian(cap[CapHeaderSize..]);
                if (n > (uint)(cap.Length - CapHeaderSize - 8) / 16) throw new VfioException($"sparse-mmap capability claims {n} areas beyond its buffer");
                var areas = new VfioMmapArea[n];
                for (int i = 0; i < n; i++)
                {
                    var a = cap[(CapHeaderSize + 8 + 16 * i)..];
                    areas[i] = new VfioMmapArea(BinaryPrimitives.ReadUInt64LittleEndian(a), BinaryPrimitives.ReadUInt64LittleEndian(a[8..]));
                }
                return areas;
            }
            off = next;
        }
        return null;
    }
}

/// <summary>struct vfio_irq_info of one interrupt index (INTx, MSI, MSI-X): how many vectors, and whether eventfds wire them.</summary>
public readonly record struct VfioIrqInfo(int Index, uint Count, uint Flags)
{
    public bool Eventfd => (Flags & VfioUapi.IrqInfoEventfd) != 0;
}
