using System.Runtime.InteropServices;

namespace Datapath.Hugepages.Native;

/// <summary>A Linux system call failed: carries the call, what it acted on, and errno.</summary>
public sealed class SystemCallException : Exception
{
    public string Call { get; }
    public int Errno { get; }

    public SystemCallException(string call, int errno, string? subject = null)
        : base($"{call}{(subject is null ? "" : $"({subject})")} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Call = call;
        Errno = errno;
    }

    /// <summary>Throws with the last errno when <paramref name="result"/> is negative.</summary>
    public static int Check(int result, string call, string? subject = null)
    {
        if (result < 0) throw new SystemCallException(call, Marshal.GetLastPInvokeError(), subject);
        return result;
    }

    public static long Check(long result, string call, string? subject = null)
    {
        if (result < 0) throw new SystemCallException(call, Marshal.GetLastPInvokeError(), subject);
        return result;
    }
}
