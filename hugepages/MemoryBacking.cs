namespace Datapath.Hugepages;

/// <summary>What a region's pages are.</summary>
public enum MemoryBacking
{
    /// <summary>memfd_create(MFD_HUGETLB): anonymous hugepages with an fd (the default).</summary>
    HugetlbMemfd,
    /// <summary>A file on a hugetlbfs mount (--huge-dir); unlinked once mapped so nothing leaks.</summary>
    HugetlbfsFile,
    /// <summary>4 KiB memfd pages, locked (--no-huge): an explicit fallback, not physically contiguous.</summary>
    SmallPages,
}
