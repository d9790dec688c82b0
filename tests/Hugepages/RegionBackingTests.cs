using Datapath.Tests.Support;
using Datapath.Hugepages;
using Datapath.Hugepages.Native;

namespace Datapath.Tests.Hugepages;

/// <summary>How regions are backed: hugetlb memfd, hugetlbfs file, 4 KiB fallback; and the errors users see.</summary>
[Collection(ProcessWideCollection.Name)]   // free hugepages are counted machine-wide
public unsafe class RegionBackingTests
{
    [Fact]
    public void HugetlbMemfdRegionIsMappedLockedAndKeepsItsFd()
    {
        using var region = HugepageRegion.Create("test-memfd", 3 << 20, MemoryOptions.Default);
        Assert.Equal(MemoryBacking.HugetlbMemfd, region.Backing);
        Assert.Equal(4UL << 20, region.Length); // rounded up to whole 2 MiB pages
        Assert.True(region.Fd >= 0);
        // The fd names the same pages: a second mapping of it sees our writes (what a vhost-user peer does).
        region.Base[12345] = 0x5A;
        nint other = Libc.MmapChecked((nuint)region.Length, Libc.PROT_READ, Libc.MAP_SHARED, region.Fd, 0, "test");
        try { Assert.Equal(0x5A, ((byte*)other)[12345]); }
        finally { Libc.Munmap(other, (nuint)region.Length); }
        Assert.Contains("VmLck", File.ReadAllText("/proc/self/status"));
        Assert.Equal((ulong)region.Base, region.VaToIova(region.Base));
    }

    [Fact]
    public void HugetlbfsFileRegionLeavesNoFileBehind()
    {
        var mount = HugepageInventory.Mounts().FirstOrDefault(m => m.PageSize == MemoryOptions.Page2M);
        Assert.True(mount.Path is not null, "hugetlbfs is mounted by hugepages/setup-hugepages.sh");
        var before = Directory.GetFiles(mount.Path);
        using (var region = HugepageRegion.Create("test-file", 2 << 20, new MemoryOptions { HugeDir = mount.Path, FilePrefix = "dptest" }))
        {
            Assert.Equal(MemoryBacking.HugetlbfsFile, region.Backing);
            region.Base[0] = 1;
            Assert.Equal(before.Length, Directory.GetFiles(mount.Path).Length);
        }
    }

    [Fact]
    public void NoHugeFallbackUsesSmallLockedPages()
    {
        using var region = HugepageRegion.Create("test-small", 10000, new MemoryOptions { NoHuge = true });
        Assert.Equal(MemoryBacking.SmallPages, region.Backing);
        Assert.Equal(4096UL, region.PageSize);
        Assert.Equal(12288UL, region.Length);
        region.AsSpan(0, (int)region.Length).Fill(7);
    }

    [Fact]
    public void PaModeOnSmallPagesIsRefusedWithTheFix()
    {
        var e = Assert.Throws<HugepageException>(() => HugepageRegion.Create("x", 4096, new MemoryOptions { NoHuge = true, IovaMode = IovaMode.Pa }));
        Assert.Contains("--no-huge", e.Message);
    }

    [Fact]
    public void AskingForMoreHugepagesThanFreeNamesTheFix()
    {
        long free = HugepageInventory.FreePages(MemoryOptions.Page2M);
        ulong tooMuch = (ulong)(free + 1) * MemoryOptions.Page2M;
        var e = Assert.Throws<HugepageException>(() => HugepageRegion.Create("too-big", tooMuch, MemoryOptions.Default));
        Assert.Contains("/proc/sys/vm/nr_hugepages", e.Message);
        Assert.Contains("--no-huge", e.Message);
    }

    [Fact]
    public void RegionsGiveTheirPagesBack()
    {
        long before = HugepageInventory.FreePages(MemoryOptions.Page2M);
        HugepageRegion.Create("test-return", 8 << 20, MemoryOptions.Default).Dispose();
        Assert.Equal(before, HugepageInventory.FreePages(MemoryOptions.Page2M));
    }

    [Fact]
    public void PaModeTranslatesThroughPagemapAsRoot()
    {
        using var region = HugepageRegion.Create("test-pa", 2 << 20, new MemoryOptions { IovaMode = IovaMode.Pa });
        using var pagemap = new PagemapTranslator();
        byte* p = region.Base + 4096 * 3 + 17;
        Assert.Equal(pagemap.Translate(p), region.VaToIova(p));
        Assert.NotEqual((ulong)p, region.VaToIova(p));
        Assert.True(pagemap.IsContiguous(region.Base, region.PageSize), "a 2 MiB hugepage is physically contiguous");
    }

    [Fact]
    public void InventoryParsesSizesAndListsWhatTheMachineHas()
    {
        Assert.Equal(2UL << 20, HugepageInventory.ParseSize("2M"));
        Assert.Equal(1UL << 30, HugepageInventory.ParseSize("1G"));
        Assert.Equal(2048UL * 1024, HugepageInventory.ParseSize("2048k"));
        Assert.Contains(HugepageInventory.Pages(), p => p.PageSize == MemoryOptions.Page2M && p.Total > 0);
        Assert.Equal("2 MiB", HugepageInventory.FormatSize(2 << 20));
    }
}
