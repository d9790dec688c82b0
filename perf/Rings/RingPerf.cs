using System.Diagnostics;
using System.Runtime.CompilerServices;
using Datapath.Engine.Rings;

namespace Datapath.Benchmarks.Rings;

/// <summary>
/// `datapath-benchmarks ringperf`: our rings measured the way DPDK's ring_perf_autotest measures
/// rte_ring (app/test/test_ring_perf.c, DPDK 22.11), so perf/ring-vs-dpdk.sh can print both side
/// by side: a 4096-slot ring; one thread enqueues then dequeues 1 object 2^24 times, and 8 or 32
/// objects 2^23 times; the cost is the loop time divided by the objects moved. Two-core figures
/// come from <see cref="RingPerfTwoCores"/>. Prints one line per figure, in ns per object:
/// "ours SP/SC 1T burst 32: 3.21".
/// </summary>
internal static class RingPerf
{
    public const int RingSize = 4096;          // RING_SIZE in test_ring_perf.c
    const int SingleIterations = 1 << 24;      // test_single_enqueue_dequeue
    const int BurstIterations = 1 << 23;       // test_burst_bulk_enqueue_dequeue
    public static readonly int[] BulkSizes = [8, 32];

    public static int Run(string[] args)
    {
        Console.WriteLine($"# ringperf: Stopwatch resolution {1e9 / Stopwatch.Frequency:F0} ns, {Environment.ProcessorCount} CPUs");
        foreach (var (label, flags) in new[] { ("SP/SC", RingFlags.SingleProducerSingleConsumer), ("MP/MC", RingFlags.None) })
        {
            using var ring = new PointerRing("ringperf", RingSize, flags);
            // The timing loops are AggressiveOptimization, but the ring methods they call are tiered:
            // they start as tier-0 code and are recompiled in the background after enough calls. So
            // every path runs once untimed, then the tier-1 compiles get time to land before timing.
            EnqueueDequeueSingle(ring, 1 << 16);
            foreach (int size in BulkSizes)
            {
                EnqueueDequeueBurst(ring, size, 1 << 16);
                EnqueueDequeueBulk(ring, size, 1 << 16);
            }
            Thread.Sleep(500);
            EnqueueDequeueSingle(ring, 1 << 16);
            Print(label, "1T", "single", 1, EnqueueDequeueSingle(ring, SingleIterations));
            foreach (int size in BulkSizes)
                Print(label, "1T", "burst", size, EnqueueDequeueBurst(ring, size, BurstIterations));
            foreach (int size in BulkSizes)
                Print(label, "1T", "bulk", size, EnqueueDequeueBulk(ring, size, BurstIterations));
        }
        if (Environment.ProcessorCount >= 2)
            RingPerfTwoCores.Run(producerCpu: 0, consumerCpu: 1);
        else
            Console.WriteLine("# ringperf: one CPU, two-core figures skipped");
        return 0;
    }

    public static void Print(string sync, string threads, string kind, int size, double nsPerObject)
        => Console.WriteLine($"ours {sync} {threads} {kind} {size}: {nsPerObject:F2}");

    public static double NanosecondsSince(long start) => (Stopwatch.GetTimestamp() - start) * 1e9 / Stopwatch.Frequency;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static double EnqueueDequeueSingle(PointerRing ring, int iterations)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
        {
            ring.TryEnqueue(i);
            ring.TryDequeue(out _);
        }
        return NanosecondsSince(start) / iterations;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static double EnqueueDequeueBurst(PointerRing ring, int size, int iterations)
    {
        Span<nint> objs = stackalloc nint[size];
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
        {
            ring.EnqueueBurst(objs);
            ring.DequeueBurst(objs);
        }
        return NanosecondsSince(start) / ((double)iterations * size);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static double EnqueueDequeueBulk(PointerRing ring, int size, int iterations)
    {
        Span<nint> objs = stackalloc nint[size];
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
        {
            ring.EnqueueBulk(objs);
            ring.DequeueBulk(objs);
        }
        return NanosecondsSince(start) / ((double)iterations * size);
    }
}
