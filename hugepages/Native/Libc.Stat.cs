using System.Runtime.InteropServices;

namespace Datapath.Hugepages.Native;

/// <summary>fstat(2), for checking a peer's fd before mapping it.</summary>
public static unsafe partial class Libc
{
    // x86-64 struct stat: 144 bytes; st_mode at 24, st_size at 48, st_blksize at 56.
    const int StatSize = 144, StModeOffset = 24, StSizeOffset = 48, StBlksizeOffset = 56;
    public const uint S_IFMT = 0xF000, S_IFREG = 0x8000;

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FstatRaw(int fd, byte* buf);

    public readonly record struct FileStatus(ulong Size, ulong BlockSize, uint Mode)
    {
        public bool IsRegular => (Mode & S_IFMT) == S_IFREG;
    }

    /// <summary>Size, preferred I/O block (the page size for hugetlbfs and hugetlb memfds) and mode of an fd.</summary>
    public static bool TryFstat(int fd, out FileStatus status)
    {
        byte* buf = stackalloc byte[StatSize];
        if (FstatRaw(fd, buf) < 0) { status = default; return false; }
        status = new FileStatus(*(ulong*)(buf + StSizeOffset), *(ulong*)(buf + StBlksizeOffset), *(uint*)(buf + StModeOffset));
        return true;
    }
}
