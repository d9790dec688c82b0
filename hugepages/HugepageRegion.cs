using System.Numerics;
using System.Runtime.InteropServices;
using Datapath.Hugepages.Native;

namespace Datapath.Hugepages;

/// <summary>
/// One mmap'd, locked, fd-backed range of memory that devices and peers can reach. It keeps its fd
/// (vhost-user and vfio-user peers map the same pages from it) and knows the IOVA of every byte:
/// the VA itself in <see cref="Datapath.Hugepages.IovaMode.Va"/>, the physical address per page in
/// <see cref="Datapath.Hugepages.IovaMode.Pa"/>.
/// </summary>
public sealed unsafe class HugepageRegion : IDisposable
{
    static long s_totalBytes;  // every live region of this process, for the -m limit

    ulong[]? _pagePhys;   // Pa mode: physical address of each page
    int _fd;

    public string Name { get; }
    public byte* Base { get; private set; }
    public ulong Length { get; }
    public ulong PageSize { get; }
    public MemoryBacking Backing { get; }
    public IovaMode IovaMode { get; }
    public int Fd => _fd;
    /// <summary>Offset of <see cref="Base"/> within the fd (always 0: one mapping per fd).</summary>
    public ulong FdOffset => 0;

    HugepageRegion(string name, int fd, byte* baseAddr, ulong length, ulong pageSize, MemoryBacking backing, IovaMode mode)
    {
        Name = name; _fd = fd; Base = baseAddr; Length = length; PageSize = pageSize; Backing = backing; IovaMode = mode;
    }

    /// <summary>
    /// Allocates at least <paramref name="minBytes"/> rounded up to whole pages, populated and locked.
    /// Throws <see cref="HugepageException"/> with the fix when the machine cannot give the memory.
    /// </summary>
    public static HugepageRegion Create(string name, ulong minBytes, MemoryOptions options)
    {
        ulong page = options.PageSize;
        ulong length = (minBytes + page - 1) / page * page;
        if (length == 0) length = page;
        string fullName = $"{options.FilePrefix}-{name}";
        if (options.LimitBytes > 0 && (ulong)Interlocked.Read(ref s_totalBytes) + length > options.LimitBytes)
            throw new HugepageException($"{name}: {HugepageInventory.FormatSize(length)} more would pass the -m limit of {HugepageInventory.FormatSize(options.LimitBytes)} ({HugepageInventory.FormatSize((ulong)s_totalBytes)} in use): raise -m or use fewer buffers (--total-num-mbufs)");

        if (!options.NoHuge)
        {
            long needed = (long)(length / page);
            long free = HugepageInventory.FreePages(page);
            if (free < needed) throw new HugepageException(HugepageInventory.ShortageMessage(page, needed, free));
        }
        if (options.NoHuge && options.IovaMode == IovaMode.Pa)
            throw new HugepageException("--iova-mode pa needs hugepages (a 4 KiB page run is not physically contiguous): drop --no-huge");

        int fd;
        MemoryBacking backing;
        if (options.NoHuge)
        {
            fd = SystemCallException.Check(Libc.MemfdCreate(fullName, Libc.MFD_CLOEXEC), "memfd_create", fullName);
            backing = MemoryBacking.SmallPages;
        }
        else if (options.HugeDir is { } dir)
        {
            string path = Path.Combine(dir, $"{fullName}-{Libc.GetPid()}");
            fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0x180);
            if (fd < 0)
                throw new HugepageException($"cannot create {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}; is {dir} a hugetlbfs mount? (mount -t hugetlbfs nodev {dir})");
            // The fd keeps the pages; the name would only leak them if we crashed.
            Libc.Unlink(path);
            backing = MemoryBacking.HugetlbfsFile;
        }
        else
        {
            uint flags = Libc.MFD_CLOEXEC | Libc.MFD_HUGETLB | ((uint)BitOperations.Log2(page) << Libc.MFD_HUGE_SHIFT);
            fd = SystemCallException.Check(Libc.MemfdCreate(fullName, flags), "memfd_create", fullName);
            backing = MemoryBacking.HugetlbMemfd;
        }

        byte* baseAddr = null;
        try
        {
            SystemCallException.Check(Libc.Ftruncate(fd, (long)length), "ftruncate", fullName);
            // hugetlb reserves the pages at mmap: too few free pages fail here with ENOMEM, never a SIGBUS later.
            nint p = Libc.Mmap(0, (nuint)length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, fd, 0);
            if (p == Libc.MAP_FAILED)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Libc.ENOMEM && backing != MemoryBacking.SmallPages)
                    throw new HugepageException(HugepageInventory.ShortageMessage(page, (long)(length / page), HugepageInventory.FreePages(page)));
                throw new SystemCallException("mmap", errno, fullName);
            }
            baseAddr = (byte*)p;
            if (Libc.Mlock(p, (nuint)length) < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new HugepageException($"mlock of {HugepageInventory.FormatSize(length)} failed ({Marshal.GetPInvokeErrorMessage(errno)}): raise the limit (ulimit -l unlimited) or run as root");
            }
            var region = new HugepageRegion(fullName, fd, baseAddr, length, page, backing, options.IovaMode);
            Interlocked.Add(ref s_totalBytes, (long)length);
            if (options.IovaMode == IovaMode.Pa) region.TranslatePages();
            return region;
        }
        catch
        {
            if (baseAddr != null) Libc.Munmap((nint)baseAddr, (nuint)length);
            Libc.Close(fd);
            throw;
        }
    }

    void TranslatePages()
    {
        using var pagemap = new PagemapTranslator();
        var phys = new ulong[Length / PageSize];
        for (ulong i = 0; i < (ulong)phys.Length; i++) phys[i] = pagemap.Translate(Base + i * PageSize);
        _pagePhys = phys;
    }

    public bool Contains(void* va, ulong length = 1) =>
        (byte*)va >= Base && length <= Length && (ulong)((byte*)va - Base) <= Length - length;

    /// <summary>The address a device uses for <paramref name="va"/> (which must lie in this region).</summary>
    public ulong VaToIova(void* va)
    {
        ulong off = (ulong)((byte*)va - Base);
        if (_pagePhys is null) return (ulong)va;
        return _pagePhys[off / PageSize] + off % PageSize;
    }

    /// <summary>The IOVA of this region's first byte: contiguous over the whole region only in Va mode.</summary>
    public ulong BaseIova => VaToIova(Base);

    public Span<byte> AsSpan(ulong offset, int length)
    {
        if (offset > Length || (ulong)length > Length - offset) throw new ArgumentOutOfRangeException(nameof(offset));
        return new Span<byte>(Base + offset, length);
    }

    public void Dispose()
    {
        if (Base != null)
        {
            Libc.Munmap((nint)Base, (nuint)Length);
            Base = null;
            Interlocked.Add(ref s_totalBytes, -(long)Length);
        }
        if (_fd >= 0) { Libc.Close(_fd); _fd = -1; }
        GC.SuppressFinalize(this);
    }

    ~HugepageRegion()
    {
        if (Base != null) Libc.Munmap((nint)Base, (nuint)Length);
        if (_fd >= 0) Libc.Close(_fd);
    }

    /// <summary>Bytes in all regions this process holds now.</summary>
    public static ulong TotalBytes => (ulong)Interlocked.Read(ref s_totalBytes);

    public override string ToString() =>
        $"{Name}: {HugepageInventory.FormatSize(Length)} of {HugepageInventory.FormatSize(PageSize)} pages ({Backing}), fd {_fd}, va 0x{(ulong)Base:x}, iova {IovaMode.ToString().ToLowerInvariant()}";
}
