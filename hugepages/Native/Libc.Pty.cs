using System.Runtime.InteropServices;

namespace Datapath.Hugepages.Native;

/// <summary>
/// Terminals: the console's raw mode (termios) and pseudo-terminals with a child process on them,
/// which is how tests drive the console as a person at a keyboard would.
/// </summary>
public static unsafe partial class Libc
{
    /// <summary>
    /// struct termios on Linux (glibc, every 64-bit arch we run on): four flag words, c_line,
    /// 32 control characters, then the two speeds. Only the fields the console changes are named.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Termios
    {
        public uint IFlag, OFlag, CFlag, LFlag;
        public byte Line;
        public fixed byte Cc[32];
        public uint ISpeed, OSpeed;
    }

    // termios(3) c_lflag bits and c_cc indices (asm-generic/termbits.h).
    public const uint ISIG = 0x1, ICANON = 0x2, ECHO = 0x8, IEXTEN = 0x8000;
    public const int VTIME = 5, VMIN = 6;
    public const int TCSANOW = 0, TCSADRAIN = 1;

    [LibraryImport("libc", EntryPoint = "isatty")]
    public static partial int IsATty(int fd);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    public static partial int TcGetAttr(int fd, Termios* termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    public static partial int TcSetAttr(int fd, int when, Termios* termios);

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    public static partial int PosixOpenPt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    public static partial int GrantPt(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    public static partial int UnlockPt(int fd);

    /// <summary>Returns an errno value (not -1) on failure.</summary>
    [LibraryImport("libc", EntryPoint = "ptsname_r")]
    public static partial int PtsNameR(int fd, byte* buf, nuint len);

    // posix_spawn(3): the attribute and file-action objects are opaque; glibc's are 336 and 80
    // bytes, so callers hand in buffers of SpawnObjectSize to stay clear of either.
    public const int SpawnObjectSize = 1024;
    /// <summary>glibc's POSIX_SPAWN_SETSID: the child leads a new session, so the pty it opens becomes its controlling terminal.</summary>
    public const short POSIX_SPAWN_SETSID = 0x80;

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    public static partial int PosixSpawnAttrInit(void* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    public static partial int PosixSpawnAttrSetFlags(void* attr, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    public static partial int PosixSpawnAttrDestroy(void* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    public static partial int PosixSpawnFileActionsInit(void* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addopen", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int PosixSpawnFileActionsAddOpen(void* actions, int fd, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static partial int PosixSpawnFileActionsAddDup2(void* actions, int fd, int newFd);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    public static partial int PosixSpawnFileActionsDestroy(void* actions);

    /// <summary>posix_spawnp: argv and envp are NULL-terminated arrays of UTF-8 strings. Returns an errno value.</summary>
    [LibraryImport("libc", EntryPoint = "posix_spawnp", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int PosixSpawnP(int* pid, string file, void* actions, void* attr, nint* argv, nint* envp);

    public const int WNOHANG = 1;

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, int* status, int options);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
