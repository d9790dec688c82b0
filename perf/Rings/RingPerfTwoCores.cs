using System.Diagnostics;
using System.Runtime.CompilerServices;
using Datapath.Engine.Rings;
using Datapath.Hugepages.Native;

namespace Datapath.Benchmarks.Rings;

/// <summary>
/// ring_perf_autotest's "two physical cores" case: a producer pinned to one CPU bulk-enqueues
/// 2^15 times (retrying while the ring is full), a consumer pinned to another bulk-dequeues 2^15
/// times; each times its own loop, and the figure is producer ns/object + consumer ns/object,
/// as DPDK sums the two lcores' cycles.
/// </summary>
internal static class RingPerfTwoCores
{
    const int Iterations = 1 << 15;   // enqueue_dequeue_bulk_helper

    sealed class Side(PointerRing ring, int cpu, int size, bool produce)
    {
        public double NsPerObject;
        public void Run()
        {
            Libc.PinCurrentThread([cpu]);
            Arrive();
            NsPerObject = produce ? Produce(ring, size) : Consume(ring, size);
        }
        public static int Arrived;
        // Both sides start together, like DPDK's lcore_count barrier, so neither times a wait for
        // the other thread to be scheduled.
        static void Arrive()
        {
            Interlocked.Increment(ref Arrived);
            while (Volatile.Read(ref Arrived) != 2) Thread.SpinWait(1);
        }
    }

    public static void Run(int producerCpu, int consumerCpu)
    {
        foreach (int size in RingPerf.BulkSizes)
        {
            foreach (var (label, flags) in new[] { ("SP/SC", RingFlags.SingleProducerSingleConsumer), ("MP/MC", RingFlags.None) })
            {
                using var ring = new PointerRing("ringperf-2c", RingPerf.RingSize, flags);
                Measure(ring, size, producerCpu, consumerCpu, Iterations / 8);   // first touch, tier-up of Run
                RingPerf.Print(label, "2C", "bulk", size, Measure(ring, size, producerCpu, consumerCpu, Iterations));
            }
        }
    }

    static double Measure(PointerRing ring, int size, int producerCpu, int consumerCpu, int iterations)
    {
        _iterations = iterations;
        Side.Arrived = 0;
        var producer = new Side(ring, producerCpu, size, produce: true);
        var consumer = new Side(ring, consumerCpu, size, produce: false);
        var threads = new[] { new Thread(producer.Run), new Thread(consumer.Run) };
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        return producer.NsPerObject + consumer.NsPerObject;
    }

    static int _iterations;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static double Produce(PointerRing ring, int size)
    {
        Span<nint> objs = stackalloc nint[size];
        int iterations = _iterations;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
            while (ring.EnqueueBulk(objs) == 0) { }
        return RingPerf.NanosecondsSince(start) / ((double)iterations * size);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static double Consume(PointerRing ring, int size)
    {
        Span<nint> objs = stackalloc nint[size];
        int iterations = _iterations;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
            while (ring.DequeueBulk(objs) == 0) { }
        return RingPerf.NanosecondsSince(start) / ((double)iterations * size);
    }
}
