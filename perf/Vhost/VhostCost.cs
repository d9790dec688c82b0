using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Datapath.Drivers.VhostUser.Backend;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Benchmarks.Vhost;

/// <summary>
/// `datapath-benchmarks vhostcost [iterations]`: the CPU cost of net_vhost's device side per packet,
/// on one thread, with no peer: a 256-entry split ring in native memory whose descriptors never
/// change (each avail slot i names descriptor i, one buffer per chain), "refilled" by bumping
/// avail->idx by a burst. Dequeue = VhostDequeue.Burst + freeing the packets (rxonly's work);
/// enqueue = allocating the packets + VhostEnqueue.Burst (txonly's work minus building headers).
/// No cache line moves between cores here, so this is the floor of what the code itself costs;
/// perf/vhost-rate.sh measures the real thing against a peer. Prints "vhost dequeue 64: 12.3 ns/pkt".
/// </summary>
internal static unsafe class VhostCost
{
    const int RingSize = 256, Burst = 32, BufSize = 2048, HdrSize = 12;
    const ulong Gpa = 0x4000_0000;

    public static int Run(string[] args)
    {
        int iterations = args.Length > 0 ? int.Parse(args[0]) : 2_000_000;
        Lcore.SetCurrent(1);
        using var pool = PacketPool.Create("vhostcost", 4096, MemoryOptions.Default with { NoHuge = true });
        foreach (int size in new[] { 64, 1518 })
        {
            Report("dequeue", size, iterations, (rt, idx, n) => Dequeue(rt, (ushort*)idx, pool, n), writable: false);
            Report("enqueue", size, iterations, (rt, idx, n) => Enqueue(rt, (ushort*)idx, pool, size, n), writable: true);
        }
        Lcore.SetCurrent(Lcore.None);
        return 0;
    }

    static void Report(string what, int size, int iterations, Func<VringRuntime, nint, int, long> loop, bool writable)
    {
        var results = new List<double>();
        for (int rep = 0; rep < 5; rep++)
        {
            var (rt, block, availIdx) = NewRing(writable, size);
            try
            {
                loop(rt, availIdx, iterations / 10); // warm-up
                long ticks = loop(rt, availIdx, iterations);
                results.Add(ticks * 1e9 / Stopwatch.Frequency / ((double)iterations * Burst));
            }
            finally
            {
                NativeMemory.AlignedFree((void*)block);
            }
        }
        results.Sort();
        Console.WriteLine($"vhost {what} {size}: {results[2]:F2} ns/pkt (min {results[0]:F2}, max {results[^1]:F2}, 5 reps)");
    }

    static (VringRuntime, nint, nint) NewRing(bool writable, int frame)
    {
        nuint descBytes = 16 * RingSize, availBytes = 4096, usedBytes = 4096;
        nuint total = descBytes + availBytes + usedBytes + (nuint)(RingSize * BufSize);
        byte* block = (byte*)NativeMemory.AlignedAlloc(total, 4096);
        NativeMemory.Clear(block, total);
        byte* desc = block, avail = block + descBytes, used = avail + availBytes, bufs = used + usedBytes;
        var ring = new SplitRing(RingSize, desc, avail, used);
        for (int i = 0; i < RingSize; i++)
        {
            var d = (VirtqDescriptor*)desc + i;
            d->Addr = Gpa + (ulong)(bufs - block) + (ulong)(i * BufSize);
            d->Len = writable ? BufSize : (uint)(HdrSize + frame);
            d->Flags = writable ? VirtqDescriptor.FlagWrite : (ushort)0;
            ring.AvailRing[i] = (ushort)i;
        }
        var region = new GuestMemoryTable.Region(Gpa, total, Gpa, 0, (nint)block, total);
        var memory = GuestMemoryTable.From([region]);
        var queue = new SplitVirtqueueDevice(ring, memory, eventIdx: true, indirectDesc: true);
        return (new VringRuntime(queue, -1, HdrSize, mergeable: true), (nint)block, (nint)ring.AvailIdx);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static long Dequeue(VringRuntime rt, ushort* availIdx, PacketPool pool, int iterations)
    {
        Span<Packet> pkts = stackalloc Packet[Burst];
        QueueCounters counters = default;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
        {
            Volatile.Write(ref *availIdx, (ushort)(*availIdx + Burst));
            int n = VhostDequeue.Burst(rt, pool, pkts, 0, ref counters);
            if (n != Burst) throw new InvalidOperationException($"dequeued {n} of {Burst}");
            PacketPool.FreeBulk(pkts);
        }
        return Stopwatch.GetTimestamp() - start;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static long Enqueue(VringRuntime rt, ushort* availIdx, PacketPool pool, int size, int iterations)
    {
        Span<Packet> pkts = stackalloc Packet[Burst];
        QueueCounters counters = default;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
        {
            Volatile.Write(ref *availIdx, (ushort)(*availIdx + Burst));
            if (!pool.Alloc(pkts)) throw new InvalidOperationException("pool empty");
            foreach (var p in pkts) p.SetLength(size);
            int n = VhostEnqueue.Burst(rt, pkts, ref counters);
            if (n != Burst) throw new InvalidOperationException($"enqueued {n} of {Burst}");
        }
        return Stopwatch.GetTimestamp() - start;
    }
}
