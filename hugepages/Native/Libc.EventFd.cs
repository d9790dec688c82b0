using System.Runtime.InteropServices;

namespace Datapath.Hugepages.Native;

/// <summary>eventfd(2): the kick and call doorbells of virtqueues.</summary>
public static unsafe partial class Libc
{
    public const int EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;

    public const int F_GETFL = 3, F_SETFL = 4;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int cmd, int arg);

    /// <summary>Makes writes and reads on <paramref name="fd"/> return EAGAIN instead of blocking.</summary>
    public static bool SetNonBlocking(int fd)
    {
        int flags = Fcntl(fd, F_GETFL, 0);
        return flags >= 0 && Fcntl(fd, F_SETFL, flags | O_NONBLOCK) >= 0;
    }

    /// <summary>Back to blocking I/O (tests use it to build a descriptor that would block).</summary>
    public static bool SetNonBlockingOff(int fd)
    {
        int flags = Fcntl(fd, F_GETFL, 0);
        return flags >= 0 && Fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) >= 0;
    }

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    /// <summary>Adds 1 to an eventfd counter (a doorbell); one system call, no allocation.</summary>
    public static bool EventFdSignal(int fd)
    {
        ulong one = 1;
        return Write(fd, &one, 8) == 8;
    }

    /// <summary>Reads and clears an eventfd counter; 0 when nothing was signalled (non-blocking fd).</summary>
    public static ulong EventFdDrain(int fd)
    {
        ulong value = 0;
        return Read(fd, &value, 8) == 8 ? value : 0;
    }
}
