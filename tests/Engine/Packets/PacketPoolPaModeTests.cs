using Datapath.Engine.Packets;
using Datapath.Hugepages;
using static Datapath.Tests.Engine.Packets.PoolTestSupport;

namespace Datapath.Tests.Engine.Packets;

/// <summary>
/// IOVA = PA (vfio-noiommu): a device reads each buffer by physical address, so no buffer may
/// straddle two hugepages (they need not be physically adjacent), and every IOVA must be the
/// physical address the kernel reports. Needs root: pagemap hides PFNs from others.
/// </summary>
public sealed unsafe class PacketPoolPaModeTests
{
    [Fact]
    public void No_buffer_crosses_a_hugepage_and_each_iova_is_its_physical_address()
    {
        if (Environment.UserName != "root") return; // pagemap gives PFN 0 to non-root; nothing to check

        // 2240 B elements do not divide 2 MiB: without the page rule some would straddle a boundary.
        const int count = 3000;
        using var pool = PacketPool.Create("pa", count, HugePa);
        Assert.NotEqual(0UL, MemoryOptions.Page2M % (ulong)pool.ElementSize);
        Assert.True(pool.Region.Length / pool.Region.PageSize >= 4);

        var all = TakeAll(pool);
        using var pagemap = new PagemapTranslator();
        try
        {
            Assert.Equal(count, all.Count);
            ulong page = pool.Region.PageSize;
            foreach (var p in all)
            {
                ulong start = (ulong)p.Header;
                ulong end = start + (ulong)pool.ElementSize - 1;
                Assert.True(start / page == end / page, $"{p} crosses a {page >> 20} MiB page");
                Assert.Equal(pagemap.Translate(p.Header->BufAddr), p.Header->BufIova);
                Assert.Equal(pagemap.Translate(p.Data), p.DataIova);
                Assert.True(pagemap.IsContiguous(p.Header, (ulong)pool.ElementSize));
            }
        }
        finally { PacketPool.FreeBulk(all.ToArray()); }
    }

    [Fact]
    public void Pa_mode_refuses_small_pages()
    {
        var memory = new MemoryOptions { NoHuge = true, IovaMode = IovaMode.Pa, FilePrefix = "datapath-test" };
        var e = Assert.Throws<HugepageException>(() => PacketPool.Create("pa-nohuge", 16, memory));
        Assert.Contains("--no-huge", e.Message);
    }
}
