using Datapath.Hugepages.Native;

namespace Datapath.Hugepages;

/// <summary>
/// VA → PA through /proc/self/pagemap (Documentation/admin-guide/mm/pagemap.rst): one 64-bit entry
/// per 4 KiB virtual page; bit 63 = present, bits 0–54 = page frame number. The kernel zeroes the
/// PFN for readers without CAP_SYS_ADMIN, so PFN 0 on a present page means "not root".
/// One fd, opened once and kept.
/// </summary>
public sealed unsafe class PagemapTranslator : IDisposable
{
    const ulong PresentBit = 1UL << 63;
    const ulong PfnMask = (1UL << 55) - 1;
    const int SmallPage = 4096;

    int _fd;

    public PagemapTranslator()
    {
        _fd = SystemCallException.Check(Libc.Open("/proc/self/pagemap", Libc.O_RDONLY | Libc.O_CLOEXEC, 0), "open", "/proc/self/pagemap");
    }

    /// <summary>The physical address of <paramref name="va"/>; the page must be mapped and present.</summary>
    public ulong Translate(void* va)
    {
        ulong addr = (ulong)va;
        ulong entry;
        nint n = Libc.Pread(_fd, &entry, 8, (long)(addr / SmallPage * 8));
        if (n != 8) throw new SystemCallException("pread", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), "/proc/self/pagemap");
        if ((entry & PresentBit) == 0)
            throw new HugepageException($"pagemap: page at 0x{addr:x} is not present (touch or lock it first)");
        ulong pfn = entry & PfnMask;
        if (pfn == 0)
            throw new HugepageException("pagemap gives no physical addresses to this user: run as root (CAP_SYS_ADMIN) for --iova-mode pa");
        return pfn * SmallPage + addr % SmallPage;
    }

    /// <summary>True when every 4 KiB page of [va, va+length) is physically contiguous with the first.</summary>
    public bool IsContiguous(void* va, ulong length)
    {
        ulong first = Translate(va);
        for (ulong off = SmallPage - (ulong)va % SmallPage; off < length; off += SmallPage)
            if (Translate((byte*)va + off) != first + off) return false;
        return true;
    }

    public void Dispose()
    {
        if (_fd >= 0) { Libc.Close(_fd); _fd = -1; }
    }
}
