using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Datapath.Hugepages.Native;

namespace Datapath.Benchmarks.Topology;

/// <summary>
/// `datapath-benchmarks c2c CPU_A CPU_B`: the round trip of one cache line between two CPUs, in ns —
/// a thread on each, pinned, bouncing a counter (A writes odd values, B answers with the next even
/// one). It is what a packet between two pollers pays per shared line, and it says where the
/// hypervisor has put the two vCPUs right now: on one machine here it read ~120 ns while they shared
/// an L3 and ~430 ns while they did not, and the vhost-user packet rate moved with it by up to 3x.
/// perf/vhost-rate.sh probes it around every measurement, so a ratio is only taken between
/// measurements that ran with the same placement. Prints the median of <see cref="Batches"/> batches.
/// </summary>
internal static class CoreToCore
{
    const int Batches = 9;
    const int RoundTripsPerBatch = 4000;

    /// <summary>The bounced counter, alone on its cache line (128 B: the adjacent-line prefetcher pairs lines).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    sealed class Line
    {
        [FieldOffset(128)] public long Value;
    }

    public static int Run(string[] args)
    {
        if (args.Length != 2 || !int.TryParse(args[0], out int a) || !int.TryParse(args[1], out int b) || a < 0 || b < 0 || a == b)
        {
            Console.Error.WriteLine("usage: c2c CPU_A CPU_B   (two different CPUs)");
            return 2;
        }
        var line = new Line();
        var times = new double[Batches];
        var responder = new Thread(() => Respond(line, b, Batches + 1)) { IsBackground = true };
        responder.Start();
        Libc.PinCurrentThread([a]);
        Bounce(line, 0);                       // the responder is up and tier-up noise is spent
        for (int i = 0; i < Batches; i++) times[i] = Bounce(line, i + 1);
        responder.Join();
        Array.Sort(times);
        Console.WriteLine($"{times[Batches / 2]:F0}");
        return 0;
    }

    /// <summary>One batch of round trips from CPU A; ns per round trip.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static double Bounce(Line line, int batch)
    {
        long next = 2L * batch * RoundTripsPerBatch;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < RoundTripsPerBatch; i++)
        {
            Volatile.Write(ref line.Value, next + 1);
            while (Volatile.Read(ref line.Value) != next + 2) { }
            next += 2;
        }
        return (Stopwatch.GetTimestamp() - start) * 1e9 / Stopwatch.Frequency / RoundTripsPerBatch;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void Respond(Line line, int cpu, int batches)
    {
        Libc.PinCurrentThread([cpu]);
        long total = (long)batches * RoundTripsPerBatch;
        for (long seen = 1; seen < 2 * total; seen += 2)
        {
            while (Volatile.Read(ref line.Value) != seen) { }
            Volatile.Write(ref line.Value, seen + 1);
        }
    }
}
