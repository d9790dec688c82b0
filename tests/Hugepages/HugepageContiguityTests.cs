using Datapath.Hugepages;

namespace Datapath.Tests.Hugepages;

/// <summary>
/// A 2 MiB hugepage is one physical run: the premise of IOVA = PA mode, checked against
/// /proc/self/pagemap 4 KiB by 4 KiB. Needs root (pagemap hides PFNs from others).
/// </summary>
public sealed unsafe class HugepageContiguityTests
{
    [Fact]
    public void Each_2MiB_page_of_a_region_is_physically_contiguous()
    {
        if (Environment.UserName != "root") return;

        var options = new MemoryOptions { FilePrefix = "datapath-test" };
        using var region = HugepageRegion.Create("contiguity", 2 * MemoryOptions.Page2M, options);
        using var pagemap = new PagemapTranslator();
        Assert.Equal(MemoryOptions.Page2M, region.PageSize);
        for (ulong off = 0; off < region.Length; off += region.PageSize)
        {
            byte* page = region.Base + off;
            Assert.Equal(0UL, pagemap.Translate(page) % MemoryOptions.Page2M);
            Assert.True(pagemap.IsContiguous(page, region.PageSize));
        }
    }

    [Fact]
    public void A_pa_region_translates_every_byte_through_its_page()
    {
        if (Environment.UserName != "root") return;

        var options = new MemoryOptions { IovaMode = IovaMode.Pa, FilePrefix = "datapath-test" };
        using var region = HugepageRegion.Create("pa-translate", 2 * MemoryOptions.Page2M, options);
        using var pagemap = new PagemapTranslator();
        foreach (ulong off in new ulong[] { 0, 4095, 4096, MemoryOptions.Page2M - 1, MemoryOptions.Page2M, region.Length - 1 })
            Assert.Equal(pagemap.Translate(region.Base + off), region.VaToIova(region.Base + off));
    }
}
