using System.Runtime.InteropServices;

namespace Datapath.Hugepages.Native;

/// <summary>CPU affinity and thread identity: sched_setaffinity(2), sched_getaffinity(2), gettid(2).</summary>
public static unsafe partial class Libc
{
    /// <summary>Bytes in the cpu_set_t we pass: 1024 CPUs, as glibc's CPU_SETSIZE.</summary>
    public const int CpuSetBytes = 128;

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    public static partial int SchedSetaffinity(int pid, nuint cpusetsize, byte* mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    public static partial int SchedGetaffinity(int pid, nuint cpusetsize, byte* mask);

    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int GetTid();

    /// <summary>Pins the calling thread (tid 0 = caller) to exactly these CPUs.</summary>
    public static void PinCurrentThread(ReadOnlySpan<int> cpus)
    {
        byte* mask = stackalloc byte[CpuSetBytes];
        new Span<byte>(mask, CpuSetBytes).Clear();
        foreach (int cpu in cpus)
        {
            if ((uint)cpu >= CpuSetBytes * 8) throw new ArgumentOutOfRangeException(nameof(cpus), $"cpu {cpu} out of range");
            mask[cpu >> 3] |= (byte)(1 << (cpu & 7));
        }
        SystemCallException.Check(SchedSetaffinity(0, CpuSetBytes, mask), "sched_setaffinity", string.Join(",", cpus.ToArray()));
    }

    /// <summary>The CPUs a thread (0 = caller) may run on.</summary>
    public static int[] GetAffinity(int tid = 0)
    {
        byte* mask = stackalloc byte[CpuSetBytes];
        new Span<byte>(mask, CpuSetBytes).Clear();
        SystemCallException.Check(SchedGetaffinity(tid, CpuSetBytes, mask), "sched_getaffinity");
        var cpus = new List<int>();
        for (int i = 0; i < CpuSetBytes * 8; i++)
            if ((mask[i >> 3] & (1 << (i & 7))) != 0) cpus.Add(i);
        return cpus.ToArray();
    }
}
