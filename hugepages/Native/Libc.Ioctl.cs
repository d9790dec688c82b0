using System.Runtime.InteropServices;

namespace Datapath.Hugepages.Native;

/// <summary>ioctl(2): the VFIO container, group and device requests (linux/vfio.h) go through these.</summary>
public static unsafe partial class Libc
{
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, nint arg);

    /// <summary>ioctl that throws with the request name and its subject on failure.</summary>
    public static int IoctlChecked(int fd, nuint request, void* arg, string name, string subject) =>
        SystemCallException.Check(Ioctl(fd, request, arg), name, subject);
}
