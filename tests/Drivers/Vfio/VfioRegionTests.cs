using System.Buffers.Binary;
using Datapath.Drivers.Vfio;

namespace Datapath.Tests.Drivers.Vfio;

/// <summary>The region-info capability chain (linux/vfio.h, struct vfio_info_cap_header) and sparse-mmap areas.</summary>
public class VfioRegionTests
{
    /// <summary>A region-info buffer: the 32-byte struct, an unknown capability, then sparse-mmap with <paramref name="areas"/>.</summary>
    static byte[] InfoWithSparse(params (ulong Offset, ulong Size)[] areas)
    {
        var b = new byte[32 + 16 + 16 + 16 * areas.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), 32);            // cap_offset
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(32), 99);            // an id we do not know
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(36), 48);            // next
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(48), 1);             // VFIO_REGION_INFO_CAP_SPARSE_MMAP
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(56), (uint)areas.Length);
        for (int i = 0; i < areas.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(64 + 16 * i), areas[i].Offset);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(72 + 16 * i), areas[i].Size);
        }
        return b;
    }

    [Fact]
    public void Sparse_areas_are_found_after_other_capabilities()
    {
        var areas = VfioRegion.ParseSparseMmap(InfoWithSparse((0, 0x1000), (0x3000, 0x1000)), 32);
        Assert.Equal([new VfioMmapArea(0, 0x1000), new VfioMmapArea(0x3000, 0x1000)], areas);
    }

    [Fact]
    public void Without_the_capability_the_whole_region_maps()
    {
        var r = new VfioRegion(4, 0x7, 0x4000, 4ul << 40, VfioRegion.ParseSparseMmap(new byte[32], 0));
        Assert.Null(r.SparseAreas);
        Assert.True(r.CanMap(0x3000, 0x1000));
        Assert.False(r.CanMap(0x3000, 0x1001));
    }

    [Fact]
    public void Only_sparse_areas_map()
    {
        var r = new VfioRegion(0, 0x7, 0x4000, 0, [new VfioMmapArea(0, 0x1000), new VfioMmapArea(0x3000, 0x1000)]);
        Assert.True(r.CanMap(0x3000, 0x1000));
        Assert.True(r.CanMap(0x10, 0x10));
        Assert.False(r.CanMap(0x1000, 0x10));
        Assert.False(r.CanMap(0xff0, 0x20));   // straddles the end of an area
    }

    [Fact]
    public void A_looping_or_outside_chain_is_refused()
    {
        var loop = new byte[48];
        BinaryPrimitives.WriteUInt16LittleEndian(loop.AsSpan(32), 99);
        BinaryPrimitives.WriteUInt32LittleEndian(loop.AsSpan(36), 32);   // points at itself
        Assert.Throws<VfioException>(() => VfioRegion.ParseSparseMmap(loop, 32));
        Assert.Throws<VfioException>(() => VfioRegion.ParseSparseMmap(new byte[40], 36));
        var tooMany = InfoWithSparse((0, 0x1000));
        BinaryPrimitives.WriteUInt32LittleEndian(tooMany.AsSpan(56), 1000);
        Assert.Throws<VfioException>(() => VfioRegion.ParseSparseMmap(tooMany, 32));
    }
}
