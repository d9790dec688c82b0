using System.Runtime.InteropServices;

namespace Datapath.Hugepages.Native;

/// <summary>
/// Linux system calls, declared once for every layer. This file holds memory and files;
/// other concerns (affinity, sockets, ioctl) live in their own Libc.*.cs parts.
/// Every call sets errno; callers wrap results with <see cref="SystemCallException.Check(int,string,string?)"/>.
/// </summary>
public static unsafe partial class Libc
{
    public const int EINTR = 4, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EINVAL = 22, ENOSPC = 28, EPERM = 1, ENOENT = 2;

    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_CLOEXEC = 0x80000, O_NONBLOCK = 0x800;

    public const int PROT_READ = 1, PROT_WRITE = 2;
    public const int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_POPULATE = 0x8000, MAP_HUGETLB = 0x40000;
    public static readonly nint MAP_FAILED = -1;

    // memfd_create(2) flags; the huge page size is log2(size) << MFD_HUGE_SHIFT.
    public const uint MFD_CLOEXEC = 0x1, MFD_ALLOW_SEALING = 0x2, MFD_HUGETLB = 0x4;
    public const int MFD_HUGE_SHIFT = 26;

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    public static partial nint Pread(int fd, void* buf, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    public static partial nint Pwrite(int fd, void* buf, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint length);

    [LibraryImport("libc", EntryPoint = "mlock", SetLastError = true)]
    public static partial int Mlock(nint addr, nuint length);

    [LibraryImport("libc", EntryPoint = "munlock", SetLastError = true)]
    public static partial int Munlock(nint addr, nuint length);

    [LibraryImport("libc", EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    /// <summary>mmap that throws with the call and the fd on failure.</summary>
    public static nint MmapChecked(nuint length, int prot, int flags, int fd, long offset, string subject)
    {
        nint p = Mmap(0, length, prot, flags, fd, offset);
        if (p == MAP_FAILED) throw new SystemCallException("mmap", Marshal.GetLastPInvokeError(), subject);
        return p;
    }
}
